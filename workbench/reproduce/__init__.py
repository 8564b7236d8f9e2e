"""`kdw reproduce NAME`: scripted experiments that write their section of docs/results.md.

An experiment is a module with `run(*, quick: bool, runs_dir: Path, results_file: Path) -> str` (it trains,
writes its section and returns the section's markdown); register it here with one line."""

from __future__ import annotations

import importlib
from pathlib import Path

EXPERIMENTS: dict[str, str] = {
    "feature": "workbench.reproduce.feature",  # feature-, relation- and ensemble-based methods (issue 4)
    "quant": "workbench.reproduce.quant",  # quantised students: no KD, qkd and SPEQ (issue 5)
    "data-free": "workbench.reproduce.data_free",  # DAFL, PRE-DFKD and LW-KD against real-data KD (issue 6)
    "data-free-generators": "workbench.reproduce.data_free_generators",  # DAFL, PRE-DFKD at defaults (issue 16)
}


def run_experiment(name: str, *, quick: bool, runs_dir: Path, results_file: Path) -> str:
    """Run the experiment registered as `name` and return the markdown section it wrote."""
    module = importlib.import_module(EXPERIMENTS[name])
    return module.run(quick=quick, runs_dir=runs_dir, results_file=results_file)
