"""How many runs train at once by default: in the app's worker pool and in a sweep. Imports nothing heavy, so the
app's settings are read before torch is."""

from __future__ import annotations

import os


def default_max_workers() -> int:
    """Concurrent training processes of the app's executor by default: one per two CPU cores, at least one, at
    most four."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def default_concurrency() -> int:
    """Runs trained at once by a sweep by default: one per CPU core (each run single-threaded)."""
    return max(1, os.cpu_count() or 1)
