"""Activation precision control for SPEQ: fixed or per-layer stochastic bits for one forward pass."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from ..errors import ConfigError
from .layers import QuantLayer
from .spec import check_a_bits


def _input_quantizers(model: nn.Module) -> dict[str, QuantLayer]:
    return {name: m for name, m in model.named_modules() if isinstance(m, QuantLayer) and m.quantize_input}


def set_activation_bits(model: nn.Module, bits: int) -> None:
    """Set ``a_bits`` of every quantised layer of ``model`` that quantises its input (32 = full precision)."""
    check_a_bits(bits)
    for layer in _input_quantizers(model).values():
        layer.a_bits = bits


@contextmanager
def stochastic_activation_precision(
    model: nn.Module,
    low_bits: int,
    high_bits: int,
    p_high: float,
    generator: torch.Generator | None = None,
) -> Iterator[dict[str, int]]:
    """Within the block, each input-quantising layer independently uses ``high_bits`` with probability
    ``p_high``, else ``low_bits``; the previous bits are restored on exit (also on error).

    Draws one uniform number per layer (registration order) from ``generator`` (or the global
    CPU RNG), so a seeded generator gives a reproducible assignment. Yields {layer name: bits}.
    Use one block per forward pass to get a fresh draw each time.
    """
    check_a_bits(low_bits, "low_bits")
    check_a_bits(high_bits, "high_bits")
    if not 0.0 <= p_high <= 1.0:
        raise ConfigError("p_high", "must be between 0 and 1")
    layers = _input_quantizers(model)
    device = generator.device if generator is not None else torch.device("cpu")
    use_high = (torch.rand(len(layers), generator=generator, device=device) < p_high).tolist()
    saved = {name: layer.a_bits for name, layer in layers.items()}
    chosen = {name: high_bits if high else low_bits for name, high in zip(layers, use_high)}
    try:
        for name, layer in layers.items():
            layer.a_bits = chosen[name]
        yield chosen
    finally:
        for name, layer in layers.items():
            layer.a_bits = saved[name]
