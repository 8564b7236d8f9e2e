"""A classroom server's budgets in the executor: fair order between owners, a cap on each owner's queued runs (a
sweep refused whole), a per-run time budget (stopped runs keep their metrics; hopeless configs refused up front)."""

import os

import pytest
from conftest import tiny_config

from workbench.budgets import least_train_seconds
from workbench.config import RunConfig
from workbench.errors import ConfigError, WorkbenchError
from workbench.executor import Executor, fair_order
from workbench.sweep import parse_sweep, submit_sweep


class FakeProcess:
    """A worker process that is alive and never answers."""

    def __init__(self, pid):
        self.pid = pid
        self.exitcode = None

    def is_alive(self):
        return True


class FakeConn:
    """A worker's pipe that records the jobs sent to it."""

    def __init__(self):
        self.sent = []

    def send(self, job):
        self.sent.append(job)

    def poll(self):
        return False


def queue_jobs(executor, owners):
    """Queued runs with their job rows, one per owner in `owners`, oldest first."""
    ids = []
    for owner in owners:
        run_id = executor.store.create_run(tiny_config().to_dict(), owner=owner)
        executor.jobs.add(run_id, "run")
        ids.append(run_id)
    return ids


def test_fair_order_takes_turns_between_owners_fewest_running_first():
    waiting = [("a1", "run", "a"), ("a2", "run", "a"), ("a3", "run", "a"), ("b1", "run", "b"), ("c1", "run", "c")]
    order = [run_id for run_id, _ in fair_order(waiting, {"a": 1})]
    assert order == ["b1", "c1", "a1", "a2", "a3"]  # FIFO would start a1, a2, a3 first
    assert [run_id for run_id, _ in fair_order(waiting, {})] == ["a1", "b1", "c1", "a2", "a3"]


def test_dispatcher_gives_free_workers_to_the_owner_with_fewest_running_jobs(tmp_path):
    executor = Executor(tmp_path / "runs", max_workers=2)
    busy = executor.store.create_run(tiny_config().to_dict(), owner="alice")
    executor.store.mark_running(busy)  # alice already trains one run
    alice = queue_jobs(executor, ["alice", "alice", "alice"])
    bob = queue_jobs(executor, ["bob", "bob"])
    pipes = [FakeConn(), FakeConn()]
    executor._pool = [executor_worker(os.getpid(), pipe) for pipe in pipes]
    executor.poll()
    started = [pipe.sent[0]["run_id"] for pipe in pipes]
    assert started == [bob[0], alice[0]]  # global FIFO would have started alice's first two
    assert executor.store.get_run(bob[1]).status == "queued"


def executor_worker(pid, pipe):
    from workbench.executor.pool import _Worker

    return _Worker(FakeProcess(pid), pipe)


def test_submit_refuses_an_owner_over_the_queue_cap_with_one_line(tmp_path):
    executor = Executor(tmp_path / "runs", inline=True, max_queued_per_owner=2)
    queue_jobs(executor, ["alice", "alice"])
    with pytest.raises(WorkbenchError, match=r"already have 2 runs queued or running.*\(2, KDW_MAX_QUEUED_PER_OWNER\)"):
        executor.submit(tiny_config(epochs=1), owner="alice")
    assert len(executor.store.list_runs()) == 2
    executor.check_submission([tiny_config()], owner="bob")  # another owner has room


def test_a_sweep_over_the_owner_cap_is_refused_whole(tmp_path):
    executor = Executor(tmp_path / "runs", inline=True, max_queued_per_owner=4)
    queue_jobs(executor, ["alice", "alice"])
    base = {key: value for key, value in tiny_config(epochs=1).to_dict().items() if key != "temperature"}
    spec = parse_sweep({"base": base, "grid": {"temperature": [2, 4, 8]}})
    with pytest.raises(WorkbenchError, match="these 3 runs would give you 5 .* over the 4 .*nothing was queued"):
        submit_sweep(spec, executor, owner="alice")
    assert len(executor.store.list_runs()) == 2
    assert not (executor.store.root / "sweeps").exists()


def test_a_run_past_its_time_budget_is_cancelled_with_its_metrics_kept(tmp_path):
    executor = Executor(tmp_path / "runs", inline=True, time_limit_s=3)
    run_id = executor.submit(tiny_config(epochs=200, train_subset=0, batch_size=16), owner="alice")
    record = executor.store.get_run(run_id)
    assert record.status == "cancelled"
    assert record.message.startswith("time budget of 3 s reached: cancelled during epoch")
    steps = executor.store.metrics_frame(run_id, scope="step")
    assert not steps.empty and steps["epoch"].max() < 200


def test_a_config_that_cannot_finish_within_the_time_budget_is_refused_up_front(tmp_path):
    executor = Executor(tmp_path / "runs", inline=True, time_limit_s=900)
    hopeless = RunConfig.from_dict({"student": "cnn:256", "dataset": "fashion-mnist", "train_subset": 0})
    with pytest.raises(ConfigError, match=r"^epochs: cnn:256 .* needs at least .* time budget of 15 min a run"):
        executor.submit(hopeless, owner="alice")
    assert executor.store.list_runs() == []
    assert least_train_seconds(RunConfig()) < 900  # the default run passes
