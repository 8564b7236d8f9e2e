"""The run store's SQLite tables and how a store file is opened: the schema, the columns added since the first
one (brought in by an older store's first writer), and read-only connections that never write."""

from __future__ import annotations

import sqlite3
import urllib.parse
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    final_metrics TEXT NOT NULL DEFAULT '{}',
    artifacts TEXT NOT NULL DEFAULT '{}',
    parent_id TEXT,
    group_id TEXT,
    owner TEXT NOT NULL DEFAULT '',
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    pid INTEGER,
    host TEXT NOT NULL DEFAULT '',
    heartbeat REAL
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    scope TEXT NOT NULL,
    name TEXT NOT NULL,
    value REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_by_run ON metrics (run_id, scope, name);
"""
# Columns added after the first schema: added to an older store by its first writer; (name, type, value if absent).
LATER_COLUMNS = (("pid", "INTEGER", "NULL"), ("host", "TEXT NOT NULL DEFAULT ''", "''"), ("heartbeat", "REAL", "NULL"))
RUN_COLUMNS = (
    "id",
    "name",
    "config",
    "status",
    "message",
    "created",
    "started",
    "finished",
    "final_metrics",
    "artifacts",
    "parent_id",
    "group_id",
    "owner",
)


def empty_store() -> sqlite3.Connection:
    """An empty store in memory: every read answers "nothing"."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.executescript(SCHEMA)
    return db


def open_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write `path`: mode=ro, or immutable when SQLite cannot read a WAL store that way (a
    read-only folder, where it cannot create the store's shared-memory file); an empty one while the file has no
    runs table yet (its first writer is creating it)."""
    uri = "file:" + urllib.parse.quote(str(path.resolve()))
    db = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=30.0, isolation_level=None)
    probe = "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='runs'"
    try:
        has_runs = db.execute(probe).fetchone()[0]
    except sqlite3.OperationalError:
        db.close()
        db = sqlite3.connect(uri + "?mode=ro&immutable=1", uri=True, timeout=30.0, isolation_level=None)
        has_runs = db.execute(probe).fetchone()[0]
    if has_runs:
        return db
    db.close()
    return empty_store()


def add_later_columns(db: sqlite3.Connection) -> None:
    """Bring an older store's runs table up to the current schema (one writer at a time)."""
    db.execute("BEGIN IMMEDIATE")
    present = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    for name, kind, _ in LATER_COLUMNS:
        if name not in present:
            db.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
    db.execute("COMMIT")
