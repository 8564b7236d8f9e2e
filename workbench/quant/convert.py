"""Model conversion: replace every nn.Conv2d / nn.Linear by its fake-quantised version."""

from __future__ import annotations

import copy

from torch import nn

from ..errors import ConfigError
from .layers import QConv2d, QLinear, QuantLayer
from .spec import FULL_PRECISION, ActClip, QuantSpec, WeightBits


def _convert_layer(layer: nn.Module, spec: QuantSpec, quantize_input: bool) -> nn.Module:
    if isinstance(layer, nn.Conv2d):
        return QConv2d.from_float(layer, spec, quantize_input)
    assert isinstance(layer, nn.Linear)
    return QLinear.from_float(layer, spec, quantize_input)


def quantize(
    model: nn.Module,
    w_bits: WeightBits,
    a_bits: int,
    *,
    keep_first_last: bool = True,
    per_channel: bool = False,
    act_clip: ActClip = "pact",
) -> nn.Module:
    """Return a deep copy of ``model`` with its Conv2d/Linear layers fake-quantised; ``model`` is untouched.

    Every nn.Conv2d / nn.Linear (recursively, shared modules once) becomes a QConv2d /
    QLinear sharing nothing with the original but carrying over its weights and bias.
    "First" and "last" are the first and last Conv2d/Linear in registration order
    (for the usual CNN the stem conv and the classifier). With ``keep_first_last`` they
    stay full-precision float layers. The first layer never quantises its input (the
    image); every other converted layer quantises its input activation to ``a_bits``.
    ``w_bits == a_bits == 32`` returns an unconverted copy. Invalid bits or act_clip
    raise ConfigError; an already quantised model raises ConfigError("model", ...).
    """
    spec = QuantSpec(w_bits=w_bits, a_bits=a_bits, per_channel=per_channel, act_clip=act_clip)
    converted = copy.deepcopy(model)
    if any(isinstance(m, QuantLayer) for m in converted.modules()):
        raise ConfigError("model", "is already quantised; quantise the full-precision model")
    if w_bits == FULL_PRECISION and a_bits == FULL_PRECISION:
        return converted

    layers = [m for m in converted.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if not layers:
        return converted
    first, last = layers[0], layers[-1]
    replacements = {
        id(layer): _convert_layer(layer, spec, quantize_input=layer is not first)
        for layer in layers
        if not (keep_first_last and (layer is first or layer is last))
    }
    if id(converted) in replacements:
        return replacements[id(converted)]
    for parent in list(converted.modules()):
        for name, child in list(parent.named_children()):
            if id(child) in replacements:
                setattr(parent, name, replacements[id(child)])
    return converted
