"""Tiny digits runs of each feature/relation/ensemble method, sequential FEED's generation chains, the CLI and
`kdw reproduce feature --quick`."""

import pytest
import torch
from conftest import tiny_config

from workbench.cli import main
from workbench.generations import run_generations
from workbench.models import count_params, create_model
from workbench.reproduce.feature import HEADING
from workbench.reproduce.report import write_section
from workbench.runner import run_recorded
from workbench.store import RunStore

STUDENT_PARAMS = count_params(create_model("lenet5_half", 10, 1, 8))


@pytest.fixture(scope="module")
def lenet5_teacher():
    """The packaged digits LeNet-5 teacher."""
    from workbench.teachers import get_teacher

    return get_teacher("lenet5", "digits", 0, train_if_missing=False)[0]


@pytest.mark.parametrize(
    "method, terms, extra",
    [
        ("fitnets", {"ce", "hint"}, set()),
        ("at", {"ce", "at"}, set()),
        ("rkd", {"ce", "rkd_distance", "rkd_angle"}, set()),
        ("feed-parallel", {"ce", "feed_1", "feed_2"}, set()),
        ("feed-sequential", {"ce", "feed_1"}, set()),
        ("dml", {"ce", "kl", "peer_ce", "peer_kl"}, {"peer1_test_acc", "cohort_test_acc"}),
    ],
)
def test_tiny_run_records_its_loss_terms_by_name(method, terms, extra, digits_teacher, lenet5_teacher, tmp_path):
    store = RunStore(tmp_path / "runs")
    teachers = {"feed-parallel": [digits_teacher, lenet5_teacher], "dml": None}.get(method, [digits_teacher])
    config = tiny_config(
        method=method, epochs=1, train_subset=300, teachers=["cnn", "lenet5"] if method == "feed-parallel" else ["cnn"]
    )
    run_id, result = run_recorded(config, store, teachers=teachers)
    assert result.status == "done", result.message
    steps = set(store.metrics_frame(run_id, scope="step")["name"])
    epochs = set(store.metrics_frame(run_id, scope="epoch")["name"])
    assert terms | {"loss"} <= steps
    assert {f"train_{term}" for term in terms} | {"test_acc"} | extra <= epochs
    assert store.get_run(run_id).final_metrics["params"] == STUDENT_PARAMS  # extra modules are training-only


