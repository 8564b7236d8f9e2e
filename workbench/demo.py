"""The class demo: a teacher, a baseline student and a KD student on digits, side by side."""
from __future__ import annotations

import time

import pandas as pd

from .config import RunConfig
from .runner import run_recorded
from .store import RunStore
from .teachers import get_teacher

DEMO_SETUP = {"dataset": "digits", "teachers": ["cnn"], "student": "lenet5_half", "temperature": 4.0,
              "alpha": 0.9, "batch_size": 64, "optimizer": "sgd", "lr": 0.05, "seed": 0}


def run_demo(store: RunStore, epochs: int = 30) -> pd.DataFrame:
    """Train (or load) the teacher, then a baseline and a KD student; return the comparison table."""
    started = time.perf_counter()
    teacher, record = get_teacher("cnn", "digits", 0)
    rows = [{"model": f"teacher cnn ({'packaged' if record.packaged else 'cached'})", "method": "-",
             "params": record.params, "test_acc": round(record.test_acc, 4), "gain": "", "seconds": 0.0, "run": ""}]
    baseline_acc = None
    for method in ("baseline", "kd"):
        config = RunConfig.from_dict({**DEMO_SETUP, "method": method, "epochs": epochs,
                                      "name": f"demo {method}"})
        t0 = time.perf_counter()
        run_id, result = run_recorded(config, store, teachers=[teacher] if method == "kd" else None)
        acc = result.final_metrics["test_acc"]
        baseline_acc = acc if method == "baseline" else baseline_acc
        rows.append({"model": "student lenet5_half", "method": method, "params": int(result.final_metrics["params"]),
                     "test_acc": round(acc, 4),
                     "gain": "" if method == "baseline" else f"{100 * (acc - baseline_acc):+.2f} pts",
                     "seconds": round(time.perf_counter() - t0, 1), "run": run_id})
    table = pd.DataFrame(rows)
    table.attrs["total_seconds"] = time.perf_counter() - started
    return table
