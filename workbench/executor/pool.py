"""The executor: a dispatcher thread (one per runs folder and server process) gives the oldest queued jobs
to a pool of `max_workers` spawned worker processes, one job per idle worker; runs submitted together that can train
as a grid (`grids.grid_partners`: a Start over several seeds, a sweep's T × α points) go to one worker as one job.

The workers are started ahead of time and kept between jobs (torch imported, the default dataset loaded),
so a submitted run begins training within a fraction of a second. Cancelling a queued job marks it cancelled
at once; a running one gets the store's cancel flag (the engine polls it twice a second) and its worker is
terminated when it has not stopped after a grace period. A running job whose worker process is gone (a crash,
a server restart) is marked failed."""

from __future__ import annotations

import atexit
import math
import multiprocessing
import os
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from ..budgets import check_owner_room, check_time_budget
from ..concurrency import default_max_workers
from ..config import RunConfig
from ..errors import WorkbenchError
from ..models.estimate import check_config_memory
from ..store import FINISHED, RunStore
from .grids import grid_partners
from .jobs import JOB_KINDS, JobTable, Progress, boot_id, fair_order
from .worker import execute_job, teacher_job_config, worker_main

CRASH_PAUSE_SECONDS = 10.0  # after a worker dies on its own, wait this long before starting another
_WITHDRAWN = -1  # dispatcher_pid of a queued job cancelled before any dispatcher claimed it


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class _Worker:
    """A started worker process, its pipe, and the run it is busy with ('' when idle)."""

    process: multiprocessing.process.BaseProcess
    conn: Connection
    run_id: str = ""
    grid: list[str] = field(default_factory=list)  # every run of its job when they train together as a grid
    terminated_at: float | None = None

    def busy_with(self) -> list[str]:
        """The runs of its job (none when idle)."""
        return self.grid or ([self.run_id] if self.run_id else [])


