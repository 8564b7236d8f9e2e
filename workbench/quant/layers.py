"""Fake-quantised drop-in layers ``QConv2d`` / ``QLinear`` and weight inspection helpers.

Each layer quantises its weights in every forward pass and, when ``quantize_input`` is
set, its *input* activation (unsigned, clipped to [0, alpha]). ``quantize`` turns input
quantisation off for the model's first Conv2d/Linear only, whose input is the image.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .quantizers import quantize_activation, quantize_weight
from .spec import QuantSpec, check_a_bits

PACT_INIT_ALPHA = 6.0


class QuantLayer(nn.Module):
    """Common base of the quantised layers: holds the spec, the activation bits and alpha, and
    prepares a forward pass's quantised input and weights; each subclass states only its functional op.

    Listed before the float layer in a subclass's bases, so its ``__init__`` takes the float layer's
    arguments plus ``spec`` and ``quantize_input``.

    ``spec`` is fixed at construction; ``a_bits`` (validated on assignment) starts at
    ``spec.a_bits`` and may be changed between forward passes (stochastic precision).
    ``alpha`` is the activation clipping range: an nn.Parameter initialised to 6.0 for
    PACT, a buffer for a fixed range, None when the input is not quantised.
    """

    weight: Tensor
    bias: Tensor | None
    alpha: Tensor | None

    def __init__(self, *args: Any, spec: QuantSpec, quantize_input: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.a_bits = spec.a_bits
        self.quantize_input = quantize_input
        if not quantize_input:
            self.alpha = None
            return
        kind = {"device": self.weight.device, "dtype": self.weight.dtype}
        if spec.act_clip == "pact":
            self.alpha = nn.Parameter(torch.tensor(PACT_INIT_ALPHA, **kind))
        else:
            self.register_buffer("alpha", torch.tensor(float(spec.act_clip), **kind))

    @property
    def a_bits(self) -> int:
        """Bit width used for the input activation in the next forward pass."""
        return self._a_bits

    @a_bits.setter
    def a_bits(self, bits: int) -> None:
        self._a_bits = check_a_bits(bits)

    def weight_q(self) -> Tensor:
        """The weights as used in forward (fake-quantised, differentiable through the STE)."""
        return quantize_weight(self.weight, self.spec.w_bits, self.spec.per_channel)

    def input_q(self, x: Tensor) -> Tensor:
        """The input activation as used in forward (quantised to ``a_bits`` if enabled)."""
        if self.alpha is None:
            return x
        return quantize_activation(x, self.a_bits, self.alpha)

    def _quantised_inputs(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """The functional op's arguments for input ``x``: quantised input, quantised weights, bias."""
        return self.input_q(x), self.weight_q(), self.bias

    def extra_repr(self) -> str:
        """Module repr: the float layer's fields followed by the quantisation settings."""
        spec = self.spec
        return (
            f"{super().extra_repr()}, w_bits={spec.w_bits}, a_bits={self.a_bits}, "
            f"per_channel={spec.per_channel}, act_clip={spec.act_clip}, quantize_input={self.quantize_input}"
        )


class QConv2d(QuantLayer, nn.Conv2d):
    """nn.Conv2d that fake-quantises its weights and (optionally) its input activation."""

    @classmethod
    def from_float(cls, conv: nn.Conv2d, spec: QuantSpec, quantize_input: bool = True) -> QConv2d:
        """Build a QConv2d with the same hyper-parameters that shares ``conv``'s weight/bias Parameters."""
        layer = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            stride=conv.stride,
            padding=conv.padding,
            dilation=conv.dilation,
            groups=conv.groups,
            bias=conv.bias is not None,
            padding_mode=conv.padding_mode,
            device=conv.weight.device,
            dtype=conv.weight.dtype,
            spec=spec,
            quantize_input=quantize_input,
        )
        layer.weight = conv.weight
        layer.bias = conv.bias
        return layer.train(conv.training)

    def forward(self, x: Tensor) -> Tensor:
        """Convolve the quantised input with the quantised weights."""
        return self._conv_forward(*self._quantised_inputs(x))


class QLinear(QuantLayer, nn.Linear):
    """nn.Linear that fake-quantises its weights and (optionally) its input activation."""

    @classmethod
    def from_float(cls, linear: nn.Linear, spec: QuantSpec, quantize_input: bool = True) -> QLinear:
        """Build a QLinear with the same shape that shares ``linear``'s weight/bias Parameters."""
        layer = cls(
            linear.in_features,
            linear.out_features,
            bias=linear.bias is not None,
            device=linear.weight.device,
            dtype=linear.weight.dtype,
            spec=spec,
            quantize_input=quantize_input,
        )
        layer.weight = linear.weight
        layer.bias = linear.bias
        return layer.train(linear.training)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the quantised weights to the quantised input."""
        return F.linear(*self._quantised_inputs(x))


def quantized_layers(model: nn.Module) -> list[QuantLayer]:
    """All QConv2d/QLinear of ``model`` in registration order (each once)."""
    return [m for m in model.modules() if isinstance(m, QuantLayer)]


def quantized_weight(layer: nn.Module) -> Tensor:
    """The weights a Conv2d/Linear uses in forward, detached (the raw weights for a float layer)."""
    if isinstance(layer, QuantLayer):
        with torch.no_grad():
            return layer.weight_q().detach()
    if isinstance(layer, (nn.Conv2d, nn.Linear)):
        return layer.weight.detach()
    raise TypeError(f"expected nn.Conv2d or nn.Linear, got {type(layer).__name__}")


def weight_levels(layer: nn.Module) -> Tensor:
    """Sorted distinct values of ``quantized_weight(layer)`` (with per-channel scales: the union over channels)."""
    return torch.unique(quantized_weight(layer))
