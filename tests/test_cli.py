"""The kdw command: user errors are one line and exit 2; train, runs, methods and teachers work."""

import json
import subprocess
import sys

import pytest
import torch

from workbench.cli import main
from workbench.config import RunConfig


def run_kdw(*args, capsys):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(
    "args,field",
    [
        (["--temperature", "0"], "temperature"),
        (["--temperature", "-2"], "temperature"),
        (["--alpha", "1.5"], "alpha"),
        (["--epochs", "0"], "epochs"),
        (["--method", "nope"], "method"),
        (["--dataset", "imagenet"], "dataset"),
        (["--student", "vgg"], "student"),
        (["--teacher", "notanet"], "teachers"),
        (["--correct-prob", "0.9"], "correct_prob"),
    ],
)
def test_user_error_is_one_line_naming_the_field_and_exits_2(args, field, capsys):
    code, out, err = run_kdw("train", *args, capsys=capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and field in lines[0] and "Traceback" not in err


def test_unknown_flag_is_one_line_and_exits_2(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["train", "--temprature", "3"])
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--temprature" in err[0]


def test_teacher_with_wrong_class_count_is_rejected(tmp_path, capsys):
    from workbench.models import create_model

    wrong = create_model("cnn", 100, 1, 8).state_dict()
    path = tmp_path / "teacher.pt"
    torch.save(wrong, path)
    code, _, err = run_kdw("train", "--teacher-checkpoint", str(path), capsys=capsys)
    assert code == 2 and "100 output classes" in err and len(err.strip().splitlines()) == 1


def test_corrupt_teacher_file_is_rejected(tmp_path, capsys):
    path = tmp_path / "teacher.pt"
    path.write_bytes(b"not a checkpoint at all")
    code, _, err = run_kdw("train", "--teacher-checkpoint", str(path), capsys=capsys)
    assert code == 2 and "not a readable PyTorch state_dict" in err


def test_methods_lists_every_method(capsys):
    code, out, _ = run_kdw("methods", "--json", capsys=capsys)
    cards = json.loads(out)
    assert code == 0 and {"baseline", "kd", "tfkd"} <= {c["name"] for c in cards}
    assert all(c["category"] and c["scheme"] and c["loss_latex"] for c in cards)


def test_train_then_runs_show_and_export(tmp_path, capsys):
    runs = str(tmp_path / "runs")
    code, out, _ = run_kdw(
        "train",
        "--dataset",
        "digits",
        "--teacher",
        "cnn",
        "--student",
        "lenet5_half",
        "--method",
        "kd",
        "--temperature",
        "4",
        "--alpha",
        "0.9",
        "--epochs",
        "2",
        "--train-subset",
        "300",
        "--seed",
        "0",
        "--runs-dir",
        runs,
        "--quiet",
        capsys=capsys,
    )
    assert code == 0 and "done" in out and "test_acc" in out
    run_id = out.split()[1].rstrip(":")
    code, out, _ = run_kdw("runs", "--runs-dir", runs, "list", capsys=capsys)
    assert code == 0 and run_id in out
    code, out, _ = run_kdw("runs", "--runs-dir", runs, "show", run_id, capsys=capsys)
    assert code == 0 and json.loads(out)["config"]["temperature"] == 4.0
    csv_path = tmp_path / "m.csv"
    code, out, _ = run_kdw(
        "runs", "--runs-dir", runs, "export", run_id, "--format", "csv", "--output", str(csv_path), capsys=capsys
    )
    assert code == 0 and csv_path.read_text().startswith("run_id,step,epoch,scope,name,value")


def test_runs_show_unknown_id_is_one_line(tmp_path, capsys):
    code, _, err = run_kdw("runs", "--runs-dir", str(tmp_path), "show", "nope", capsys=capsys)
    assert code == 2 and "no run with id" in err


def test_config_file_and_flags_combine(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text("dataset: digits\nmethod: tfkd\nepochs: 1\ntrain_subset: 200\ncorrect_prob: 0.8\n")
    code, _, err = run_kdw("train", "--config", str(config), "--quiet", capsys=capsys)
    assert code == 2 and "unknown field" in err  # method hyperparameters belong under method_params
    config.write_text(
        "dataset: digits\nmethod: tfkd\nepochs: 1\ntrain_subset: 200\nmethod_params: {correct_prob: 0.8}\n"
    )
    code, out, _ = run_kdw(
        "train",
        "--config",
        str(config),
        "--temperature",
        "3",
        "--quiet",
        "--runs-dir",
        str(tmp_path / "r"),
        capsys=capsys,
    )
    assert code == 0 and "done" in out


def test_console_script_runs_as_a_subprocess(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "train", "--alpha", "7"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 2 and result.stderr.strip() == (
        "kdw train: alpha: 7 is out of range; allowed: at least 0 and at most 1"
    )


def test_teachers_list_shows_the_packaged_teachers(capsys):
    code, out, _ = run_kdw("teachers", "list", capsys=capsys)
    assert code == 0 and "digits" in out and "packaged" in out


TINY = [
    "--dataset",
    "digits",
    "--train-subset",
    "400",
    "--epochs",
    "2",
    "--batch-size",
    "64",
    "--optimizer",
    "adam",
    "--lr",
    "0.02",
    "--device",
    "cpu",
    "--quiet",
]


def one_line_error(code, err, *phrases):
    lines = err.strip().splitlines()
    return code == 2 and len(lines) == 1 and all(phrase in lines[0] for phrase in phrases) and "\x1b" not in err


def test_binary_config_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_bytes(bytes(range(256)) * 4)
    code, _, err = run_kdw("train", "--config", str(path), capsys=capsys)
    assert one_line_error(code, err, "not a text file")


@pytest.mark.parametrize("value", ['"abc"', "[1, 2]"])
def test_method_params_that_are_not_a_mapping_are_one_line(tmp_path, value, capsys):
    path = tmp_path / "run.yaml"
    path.write_text(f"dataset: digits\nmethod_params: {value}\n")
    code, _, err = run_kdw("train", "--config", str(path), capsys=capsys)
    assert one_line_error(code, err, "method_params", "not a mapping")


def test_boolean_epochs_in_a_config_file_is_refused(tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text("dataset: digits\nepochs: true\n")
    code, _, err = run_kdw("train", "--config", str(path), capsys=capsys)
    assert one_line_error(code, err, "epochs")


def test_resume_refuses_other_config_flags(capsys):
    code, _, err = run_kdw("train", "--resume", "some-run", "--epochs", "10", capsys=capsys)
    assert one_line_error(code, err, "--resume", "--epochs")


def test_runs_dir_may_follow_the_runs_sub_command(tmp_path, capsys):
    runs = tmp_path / "elsewhere"
    code, out, _ = run_kdw("train", *TINY, "--runs-dir", str(runs), capsys=capsys)
    run_id = out.split()[1].rstrip(":")
    code, out, err = run_kdw("runs", "list", "--runs-dir", str(runs), capsys=capsys)
    assert code == 0 and run_id in out, err
    code, out, _ = run_kdw("runs", "show", run_id, "--runs-dir", str(runs), capsys=capsys)
    assert code == 0 and json.loads(out)["id"] == run_id


def test_listing_a_missing_store_creates_nothing(tmp_path, capsys):
    runs = tmp_path / "missing" / "runs"
    code, out, _ = run_kdw("runs", "--runs-dir", str(runs), "list", capsys=capsys)
    assert code == 0 and "no runs" in out and not (tmp_path / "missing").exists()


def test_unusable_data_dir_skips_the_teacher_logit_cache(tmp_path, monkeypatch, capsys):
    not_a_folder = tmp_path / "data-file"
    not_a_folder.write_text("a file, not a folder")
    monkeypatch.setenv("KDW_DATA_DIR", str(not_a_folder))
    code, out, err = run_kdw("train", *TINY, capsys=capsys)
    assert code == 0 and ": done" in out, err


def test_teacher_checkpoint_at_chance_is_refused(tmp_path, capsys):
    from workbench.models import create_model

    path = tmp_path / "teacher.pt"
    torch.save({k: torch.zeros_like(v) for k, v in create_model("cnn", 10, 1, 8).state_dict().items()}, path)
    code, _, err = run_kdw("train", *TINY, "--teacher-checkpoint", str(path), capsys=capsys)
    assert one_line_error(code, err, "teacher_checkpoint", "chance")


def test_teacher_checkpoint_holding_a_whole_model_is_a_short_clean_line(tmp_path, capsys):
    from workbench.models import create_model

    path = tmp_path / "teacher.pt"
    torch.save(create_model("cnn", 10, 1, 8), path)
    code, _, err = run_kdw("train", *TINY, "--teacher-checkpoint", str(path), capsys=capsys)
    assert one_line_error(code, err, "teacher_checkpoint", "state_dict") and len(err) < 240
    assert "Weights only load failed" not in err


def test_oversized_teacher_checkpoint_is_refused_before_it_is_loaded(tmp_path, monkeypatch, capsys):
    path = tmp_path / "teacher.pt"
    with open(path, "wb") as file:
        file.truncate(1536 * 2**20)  # sparse: 1.5 GB on paper, no disk used
    loads = []
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: loads.append(args))
    code, _, err = run_kdw("train", *TINY, "--teacher-checkpoint", str(path), capsys=capsys)
    assert one_line_error(code, err, "teacher_checkpoint", "MB") and loads == []


def _trained_run(runs, capsys):
    code, out, err = run_kdw("train", *TINY, "--runs-dir", str(runs), capsys=capsys)
    assert code == 0, err
    return out.split()[1].rstrip(":")


def test_resume_of_a_run_still_training_is_refused(tmp_path, capsys):
    from workbench.store import RunStore

    store = RunStore(tmp_path)
    run_id = store.create_run(RunConfig.from_dict({"dataset": "digits"}).to_dict())
    store.mark_running(run_id)  # by this process, which is alive
    code, _, err = run_kdw("train", "--resume", run_id, "--runs-dir", str(tmp_path), capsys=capsys)
    assert one_line_error(code, err, "still training", run_id)


def test_an_interrupted_run_resumes_to_done(tmp_path, capsys):
    from workbench.store import RunStore

    run_id = _trained_run(tmp_path, capsys)
    RunStore(tmp_path).finish(run_id, "interrupted")
    code, out, err = run_kdw("train", "--resume", run_id, "--runs-dir", str(tmp_path), "--quiet", capsys=capsys)
    assert code == 0 and f"run {run_id}: done" in out, err


def test_a_damaged_resume_checkpoint_is_a_short_clean_line(tmp_path, capsys):
    from workbench.store import RunStore

    run_id = _trained_run(tmp_path, capsys)
    RunStore(tmp_path).finish(run_id, "interrupted")
    (tmp_path / run_id / "checkpoint.pt").write_bytes(b"not a checkpoint at all")
    code, _, err = run_kdw("train", "--resume", run_id, "--runs-dir", str(tmp_path), "--quiet", capsys=capsys)
    assert one_line_error(code, err, "checkpoint") and "Unsupported operand" not in err and len(err) < 240
