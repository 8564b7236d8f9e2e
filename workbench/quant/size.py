"""Storage size of a (possibly quantised) model."""

from __future__ import annotations

from torch import nn

from .layers import QuantLayer
from .spec import FULL_PRECISION, TERNARY, WeightBits

FLOAT_BITS = 32


def bits_per_weight(w_bits: WeightBits) -> int:
    """Storage bits of one weight: ternary is stored in 2 bits, otherwise the bit width itself."""
    return 2 if w_bits == TERNARY else int(w_bits)


def model_size_bits(model: nn.Module) -> int:
    """Storage of ``model`` in bits, counting what an integer deployment would store.

    * Weight of a quantised layer with w_bits < 32: numel * bits (ternary 2, binary 1),
      plus one 32-bit scale per layer, or per output channel when ``per_channel``.
    * Every other parameter and buffer element counts 32 bits whatever its dtype: biases,
      BatchNorm weight/bias/running stats/num_batches_tracked, activation clip alpha
      (PACT parameter or fixed buffer), unconverted or w_bits = 32 layers.
    Tensors shared between modules are counted once.
    """
    total = 0
    quantised: set[int] = set()
    for layer in model.modules():
        if not isinstance(layer, QuantLayer) or layer.spec.w_bits == FULL_PRECISION:
            continue
        if id(layer.weight) in quantised:
            continue
        quantised.add(id(layer.weight))
        scales = layer.weight.shape[0] if layer.spec.per_channel else 1
        total += layer.weight.numel() * bits_per_weight(layer.spec.w_bits) + scales * FLOAT_BITS
    others = [t for t in (*model.parameters(), *model.buffers()) if id(t) not in quantised]
    return total + FLOAT_BITS * sum(t.numel() for t in others)


def model_size_kb(model: nn.Module) -> float:
    """``model_size_bits`` in kilobytes of 1024 bytes (KiB)."""
    return model_size_bits(model) / 8 / 1024