def test_extra_modules_are_checkpointed_with_the_run(digits_teacher, lenet5_teacher, tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id, _ = run_recorded(
        tiny_config(method="feed-parallel", teachers=["cnn", "lenet5"], epochs=1, train_subset=300),
        store,
        teachers=[digits_teacher, lenet5_teacher],
    )
    checkpoint = torch.load(store.get_run(run_id).artifacts["checkpoint"], weights_only=True)
    assert {key.split(".")[0] for key in checkpoint["method"]["transforms"]} == {"0", "1"}


def test_generations_are_runs_linked_to_their_parents(digits_teacher, tmp_path):
    store = RunStore(tmp_path / "runs")
    config = tiny_config(method="feed-sequential", epochs=1, train_subset=300, method_params={"generations": 3})
    chain = run_generations(config, store, teachers=[digits_teacher])
    assert [g.number for g in chain] == [1, 2, 3] and all(g.result.status == "done" for g in chain)
    records = [store.get_run(g.run_id) for g in chain]
    assert [r.parent_id for r in records] == [None, chain[0].run_id, chain[1].run_id]
    assert len({r.group_id for r in records}) == 1 and records[0].group_id
    assert records[0].config["teachers"] == ["cnn"]
    for record, parent in zip(records[1:], records[:-1]):
        assert record.config["teachers"] == ["lenet5_half"]
        assert record.config["teacher_checkpoint"] == parent.artifacts["student"]


def test_generation_chain_can_start_in_a_queued_run(digits_teacher, tmp_path):
    store = RunStore(tmp_path / "runs")
    config = tiny_config(method="feed-sequential", epochs=1, train_subset=300, method_params={"generations": 2})
    queued = store.create_run(config.to_dict(), group_id="chain-from-app")
    chain = run_generations(config, store, teachers=[digits_teacher], first_run_id=queued)
    assert chain[0].run_id == queued and store.get_run(queued).status == "done"
    assert [store.get_run(g.run_id).name for g in chain] == ["feed-sequential gen 1/2", "feed-sequential gen 2/2"]
    assert store.get_run(chain[1].run_id).group_id == "chain-from-app"
    assert store.get_run(chain[1].run_id).parent_id == queued


def test_generation_chain_stops_when_a_generation_is_cancelled(digits_teacher, tmp_path):
    import threading

    store = RunStore(tmp_path / "runs")
    cancel = threading.Event()
    cancel.set()
    chain = run_generations(
        tiny_config(method="feed-sequential", train_subset=300), store, cancel_event=cancel, teachers=[digits_teacher]
    )
    assert [g.result.status for g in chain] == ["cancelled"]


def test_cli_trains_every_generation_and_prints_their_ids(tmp_path, capsys):
    code = main(
        [
            "train",
            "--method",
            "feed-sequential",
            "--generations",
            "2",
            "--dataset",
            "digits",
            "--train-subset",
            "300",
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--teacher",
            "cnn",
            "--quiet",
            "--runs-dir",
            str(tmp_path / "runs"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    ids = [line.split()[3].rstrip(":") for line in out.splitlines() if line.startswith("generation")]
    assert len(ids) == 2 and store_parent(tmp_path / "runs", ids[1]) == ids[0]


def store_parent(runs_dir, run_id):
    return RunStore(runs_dir).get_run(run_id).parent_id


def test_cli_reports_a_bad_layer_name_in_one_line(tmp_path, capsys):
    code = main(
        [
            "train",
            "--method",
            "fitnets",
            "--hint-layer",
            "block7",
            "--dataset",
            "digits",
            "--epochs",
            "1",
            "--train-subset",
            "300",
            "--device",
            "cpu",
            "--quiet",
            "--runs-dir",
            str(tmp_path / "runs"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "fitnets.hint_layer" in err[0] and "block7" in err[0]


def test_reproduce_rejects_an_unknown_experiment(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["reproduce", "nonsense"])
    assert exit_info.value.code == 2 and "invalid choice: 'nonsense'" in capsys.readouterr().err


def test_write_section_replaces_only_its_own_section(tmp_path):
    results = tmp_path / "results.md"
    results.write_text("# Results\n\n## Other\n\nkeep me\n\n## Mine\n\nold\n\n## Last\n\nkeep too\n")
    write_section(results, "## Mine", "new\ntable")
    assert results.read_text() == "# Results\n\n## Other\n\nkeep me\n\n## Mine\n\nnew\ntable\n\n## Last\n\nkeep too\n"
    write_section(results, "## Added", "body")
    assert results.read_text().endswith("## Last\n\nkeep too\n\n## Added\n\nbody\n")


def test_reproduce_feature_quick_writes_its_table(tmp_path, capsys):
    results = tmp_path / "docs" / "results.md"
    results.parent.mkdir()
    results.write_text("# Results\n\n## Someone else's section\n\ntheirs\n")
    code = main(["reproduce", "feature", "--quick", "--output", str(results), "--runs-dir", str(tmp_path / "runs")])
    assert code == 0
    text = results.read_text()
    assert "## Someone else's section\n\ntheirs\n" in text and HEADING in text
    section = text.split(HEADING)[1]
    for label in (
        "Baseline",
        "KD (Hinton)",
        "FitNets",
        "Attention transfer",
        "RKD",
        "DML",
        "FEED parallel, 2 teachers",
        "FEED parallel, 3 teachers",
        "FEED sequential, generation 2",
    ):
        row = next(line for line in section.splitlines() if line.startswith(f"| {label}"))
        assert "| 1/1 |" in row
    assert "Machine:" in section and "cores" in section and "nan" not in section
    dml_row = next(line for line in section.splitlines() if line.startswith("| DML"))
    assert "peer " in dml_row and "cohort " in dml_row
    assert "| Control: RKD with both weights 0" in section and "0 of 11 runs were reused" in section
    assert len(RunStore(tmp_path / "runs").list_runs(status="done")) == 11


def test_reproduce_reuses_the_runs_it_already_finished(tmp_path):
    from workbench.reproduce import run_experiment

    options = {"quick": True, "runs_dir": tmp_path / "runs", "results_file": tmp_path / "results.md"}
    first = run_experiment("feature", **options)
    second = run_experiment("feature", **options)
    assert "0 of 11 runs were reused" in first and "11 of 11 runs were reused" in second
    table = [line for line in first.splitlines() if line.startswith("| ")]
    assert table == [line for line in second.splitlines() if line.startswith("| ")]
    assert len(RunStore(tmp_path / "runs").list_runs()) == 11
