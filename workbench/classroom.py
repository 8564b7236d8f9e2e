"""Many students on one shared server: who a browser is (an owner id kept in a cookie, so a reload or a new
tab stays the same owner), which runs it sees (its own, plus the shared gallery), which it may cancel (its own;
any run for a session holding the admin token: `Executor.cancel(run_id, owner=...)` enforces it), and the server's
limits (`ServerLimits`: time budget, queue cap, admin token, upload quota and expiry, from the environment)."""

from __future__ import annotations

import hmac
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, Sequence

from .store import RunRecord

if TYPE_CHECKING:
    from .uploads import UploadLimits

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


def can_cancel(record: RunRecord, owner: str, *, admin: bool = False) -> bool:
    """Whether the session `owner` may cancel this run: the session that started it, or an admin session."""
    return admin or record.owner == owner


def is_admin_token(given: str, token: str) -> bool:
    """Whether `given` is the server's admin token (compared in constant time); never when the server set none."""
    return bool(token) and bool(given) and hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


# (variable, classroom default, lowest, highest, type): 0 turns a limit off; outside classroom mode the default is 0.
_LIMIT_SETTINGS = {
    "run_time_limit_s": ("KDW_RUN_TIME_LIMIT_S", 900.0, 0.0, 7 * 86400.0, float),
    "max_queued_per_owner": ("KDW_MAX_QUEUED_PER_OWNER", 12, 0, 100_000, int),
    "upload_quota_count": ("KDW_UPLOAD_QUOTA_COUNT", 10, 0, 100_000, int),
    "upload_quota_mb": ("KDW_UPLOAD_QUOTA_MB", 200.0, 0.0, 1e6, float),
    "upload_ttl_days": ("KDW_UPLOAD_TTL_DAYS", 7.0, 0.0, 36500.0, float),
}


@dataclass(frozen=True)
class ServerLimits:
    """A shared server's limits (0: none): seconds a run may train, runs one owner may have queued or running,
    the admin token (empty: no admin in the app), and the upload quota and expiry."""

    run_time_limit_s: float = 0.0
    max_queued_per_owner: int = 0
    admin_token: str = field(default="", repr=False)
    upload_quota_count: int = 0
    upload_quota_mb: float = 0.0
    upload_ttl_days: float = 0.0

    @property
    def uploads(self) -> UploadLimits:
        """The upload quota and expiry, as `uploads` takes them."""
        from .uploads import UploadLimits  # imports torch: not before the app's first page needs it

        return UploadLimits(self.upload_quota_count, self.upload_quota_mb, self.upload_ttl_days)

    def describe(self) -> str:
        """The limits in one sentence, each with its setting (those at 0 left out)."""
        parts = [
            f"a run may train {self.run_time_limit_s / 60:g} min (KDW_RUN_TIME_LIMIT_S)"
            if self.run_time_limit_s
            else "",
            f"a browser may have {self.max_queued_per_owner} runs queued or running (KDW_MAX_QUEUED_PER_OWNER)"
            if self.max_queued_per_owner
            else "",
            f"a browser may keep {self.upload_quota_count} uploaded teachers (KDW_UPLOAD_QUOTA_COUNT)"
            if self.upload_quota_count
            else "",
            f"a browser's uploads may take {self.upload_quota_mb:g} MB (KDW_UPLOAD_QUOTA_MB)"
            if self.upload_quota_mb
            else "",
            f"uploads are removed after {self.upload_ttl_days:g} days (KDW_UPLOAD_TTL_DAYS)"
            if self.upload_ttl_days
            else "",
        ]
        said = [part for part in parts if part]
        return "Limits: " + "; ".join(said) + "." if said else "No limits on run time, queued runs or uploads."

    @classmethod
    def from_env(cls, classroom: bool, notices: list[str]) -> "ServerLimits":
        """The limits from $KDW_RUN_TIME_LIMIT_S, $KDW_MAX_QUEUED_PER_OWNER, $KDW_UPLOAD_QUOTA_COUNT,
        $KDW_UPLOAD_QUOTA_MB, $KDW_UPLOAD_TTL_DAYS (classroom defaults 900 s, 12 runs, 10 files, 200 MB, 7 days;
        none outside classroom mode) and $KDW_ADMIN_TOKEN; a bad value falls back to the default with a notice."""
        values: dict[str, float | str] = {}
        for name, (variable, default, low, high, kind) in _LIMIT_SETTINGS.items():
            values[name] = env_number(variable, default if classroom else kind(0), low, high, kind, notices)
        return cls(admin_token=os.environ.get("KDW_ADMIN_TOKEN", "").strip(), **values)  # type: ignore[arg-type]


def env_number(variable: str, default: float, low: float, high: float, kind: type, notices: list[str]) -> float:
    """The number in $`variable` (of `kind`, within [low, high]), else `default`, with a notice when it was bad."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        notices.append(f"{variable}: {text!r} is not allowed; allowed: {low:g} to {high:g} (using {default:g})")
        return default
    return value


def queue_positions(records: Sequence[RunRecord]) -> dict[str, int]:
    """For each queued run among `records` (every session's), how many queued runs were submitted before it."""
    queued = sorted((record for record in records if record.status == "queued"), key=lambda record: record.created)
    return {record.id: ahead for ahead, record in enumerate(queued)}
