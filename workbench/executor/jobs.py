"""The job table: the executor's own `executor_jobs` table in the run store's SQLite file (kind, dispatcher and
worker pid, boot id, step total and cancel time per job). Runs and their metrics are read only through the
`RunStore`, which owns their schema."""

from __future__ import annotations

import json
import sqlite3
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Collection, Iterator, Mapping

from ..store import FINISHED, STATUSES, RunStore

JOB_KINDS = ("run", "teacher")
UNFINISHED = tuple(status for status in STATUSES if status not in FINISHED)

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
_AMONG = "run_id IN (SELECT value FROM json_each(?))"  # a list of run ids, passed as one JSON parameter


def boot_id() -> str:
    """An id of the running OS boot (Linux), so a worker pid recorded before a reboot is never taken as alive."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


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


def fair_order(waiting: list[tuple[str, str, str]], running: Mapping[str, int]) -> list[tuple[str, str]]:
    """The order to start waiting jobs, (run id, kind, owner) oldest first, between owners with `running` jobs
    each: the next job is the oldest of the owner with the fewest running (counting those started before it in
    this order), ties going to the owner whose next job is oldest; so owners take turns, and no owner's queue
    makes another's wait behind all of it."""
    queues: dict[str, deque[tuple[int, str, str]]] = {}
    for position, (run_id, kind, owner) in enumerate(waiting):
        queues.setdefault(owner, deque()).append((position, run_id, kind))
    load = {owner: running.get(owner, 0) for owner in queues}
    order: list[tuple[str, str]] = []
    while queues:
        owner = min(queues, key=lambda name: (load[name], queues[name][0][0]))
        _, run_id, kind = queues[owner].popleft()
        order.append((run_id, kind))
        load[owner] += 1
        if not queues[owner]:
            del queues[owner]
    return order


def _ids(run_ids: Collection[str]) -> str:
    return json.dumps(list(run_ids))


class JobTable:
    """The executor's own table beside a run store: kind, worker pid and step total per job."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        with self.connect() as db:
            db.executescript(_JOBS_SCHEMA)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection to the store's file with a busy timeout, in autocommit mode."""
        db = sqlite3.connect(self.store.path, timeout=30.0, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=30000")
            yield db
        finally:
            db.close()

    def add(self, run_id: str, kind: str) -> None:
        """Queue a job for a run the store already holds."""
        with self.connect() as db:
            db.execute(
                "INSERT INTO executor_jobs (run_id, kind, created) VALUES (?, ?, ?)", (run_id, kind, time.time())
            )

    def claim(self, run_id: str, dispatcher_pid: int) -> bool:
        """Take a waiting job for one dispatcher; False when another took (or withdrew) it first."""
        with self.connect() as db:
            cursor = db.execute(
                "UPDATE executor_jobs SET dispatcher_pid=?, boot_id=? WHERE run_id=? AND dispatcher_pid IS NULL",
                (dispatcher_pid, boot_id(), run_id),
            )
            return cursor.rowcount == 1

    def waiting(self) -> list[tuple[str, str]]:
        """(run id, kind) of the unclaimed jobs whose runs are still queued, oldest first."""
        queued = self.store.run_ids_with_status(("queued",))
        with self.connect() as db:
            return db.execute(
                f"SELECT run_id, kind FROM executor_jobs WHERE dispatcher_pid IS NULL AND {_AMONG} "
                "ORDER BY created, rowid",
                (_ids(queued),),
            ).fetchall()

    def unfinished_claimed(self) -> list[tuple[str, int, int | None, str]]:
        """(run id, dispatcher pid, worker pid, boot id) of claimed jobs whose runs have not finished."""
        unfinished = self.store.run_ids_with_status(UNFINISHED)
        with self.connect() as db:
            return db.execute(
                "SELECT run_id, dispatcher_pid, worker_pid, boot_id FROM executor_jobs "
                f"WHERE dispatcher_pid > 0 AND {_AMONG}",
                (_ids(unfinished),),
            ).fetchall()

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
            db.execute(
                "UPDATE executor_jobs SET cancel_at=COALESCE(cancel_at, ?) WHERE run_id=?", (time.time(), run_id)
            )

    def add_follow_on(self, run_id: str, first_run_id: str, kind: str | None = None) -> None:
        """Record a run that a job started itself (a later generation of a chain, a missing teacher trained first) as
        a job (of `kind`, else the first job's) claimed by the same dispatcher and worker as the job `first_run_id`,
        so it gets progress, cancellation and crash handling."""
        with self.connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO executor_jobs (run_id, kind, created, dispatcher_pid, worker_pid, boot_id) "
                "SELECT ?, COALESCE(?, kind), ?, dispatcher_pid, worker_pid, boot_id FROM executor_jobs "
                "WHERE run_id=?",
                (run_id, kind, time.time(), first_run_id),
            )

    def unfinished_on(self, worker_pid: int) -> list[str]:
        """The unfinished runs a worker process holds (its job, and any runs that job started itself)."""
        unfinished = self.store.run_ids_with_status(UNFINISHED)
        with self.connect() as db:
            rows = db.execute(
                f"SELECT run_id FROM executor_jobs WHERE worker_pid=? AND dispatcher_pid > 0 AND {_AMONG}",
                (worker_pid, _ids(unfinished)),
            ).fetchall()
        return [row[0] for row in rows]

    def cancel_times(self, worker_pids: list[int]) -> dict[int, float]:
        """Per worker process, when a cancel was first asked for one of the unfinished runs it holds."""
        if not worker_pids:
            return {}
        unfinished = self.store.run_ids_with_status(UNFINISHED)
        pid_marks = ",".join("?" * len(worker_pids))
        with self.connect() as db:
            rows = db.execute(
                f"SELECT worker_pid, MIN(cancel_at) FROM executor_jobs WHERE cancel_at IS NOT NULL "
                f"AND worker_pid IN ({pid_marks}) AND {_AMONG} GROUP BY worker_pid",
                (*worker_pids, _ids(unfinished)),
            ).fetchall()
        return dict(rows)

    def latest(self, kind: str) -> str | None:
        """The run id of the newest job of a kind, or None when there is none."""
        with self.connect() as db:
            row = db.execute(
                "SELECT run_id FROM executor_jobs WHERE kind=? ORDER BY created DESC, rowid DESC LIMIT 1", (kind,)
            ).fetchone()
        return row[0] if row else None

    def progress(self, run_ids: list[str]) -> dict[str, Progress]:
        """Steps done (the last recorded step) and the total, per run."""
        done = self.store.last_steps(run_ids)
        with self.connect() as db:
            totals = dict(
                db.execute(f"SELECT run_id, total_steps FROM executor_jobs WHERE {_AMONG}", (_ids(run_ids),)).fetchall()
            )
        return {run_id: Progress(done.get(run_id, 0), int(totals.get(run_id) or 0)) for run_id in run_ids}
