"""Many students on one shared server: which runs a browser session sees (its own, plus the shared gallery)
and which it may cancel (only its own; `Executor.cancel(run_id, owner=...)` enforces it)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .store import RunRecord

# Owners whose runs every session sees: runs started outside the app (the CLI, notebooks, a lecturer's sweeps).
GALLERY_OWNERS = ("",)


@dataclass(frozen=True)
class SessionView:
    """The runs a session is shown: its own, and the shared gallery (other sessions' runs are left out)."""

    own: list[RunRecord]
    gallery: list[RunRecord]


def session_view(records: Sequence[RunRecord], owner: str) -> SessionView:
    """Split `records` for the session `owner`: its own runs, and gallery runs (owner in GALLERY_OWNERS)."""
    own = [record for record in records if owner and record.owner == owner]
    gallery = [record for record in records if record.owner in GALLERY_OWNERS and record.owner != owner]
    return SessionView(own, gallery)


def can_cancel(record: RunRecord, owner: str) -> bool:
    """Whether the session `owner` may cancel this run (only the session that started it)."""
    return record.owner == owner
