"""Fake quantisers as autograd functions with straight-through estimators (STE).

Every quantiser returns a float tensor holding quantised values ("fake quantisation");
the backward pass replaces the zero-almost-everywhere derivative of rounding by a
straight-through estimate:

* binary weights: gradient passed where |w| <= 1, zero elsewhere (clipped STE, as in
  BinaryConnect / XNOR-Net); the scale is treated as a constant.
* ternary and k-bit uniform weights: gradient passed unchanged (identity STE); the
  scale and threshold are treated as constants.
* activations: gradient passed inside the clipping range [0, alpha), zero outside;
  alpha receives the summed gradient of the inputs clipped at alpha (PACT).

Weights have their output channels on dim 0; "per channel" means one scale per
output channel, otherwise one scale for the whole tensor.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .spec import FULL_PRECISION, TERNARY, WeightBits

TERNARY_THRESHOLD = 0.7
_MIN_ALPHA = 1e-8


def _reduce_dims(w: Tensor, per_channel: bool) -> tuple[int, ...]:
    return tuple(range(1, w.dim())) if per_channel else tuple(range(w.dim()))


class _BinaryWeight(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, w: Tensor, per_channel: bool) -> Tensor:
        ctx.save_for_backward(w)
        scale = w.abs().mean(dim=_reduce_dims(w, per_channel), keepdim=True)
        return torch.where(w >= 0, scale, -scale)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (w,) = ctx.saved_tensors
        return grad * (w.abs() <= 1), None


class _TernaryWeight(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, w: Tensor, per_channel: bool) -> Tensor:
        dims = _reduce_dims(w, per_channel)
        magnitude = w.abs()
        threshold = TERNARY_THRESHOLD * magnitude.mean(dim=dims, keepdim=True)
        kept = magnitude > threshold
        kept_count = kept.sum(dim=dims, keepdim=True).clamp_min(1)
        scale = (magnitude * kept).sum(dim=dims, keepdim=True) / kept_count
        return torch.sign(w) * kept * scale

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return grad, None


class _UniformWeight(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, w: Tensor, bits: int, per_channel: bool) -> Tensor:
        top = 2 ** (bits - 1) - 1
        scale = w.abs().amax(dim=_reduce_dims(w, per_channel), keepdim=True) / top
        safe_scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        return torch.round(w / safe_scale).clamp(-top, top) * scale

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        return grad, None, None


class _ActivationQuant(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, alpha: Tensor, levels: int) -> Tensor:
        clip = alpha.detach().to(x.dtype).clamp_min(_MIN_ALPHA)
        ctx.save_for_backward(x, clip)
        ctx.alpha_meta = (alpha.shape, alpha.dtype)
        step = clip / levels
        return torch.round(torch.minimum(x.clamp_min(0), clip) / step) * step

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor | None, None]:
        x, clip = ctx.saved_tensors
        grad_x = grad * ((x >= 0) & (x < clip))
        grad_alpha = None
        if ctx.needs_input_grad[1]:
            shape, dtype = ctx.alpha_meta
            grad_alpha = (grad * (x >= clip)).sum().reshape(shape).to(dtype)
        return grad_x, grad_alpha, None


def binarize(w: Tensor, per_channel: bool = False) -> Tensor:
    """Binary weights sign(w) * mean|w| (sign(0) = +1); clipped STE (gradient where |w| <= 1)."""
    return _BinaryWeight.apply(w, per_channel)


def ternarize(w: Tensor, per_channel: bool = False) -> Tensor:
    """Ternary Weight Networks (Li & Liu 2016): values {-s, 0, +s}; identity STE.

    Threshold delta = 0.7 * mean|w|; entries with |w| > delta keep their sign, the rest
    become 0; s = mean of |w| over the kept entries.
    """
    return _TernaryWeight.apply(w, per_channel)


def uniform_quantize(w: Tensor, bits: int, per_channel: bool = False) -> Tensor:
    """Symmetric uniform k-bit weights: levels {-(2^(k-1)-1) .. 2^(k-1)-1} * max|w| / (2^(k-1)-1).

    2^k - 1 levels at most; k = 2 gives the three levels {-max|w|, 0, +max|w|}, i.e. a
    ternary-like quantiser with scale max|w| and threshold max|w|/2 (unlike TWN). Identity STE.
    """
    return _UniformWeight.apply(w, bits, per_channel)


def quantize_weight(w: Tensor, bits: WeightBits, per_channel: bool = False) -> Tensor:
    """Fake-quantise a weight tensor: 32 identity, 8..2 uniform, "ternary" TWN, 1 binary."""
    if per_channel and w.dim() < 2:
        raise ValueError("per-channel quantisation needs a weight with output channels on dim 0 and >= 2 dims")
    if bits == FULL_PRECISION:
        return w
    if bits == TERNARY:
        return ternarize(w, per_channel)
    if bits == 1:
        return binarize(w, per_channel)
    return uniform_quantize(w, int(bits), per_channel)


def quantize_activation(x: Tensor, bits: int, alpha: Tensor) -> Tensor:
    """Unsigned k-bit activations: clip to [0, alpha], round to 2^k - 1 steps; 32 bits is identity.

    STE inside [0, alpha); alpha (a 0-dim tensor, e.g. a PACT nn.Parameter) gets the sum
    of the upstream gradients of the inputs >= alpha. Values below 0 are clipped, so this
    suits inputs that follow a ReLU. alpha is floored at 1e-8 in the forward pass.
    """
    if bits == FULL_PRECISION:
        return x
    return _ActivationQuant.apply(x, alpha, 2**bits - 1)
