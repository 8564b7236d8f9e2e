"""What a data-free generator's images do to the frozen teacher: how far they move its BatchNorm layers' input
statistics from the running statistics the teacher learnt on real data (a prior DeepInversion and later data-free
methods add to DAFL's terms), and which classes the teacher gives them, counted over an epoch."""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import Tensor, nn

from .losses import full_precision


def batchnorm_layers(network: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The network's BatchNorm layers that keep running statistics, in module order."""
    return [
        module
        for module in network.modules()
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_mean is not None
    ]


@contextmanager
def batchnorm_gaps(network: nn.Module) -> Iterator[list[Tensor]]:
    """Inside the block every forward pass through one of the network's BatchNorm layers appends
    ‖μ_batch − μ_running‖₂ + ‖σ²_batch − σ²_running‖₂ of that layer's input (per channel over the batch and the
    map) to the yielded list; the hooks are removed after the block."""
    gaps: list[Tensor] = []

    def measure(module: nn.modules.batchnorm._BatchNorm, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        x = full_precision(inputs[0])
        dims = [0, *range(2, x.dim())]
        mean, var = x.mean(dims), x.var(dims, unbiased=False)
        gaps.append((mean - module.running_mean).norm(2) + (var - module.running_var).norm(2))

    handles = [layer.register_forward_hook(measure) for layer in batchnorm_layers(network)]
    try:
        yield gaps
    finally:
        for handle in handles:
            handle.remove()


class ClassCounts:
    """How many images of each class the teacher saw, counted since the last `shares` call."""

    def __init__(self, num_classes: int, device: torch.device | str = "cpu") -> None:
        self.counts = torch.zeros(num_classes, dtype=torch.long, device=device)

    def add(self, teacher_logits: Tensor) -> None:
        """Count the teacher's predicted classes for one batch of logits (on their device: no host sync)."""
        self.counts += torch.bincount(teacher_logits.detach().argmax(1), minlength=len(self.counts))

    def shares(self, prefix: str) -> dict[str, float]:
        """`<prefix>_share_<k>` (each class's share of the images counted) and `<prefix>_entropy` (the shares'
        entropy over log(classes): 1 when every class is predicted equally often, 0 when one class takes all);
        then start counting afresh. Empty when nothing was counted."""
        total = int(self.counts.sum())
        if total == 0:
            return {}
        shares = self.counts.double().cpu() / total
        self.counts.zero_()
        present = shares[shares > 0]
        entropy = float(-(present * present.log()).sum()) / math.log(len(shares))
        return {**{f"{prefix}_share_{k}": float(share) for k, share in enumerate(shares)}, f"{prefix}_entropy": entropy}
