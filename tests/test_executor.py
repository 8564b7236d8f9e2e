"""The job executor: a queue in the run store, a pool of worker processes, cancelling, dead workers."""

import os
import signal
import subprocess
import time

import pytest
from conftest import tiny_config

from workbench.errors import WorkbenchError
from workbench.executor import Executor, JobTable
from workbench.store import FINISHED


def wait_for(predicate, timeout=60.0, interval=0.05):
    """Poll until predicate() is true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")


def finished(executor, run_id):
    return executor.store.get_run(run_id).status in FINISHED


@pytest.fixture(scope="module")
def executor(tmp_path_factory):
    """One executor with one worker for the whole module (starting workers takes seconds)."""
    runner = Executor(tmp_path_factory.mktemp("executor_runs"), max_workers=1, grace_seconds=1.0, poll_seconds=0.05)
    runner.start()
    yield runner
    runner.shutdown()


def long_config(**changes):
    """A digits run long enough to still be going when the test acts on it."""
    return tiny_config(epochs=200, train_subset=0, batch_size=16, **changes)


def test_second_run_waits_queued_then_runs(executor):
    first = executor.submit(tiny_config(epochs=1, train_subset=300), owner="test")
    second = executor.submit(tiny_config(epochs=1, train_subset=300, seed=1), owner="test")
    assert executor.store.get_run(second).status == "queued"
    wait_for(lambda: finished(executor, first) and finished(executor, second))
    a, b = executor.store.get_run(first), executor.store.get_run(second)
    assert (a.status, b.status) == ("done", "done")
    assert b.started >= a.finished
    assert b.owner == "test" and b.final_metrics["epochs_done"] == 1
    assert executor.progress([first])[first].fraction == 1.0


def test_cancel_queued_and_running_runs(executor):
    running = executor.submit(long_config())
    queued = executor.submit(tiny_config(epochs=1))
    wait_for(lambda: executor.progress([running])[running].done > 0)
    assert executor.cancel(queued) == "cancelled"
    assert executor.cancel(running) == "stopping"
    wait_for(lambda: finished(executor, running), timeout=20)
    stopped = executor.store.get_run(running)
    assert stopped.status == "cancelled" and "stopped by force" not in stopped.message
    never_ran = executor.store.get_run(queued)
    assert never_ran.status == "cancelled" and never_ran.started is None
    assert executor.store.metrics_frame(queued).empty


def test_teacher_job_trains_a_teacher_into_the_cache(executor):
    run_id = executor.submit_teacher("mlp", "digits", seed=3, epochs=2)
    wait_for(lambda: finished(executor, run_id))
    record = executor.store.get_run(run_id)
    assert record.status == "done", record.message
    weights = record.artifacts["teacher"]
    assert os.path.exists(weights) and os.path.exists(weights.replace(".pt", ".json"))
    assert record.final_metrics["test_acc"] > 0.3
    epochs = executor.store.metrics_frame(run_id, scope="epoch")
    assert sorted(epochs.query("name == 'test_acc'")["epoch"]) == [1, 2]


def test_run_of_a_stopped_server_is_failed_but_a_cli_run_is_left_alone(executor):
    gone = subprocess.Popen(["true"])
    gone.wait()
    orphan = executor.store.create_run(tiny_config().to_dict(), status="running")
    jobs = JobTable(executor.store)
    jobs.add(orphan, "run")
    assert jobs.claim(orphan, gone.pid)
    jobs.set_worker(orphan, gone.pid)
    cli_run = executor.store.create_run(tiny_config().to_dict(), status="running")  # no job row: not ours
    wait_for(lambda: finished(executor, orphan), timeout=10)
    record = executor.store.get_run(orphan)
    assert record.status == "failed" and f"pid {gone.pid}" in record.message and "restarted" in record.message
    assert executor.store.get_run(cli_run).status == "running"


def test_run_that_ignores_cancel_is_terminated_after_the_grace_period(executor):
    # the resnet8 teacher is not cached, so the run first trains it, and teacher training does not poll the flag
    stuck = executor.submit(tiny_config(teachers=["resnet8"], teacher_seed=7))
    wait_for(lambda: executor.store.get_run(stuck).status == "running")  # given to a worker (perhaps still starting)
    executor.cancel(stuck)
    wait_for(lambda: finished(executor, stuck), timeout=20)
    record = executor.store.get_run(stuck)
    assert record.status == "cancelled" and "stopped by force" in record.message


def test_killed_worker_marks_its_run_failed(executor):
    run_id = executor.submit(long_config())
    pid = wait_for(lambda: executor.worker_pids().get(run_id))
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: finished(executor, run_id), timeout=10)
    record = executor.store.get_run(run_id)
    assert record.status == "failed" and "worker process exited" in record.message


def test_changing_the_concurrency_never_stops_a_running_job(executor):
    run_id = executor.submit(long_config())
    pid = wait_for(lambda: executor.worker_pids().get(run_id))
    wait_for(lambda: executor.progress([run_id])[run_id].done > 0)
    executor.set_max_workers(2)
    wait_for(lambda: len(executor._pool) == 2)
    executor.set_max_workers(1)  # the idle worker goes; the busy one keeps its job
    wait_for(lambda: len(executor._pool) == 1)
    assert executor.worker_pids() == {run_id: pid} and executor.store.get_run(run_id).status == "running"
    executor.cancel(run_id)
    wait_for(lambda: finished(executor, run_id), timeout=20)
    assert executor.store.get_run(run_id).status == "cancelled"


def chain_runs(executor, first):
    """The runs of the chain that starts at `first`, oldest first."""
    group = executor.store.get_run(first).group_id
    return sorted(executor.store.list_runs(group_id=group), key=lambda record: record.created)


def test_worker_trains_every_generation_of_a_sequential_feed_job(executor):
    config = tiny_config(method="feed-sequential", epochs=1, train_subset=300, method_params={"generations": 3})
    first = executor.submit(config, owner="alice", group_id="chain-app")
    wait_for(
        lambda: (
            len(chain_runs(executor, first)) == 3 and all(finished(executor, r.id) for r in chain_runs(executor, first))
        ),
        timeout=120,
    )
    runs = chain_runs(executor, first)
    assert [r.status for r in runs] == ["done", "done", "done"], [r.message for r in runs]
    assert [r.parent_id for r in runs] == [None, runs[0].id, runs[1].id]
    assert {r.owner for r in runs} == {"alice"}
    progress = executor.progress([r.id for r in runs])
    assert all(progress[r.id].total > 0 and progress[r.id].fraction == 1.0 for r in runs)


def test_cancelling_a_later_generation_stops_the_chain(executor):
    config = tiny_config(
        method="feed-sequential", epochs=2, train_subset=0, batch_size=16, method_params={"generations": 3}
    )  # seconds per generation
    first = executor.submit(config, owner="bob", group_id="chain-cancel")
    second = wait_for(lambda: next((r.id for r in chain_runs(executor, first)[1:]), None), timeout=60)
    with pytest.raises(WorkbenchError, match="another session"):
        executor.cancel(second, owner="carol")
    executor.cancel(second, owner="bob")
    wait_for(lambda: finished(executor, second), timeout=30)
    runs = chain_runs(executor, first)
    assert [r.status for r in runs] == ["done", "cancelled"], [r.message for r in runs]


def test_inline_executor_runs_the_job_before_submit_returns(tmp_path):
    inline = Executor(tmp_path / "runs", inline=True)
    run_id = inline.submit(tiny_config(epochs=1, train_subset=300))
    record = inline.store.get_run(run_id)
    assert record.status == "done" and record.final_metrics["epochs_done"] == 1


def test_a_teacher_job_that_raises_an_unexpected_error_ends_failed_with_its_traceback(tmp_path, monkeypatch):
    def broken_training(self, run_id, total):  # a bug met once the teacher's training has started
        raise RuntimeError("boom in teacher training")

    monkeypatch.setattr(JobTable, "set_total_steps", broken_training)
    inline = Executor(tmp_path / "runs", inline=True)
    run_id = inline.submit_teacher("mlp", "digits", epochs=1)
    record = inline.store.get_run(run_id)
    assert record.status == "failed"
    assert record.message == "internal error: RuntimeError: boom in teacher training"
    saved = (inline.store.run_dir(run_id) / "traceback.txt").read_text()
    assert "broken_training" in saved and "RuntimeError: boom in teacher training" in saved


def test_a_worker_stops_a_job_at_the_servers_time_budget(executor):
    executor.time_limit_s = 2.0
    try:
        run_id = executor.submit(long_config(), owner="alice")
        # the budget is the server's when the job is dispatched (the pool may still be starting)
        wait_for(lambda: executor.store.get_run(run_id).status != "queued", timeout=60)
    finally:
        executor.time_limit_s = None
    wait_for(lambda: finished(executor, run_id), timeout=60)
    record = executor.store.get_run(run_id)
    assert record.status == "cancelled"
    assert record.message.startswith("time budget of 2 s reached: cancelled during epoch"), record.message


def worker_of(executor, run_id):
    """The worker process id the job table holds for a run."""
    with JobTable(executor.store).connect() as db:
        return db.execute("SELECT worker_pid FROM executor_jobs WHERE run_id=?", (run_id,)).fetchone()[0]


def test_runs_started_together_over_several_seeds_train_as_one_grid(executor):
    configs = [tiny_config(seed=seed, method=method) for seed in (0, 1) for method in ("kd", "baseline")]
    run_ids = executor.submit_many(configs, owner="test", group_id="seeds")
    wait_for(lambda: all(finished(executor, run_id) for run_id in run_ids))
    records = [executor.store.get_run(run_id) for run_id in run_ids]
    assert [record.status for record in records] == ["done"] * 4
    assert len({worker_of(executor, run_id) for run_id in run_ids}) == 1  # one worker, one job
    assert max(record.started for record in records) < min(record.finished for record in records)  # together
    assert all(executor.progress([run_id])[run_id].fraction == 1.0 for run_id in run_ids)
    assert all((executor.store.run_dir(run_id) / "student.pt").exists() for run_id in run_ids)
    assert all("probe" in set(executor.store.metrics_frame(run_id)["scope"]) for run_id in run_ids)


def test_cancelling_one_run_of_a_grid_leaves_the_others_training(executor):
    first, second = executor.submit_many([long_config(seed=seed) for seed in (0, 1)], owner="test", group_id="pair")
    wait_for(lambda: all(p.done > 0 for p in executor.progress([first, second]).values()))
    assert worker_of(executor, first) == worker_of(executor, second)
    executor.cancel(first)
    wait_for(lambda: finished(executor, first), timeout=20)
    time.sleep(2 * executor.grace_seconds)  # past the grace period: the worker must not be terminated
    assert executor.store.get_run(first).status == "cancelled"
    assert "stopped by force" not in executor.store.get_run(first).message
    assert executor.store.get_run(second).status == "running"
    executor.cancel(second)
    wait_for(lambda: finished(executor, second), timeout=20)
    assert executor.store.get_run(second).status == "cancelled"


def test_a_grid_gets_the_time_budget_of_its_runs_together(executor):
    executor.time_limit_s = 1.0
    try:
        run_ids = executor.submit_many([long_config(seed=seed) for seed in (0, 1)], owner="bob", group_id="budget")
        wait_for(lambda: all(executor.store.get_run(r).status != "queued" for r in run_ids), timeout=60)
    finally:
        executor.time_limit_s = None
    wait_for(lambda: all(finished(executor, run_id) for run_id in run_ids), timeout=60)
    for run_id in run_ids:
        record = executor.store.get_run(run_id)
        assert record.status == "cancelled"
        assert record.message.startswith("time budget of 2 s reached: cancelled during epoch"), record.message


def test_a_grid_whose_teacher_is_missing_trains_it_first_as_a_teacher_job(executor):
    configs = [tiny_config(seed=seed, teachers=["mlp"], teacher_seed=17) for seed in (0, 1)]
    run_ids = executor.submit_many(configs, owner="carol", group_id="new-teacher")
    wait_for(lambda: all(finished(executor, run_id) for run_id in run_ids), timeout=120)
    assert [executor.store.get_run(run_id).status for run_id in run_ids] == ["done", "done"]
    teacher_id = executor.jobs.latest("teacher")
    teacher = executor.store.get_run(teacher_id)
    assert teacher.status == "done" and teacher.owner == "carol"
    assert teacher.config["student"] == "mlp" and teacher.config["seed"] == 17
    assert executor.progress([teacher_id])[teacher_id].fraction == 1.0
