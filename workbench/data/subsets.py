"""Class-balanced, seed-deterministic choice of a subset of a labelled split."""
from __future__ import annotations

import torch


def stratified_indices(labels: torch.Tensor, size: int, num_classes: int, generator: torch.Generator) -> torch.Tensor:
    """Sorted int64 indices of `size` items, as equal per class as the class counts allow.

    Classes are filled smallest first, each taking an equal share of what is still needed (capped
    by its count), so sizes differ by at most one unless a class runs out. Within a class the items
    are a random draw from `generator`.
    """
    labels = labels.cpu()
    per_class = [torch.nonzero(labels == c).flatten() for c in range(num_classes)]
    order = sorted(range(num_classes), key=lambda c: len(per_class[c]))
    take = [0] * num_classes
    remaining = size
    for position, c in enumerate(order):
        take[c] = min(len(per_class[c]), remaining // (num_classes - position))
        remaining -= take[c]
    chosen = [
        members[torch.randperm(len(members), generator=generator)[:count]]
        for members, count in zip(per_class, take)
    ]
    return torch.cat(chosen).sort().values
