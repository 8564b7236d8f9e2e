"""Quantisation library: STE fake quantisers, quantised layers, model conversion, SPEQ precision, size.

Typical use::

    qmodel = quantize(model, w_bits=4, a_bits=4)          # first conv / last linear stay float
    with stochastic_activation_precision(qmodel, 4, 32, p_high=0.5, generator=g):
        teacher_logits = qmodel(x)
    model_size_kb(qmodel)
"""

from .convert import quantize
from .layers import (
    PACT_INIT_ALPHA,
    QConv2d,
    QLinear,
    QuantLayer,
    quantized_layers,
    quantized_weight,
    weight_levels,
)
from .precision import set_activation_bits, stochastic_activation_precision
from .quantizers import (
    binarize,
    quantize_activation,
    quantize_weight,
    ternarize,
    uniform_quantize,
)
from .size import bits_per_weight, model_size_bits, model_size_kb
from .spec import (
    ACTIVATION_BITS,
    TERNARY,
    WEIGHT_BITS,
    ActClip,
    QuantSpec,
    WeightBits,
    check_a_bits,
    check_act_clip,
    check_w_bits,
    parse_bits,
)

__all__ = [
    "ACTIVATION_BITS",
    "PACT_INIT_ALPHA",
    "TERNARY",
    "WEIGHT_BITS",
    "ActClip",
    "QConv2d",
    "QLinear",
    "QuantLayer",
    "QuantSpec",
    "WeightBits",
    "binarize",
    "bits_per_weight",
    "check_a_bits",
    "check_act_clip",
    "check_w_bits",
    "model_size_bits",
    "model_size_kb",
    "parse_bits",
    "quantize",
    "quantize_activation",
    "quantize_weight",
    "quantized_layers",
    "quantized_weight",
    "set_activation_bits",
    "stochastic_activation_precision",
    "ternarize",
    "uniform_quantize",
    "weight_levels",
]
