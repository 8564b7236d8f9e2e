"""The job executor: runs recorded runs in worker processes, with the run store as its queue.

`submit` records a run with status `queued` plus a row in the `executor_jobs` table of the same SQLite
file; a dispatcher thread (one per runs folder and server process) gives the oldest queued jobs to a
pool of `max_workers` spawned worker processes, one job per idle worker. Each worker trains through
`runner.run_recorded`, so every step and epoch lands in the store, where pages and notebooks read them.
The workers are started ahead of time and kept between jobs (torch imported, the default dataset
loaded), so a submitted run begins training within a fraction of a second.

Cancelling a queued job marks it cancelled at once; a running one gets the store's cancel flag (the
engine polls it twice a second) and its worker is terminated when it has not stopped after a grace
period. A running job whose worker process is gone (a crash, a server restart) is marked failed."""
from __future__ import annotations

import atexit
import math
import multiprocessing
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Iterator

from .config import RunConfig
from .errors import WorkbenchError
from .store import FINISHED, RunStore

JOB_KINDS = ("run", "teacher")

_JOBS_SCHEMA = """
CREATE TABLE IF NOT EXISTS executor_jobs (
    run_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    created REAL NOT NULL,
    dispatcher_pid INTEGER,
    worker_pid INTEGER,
    boot_id TEXT NOT NULL DEFAULT '',
    total_steps INTEGER,
    cancel_at REAL
);
"""
CRASH_PAUSE_SECONDS = 10.0  # after a worker dies on its own, wait this long before starting another
_WITHDRAWN = -1  # dispatcher_pid of a queued job cancelled before any dispatcher claimed it


def default_max_workers() -> int:
    """Concurrent training processes by default: one per two CPU cores, at least one, at most four."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def boot_id() -> str:
    """An id of the running OS boot (Linux), so a worker pid recorded before a reboot is never taken as alive."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


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
class Progress:
    """How far a run is: optimisation steps done out of the total (0 until the worker reports it)."""

    done: int
    total: int

    @property
    def fraction(self) -> float:
        """Steps done over total, in [0, 1]."""
        return min(1.0, self.done / self.total) if self.total else 0.0

    def seconds_left(self, elapsed: float) -> float | None:
        """Seconds to go at the pace of the `elapsed` seconds so far, or None before the first step."""
        if self.done <= 0 or not self.total:
            return None
        return max(0.0, elapsed * (self.total - self.done) / self.done)


