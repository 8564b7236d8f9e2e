"""Fault injection: `kdw train` killed with SIGKILL at random points and then resumed leaves every epoch's metrics in
the store exactly once, and the run ends done.

Each `kdw train` runs `workbench.cli.main` in its own process, forked from a forkserver that has imported the
workbench, torch and sklearn once (importing them in each of the 20 processes would take most of the test's time)."""

import multiprocessing
import os
import random
import sys
import time

import pytest

from workbench.store import RunStore

CONFIG = "dataset: digits\ntrain_subset: 300\nbatch_size: 64\nepochs: 4\noptimizer: adam\nlr: 0.02\ndevice: cpu\n"
EPOCHS, STEPS = 4, 4 * 5  # 300 images in batches of 64: 5 steps per epoch
TRIALS = 10
PRELOAD = ["workbench.cli_commands", "workbench.teachers", "torch._dynamo", "sklearn.datasets"]  # slow imports


def _kdw_train(argv: list[str], env: dict[str, str], log: str) -> None:
    """The body of a `kdw train` process: the test's environment, output to `log`, kdw's exit code."""
    os.environ.update(env)
    from workbench.cli import main

    with open(log, "w") as output:
        sys.stdout = sys.stderr = output
        code = main(["train", *argv, "--quiet"])
        output.flush()
    sys.exit(code)


def log_file(runs, flag: str):
    return runs.parent / f"{runs.name}-{flag.lstrip('-')}.log"


def start_kdw(flag: str, value: str, *, runs) -> multiprocessing.Process:
    """`kdw train FLAG VALUE --runs-dir RUNS --quiet` in a process of its own, its output in `log_file`."""
    context = multiprocessing.get_context("forkserver")
    argv = [flag, value, "--runs-dir", str(runs)]
    process = context.Process(target=_kdw_train, args=(argv, dict(os.environ), str(log_file(runs, flag))))
    process.start()
    return process


def wait_until_running(runs, process: multiprocessing.Process, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = [r.id for r in RunStore(runs, read_only=True).list_runs() if r.status in ("running", "done")]
        if started:
            return started[0]
        assert process.exitcode is None, f"kdw train exited with {process.exitcode} before its run started"
        time.sleep(0.02)
    raise AssertionError("the run never started")


def training_seconds(config, runs) -> float:
    """How long a run of `config` takes from being marked running to its process's end (where kills should land)."""
    process = start_kdw("--config", str(config), runs=runs)
    wait_until_running(runs, process)
    started = time.monotonic()
    process.join(120)
    assert process.exitcode == 0
    return time.monotonic() - started


def assert_each_epoch_once(store: RunStore, run_id: str) -> None:
    frame = store.metrics_frame(run_id)
    epochs = frame[frame.scope == "epoch"].groupby("name").epoch.apply(sorted)
    assert all(found == list(range(1, EPOCHS + 1)) for found in epochs), epochs.to_dict()
    steps = sorted(frame[(frame.scope == "step") & (frame.name == "loss")].step)
    assert steps == list(range(1, STEPS + 1))


@pytest.mark.slow
def test_runs_killed_at_random_points_resume_with_every_epoch_recorded_once(tmp_path):
    multiprocessing.get_context("forkserver").set_forkserver_preload(PRELOAD)
    config = tmp_path / "tiny.yaml"
    config.write_text(CONFIG)
    seconds = training_seconds(config, tmp_path / "calibration")
    chance, interrupted = random.Random(15), 0
    for trial in range(TRIALS):
        runs = tmp_path / f"trial{trial}"
        process = start_kdw("--config", str(config), runs=runs)
        run_id = wait_until_running(runs, process)
        time.sleep(chance.uniform(0.0, 0.8 * seconds))  # 0.8: calibration may have met more load
        process.kill()  # SIGKILL
        process.join()
        status = RunStore(runs, read_only=True).get_run(run_id, refresh=True).status
        assert status in ("interrupted", "done")  # done: the run ended before the kill
        interrupted += status == "interrupted"
        resumed = start_kdw("--resume", run_id, runs=runs)
        resumed.join(120)
        log = log_file(runs, "--resume").read_text()
        assert resumed.exitcode == 0 and f"run {run_id}: done" in log, log
        store = RunStore(runs)
        assert store.get_run(run_id).status == "done"
        assert_each_epoch_once(store, run_id)
    assert interrupted >= TRIALS // 2  # most kills landed while the run was training
