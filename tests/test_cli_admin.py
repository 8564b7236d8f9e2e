"""The server's admin on the command line (`kdw runs cancel` of any owner's run), and the memory budget checked by
`kdw demo`, `kdw sweep` and `kdw reproduce` before anything trains."""

import pytest
import yaml
from conftest import tiny_config

from workbench.cli import main
from workbench.executor import Executor


def run_kdw(*args, capsys):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_runs_cancel_stops_any_owners_queued_and_running_runs(tmp_path, capsys):
    executor = Executor(tmp_path / "runs")
    queued = executor.store.create_run(tiny_config().to_dict(), owner="alice")
    executor.jobs.add(queued, "run")
    running = executor.store.create_run(tiny_config().to_dict(), owner="bob")
    executor.store.mark_running(running)  # this process trains it: alive
    code, out, err = run_kdw("runs", "cancel", queued, running, "--runs-dir", str(tmp_path / "runs"), capsys=capsys)
    assert code == 0, err
    assert out.splitlines() == [
        f"run {queued}: cancelled before it started",
        f"run {running}: asked to stop; it stops at its next step",
    ]
    assert executor.store.get_run(queued).status == "cancelled"
    assert executor.store.cancel_requested(running)


def test_runs_cancel_names_an_unknown_id_and_a_finished_run_in_one_line_each(tmp_path, capsys):
    executor = Executor(tmp_path / "runs")
    done = executor.store.create_run(tiny_config().to_dict())
    executor.store.finish(done, "done")
    code, out, err = run_kdw("runs", "cancel", done, "nope", "--runs-dir", str(tmp_path / "runs"), capsys=capsys)
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"kdw runs cancel: run {done} already ended (done); nothing to cancel",
        f"kdw runs cancel: run: no run with id 'nope' in {tmp_path / 'runs'}",
    ]


def test_runs_cancel_without_a_store_is_one_line_and_creates_nothing(tmp_path, capsys):
    code, _, err = run_kdw("runs", "cancel", "x", "--runs-dir", str(tmp_path / "none"), capsys=capsys)
    assert code == 2 and err.strip() == f"kdw runs: runs_dir: no run store in {tmp_path / 'none'}"
    assert not (tmp_path / "none").exists()


@pytest.fixture
def tiny_memory_budget(monkeypatch):
    monkeypatch.setenv("KDW_MEMORY_BUDGET_GB", "0.000001")  # 1 KiB: every model is over


def test_demo_checks_every_config_against_the_memory_budget_before_training(tmp_path, tiny_memory_budget, capsys):
    code, _, err = run_kdw("demo", "--seeds", "1", "--epochs", "1", "--runs-dir", str(tmp_path / "r"), capsys=capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("kdw demo: demo baseline seed 0: student: lenet5_half needs about")
    assert "KDW_MEMORY_BUDGET_GB" in err and not (tmp_path / "r").exists()


def test_sweep_checks_every_point_against_the_memory_budget_before_training(tmp_path, tiny_memory_budget, capsys):
    base = {key: value for key, value in tiny_config(epochs=1).to_dict().items() if key != "temperature"}
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(yaml.safe_dump({"base": base, "grid": {"temperature": [2, 4]}}))
    code, _, err = run_kdw("sweep", str(sweep_file), "--runs-dir", str(tmp_path / "r"), capsys=capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("kdw sweep: sweep point T=2, seed 0: student: lenet5_half needs about"), err
    assert not (tmp_path / "r").exists()


def test_reproduce_checks_every_config_against_the_memory_budget_before_training(tmp_path, tiny_memory_budget, capsys):
    output = tmp_path / "results.md"
    args = ("reproduce", "quant", "--quick", "--runs-dir", str(tmp_path / "r"), "--output", str(output))
    code, _, err = run_kdw(*args, capsys=capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("kdw reproduce: ") and "needs about" in err and "KDW_MEMORY_BUDGET_GB" in err
    assert not (tmp_path / "r").exists() and not output.exists()