class Executor:
    """Runs submitted jobs in a pool of `max_workers` worker processes (see the module docstring).

    The workers are started with the dispatcher and kept between jobs, so a job starts on a warm
    interpreter. With `inline=True` a submitted job runs at once in the caller's thread (tests,
    notebooks); no dispatcher thread or worker process is used.

    A classroom server sets budgets: `time_limit_s`, the seconds a job may train before it is stopped (its run
    ends cancelled, its metrics kept, the message naming the budget; a config that cannot finish within it is
    refused when submitted), and `max_queued_per_owner`, the most runs one owner may have queued or running.
    Free workers go to the owner with the fewest running jobs, the oldest job first within an owner. With `grids`
    (the default) runs submitted together that can train as a grid go to one worker as one job."""

    def __init__(
        self,
        runs_dir: str | Path,
        *,
        max_workers: int | None = None,
        inline: bool = False,
        grace_seconds: float = 5.0,
        poll_seconds: float = 0.25,
        time_limit_s: float | None = None,
        max_queued_per_owner: int | None = None,
        grids: bool = True,
    ) -> None:
        self.store = RunStore(runs_dir)
        self.runs_dir = self.store.root
        self.jobs = JobTable(self.store)
        self.max_workers = max_workers or default_max_workers()
        self.inline = inline
        self.grace_seconds = grace_seconds
        self.poll_seconds = poll_seconds
        self.time_limit_s = time_limit_s or None
        self.max_queued_per_owner = max_queued_per_owner or None
        self.grids = grids
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.RLock()
        self._pool: list[_Worker] = []
        self._last_crash = -math.inf
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- what pages and notebooks call -------------------------------------------------------------
    def submit(self, config: RunConfig, *, owner: str = "", group_id: str | None = None, kind: str = "run") -> str:
        """Queue a run of `config` and return its id; it starts when a worker is free (at once when inline)."""
        return self.submit_many([config], owner=owner, group_id=group_id, kind=kind)[0]

    def submit_many(
        self, configs: list[RunConfig], *, owner: str = "", group_id: str | None = None, kind: str = "run"
    ) -> list[str]:
        """Queue runs of `configs` as one batch and return their ids: refused whole, nothing queued, when they would
        pass the server's budgets; the dispatcher sees them all at once, so those of a group that can train together
        go to one worker as a grid."""
        if kind not in JOB_KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        configs = [RunConfig.from_dict(config.to_dict()) for config in configs]
        self.check_submission(configs, owner=owner)
        with self._lock:  # the dispatcher's round waits until the whole batch is queued
            run_ids = [
                self.store.create_run(config.to_dict(), name=config.name, owner=owner, group_id=group_id)
                for config in configs
            ]
            for run_id in run_ids:
                self.jobs.add(run_id, kind)
        if self.inline:
            for run_id in run_ids:
                if self.jobs.claim(run_id, os.getpid()):
                    self.jobs.set_worker(run_id, os.getpid())
                    execute_job(self.runs_dir, run_id, kind, time_limit_s=self.time_limit_s)
        else:
            self.start()
            self._wake.set()
        return run_ids

    def check_submission(self, configs: list[RunConfig], *, owner: str = "") -> None:
        """Refuse, before anything is queued, configs that would pass this server's budgets: more runs than the
        owner may have queued or running, a student or teacher over the memory budget, a run that cannot finish
        within the time budget (WorkbenchError or ConfigError, one line)."""
        if self.max_queued_per_owner is not None:
            check_owner_room(self.store, owner, len(configs), self.max_queued_per_owner)
        for config in configs:
            check_config_memory(config)  # one line naming the field, estimate and budget
            if self.time_limit_s is not None:
                check_time_budget(config, self.time_limit_s)

    def submit_teacher(
        self,
        arch: str,
        dataset: str,
        *,
        seed: int = 0,
        epochs: int | None = None,
        owner: str = "",
        device: str = "auto",
    ) -> str:
        """Queue the training of a teacher (saved to the teacher cache when done); returns the run id."""
        config = teacher_job_config(arch, dataset, seed=seed, epochs=epochs, device=device)
        return self.submit(config, owner=owner, kind="teacher")

    def cancel(self, run_id: str, *, owner: str | None = None) -> str:
        """Stop a run: a queued one is cancelled at once ('cancelled'); a running one is asked to stop
        ('stopping') and terminated after the grace period; a finished one is left alone (its status).

        With `owner` (the asking session's id) a run recorded with another owner is refused: WorkbenchError; an
        admin (`kdw runs cancel`, a session with the admin token) passes no owner and may cancel any run."""
        record = self.store.get_run(run_id)
        if owner is not None and record.owner != owner:
            raise WorkbenchError(
                f"cancel: run {record.name!r} belongs to another session; only the session that "
                "started it can cancel it"
            )
        if record.status in FINISHED:
            return record.status
        if self.jobs.claim(run_id, _WITHDRAWN):
            self.store.finish(run_id, "cancelled", message="cancelled before it started")
            return "cancelled"
        self.store.request_cancel(run_id)
        self.jobs.mark_cancel(run_id)
        self._wake.set()
        return "stopping"

    def progress(self, run_ids: list[str]) -> dict[str, Progress]:
        """Steps done and total steps per run."""
        return self.jobs.progress(list(run_ids))

    def set_max_workers(self, count: int) -> None:
        """Change the concurrency limit (running jobs are never stopped by lowering it)."""
        if count < 1:
            raise WorkbenchError(f"max_workers: {count} is out of range; allowed: at least 1")
        self.max_workers = count
        self._wake.set()

    def worker_pids(self) -> dict[str, int]:
        """The process id running each of this executor's busy runs."""
        with self._lock:
            return {run_id: worker.process.pid or 0 for worker in self._pool for run_id in worker.busy_with()}

    # -- the dispatcher ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the dispatcher thread (which starts the workers) unless already started."""
        with self._lock:
            if self.inline or (self._thread is not None and self._thread.is_alive()):
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name=f"kdw-dispatcher:{self.runs_dir}", daemon=True)
            self._thread.start()
            atexit.register(self.shutdown)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except WorkbenchError:
                pass  # the store was briefly unreadable (locked, moved); try again next round
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def poll(self) -> None:
        """One dispatcher round: collect finished and dead workers, enforce cancel deadlines, fail
        orphaned runs, keep the pool at `max_workers` processes and give waiting jobs to idle ones."""
        with self._lock:
            self._collect()
            self._enforce_cancels()
            self._fail_orphans()
            self._resize_pool()
            self._start_waiting()

    def shutdown(self) -> None:
        """Stop the dispatcher and the workers; runs they were busy with are marked failed."""
        self._stop.set()
        self._wake.set()
        with self._lock:
            for worker in self._pool:
                worker.process.terminate()
            for worker in self._pool:
                worker.process.join(2.0)
                if worker.run_id and self.store.get_run(worker.run_id).status not in FINISHED:
                    self.store.finish(
                        worker.run_id, "failed", message="the app server stopped while this run was going"
                    )
            self._pool.clear()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)

    def _spawn(self) -> _Worker:
        here, there = self._context.Pipe()
        process = self._context.Process(target=worker_main, args=(there,), daemon=True, name="kdw-worker")
        process.start()
        there.close()
        return _Worker(process, here)

    def _resize_pool(self) -> None:
        """Start workers up to `max_workers` (not within a while of a worker dying on its own), and let
        idle ones beyond it go."""
        while len(self._pool) > self.max_workers:
            idle = next((worker for worker in self._pool if not worker.run_id), None)
            if idle is None:
                break
            self._pool.remove(idle)
            idle.conn.send(None)
            idle.conn.close()
        crashed_lately = time.monotonic() - self._last_crash < CRASH_PAUSE_SECONDS
        while len(self._pool) < self.max_workers and not crashed_lately and not self._stop.is_set():
            self._pool.append(self._spawn())

    def _start_waiting(self) -> None:
        """Give waiting jobs to idle workers in fair order: the owner with the fewest running jobs first. A run
        goes with the waiting runs of its group that can train together with it (`grid_partners`) as one grid."""
        idle = [worker for worker in self._pool if not worker.run_id]
        waiting = self.jobs.waiting() if idle else []
        if not waiting:
            return
        owners = self.store.owners([run_id for run_id, _ in waiting])
        running = self.store.count_by_owner(("running",))
        for run_id, kind in fair_order([(run_id, kind, owners.get(run_id, "")) for run_id, kind in waiting], running):
            if not idle:
                return
            if not self.jobs.claim(run_id, os.getpid()):
                continue
            partners = grid_partners(self.store, run_id, waiting, len(idle)) if self.grids and kind == "run" else []
            grid = [run_id, *(partner for partner in partners if self.jobs.claim(partner, os.getpid()))]
            worker = idle.pop(0)
            worker.conn.send(
                {
                    "runs_dir": str(self.runs_dir),
                    "run_id": run_id,
                    "run_ids": grid,
                    "kind": kind,
                    "threads": max(1, (os.cpu_count() or 1) // self.max_workers),
                    "time_limit_s": self.time_limit_s,
                }
            )
            worker.run_id, worker.grid = run_id, grid if len(grid) > 1 else []
            for member in grid:
                self.jobs.set_worker(member, worker.process.pid or 0)
                self.store.mark_running(member)

    def _collect(self) -> None:
        """Mark workers that answered as idle; drop dead ones and settle the runs they held."""
        for worker in list(self._pool):
            if worker.run_id and worker.process.is_alive() and worker.conn.poll():
                try:
                    worker.conn.recv()
                    worker.run_id, worker.grid = "", []
                    continue
                except (EOFError, OSError):
                    pass
            if worker.process.is_alive():
                continue
            worker.process.join(0)
            worker.conn.close()
            self._pool.remove(worker)
            if worker.terminated_at is None:
                self._last_crash = time.monotonic()
            if worker.run_id:
                self._settle_dead(worker)

    def _settle_dead(self, worker: _Worker) -> None:
        """Record how the runs ended whose worker died before reporting its job done."""
        for run_id in self.jobs.unfinished_on(worker.process.pid or 0):
            if worker.terminated_at is not None:
                message = f"stopped by force: it did not stop within {self.grace_seconds:g} s of the cancel request"
                self.store.finish(run_id, "cancelled", message=message)
            else:
                message = f"the worker process exited (code {worker.process.exitcode}) before the run finished"
                self.store.finish(run_id, "failed", message=message)

    def _enforce_cancels(self) -> None:
        """Terminate a worker whose run did not stop within the grace period of its cancel (a grid's worker only
        when every run it still trains was cancelled: a cancelled student leaves its grid by itself)."""
        busy = {worker.process.pid or 0: worker for worker in self._pool if worker.run_id}
        now = time.time()
        for pid, asked_at in self.jobs.cancel_times(list(busy)).items():
            worker = busy[pid]
            if now - asked_at < self.grace_seconds:
                continue
            if worker.grid and not all(self.store.cancel_requested(r) for r in self.jobs.unfinished_on(pid)):
                continue
            if worker.terminated_at is None:
                worker.process.terminate()
                worker.terminated_at = now
            elif now - worker.terminated_at > 2.0:
                worker.process.kill()

    def _fail_orphans(self) -> None:
        busy = {run_id for worker in self._pool for run_id in worker.busy_with()}
        for run_id, dispatcher_pid, worker_pid, recorded_boot in self.jobs.unfinished_claimed():
            if run_id in busy:
                continue
            pid = worker_pid or dispatcher_pid  # no worker yet: the dispatcher (or inline caller) holds it
            if recorded_boot == boot_id() and (pid == os.getpid() or pid_alive(pid)):
                continue
            self.store.finish(
                run_id,
                "failed",
                message=f"its worker process (pid {pid}) is gone: the app server "
                "restarted or the worker crashed; start the run again",
            )
