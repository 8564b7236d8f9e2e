"""The run store: runs, their configs, statuses, metrics and artifacts in SQLite (WAL), read back as pandas. The
tables and how a file is opened are in `store_schema`; what a run record holds is in `store_records` (re-exported
here). pandas is imported by the two methods that return frames, not with the store: the app's first page opens
no frame before its widgets are drawn."""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Collection, Iterable, Iterator

from .errors import WorkbenchError
from .store_records import (
    FINISHED,
    STALE_SECONDS,
    STATUSES,
    GroupCounts,
    RunRecord,
    lost_reason,
    process_gone,
    record_from_row,
)
from .store_schema import LATER_COLUMNS, RUN_COLUMNS, SCHEMA, add_later_columns, empty_store, open_read_only

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FINISHED",
    "STALE_SECONDS",
    "STATUSES",
    "GroupCounts",
    "RunRecord",
    "RunStore",
    "lost_reason",
    "process_gone",
]


class RunStore:
    """A folder holding `runs.sqlite` and one sub-folder of artifacts per run.

    Every write is its own short transaction with a busy timeout, so several processes can train
    and record at once without losing rows. With read_only=True nothing is ever written: no folder, no schema,
    no journal mode; a missing store reads as empty."""

    def __init__(self, runs_dir: str | Path, *, read_only: bool = False) -> None:
        self.root = Path(runs_dir)
        self.path = self.root / "runs.sqlite"
        self.read_only = read_only
        self._run_select: str | None = None
        if read_only:
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise WorkbenchError(f"runs_dir: cannot create {self.root}: {error.strerror}") from None
        with self._connect() as db:
            db.executescript(SCHEMA)
            add_later_columns(db)

    def _open(self) -> sqlite3.Connection:
        if not self.read_only:
            return sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        return open_read_only(self.path) if self.path.exists() else empty_store()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db = self._open()
        except sqlite3.Error as error:
            raise WorkbenchError(f"runs_dir: cannot open the run store {self.path}: {error}") from None
        try:
            if not self.read_only:
                db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            yield db
        except sqlite3.DatabaseError as error:
            raise WorkbenchError(f"run store {self.path}: {error}") from None
        finally:
            db.close()

    def _write(self, sql: str, params: Iterable[Any] = (), many: bool = False) -> None:
        if self.read_only:
            raise WorkbenchError(f"run store {self.path}: opened for reading only")
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                (db.executemany if many else db.execute)(sql, params)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def run_dir(self, run_id: str) -> Path:
        """The folder for a run's artifacts (created on demand)."""
        folder = self.root / run_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def create_run(
        self,
        config: dict[str, Any],
        *,
        name: str = "",
        status: str = "queued",
        parent_id: str | None = None,
        group_id: str | None = None,
        owner: str = "",
    ) -> str:
        """Record a new run and return its id."""
        run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self._write(
            "INSERT INTO runs (id, name, config, status, created, parent_id, group_id, owner) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                name or run_id,
                json.dumps(config, sort_keys=True),
                status,
                time.time(),
                parent_id,
                group_id,
                owner,
            ),
        )
        return run_id

    def rename(self, run_id: str, name: str) -> None:
        """Change a run's display name."""
        self._write("UPDATE runs SET name=? WHERE id=?", (name, run_id))

    def mark_running(self, run_id: str) -> None:
        """Set a run's status to running, stamp its start time and record this process (pid, host, heartbeat)."""
        now = time.time()
        self._write(
            "UPDATE runs SET status='running', started=?, pid=?, host=?, heartbeat=? WHERE id=?",
            (now, os.getpid(), socket.gethostname(), now, run_id),
        )

    def beat(self, run_id: str) -> None:
        """Stamp a running run's heartbeat: its process is still training."""
        self._write("UPDATE runs SET heartbeat=? WHERE id=?", (time.time(), run_id))

    def finish(
        self, run_id: str, status: str, *, final_metrics: dict[str, float] | None = None, message: str = ""
    ) -> None:
        """Record how a run ended."""
        if status not in FINISHED:
            raise ValueError(f"not a final status: {status}")
        self._write(
            "UPDATE runs SET status=?, finished=?, final_metrics=?, message=? WHERE id=?",
            (status, time.time(), json.dumps(final_metrics or {}), message, run_id),
        )

    def add_artifact(self, run_id: str, name: str, path: str | Path) -> None:
        """Attach a file (checkpoint, weights, image) to a run under a name."""
        record = self.get_run(run_id)
        artifacts = {**record.artifacts, name: str(path)}
        self._write("UPDATE runs SET artifacts=? WHERE id=?", (json.dumps(artifacts), run_id))

    def log_metrics(self, run_id: str, rows: list[tuple[int, int, str, str, float]]) -> None:
        """Append metric rows (step, epoch, scope, name, value); scope is 'step' or 'epoch'. Rows whose value is
        NaN or infinite are left out (the engine ends a run that produces one as diverged)."""
        rows = [row for row in rows if math.isfinite(row[-1])]
        if rows:
            self._write(
                "INSERT INTO metrics (run_id, step, epoch, scope, name, value) VALUES (?, ?, ?, ?, ?, ?)",
                [(run_id, *row) for row in rows],
                many=True,
            )

    def clear_metrics_after(self, run_id: str, epoch: int) -> None:
        """Drop the metrics recorded after `epoch` (a resumed run redoes those epochs)."""
        self._write("DELETE FROM metrics WHERE run_id=? AND epoch>?", (run_id, epoch))

    def request_cancel(self, run_id: str) -> None:
        """Ask a run (in any process) to stop at its next step."""
        self._write("UPDATE runs SET cancel_requested=1 WHERE id=?", (run_id,))

    def cancel_requested(self, run_id: str) -> bool:
        """Whether someone asked this run to stop."""
        with self._connect() as db:
            row = db.execute("SELECT cancel_requested FROM runs WHERE id=?", (run_id,)).fetchone()
        return bool(row and row[0])

    def run_ids_with_status(self, statuses: Collection[str]) -> list[str]:
        """The ids of the runs whose status is one of `statuses`."""
        marks = ",".join("?" * len(statuses))
        with self._connect() as db:
            rows = db.execute(f"SELECT id FROM runs WHERE status IN ({marks})", tuple(statuses))
            return [row[0] for row in rows]

    def owners(self, run_ids: Collection[str]) -> dict[str, str]:
        """The owner of each of these runs (ids the store does not hold are left out)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, owner FROM runs WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(list(run_ids)),)
            )
            return dict(rows.fetchall())

    def count_by_owner(self, statuses: Collection[str], owners: Collection[str] | None = None) -> dict[str, int]:
        """How many runs each owner has whose status is one of `statuses` (only `owners`, when given); owners with
        none are left out."""
        query = f"SELECT owner, COUNT(*) FROM runs WHERE status IN ({','.join('?' * len(statuses))})"
        params: list[Any] = list(statuses)
        if owners is not None:
            query += " AND owner IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(list(owners)))
        with self._connect() as db:
            return dict(db.execute(query + " GROUP BY owner", params).fetchall())

    def last_steps(self, run_ids: Collection[str]) -> dict[str, int]:
        """Per run, the last optimisation step with a recorded loss (runs without one are left out)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT run_id, MAX(step) FROM metrics WHERE run_id IN (SELECT value FROM json_each(?)) "
                "AND scope='step' AND name='loss' GROUP BY run_id",
                (json.dumps(list(run_ids)),),
            )
            return {run_id: int(step) for run_id, step in rows}

    def _select_runs(self, db: sqlite3.Connection) -> str:
        """The SELECT of every RunRecord column; an older store read without writing gives the later columns'
        defaults."""
        if self._run_select is None:
            present = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
            later = [name if name in present else f"{absent} AS {name}" for name, _, absent in LATER_COLUMNS]
            self._run_select = f"SELECT {', '.join([*RUN_COLUMNS, *later])} FROM runs"
        return self._run_select

    def get_run(self, run_id: str, *, refresh: bool = False) -> RunRecord:
        """One run; WorkbenchError if no run has that id. With refresh=True a running run whose process is gone is
        first marked interrupted (see `settle`)."""
        with self._connect() as db:
            row = db.execute(self._select_runs(db) + " WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise WorkbenchError(f"run: no run with id {run_id!r} in {self.root}")
        return self.settle([record_from_row(row)])[0] if refresh else record_from_row(row)

    def settle(self, records: list[RunRecord]) -> list[RunRecord]:
        """The records with each running run that lost its process (`lost_reason`) shown as interrupted, and so
        recorded unless the store is read-only (only when its row is unchanged since it was read)."""
        now = time.time()
        for record in records:
            reason = lost_reason(record, now)
            if not reason:
                continue
            pid, heartbeat = record.pid, record.heartbeat
            record.status, record.finished = "interrupted", heartbeat or now
            record.message = f"interrupted: {reason}; continue it with kdw train --resume {record.id}"
            if not self.read_only:
                self._write(
                    "UPDATE runs SET status='interrupted', finished=?, message=? "
                    "WHERE id=? AND status='running' AND pid IS ? AND heartbeat IS ?",
                    (record.finished, record.message, record.id, pid, heartbeat),
                )
        return records

    def list_runs(self, *, status: str | None = None, group_id: str | None = None) -> list[RunRecord]:
        """All runs, newest first, optionally filtered; running runs that lost their process are marked
        interrupted (`settle`)."""
        query, params = "SELECT id FROM runs", []
        conditions = []
        if status:
            conditions.append("status=?")
            params.append(status)
        if group_id:
            conditions.append("group_id=?")
            params.append(group_id)
        if conditions:
            query += " WHERE " + " AND ".join(conditions)
        with self._connect() as db:
            ids = [row[0] for row in db.execute(query + " ORDER BY created DESC", params)]
        return self.settle([self.get_run(run_id) for run_id in ids])

    def recent_runs(self, limit: int = 100, *, ids: list[str] | None = None) -> list[RunRecord]:
        """The newest `limit` runs (or those of `ids`), newest first, read in one query (for pages that poll);
        running runs that lost their process are marked interrupted (`settle`)."""
        params: list[Any] = list(ids) if ids is not None else []
        where = f" WHERE id IN ({','.join('?' * len(params))})" if ids is not None else ""
        with self._connect() as db:
            rows = db.execute(
                self._select_runs(db) + where + " ORDER BY created DESC LIMIT ?", [*params, limit]
            ).fetchall()
        return self.settle([record_from_row(row) for row in rows])

    def group_counts(self, prefix: str, owners: Collection[str] | None = None) -> list[GroupCounts]:
        """The groups whose id starts with `prefix`, newest (by latest run) first, with their runs counted in one
        query: all, finished and done; only the runs of `owners` when given."""
        query = (
            f"SELECT group_id, COUNT(*), SUM(status IN ({','.join('?' * len(FINISHED))})), SUM(status = 'done') "
            "FROM runs WHERE substr(group_id, 1, ?) = ?"
        )
        params: list[Any] = [*FINISHED, len(prefix), prefix]
        if owners is not None:
            query += " AND owner IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(list(owners)))
        with self._connect() as db:
            rows = db.execute(query + " GROUP BY group_id ORDER BY MAX(created) DESC", params).fetchall()
        return [GroupCounts(*row) for row in rows]

    def runs_frame(self) -> pd.DataFrame:
        """One row per run: id, name, status, times, the config flattened and the final metrics."""
        import pandas as pd

        rows = []
        for record in self.list_runs():
            row = {
                "id": record.id,
                "name": record.name,
                "status": record.status,
                "message": record.message,
                "created": record.created,
                "wall_seconds": record.wall_seconds,
                "parent_id": record.parent_id,
                "group_id": record.group_id,
            }
            row.update(
                {
                    f"config.{key}": value if not isinstance(value, (list, dict)) else json.dumps(value)
                    for key, value in record.config.items()
                }
            )
            row.update({f"final.{key}": value for key, value in record.final_metrics.items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def metrics_frame(self, run_ids: str | list[str], *, scope: str | None = None) -> pd.DataFrame:
        """Metric rows (run_id, step, epoch, scope, name, value) of one or several runs."""
        import pandas as pd

        ids = [run_ids] if isinstance(run_ids, str) else list(run_ids)
        if not ids:
            return pd.DataFrame(columns=["run_id", "step", "epoch", "scope", "name", "value"])
        marks = ",".join("?" * len(ids))
        query = f"SELECT run_id, step, epoch, scope, name, value FROM metrics WHERE run_id IN ({marks})"
        params: list[Any] = list(ids)
        if scope:
            query += " AND scope=?"
            params.append(scope)
        with self._connect() as db:
            return pd.read_sql_query(query + " ORDER BY rowid", db, params=params)

    def delete_run(self, run_id: str) -> None:
        """Remove a run and its metrics from the store (its artifact folder stays)."""
        self._write("DELETE FROM metrics WHERE run_id=?", (run_id,))
        self._write("DELETE FROM runs WHERE id=?", (run_id,))
