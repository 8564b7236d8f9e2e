"""The kdw command: user errors are one line and exit 2; train, runs, methods and teachers work."""
import json
import subprocess
import sys

import pytest
import torch

from workbench.cli import main


def run_kdw(*args, capsys):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("args,field", [
    (["--temperature", "0"], "temperature"),
    (["--temperature", "-2"], "temperature"),
    (["--alpha", "1.5"], "alpha"),
    (["--epochs", "0"], "epochs"),
    (["--method", "nope"], "method"),
    (["--dataset", "imagenet"], "dataset"),
    (["--student", "vgg"], "student"),
    (["--teacher", "notanet"], "teachers"),
    (["--correct-prob", "0.9"], "correct_prob"),
])
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
    code, out, _ = run_kdw("train", "--dataset", "digits", "--teacher", "cnn", "--student", "lenet5_half",
                           "--method", "kd", "--temperature", "4", "--alpha", "0.9", "--epochs", "2",
                           "--train-subset", "300", "--seed", "0", "--runs-dir", runs, "--quiet", capsys=capsys)
    assert code == 0 and "done" in out and "test_acc" in out
    run_id = out.split()[1].rstrip(":")
    code, out, _ = run_kdw("runs", "--runs-dir", runs, "list", capsys=capsys)
    assert code == 0 and run_id in out
    code, out, _ = run_kdw("runs", "--runs-dir", runs, "show", run_id, capsys=capsys)
    assert code == 0 and json.loads(out)["config"]["temperature"] == 4.0
    csv_path = tmp_path / "m.csv"
    code, out, _ = run_kdw("runs", "--runs-dir", runs, "export", run_id, "--format", "csv", "--output",
                           str(csv_path), capsys=capsys)
    assert code == 0 and csv_path.read_text().startswith("run_id,step,epoch,scope,name,value")


def test_runs_show_unknown_id_is_one_line(tmp_path, capsys):
    code, _, err = run_kdw("runs", "--runs-dir", str(tmp_path), "show", "nope", capsys=capsys)
    assert code == 2 and "no run with id" in err


def test_config_file_and_flags_combine(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text("dataset: digits\nmethod: tfkd\nepochs: 1\ntrain_subset: 200\ncorrect_prob: 0.8\n")
    code, _, err = run_kdw("train", "--config", str(config), "--quiet", capsys=capsys)
    assert code == 2 and "unknown field" in err  # method hyperparameters belong under method_params
    config.write_text("dataset: digits\nmethod: tfkd\nepochs: 1\ntrain_subset: 200\n"
                      "method_params: {correct_prob: 0.8}\n")
    code, out, _ = run_kdw("train", "--config", str(config), "--temperature", "3", "--quiet",
                           "--runs-dir", str(tmp_path / "r"), capsys=capsys)
    assert code == 0 and "done" in out


def test_console_script_runs_as_a_subprocess(tmp_path):
    result = subprocess.run([sys.executable, "-m", "workbench.cli", "train", "--alpha", "7"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip() == (
        "kdw train: alpha: 7 is out of range; allowed: at least 0 and at most 1")


def test_teachers_list_shows_the_packaged_teachers(capsys):
    code, out, _ = run_kdw("teachers", "list", capsys=capsys)
    assert code == 0 and "digits" in out and "packaged" in out
