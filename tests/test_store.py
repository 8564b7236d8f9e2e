"""The run store: runs and metrics round-trip as DataFrames; concurrent writers lose no row."""

import multiprocessing as mp
import os
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

from workbench.errors import WorkbenchError
from workbench.store import FINISHED, STALE_SECONDS, RunStore


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
    store.log_metrics(
        running,
        [
            (1, 0, "step", "loss", 1.0),
            (3, 0, "step", "loss", 0.5),
            (4, 0, "step", "ce", 0.4),
            (5, 1, "epoch", "loss", 0.3),
        ],
    )
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


def _status_in_a_listing(store, run_id):
    return next(record.status for record in store.list_runs() if record.id == run_id)


def _mark_running_in_another_process(root, run_id):
    """Mark a run running from a process that then exits (as a training process killed with -9 would)."""
    code = f"from workbench.store import RunStore; RunStore({str(root)!r}).mark_running({run_id!r})"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_running_run_records_its_pid_host_and_heartbeat(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run({})
    store.mark_running(run_id)
    record = store.get_run(run_id)
    assert record.pid == os.getpid() and record.host == socket.gethostname()
    assert record.heartbeat == pytest.approx(time.time(), abs=5)


def test_a_run_whose_process_is_gone_is_listed_as_interrupted(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run({})
    _mark_running_in_another_process(tmp_path, run_id)
    assert _status_in_a_listing(store, run_id) == "interrupted"
    record = store.get_run(run_id)
    assert record.status == "interrupted" and "--resume" in record.message and "interrupted" in FINISHED


def test_a_run_of_a_live_process_stays_running(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run({})
    store.mark_running(run_id)
    assert _status_in_a_listing(store, run_id) == "running"
    assert [record.status for record in store.recent_runs()] == ["running"]


def test_a_run_on_another_host_is_interrupted_once_its_heartbeat_is_stale(tmp_path):
    store = RunStore(tmp_path)
    fresh, stale = store.create_run({}), store.create_run({})
    for run_id, age in ((fresh, 1.0), (stale, STALE_SECONDS + 60)):
        store.mark_running(run_id)
        with sqlite3.connect(store.path) as db:
            db.execute("UPDATE runs SET host='elsewhere', heartbeat=? WHERE id=?", (time.time() - age, run_id))
    assert _status_in_a_listing(store, fresh) == "running"
    assert _status_in_a_listing(store, stale) == "interrupted"


def test_heartbeat_moves_forward(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run({})
    store.mark_running(run_id)
    before = store.get_run(run_id).heartbeat
    time.sleep(0.01)
    store.beat(run_id)
    assert store.get_run(run_id).heartbeat > before


def test_non_finite_metric_values_never_reach_the_store(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run({})
    store.log_metrics(
        run_id,
        [
            (1, 1, "epoch", "test_loss", float("nan")),
            (1, 1, "epoch", "kl", float("inf")),
            (1, 1, "epoch", "test_acc", 0.5),
        ],
    )
    assert store.metrics_frame(run_id)[["name", "value"]].values.tolist() == [["test_acc", 0.5]]


def _snapshot(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_reading_a_store_writes_nothing(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run({"method": "kd"})
    store.log_metrics(run_id, [(1, 1, "epoch", "test_acc", 0.5)])
    del store
    before = _snapshot(tmp_path)
    reader = RunStore(tmp_path, read_only=True)
    assert reader.get_run(run_id).config == {"method": "kd"} and len(reader.runs_frame()) == 1
    assert len(reader.metrics_frame(run_id)) == 1
    assert _snapshot(tmp_path)["runs.sqlite"] == before["runs.sqlite"]


def test_a_store_of_an_older_schema_is_read_without_being_changed(tmp_path):
    with sqlite3.connect(tmp_path / "runs.sqlite") as db:  # no pid, host or heartbeat columns; rollback journal
        db.executescript(OLD_SCHEMA)
        db.execute("INSERT INTO runs (id, name, config, status, created) VALUES ('a', 'a', '{}', 'running', 0)")
    before = _snapshot(tmp_path)
    assert [record.status for record in RunStore(tmp_path, read_only=True).list_runs()] == ["running"]
    assert _snapshot(tmp_path) == before
    assert RunStore(tmp_path).get_run("a").pid is None  # a writer adds the columns


def test_reading_a_missing_store_creates_nothing(tmp_path):
    reader = RunStore(tmp_path / "nowhere", read_only=True)
    assert reader.list_runs() == [] and reader.runs_frame().empty and not (tmp_path / "nowhere").exists()
    with pytest.raises(WorkbenchError, match="no run with id"):
        reader.get_run("nope")


def test_a_read_only_listing_shows_a_lost_run_as_interrupted_without_writing(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run({})
    _mark_running_in_another_process(tmp_path, run_id)
    assert _status_in_a_listing(RunStore(tmp_path, read_only=True), run_id) == "interrupted"
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT status FROM runs").fetchone() == ("running",)


OLD_SCHEMA = """
CREATE TABLE runs (id TEXT PRIMARY KEY, name TEXT NOT NULL, config TEXT NOT NULL, status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '', created REAL NOT NULL, started REAL, finished REAL,
    final_metrics TEXT NOT NULL DEFAULT '{}', artifacts TEXT NOT NULL DEFAULT '{}', parent_id TEXT, group_id TEXT,
    owner TEXT NOT NULL DEFAULT '', cancel_requested INTEGER NOT NULL DEFAULT 0);
CREATE TABLE metrics (run_id TEXT NOT NULL, step INTEGER NOT NULL, epoch INTEGER NOT NULL, scope TEXT NOT NULL,
    name TEXT NOT NULL, value REAL NOT NULL);
"""


def test_a_store_whose_first_writer_has_not_made_its_tables_yet_reads_as_empty(tmp_path):
    sqlite3.connect(tmp_path / "runs.sqlite").close()  # the file exists, the schema does not yet
    assert RunStore(tmp_path, read_only=True).list_runs() == []
