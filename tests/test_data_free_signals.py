"""What the data-free methods record about their generated images: the teacher's class histogram per epoch, the
BatchNorm-statistics term, and the figures that draw them."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
from test_dafl import built_dafl, dafl_config, data_free_dataset
from test_pre_dfkd import pre_dfkd_config
from torch import nn

from workbench.engine import fit
from workbench.methods.teacher_signals import ClassCounts, batchnorm_gaps
from workbench.viz.data_free import class_histogram_figure, generator_terms_figure, latest_shares


def test_class_counts_give_shares_and_normalised_entropy_then_restart():
    counts = ClassCounts(4)
    counts.add(torch.eye(4)[[0, 0, 1, 3]])
    shares = counts.shares("teacher_class")
    assert [shares[f"teacher_class_share_{k}"] for k in range(4)] == [0.5, 0.25, 0.0, 0.25]
    expected = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25)) / math.log(4)
    assert shares["teacher_class_entropy"] == pytest.approx(expected)
    assert counts.shares("teacher_class") == {}  # nothing counted since
    counts.add(torch.eye(4))
    assert counts.shares("x")["x_entropy"] == pytest.approx(1.0)


def test_batchnorm_gap_is_zero_at_the_running_statistics_and_hooks_are_removed():
    layer = nn.BatchNorm1d(3).eval()
    layer.running_mean.copy_(torch.tensor([1.0, 2.0, 3.0]))
    layer.running_var.copy_(torch.tensor([4.0, 4.0, 4.0]))
    matching = torch.tensor([[-1.0, 0.0, 1.0], [3.0, 4.0, 5.0]])  # per-column mean 1, 2, 3 and variance 4
    with batchnorm_gaps(layer) as gaps:
        layer(matching)
        layer(matching + 1.0)
    assert gaps[0].item() == pytest.approx(0.0, abs=1e-6)
    assert gaps[1].item() == pytest.approx(math.sqrt(3.0))
    layer(matching)
    assert len(gaps) == 2 and not layer._forward_hooks


def test_batchnorm_term_is_on_by_default_and_recorded_only_when_weighted(digits_teacher):
    assert "g_bn" in built_dafl(digits_teacher, seed=0).generate().terms  # the cnn teacher has BatchNorm layers
    plain = built_dafl(digits_teacher, seed=0, w_bn=0.0)
    assert "g_bn" not in plain.generate().terms
    weighted = built_dafl(digits_teacher, seed=0, w_bn=2.0)
    term = weighted.generate().terms["g_bn"]
    assert term.item() > 0 and term.requires_grad
    assert not any(layer._forward_hooks for layer in digits_teacher.modules())


def test_a_teacher_without_batchnorm_gets_no_batchnorm_term():
    from workbench.teachers import get_teacher

    lenet5, _ = get_teacher("lenet5", "digits", 0, train_if_missing=False)
    assert "g_bn" not in built_dafl(lenet5, seed=0, w_bn=1.0).generate().terms


def test_dafl_records_the_teachers_class_histogram_of_each_epoch(digits_teacher):
    result = fit(dafl_config(), teachers=[digits_teacher], dataset=data_free_dataset())
    for epoch in result.history:
        shares = [epoch[f"teacher_class_share_{k}"] for k in range(10)]
        assert sum(shares) == pytest.approx(1.0)
        assert 0.0 <= epoch["teacher_class_entropy"] <= 1.0
    assert result.final_metrics["teacher_class_entropy"] == result.history[-1]["teacher_class_entropy"]


def test_pre_dfkd_records_the_histograms_of_novel_and_replayed_samples(digits_teacher):
    result = fit(pre_dfkd_config(), teachers=[digits_teacher], dataset=data_free_dataset())
    last = result.history[-1]
    for prefix in ("teacher_class", "replay_class"):
        assert sum(last[f"{prefix}_share_{k}"] for k in range(10)) == pytest.approx(1.0)
        assert f"{prefix}_entropy" in last
    assert "memory_vae_bytes" in last
    assert result.final_metrics["replay_class_entropy"] == last["replay_class_entropy"]


def metric_rows(run_id, scope, rows):
    return pd.DataFrame(
        [
            {"run_id": run_id, "step": step, "epoch": epoch, "scope": scope, "name": name, "value": value}
            for step, epoch, name, value in rows
        ]
    )


def test_histogram_figure_draws_the_newest_epochs_shares_and_the_entropy_curve():
    rows = [(0, epoch, f"teacher_class_share_{k}", (k + epoch) / 10) for epoch in (1, 2) for k in range(3)]
    rows += [(0, epoch, "teacher_class_entropy", 0.5 * epoch) for epoch in (1, 2)]
    epochs = metric_rows("r1", "epoch", rows)
    assert latest_shares(epochs, "r1", "teacher_class") == (2, [0.2, 0.3, 0.4])
    assert latest_shares(epochs, "r1", "replay_class") == (None, [])
    figure = class_histogram_figure(epochs, {"r1": "dafl <b>"}, ("zero", "one", "two"))
    bars = [trace for trace in figure.data if trace.type == "bar"]
    assert len(bars) == 1 and list(bars[0].x) == ["zero", "one", "two"] and list(bars[0].y) == [0.2, 0.3, 0.4]
    assert "&lt;b&gt;" in bars[0].name and "epoch 2" in bars[0].name
    curve = next(trace for trace in figure.data if trace.type == "scatter")
    assert list(curve.y) == [0.5, 1.0]


def test_generator_terms_figure_draws_only_the_generators_terms():
    steps = metric_rows("r1", "step", [(s, 1, name, 1.0) for s in (1, 2) for name in ("g_onehot", "g_adv", "kd")])
    figure = generator_terms_figure(steps, {"r1": "pre"})
    assert sorted(trace.name for trace in figure.data) == ["pre: novelty (disagreement)", "pre: one-hot"]
    assert class_histogram_figure(pd.DataFrame(), {"r1": "pre"}, ()).data == ()
