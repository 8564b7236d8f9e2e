"""Default locations for datasets and run outputs, overridable through environment variables."""

from __future__ import annotations

import os
from pathlib import Path


def _from_env(variable: str, fallback: str) -> Path:
    """Return the path in `variable` if it is set and non-empty, else `fallback` under the working directory."""
    value = os.environ.get(variable, "").strip()
    return Path(value).expanduser() if value else Path.cwd() / fallback


def default_data_dir() -> Path:
    """Where datasets are looked for and downloaded to: $KDW_DATA_DIR, else ./data."""
    return _from_env("KDW_DATA_DIR", "data")


def default_runs_dir() -> Path:
    """Where training runs are written: $KDW_RUNS_DIR, else ./runs."""
    return _from_env("KDW_RUNS_DIR", "runs")
