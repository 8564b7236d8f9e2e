"""What the run store holds about a run: its statuses, the `RunRecord` read back, the counts of a group, and when a
running run has lost its process."""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATUSES = ("queued", "running", "done", "collapsed", "failed", "diverged", "cancelled", "interrupted")
FINISHED = ("done", "collapsed", "failed", "diverged", "cancelled", "interrupted")
# A `collapsed` run finished its epochs with a student stuck at chance (near-constant predictions); a `diverged`
# one stopped because a loss became non-finite or grew by orders of magnitude; an `interrupted` one lost its process
# while running (killed, machine restarted) and continues with `kdw train --resume ID`.
STALE_SECONDS = 600.0  # a running run on another host whose heartbeat is older than this has lost its process


@dataclass
class RunRecord:
    """One run as stored."""

    id: str
    name: str
    config: dict[str, Any]
    status: str
    message: str
    created: float
    started: float | None
    finished: float | None
    final_metrics: dict[str, float]
    artifacts: dict[str, str]
    parent_id: str | None
    group_id: str | None
    owner: str
    pid: int | None = None  # the process training the run, on `host`
    host: str = ""
    heartbeat: float | None = None  # when that process last wrote metrics

    @property
    def wall_seconds(self) -> float | None:
        """Seconds from start to finish (or to now while running)."""
        if self.started is None:
            return None
        return (self.finished or time.time()) - self.started


@dataclass
class GroupCounts:
    """How many runs of one group (a sweep, a chain) the store holds, and how many of them finished or are done."""

    group_id: str
    runs: int
    finished: int
    done: int


def process_gone(pid: int) -> bool:
    """Whether no process `pid` runs on this machine (a zombie, killed but not yet reaped, counts as gone)."""
    if os.name == "nt":  # os.kill(pid, 0) would terminate it there
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def lost_reason(record: RunRecord, now: float) -> str:
    """Why a `running` run can no longer be training ('' when it may be): its process on this host is gone, or its
    heartbeat from another host is older than STALE_SECONDS. A run without pid and heartbeat is never judged."""
    if record.status != "running":
        return ""
    if record.pid is not None and record.host == socket.gethostname():
        return f"its process (pid {record.pid}) ended while it was running" if process_gone(record.pid) else ""
    if record.heartbeat is not None and now - record.heartbeat > STALE_SECONDS:
        return f"no sign of its process on {record.host or 'another host'} for {(now - record.heartbeat) / 60:.0f} min"
    return ""


def record_from_row(row: tuple[Any, ...]) -> RunRecord:
    """A RunRecord from a row selected with `store_schema.RUN_COLUMNS` and then `LATER_COLUMNS`."""
    return RunRecord(
        row[0],
        row[1],
        json.loads(row[2]),
        row[3],
        row[4],
        row[5],
        row[6],
        row[7],
        json.loads(row[8]),
        json.loads(row[9]),
        row[10],
        row[11],
        row[12],
        row[13],
        row[14],
        row[15],
    )