class JobTable:
    """The executor's own table in the run store's SQLite file: kind, worker pid and step total per job."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self.connect() as db:
            db.executescript(_JOBS_SCHEMA)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection with a busy timeout, in autocommit mode."""
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=30000")
            yield db
        finally:
            db.close()

    def add(self, run_id: str, kind: str) -> None:
        """Queue a job for a run the store already holds."""
        with self.connect() as db:
            db.execute("INSERT INTO executor_jobs (run_id, kind, created) VALUES (?, ?, ?)", (run_id, kind, time.time()))

    def claim(self, run_id: str, dispatcher_pid: int) -> bool:
        """Take a waiting job for one dispatcher; False when another took (or withdrew) it first."""
        with self.connect() as db:
            cursor = db.execute("UPDATE executor_jobs SET dispatcher_pid=?, boot_id=? WHERE run_id=? "
                                "AND dispatcher_pid IS NULL", (dispatcher_pid, boot_id(), run_id))
            return cursor.rowcount == 1

    def waiting(self) -> list[tuple[str, str]]:
        """(run id, kind) of the unclaimed jobs whose runs are still queued, oldest first."""
        with self.connect() as db:
            return db.execute("SELECT j.run_id, j.kind FROM executor_jobs j JOIN runs r ON r.id = j.run_id "
                              "WHERE j.dispatcher_pid IS NULL AND r.status = 'queued' ORDER BY j.created, j.rowid"
                              ).fetchall()

    def unfinished_claimed(self) -> list[tuple[str, int, int | None, str]]:
        """(run id, dispatcher pid, worker pid, boot id) of claimed jobs whose runs have not finished."""
        marks = ",".join("?" * len(FINISHED))
        with self.connect() as db:
            return db.execute("SELECT j.run_id, j.dispatcher_pid, j.worker_pid, j.boot_id FROM executor_jobs j "
                              f"JOIN runs r ON r.id = j.run_id WHERE j.dispatcher_pid > 0 AND r.status NOT IN ({marks})",
                              FINISHED).fetchall()

    def set_worker(self, run_id: str, pid: int) -> None:
        """Record the process that runs a job."""
        with self.connect() as db:
            db.execute("UPDATE executor_jobs SET worker_pid=? WHERE run_id=?", (pid, run_id))

    def set_total_steps(self, run_id: str, total: int) -> None:
        """Record how many optimisation steps a job's run will take."""
        with self.connect() as db:
            db.execute("UPDATE executor_jobs SET total_steps=? WHERE run_id=?", (total, run_id))

    def mark_cancel(self, run_id: str) -> None:
        """Stamp the time a cancel was asked for (the dispatcher terminates the worker after a grace period)."""
        with self.connect() as db:
            db.execute("UPDATE executor_jobs SET cancel_at=COALESCE(cancel_at, ?) WHERE run_id=?", (time.time(), run_id))

    def add_follow_on(self, run_id: str, first_run_id: str) -> None:
        """Record a run that a job started itself (a later generation of a chain) as a job claimed by the same
        dispatcher and worker as the job `first_run_id`, so it gets progress, cancellation and crash handling."""
        with self.connect() as db:
            db.execute("INSERT OR IGNORE INTO executor_jobs (run_id, kind, created, dispatcher_pid, worker_pid, boot_id) "
                       "SELECT ?, kind, ?, dispatcher_pid, worker_pid, boot_id FROM executor_jobs WHERE run_id=?",
                       (run_id, time.time(), first_run_id))

    def unfinished_on(self, worker_pid: int) -> list[str]:
        """The unfinished runs a worker process holds (its job, and any runs that job started itself)."""
        marks = ",".join("?" * len(FINISHED))
        with self.connect() as db:
            rows = db.execute(f"SELECT j.run_id FROM executor_jobs j JOIN runs r ON r.id = j.run_id WHERE "
                              f"j.worker_pid=? AND j.dispatcher_pid > 0 AND r.status NOT IN ({marks})",
                              (worker_pid, *FINISHED)).fetchall()
        return [row[0] for row in rows]

    def cancel_times(self, worker_pids: list[int]) -> dict[int, float]:
        """Per worker process, when a cancel was first asked for one of the unfinished runs it holds."""
        if not worker_pids:
            return {}
        pid_marks, status_marks = ",".join("?" * len(worker_pids)), ",".join("?" * len(FINISHED))
        with self.connect() as db:
            rows = db.execute(f"SELECT j.worker_pid, MIN(j.cancel_at) FROM executor_jobs j JOIN runs r ON r.id = j.run_id "
                              f"WHERE j.cancel_at IS NOT NULL AND j.worker_pid IN ({pid_marks}) "
                              f"AND r.status NOT IN ({status_marks}) GROUP BY j.worker_pid",
                              (*worker_pids, *FINISHED)).fetchall()
        return dict(rows)

    def latest(self, kind: str) -> str | None:
        """The run id of the newest job of a kind, or None when there is none."""
        with self.connect() as db:
            row = db.execute("SELECT run_id FROM executor_jobs WHERE kind=? ORDER BY created DESC, rowid DESC LIMIT 1",
                             (kind,)).fetchone()
        return row[0] if row else None

    def progress(self, run_ids: list[str]) -> dict[str, Progress]:
        """Steps done (the last recorded step) and the total, per run."""
        result: dict[str, Progress] = {}
        with self.connect() as db:
            for run_id in run_ids:
                done = db.execute("SELECT MAX(step) FROM metrics WHERE run_id=? AND scope='step' AND name='loss'",
                                  (run_id,)).fetchone()[0]
                total = db.execute("SELECT total_steps FROM executor_jobs WHERE run_id=?", (run_id,)).fetchone()
                result[run_id] = Progress(int(done or 0), int(total[0] or 0) if total else 0)
        return result


def teacher_job_config(arch: str, dataset: str, *, seed: int = 0, epochs: int | None = None,
                       device: str = "auto") -> RunConfig:
    """The run config a teacher-training job records: a baseline run of `arch` with the dataset's recipe."""
    from .teachers import RECIPES

    if dataset not in RECIPES:
        raise WorkbenchError(f"teacher: no training recipe for dataset {dataset!r}")
    recipe = dict(RECIPES[dataset])
    if epochs is not None:
        recipe["epochs"] = epochs
    return RunConfig.from_dict({"dataset": dataset, "student": arch, "teachers": [arch], "method": "baseline",
                                "seed": seed, "device": device, "name": f"teacher {arch} ({dataset})", **recipe})


