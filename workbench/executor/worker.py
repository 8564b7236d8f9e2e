"""What a worker process does: import the training stack once, then run the jobs it is sent (`worker_main`),
each through `runner.run_recorded` (or `runner.train_teacher_recorded` for a teacher job; `execute_grid_job` for
runs sent together as a grid), so every step and epoch lands in the store. A run whose teacher is not cached trains
it first as a run of its own, recorded as a follow-on job of the same worker. `execute_job` runs one job in the
calling process (also the inline executor's path)."""

from __future__ import annotations

import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..config import RunConfig
from ..errors import WorkbenchError
from ..store import FINISHED, RunStore
from .jobs import JobTable

if TYPE_CHECKING:
    from ..engine import Callback


def teacher_job_config(
    arch: str, dataset: str, *, seed: int = 0, epochs: int | None = None, device: str = "auto"
) -> RunConfig:
    """The run config a teacher-training job records: a baseline run of `arch` with the dataset's recipe."""
    from ..teachers import TeacherSpec

    return TeacherSpec(arch, dataset, seed, epochs=epochs).run_config(device)


def execute_job(runs_dir: str | Path, run_id: str, kind: str, *, time_limit_s: float | None = None) -> str:
    """Run one job to its end in this process (a worker, or the caller in inline mode); returns its status
    (for a chain of generations, that of the first: each later generation is a run of its own).

    With `time_limit_s` the job is stopped (at its next step) once it has trained that long: the run it was on
    ends cancelled with its metrics so far, its message naming the budget. Errors are recorded on the run (the
    runner marks it failed with a one-line message); nothing is raised."""
    from ..generations import is_generational, run_generations
    from ..runner import record_internal_error, run_recorded

    store = RunStore(runs_dir)
    jobs = JobTable(store)
    record = store.get_run(run_id)
    budget = _TimeBudget(time_limit_s)
    TotalSteps = _total_steps_callback(jobs, budget.reached, time_limit_s)

    def generation_callbacks(number: int, generation_run_id: str) -> list[Callback]:
        """A later generation of a chain becomes a job of this worker as it starts."""
        if generation_run_id != run_id:
            jobs.add_follow_on(generation_run_id, run_id)
        return [TotalSteps(generation_run_id)]

    teacher_callbacks = _teacher_follow_on(jobs, run_id, TotalSteps)

    try:
        budget.start()
        config = RunConfig.from_dict(record.config)
        if kind == "teacher":
            return _train_teacher_job(config, store, run_id, [TotalSteps(run_id)], budget.reached)
        if is_generational(config):
            run_generations(
                config,
                store,
                callbacks_for=generation_callbacks,
                first_run_id=run_id,
                on_teacher=teacher_callbacks,
                cancel_event=budget.reached,
            )
        else:
            run_recorded(
                config,
                store,
                run_id=run_id,
                callbacks=[TotalSteps(run_id)],
                on_teacher=teacher_callbacks,
                cancel_event=budget.reached,
            )
    except WorkbenchError as error:
        if store.get_run(run_id).status not in FINISHED:
            store.finish(run_id, "failed", message=str(error))
    except Exception as error:  # the runner saved the traceback and marked the run failed; anything else, here
        if store.get_run(run_id).status not in FINISHED:
            record_internal_error(store, run_id, error)
    finally:
        budget.stop()
    return store.get_run(run_id).status


def execute_grid_job(runs_dir: str | Path, run_ids: list[str], *, time_limit_s: float | None = None) -> None:
    """Train queued runs together as one grid in this process (`grid_runner.train_grid_recorded`: one stream of
    batches, each run its own weights, seed and metrics); every run ends finished, nothing is raised.

    With `time_limit_s` (a run's budget) the grid may train that long for each of its runs, the worker time they
    would have had one after another; past it every run still training ends cancelled, its metrics kept."""
    from ..grid_runner import train_grid_recorded

    jobs = JobTable(RunStore(runs_dir))
    seconds = time_limit_s * len(run_ids) if time_limit_s else None
    budget = _TimeBudget(seconds)
    TotalSteps = _total_steps_callback(jobs, budget.reached, seconds)
    teacher_callbacks = _teacher_follow_on(jobs, run_ids[0], TotalSteps)
    try:
        budget.start()
        train_grid_recorded(
            jobs.store,
            run_ids,
            callbacks_for=lambda run_id: [TotalSteps(run_id)],
            cancel_event=budget.reached,
            on_teacher=teacher_callbacks,
        )
    finally:
        budget.stop()


