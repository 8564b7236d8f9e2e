"""Data for the quantisation figures: the accuracy-versus-size Pareto front and per-layer weight histograms."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .layers import QuantLayer, quantized_weight
from .spec import FULL_PRECISION


def pareto_front(points: Sequence[tuple[float, float]]) -> list[bool]:
    """For (size, accuracy) points, whether each is on the Pareto front: no other point is at most as large and
    at least as accurate while strictly better in one of the two (equal points are all on the front)."""
    flags = []
    for size, accuracy in points:
        dominated = any(
            other_size <= size and other_acc >= accuracy and (other_size < size or other_acc > accuracy)
            for other_size, other_acc in points
        )
        flags.append(not dominated)
    return flags


def weight_histograms(model: nn.Module) -> dict[str, tuple[list[float], list[int]]]:
    """For each weight-quantised layer of `model` (by module name): the distinct weight values it uses in its
    forward pass, ascending, and how many weights take each."""
    histograms = {}
    for name, layer in model.named_modules():
        if isinstance(layer, QuantLayer) and layer.spec.w_bits != FULL_PRECISION:
            levels, counts = torch.unique(quantized_weight(layer), return_counts=True)
            histograms[name] = (levels.tolist(), counts.tolist())
    return histograms