def execute_job(runs_dir: str | Path, run_id: str, kind: str) -> str:
    """Run one job to its end in this process (a worker, or the caller in inline mode); returns its status
    (for a chain of generations, that of the first: each later generation is a run of its own).

    Errors are recorded on the run (the runner marks it failed with a one-line message); nothing is raised."""
    from .engine import Callback, RunInfo
    from .generations import is_generational, run_generations
    from .runner import CancelPoller, StoreRecorder, run_recorded

    store = RunStore(runs_dir)
    jobs = JobTable(store.path)
    record = store.get_run(run_id)

    class TotalSteps(Callback):
        """Writes a run's step total to the job table once training is set up."""

        def __init__(self, target: str) -> None:
            self.target = target

        def on_start(self, info: RunInfo) -> None:
            jobs.set_total_steps(self.target, info.total_steps)

    def generation_callbacks(number: int, generation_run_id: str) -> list[Callback]:
        """A later generation of a chain becomes a job of this worker as it starts."""
        if generation_run_id != run_id:
            jobs.add_follow_on(generation_run_id, run_id)
        return [TotalSteps(generation_run_id)]

    try:
        config = RunConfig.from_dict(record.config)
        if kind == "teacher":
            return _train_teacher_job(config, store, run_id, [StoreRecorder(store, run_id), TotalSteps(run_id)],
                                      CancelPoller(store, run_id))
        if is_generational(config):
            run_generations(config, store, callbacks_for=generation_callbacks, first_run_id=run_id)
        else:
            run_recorded(config, store, run_id=run_id, callbacks=[TotalSteps(run_id)])
    except WorkbenchError as error:
        if store.get_run(run_id).status not in FINISHED:
            store.finish(run_id, "failed", message=str(error))
    except Exception:  # the runner saved the traceback and marked the run failed
        pass
    return store.get_run(run_id).status


def _train_teacher_job(config: RunConfig, store: RunStore, run_id: str, callbacks: list[Any],
                       cancel: Any) -> str:
    """Train a teacher into the teacher cache while recording its curve; cancellable between steps."""
    from .engine import Callback, StepEvent
    from .teachers import train_teacher

    class StopWhenCancelled(Callback):
        """Ends the teacher's training loop (as a cancel) once the run's cancel flag is set."""

        def on_step(self, event: StepEvent) -> None:
            if cancel():
                raise KeyboardInterrupt

    try:
        record = train_teacher(config.student, config.dataset, config.seed, callbacks=[*callbacks, StopWhenCancelled()],
                               device=config.device, epochs=config.epochs,
                               command=f"app: train teacher {config.student} on {config.dataset}")
    except WorkbenchError as error:
        status = "cancelled" if store.cancel_requested(run_id) else "failed"
        store.finish(run_id, status, message=str(error))
        return status
    store.add_artifact(run_id, "teacher", record.path)
    store.finish(run_id, "done", final_metrics={
        "test_acc": record.test_acc, "best_test_acc": record.test_acc, "train_seconds": record.train_seconds,
        "params": float(record.params), "macs": float(record.macs), "epochs_done": float(record.epochs)})
    return "done"


def _worker_main(conn: Connection) -> None:
    """A worker process: import the training stack once, then run the jobs it is sent, one at a time,
    answering each with its run id when done; None (or a closed pipe) ends it."""
    import torch

    from . import runner  # noqa: F401  (imported now so a job starts without the import delay)
    from .data import load_dataset

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
        execute_job(job["runs_dir"], job["run_id"], job["kind"])
        conn.send(job["run_id"])


@dataclass
class _Worker:
    """A started worker process, its pipe, and the run it is busy with ('' when idle)."""

    process: multiprocessing.process.BaseProcess
    conn: Connection
    run_id: str = ""
    terminated_at: float | None = None


