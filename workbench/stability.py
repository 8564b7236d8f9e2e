"""How steady a run's test accuracy was over training: its mean, variance, best and final value.

Data-free methods have no validation set to pick a snapshot by, so a run whose accuracy swings is worse
than its best epoch suggests (PRE-DFKD's argument); these numbers put that on the Compare page."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

STAT_NAMES = ("mean", "var", "best", "final", "epochs")


def accuracy_stats(values: Sequence[float]) -> dict[str, float]:
    """Mean, population variance, best and final of per-epoch accuracies (NaN for all but `epochs` when empty)."""
    count = len(values)
    if count == 0:
        return {"mean": float("nan"), "var": float("nan"), "best": float("nan"), "final": float("nan"), "epochs": 0.0}
    mean = sum(values) / count
    return {
        "mean": mean,
        "var": sum((value - mean) ** 2 for value in values) / count,
        "best": max(values),
        "final": float(values[-1]),
        "epochs": float(count),
    }


def accuracy_over_training(metrics: pd.DataFrame, metric: str = "test_acc") -> dict[str, float]:
    """The accuracy stats of one run from its metric rows (a RunStore.metrics_frame: epoch, scope, name, value)."""
    rows = metrics[(metrics["name"] == metric) & (metrics["scope"] == "epoch")].sort_values("epoch")
    rows = rows.drop_duplicates("epoch", keep="last")
    return accuracy_stats([float(value) for value in rows["value"]])


def stability_table(metrics: pd.DataFrame, metric: str = "test_acc") -> pd.DataFrame:
    """One row per run_id of a metrics frame with the accuracy stats over training (columns STAT_NAMES)."""
    rows = [{"run_id": run_id, **accuracy_over_training(frame, metric)} for run_id, frame in metrics.groupby("run_id")]
    return pd.DataFrame(rows, columns=["run_id", *STAT_NAMES])
