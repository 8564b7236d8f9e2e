"""What the training loop reports: run start, each step, each epoch and the end, to any callbacks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from torch import Tensor, nn


@dataclass
class RunInfo:
    """Known once training is set up: sizes, device and the models involved."""

    config: dict[str, Any]
    device: str
    precision: str
    steps_per_epoch: int
    total_steps: int
    start_epoch: int
    student_params: int
    student_macs: int
    student_size_kb: float
    teacher_names: list[str]
    # The student's test accuracy on a fixed subset of the test split, now (probe.SubsetAccuracy): cheap enough
    # for a live chart to call about once a second during an epoch.
    test_probe: Callable[[], float] | None = None


@dataclass
class StepEvent:
    """One optimisation step's loss terms (by name), total loss, α, T and learning rate."""

    step: int
    epoch: int
    metrics: dict[str, float]


@dataclass
class EpochEvent:
    """An epoch's summary metrics, and optionally a grid of images (generated samples) to show."""

    epoch: int
    step: int
    metrics: dict[str, float]
    images: dict[str, Tensor] = field(default_factory=dict)


@dataclass
class FitResult:
    """How a run ended, its final metrics, per-epoch history and the trained student."""

    status: str  # done, cancelled or diverged
    message: str
    final_metrics: dict[str, float]
    history: list[dict[str, float]]
    student: nn.Module


class Callback:
    """Receives the engine's events; override the ones you need."""

    def on_start(self, info: RunInfo) -> None:
        """Called once before the first step."""

    def on_step(self, event: StepEvent) -> None:
        """Called after every optimisation step."""

    def on_epoch(self, event: EpochEvent) -> None:
        """Called after every epoch's evaluation."""

    def on_end(self, result: FitResult) -> None:
        """Called once when the run ends, whatever the status."""


class FunctionCallback(Callback):
    """Adapts plain functions (e.g. a notebook's figure update) to the Callback interface."""

    def __init__(
        self, on_epoch: Callable[[EpochEvent], None] | None = None, on_step: Callable[[StepEvent], None] | None = None
    ) -> None:
        self._on_epoch = on_epoch
        self._on_step = on_step

    def on_step(self, event: StepEvent) -> None:
        """Forward to the step function, if any."""
        if self._on_step:
            self._on_step(event)

    def on_epoch(self, event: EpochEvent) -> None:
        """Forward to the epoch function, if any."""
        if self._on_epoch:
            self._on_epoch(event)