class Executor:
    """Runs submitted jobs in a pool of `max_workers` worker processes (see the module docstring).

    The workers are started with the dispatcher and kept between jobs, so a job starts on a warm
    interpreter. With `inline=True` a submitted job runs at once in the caller's thread (tests,
    notebooks); no dispatcher thread or worker process is used."""

    def __init__(self, runs_dir: str | Path, *, max_workers: int | None = None, inline: bool = False,
                 grace_seconds: float = 5.0, poll_seconds: float = 0.25) -> None:
        self.store = RunStore(runs_dir)
        self.runs_dir = self.store.root
        self.jobs = JobTable(self.store.path)
        self.max_workers = max_workers or default_max_workers()
        self.inline = inline
        self.grace_seconds = grace_seconds
        self.poll_seconds = poll_seconds
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
        if kind not in JOB_KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        config = RunConfig.from_dict(config.to_dict())
        run_id = self.store.create_run(config.to_dict(), name=config.name, owner=owner, group_id=group_id)
        self.jobs.add(run_id, kind)
        if self.inline:
            if self.jobs.claim(run_id, os.getpid()):
                self.jobs.set_worker(run_id, os.getpid())
                execute_job(self.runs_dir, run_id, kind)
        else:
            self.start()
            self._wake.set()
        return run_id

    def submit_teacher(self, arch: str, dataset: str, *, seed: int = 0, epochs: int | None = None,
                       owner: str = "", device: str = "auto") -> str:
        """Queue the training of a teacher (saved to the teacher cache when done); returns the run id."""
        config = teacher_job_config(arch, dataset, seed=seed, epochs=epochs, device=device)
        return self.submit(config, owner=owner, kind="teacher")

    def cancel(self, run_id: str, *, owner: str | None = None) -> str:
        """Stop a run: a queued one is cancelled at once ('cancelled'); a running one is asked to stop
        ('stopping') and terminated after the grace period; a finished one is left alone (its status).

        With `owner` (the asking session's id) a run recorded with another owner is refused: WorkbenchError."""
        record = self.store.get_run(run_id)
        if owner is not None and record.owner != owner:
            raise WorkbenchError(f"cancel: run {record.name!r} belongs to another session; only the session that "
                                 "started it can cancel it")
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
            return {worker.run_id: worker.process.pid or 0 for worker in self._pool if worker.run_id}

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
                    self.store.finish(worker.run_id, "failed", message="the app server stopped while this run was going")
            self._pool.clear()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)

    def _spawn(self) -> _Worker:
        here, there = self._context.Pipe()
        process = self._context.Process(target=_worker_main, args=(there,), daemon=True, name="kdw-worker")
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
        idle = [worker for worker in self._pool if not worker.run_id]
        for run_id, kind in self.jobs.waiting():
            if not idle:
                return
            if not self.jobs.claim(run_id, os.getpid()):
                continue
            worker = idle.pop(0)
            worker.conn.send({"runs_dir": str(self.runs_dir), "run_id": run_id, "kind": kind,
                              "threads": max(1, (os.cpu_count() or 1) // self.max_workers)})
            worker.run_id = run_id
            self.jobs.set_worker(run_id, worker.process.pid or 0)
            self.store.mark_running(run_id)

    def _collect(self) -> None:
        """Mark workers that answered as idle; drop dead ones and settle the runs they held."""
        for worker in list(self._pool):
            if worker.run_id and worker.process.is_alive() and worker.conn.poll():
                try:
                    worker.conn.recv()
                    worker.run_id = ""
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
        busy = {worker.process.pid or 0: worker for worker in self._pool if worker.run_id}
        now = time.time()
        for pid, asked_at in self.jobs.cancel_times(list(busy)).items():
            worker = busy[pid]
            if now - asked_at < self.grace_seconds:
                continue
            if worker.terminated_at is None:
                worker.process.terminate()
                worker.terminated_at = now
            elif now - worker.terminated_at > 2.0:
                worker.process.kill()

    def _fail_orphans(self) -> None:
        busy = {worker.run_id for worker in self._pool if worker.run_id}
        for run_id, dispatcher_pid, worker_pid, recorded_boot in self.jobs.unfinished_claimed():
            if run_id in busy:
                continue
            pid = worker_pid or dispatcher_pid  # no worker yet: the dispatcher (or inline caller) holds it
            if recorded_boot == boot_id() and (pid == os.getpid() or pid_alive(pid)):
                continue
            self.store.finish(run_id, "failed", message=f"its worker process (pid {pid}) is gone: the app server "
                                                        "restarted or the worker crashed; start the run again")

