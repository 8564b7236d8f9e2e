"""Many students on one shared server: who a browser is (an owner id kept in a cookie, so a reload or a new
tab stays the same owner), which runs it sees (its own, plus the shared gallery) and which it may cancel
(only its own; `Executor.cancel(run_id, owner=...)` enforces it)."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Mapping, Sequence

from .store import RunRecord

# Owners whose runs every session sees: runs started outside the app (the CLI, notebooks, a lecturer's sweeps).
GALLERY_OWNERS = ("",)
OWNER_COOKIE = "kdw_owner"
OWNER_COOKIE_DAYS = 365
_OWNER_ID = re.compile(r"[0-9a-f]{16}")


def new_owner_id() -> str:
    """A fresh random owner id (16 hex digits)."""
    return uuid.uuid4().hex[:16]


def owner_from_cookies(cookies: Mapping[str, str]) -> str | None:
    """The owner id a browser sent in its cookies, or None when it has none (or a malformed one)."""
    value = cookies.get(OWNER_COOKIE, "")
    return value if isinstance(value, str) and _OWNER_ID.fullmatch(value) else None


def owner_cookie_script(owner: str) -> str:
    """A script that stores `owner` in the browser's cookie for this server (a year, whole site), so the
    sessions of later reloads and tabs send it back."""
    if not _OWNER_ID.fullmatch(owner):
        raise ValueError(f"not an owner id: {owner!r}")
    cookie = f"{OWNER_COOKIE}={owner}; path=/; max-age={OWNER_COOKIE_DAYS * 86400}; SameSite=Strict"
    return f"<script>document.cookie = {json.dumps(cookie)};</script>"


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


def queue_positions(records: Sequence[RunRecord]) -> dict[str, int]:
    """For each queued run among `records` (every session's), how many queued runs were submitted before it."""
    queued = sorted((record for record in records if record.status == "queued"), key=lambda record: record.created)
    return {record.id: ahead for ahead, record in enumerate(queued)}
