"""A cheap look at test accuracy during an epoch, for live charts: the student's accuracy on a fixed, evenly spread
subset of the test split (`SubsetAccuracy`), taken about once a second and never for more than a small share of the
training time (`ProbeClock`). The end-of-epoch evaluation on the whole test split stays the authoritative figure."""

from __future__ import annotations

import time
from typing import Callable

import torch
from torch import Tensor, nn

PROBE_IMAGES = 512  # test images in the subset
PROBE_SECONDS = 1.0  # a probe at most this often...
PROBE_SHARE = 0.05  # ...and at most this share of the time (a slow model is probed less often)


def probe_subset(x: Tensor, y: Tensor, size: int = PROBE_IMAGES) -> tuple[Tensor, Tensor]:
    """`size` test images and their labels spread evenly over the test split `x`, `y` (the same ones every time)."""
    stride = max(1, x.shape[0] // size)
    return x[::stride][:size], y[::stride][:size]


class SubsetAccuracy:
    """The student's accuracy on `size` test images spread evenly over the test split (the same ones every call);
    evaluated in eval mode without gradients, the student's mode restored after, no random numbers drawn, so the
    training it watches is unchanged."""

    def __init__(self, student: nn.Module, x: Tensor, y: Tensor, autocast: Callable, size: int = PROBE_IMAGES) -> None:
        self.student, self.autocast = student, autocast
        self.x, self.y = probe_subset(x, y, size)

    @torch.no_grad()
    def __call__(self) -> float:
        """Accuracy on the subset now."""
        was_training = self.student.training
        self.student.eval()
        with self.autocast():
            predicted = self.student(self.x).float().argmax(1)
        self.student.train(was_training)
        return (predicted == self.y).float().mean().item()


class ProbeClock:
    """When the next probe is due: at once for the first, then every `seconds`, or longer when a probe takes more
    than `share` of the time between probes."""

    def __init__(self, seconds: float = PROBE_SECONDS, share: float = PROBE_SHARE) -> None:
        self.seconds, self.share = seconds, share
        self._next = float("-inf")

    def due(self) -> bool:
        """Whether a probe is due now."""
        return time.monotonic() >= self._next

    def measure(self, probe: Callable[[], float]) -> float:
        """Run `probe`, schedule the next one from its cost, and return its value."""
        start = time.monotonic()
        value = probe()
        cost = time.monotonic() - start
        self._next = start + max(self.seconds, cost / self.share)
        return value