class _TimeBudget:
    """A job's time budget: `reached` is set once the job has run `seconds` after `start` (never without a
    budget); every run of the job polls it as its cancel event."""

    def __init__(self, seconds: float | None) -> None:
        self.reached = threading.Event()
        self._timer = threading.Timer(seconds, self.reached.set) if seconds else None
        if self._timer is not None:
            self._timer.daemon = True

    def start(self) -> None:
        """Start counting."""
        if self._timer is not None:
            self._timer.start()

    def stop(self) -> None:
        """Stop counting (the job ended)."""
        if self._timer is not None:
            self._timer.cancel()


def _teacher_follow_on(jobs: JobTable, run_id: str, total_steps: type) -> Callable[..., list[Callback]]:
    """`on_teacher` for a job's runs: a missing teacher trained first becomes a teacher job of this worker (a
    follow-on of `run_id`'s) as it starts, with its step total."""

    def teacher_callbacks(spec: Any, teacher_run_id: str, teacher_config: RunConfig) -> list[Callback]:
        jobs.add_follow_on(teacher_run_id, run_id, kind="teacher")
        return [total_steps(teacher_run_id)]

    return teacher_callbacks


def _total_steps_callback(jobs: JobTable, budget_reached: threading.Event, time_limit_s: float | None) -> type:
    """The callback class every run of a job gets: it writes the run's step total to the job table once training is
    set up, and a run stopped by the time budget says so in its message."""
    from ..engine import Callback, FitResult, RunInfo

    class TotalSteps(Callback):
        def __init__(self, target: str) -> None:
            self.target = target

        def on_start(self, info: RunInfo) -> None:
            jobs.set_total_steps(self.target, info.total_steps)

        def on_end(self, result: FitResult) -> None:
            if budget_reached.is_set() and result.status == "cancelled":
                result.message = f"time budget of {time_limit_s:g} s reached: {result.message}"

    return TotalSteps


def _train_teacher_job(
    config: RunConfig, store: RunStore, run_id: str, callbacks: list[Any], cancel_event: threading.Event
) -> str:
    """Train a teacher into the teacher cache as the job's run (`runner.train_teacher_recorded`), cancellable
    between steps; returns the run's status. An error has ended the run (its status and message, a bug's
    traceback) before it is raised."""
    from ..runner import train_teacher_recorded
    from ..teachers import TeacherSpec

    spec = TeacherSpec(config.student, config.dataset, config.seed, epochs=config.epochs)
    train_teacher_recorded(
        spec,
        store,
        run_id=run_id,
        callbacks=callbacks,
        cancel_event=cancel_event,
        device=config.device,
        command=f"app: train teacher {config.student} on {config.dataset}",
    )
    return "done"


def worker_main(conn: Connection) -> None:
    """A worker process: import the training stack once, then run the jobs it is sent, one at a time,
    answering each with its run id when done; None (or a closed pipe) ends it."""
    import torch

    from .. import runner  # noqa: F401  (imported now so a job starts without the import delay)
    from ..data import load_dataset

    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)  # the first optimiser imports torch._dynamo (~3 s)
    try:
        load_dataset(RunConfig().dataset)  # the default dataset, held in this process's cache
    except WorkbenchError:
        pass
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        torch.set_num_threads(job["threads"])
        if len(job.get("run_ids", ())) > 1:
            execute_grid_job(job["runs_dir"], job["run_ids"], time_limit_s=job.get("time_limit_s"))
        else:
            execute_job(job["runs_dir"], job["run_id"], job["kind"], time_limit_s=job.get("time_limit_s"))
        conn.send(job["run_id"])
