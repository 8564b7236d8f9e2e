"""Accuracy over training: mean, variance, best and final per run, from a store's metrics frame."""

import math

import pandas as pd
import pytest

from workbench.stability import accuracy_over_training, accuracy_stats, stability_table


def frame(run_id, accuracies, extra_name="test_loss"):
    rows = []
    for epoch, value in enumerate(accuracies, start=1):
        rows.append(
            {"run_id": run_id, "step": epoch * 10, "epoch": epoch, "scope": "epoch", "name": "test_acc", "value": value}
        )
        rows.append(
            {"run_id": run_id, "step": epoch * 10, "epoch": epoch, "scope": "epoch", "name": extra_name, "value": 9.0}
        )
        rows.append(
            {"run_id": run_id, "step": epoch * 10, "epoch": epoch, "scope": "step", "name": "test_acc", "value": 0.0}
        )
    return pd.DataFrame(rows)


def test_stats_of_a_swinging_run():
    stats = accuracy_over_training(frame("a", [0.5, 0.9, 0.4, 0.8]))
    assert stats["mean"] == pytest.approx(0.65)
    assert stats["var"] == pytest.approx(((0.15**2) + (0.25**2) + (0.25**2) + (0.15**2)) / 4)
    assert stats["best"] == 0.9 and stats["final"] == 0.8 and stats["epochs"] == 4


def test_a_steady_run_has_smaller_variance_than_a_swinging_one_with_the_same_best():
    table = stability_table(pd.concat([frame("steady", [0.7, 0.8, 0.85, 0.9]), frame("swing", [0.3, 0.9, 0.2, 0.6])]))
    by_run = table.set_index("run_id")
    assert by_run.loc["steady", "best"] == by_run.loc["swing", "best"]
    assert by_run.loc["steady", "var"] < by_run.loc["swing", "var"]
    assert by_run.loc["steady", "mean"] > by_run.loc["swing", "mean"]


def test_epochs_are_ordered_and_a_redone_epoch_counts_once():
    shuffled = frame("a", [0.1, 0.2, 0.3]).iloc[::-1]
    redone = pd.concat([frame("a", [0.1, 0.2, 0.3]), frame("a", [0.1, 0.2, 0.5]).iloc[-3:]])
    assert accuracy_over_training(shuffled)["final"] == 0.3
    assert accuracy_over_training(redone)["final"] == 0.5 and accuracy_over_training(redone)["epochs"] == 3


def test_no_epochs_gives_nan_not_an_error():
    stats = accuracy_stats([])
    assert stats["epochs"] == 0 and math.isnan(stats["mean"])
    assert stability_table(pd.DataFrame(columns=["run_id", "step", "epoch", "scope", "name", "value"])).empty
