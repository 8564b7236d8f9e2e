"""Figure data for quantised students: the accuracy-versus-size Pareto front and per-layer weight histograms."""

import torch

from workbench.models import create_model
from workbench.quant import TERNARY, quantize, quantized_weight
from workbench.quant.report import pareto_front, weight_histograms


def test_pareto_front_marks_the_points_nothing_beats_on_both_axes():
    points = [(10.0, 0.80), (20.0, 0.90), (15.0, 0.70), (40.0, 0.90), (5.0, 0.60), (20.0, 0.85)]
    # (15, .70) loses to (10, .80); (40, .90) to (20, .90); (20, .85) to (20, .90)
    assert pareto_front(points) == [True, True, False, False, True, False]


def test_pareto_front_keeps_equal_points_and_handles_empty_input():
    assert pareto_front([(1.0, 0.5), (1.0, 0.5)]) == [True, True]
    assert pareto_front([]) == []


def test_weight_histograms_count_each_level_of_each_quantised_layer():
    torch.manual_seed(0)
    model = quantize(create_model("cnn:8", 10, 1, 8), TERNARY, 32)
    histograms = weight_histograms(model)
    quantised = {name: module for name, module in model.named_modules() if name in histograms}
    assert len(histograms) == 5  # the first conv and the classifier stay full precision
    for name, (levels, counts) in histograms.items():
        weights = quantized_weight(quantised[name])
        assert len(levels) <= 3 and levels == sorted(levels) and 0.0 in levels
        assert sum(counts) == weights.numel()
        for level, count in zip(levels, counts):
            assert (weights == level).sum().item() == count


def test_weight_histograms_of_a_float_model_are_empty():
    assert weight_histograms(create_model("cnn:8", 10, 1, 8)) == {}
