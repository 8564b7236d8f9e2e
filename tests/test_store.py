"""The run store: runs and metrics round-trip as DataFrames; concurrent writers lose no row."""
import multiprocessing as mp

import pytest

from workbench.errors import WorkbenchError
from workbench.store import RunStore


def test_run_lifecycle_and_frames(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run({"method": "kd", "temperature": 4.0}, name="first")
    store.mark_running(run_id)
    store.log_metrics(run_id, [(1, 1, "step", "loss", 2.5), (1, 1, "epoch", "test_acc", 0.5)])
    store.finish(run_id, "done", final_metrics={"test_acc": 0.5})
    record = store.get_run(run_id)
    assert record.status == "done" and record.final_metrics == {"test_acc": 0.5} and record.wall_seconds >= 0
    runs = store.runs_frame()
    assert runs.loc[0, "config.method"] == "kd" and runs.loc[0, "final.test_acc"] == 0.5
    metrics = store.metrics_frame(run_id, scope="epoch")
    assert metrics[["name", "value"]].values.tolist() == [["test_acc", 0.5]]


def test_unknown_run_is_a_clear_error(tmp_path):
    with pytest.raises(WorkbenchError, match="no run with id"):
        RunStore(tmp_path).get_run("nope")


def test_runs_by_status_and_the_last_step_with_a_loss(tmp_path):
    store = RunStore(tmp_path)
    queued, running, done = (store.create_run({}, status=status) for status in ("queued", "running", "running"))
    store.finish(done, "done")
    assert sorted(store.run_ids_with_status(("queued", "running"))) == sorted([queued, running])
    store.log_metrics(running, [(1, 0, "step", "loss", 1.0), (3, 0, "step", "loss", 0.5), (4, 0, "step", "ce", 0.4),
                                (5, 1, "epoch", "loss", 0.3)])
    assert store.last_steps([queued, running, "nope"]) == {running: 3}

def test_cancel_flag_is_seen_by_readers(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run({})
    assert not store.cancel_requested(run_id)
    RunStore(tmp_path).request_cancel(run_id)
    assert store.cancel_requested(run_id)


def _writer(root, run_id, worker, rows):
    store = RunStore(root)
    for step in range(rows):
        store.log_metrics(run_id, [(step, 0, "step", f"w{worker}", float(step))])


def test_two_processes_writing_at_once_lose_no_row(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run({})
    context = mp.get_context("spawn")
    workers = [context.Process(target=_writer, args=(str(tmp_path), run_id, w, 150)) for w in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    frame = store.metrics_frame(run_id)
    assert len(frame) == 300
    assert frame.groupby("name").size().to_dict() == {"w0": 150, "w1": 150}


def test_corrupt_store_file_is_a_clear_error(tmp_path):
    (tmp_path / "runs.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(WorkbenchError, match="run store"):
        RunStore(tmp_path)
