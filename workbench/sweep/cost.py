"""What a sweep will cost: short probe runs of its distinct setups (`probe_run`) price every run, and the
expected wall time at a given concurrency is checked against a budget (`estimate_cost`)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from ..config import COEFFICIENT_FIELDS, RunConfig
from ..errors import WorkbenchError
from .spec import SweepPoint

# Fields that do not change how long a run takes (a probe of one setup stands for all their values).
COST_NEUTRAL_FIELDS = (
    "name",
    "seed",
    *COEFFICIENT_FIELDS,
    "lr",
    "momentum",
    "weight_decay",
    "lr_schedule",
    "optimizer",
    "epochs",
    "threads",
)


@dataclass(frozen=True)
class Probe:
    """What a short probe run measured: set-up seconds (data, models, teacher logits), seconds per step,
    steps per epoch, and the epoch's evaluation seconds when the probe got that far (else None)."""

    setup_seconds: float
    step_seconds: float
    steps_per_epoch: int
    eval_seconds: float | None

    @property
    def epoch_seconds(self) -> float:
        """An epoch's training time (plus its evaluation when measured)."""
        return self.step_seconds * self.steps_per_epoch + (self.eval_seconds or 0.0)

    def run_seconds(self, epochs: int) -> float:
        """A whole run of `epochs` epochs."""
        return self.setup_seconds + epochs * self.epoch_seconds


@dataclass
class CostEstimate:
    """A sweep's expected wall time: per-run seconds (from probes), how many train at once, the one-off
    start-up (a fresh process loading the data and teachers, measured by the first, cold probe) and the budget."""

    run_seconds: list[float]
    concurrency: int
    probes: dict[str, Probe]
    startup_seconds: float = 0.0
    budget_seconds: float | None = None

    @property
    def total_run_seconds(self) -> float:
        """The runs' seconds added up (one after another)."""
        return sum(self.run_seconds)

    @property
    def wall_seconds(self) -> float:
        """Expected wall time: start-up, then `concurrency` runs at once (never below the longest run)."""
        if not self.run_seconds:
            return 0.0
        return self.startup_seconds + max(self.total_run_seconds / self.concurrency, max(self.run_seconds))

    @property
    def over_budget(self) -> bool:
        """Whether the expected wall time exceeds the budget."""
        return self.budget_seconds is not None and self.wall_seconds > self.budget_seconds

    def summary(self) -> str:
        """One line: runs, at once, expected wall time, from how many probes."""
        return (
            f"{len(self.run_seconds)} runs, {self.concurrency} at a time: about {_minutes(self.wall_seconds)} "
            f"({_minutes(self.startup_seconds)} start-up, {_minutes(self.total_run_seconds)} of training one "
            f"after another; {len(self.probes)} probe run{'s' if len(self.probes) != 1 else ''})"
        )

    def warning(self) -> str | None:
        """A warning naming the overrun, or None within budget."""
        if not self.over_budget:
            return None
        return (
            f"the sweep would take about {_minutes(self.wall_seconds)}, more than the budget of "
            f"{_minutes(self.budget_seconds or 0)}: use fewer values, seeds or epochs, or more runs at a time"
        )


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def cost_key(config: RunConfig) -> str:
    """What decides a run's time per epoch: the config without the cost-neutral fields."""
    return json.dumps({k: v for k, v in config.to_dict().items() if k not in COST_NEUTRAL_FIELDS}, sort_keys=True)


def probe_run(config: RunConfig, steps: int = 20) -> Probe:
    """Time a short run of `config` (at most `steps` optimisation steps of one epoch, no store). Its teachers are
    loaded as a run's are (a missing one is trained here, unrecorded: callers with a store train them first)."""
    from ..engine import Callback, EpochEvent, RunInfo, StepEvent, fit
    from ..teachers import resolve_for, train_and_cache

    class Timer(Callback):
        """Stamps the start, every step and the epoch's end."""

        def __init__(self) -> None:
            self.started = self.epoch_end = 0.0
            self.step_times: list[float] = []
            self.steps_per_epoch = 0

        def on_start(self, info: RunInfo) -> None:
            self.started, self.steps_per_epoch = time.perf_counter(), info.steps_per_epoch

        def on_step(self, event: StepEvent) -> None:
            self.step_times.append(time.perf_counter())

        def on_epoch(self, event: EpochEvent) -> None:
            self.epoch_end = time.perf_counter()

    timer = Timer()
    begun = time.perf_counter()
    teachers = resolve_for(config, train=train_and_cache)  # found cached once `runner.prepare_teachers` has run
    fit(config.replace(epochs=1, name="probe"), [timer], cancel=lambda: len(timer.step_times) >= steps, **teachers)
    if not timer.step_times:
        raise WorkbenchError(f"estimate: the probe run of {config.name or config.method} made no training step")
    stamps = timer.step_times
    # the first step carries one-off warm-up: time the steady steps after it when there are any
    if len(stamps) > 1:
        step_seconds = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
    else:
        step_seconds = stamps[0] - timer.started
    warm_up = max(0.0, stamps[0] - timer.started - step_seconds)
    eval_seconds = timer.epoch_end - stamps[-1] if timer.epoch_end else None
    return Probe(timer.started - begun + warm_up, step_seconds, timer.steps_per_epoch, eval_seconds)


def estimate_cost(
    points: Sequence[SweepPoint],
    *,
    concurrency: int,
    budget_minutes: float | None = None,
    probe_steps: int = 20,
    max_probes: int = 3,
    probe: Callable[[RunConfig, int], Probe] = probe_run,
) -> CostEstimate:
    """Probe up to `max_probes` distinct setups (by `cost_key`), then price every run from its setup's probe
    (setups not probed take the slowest probe's epoch time); warn against `budget_minutes`.

    A one-step cold probe comes first: its set-up time (data, teacher logits, first use of the model code)
    is the sweep's start-up; the probes after it measure what each run pays on a warm worker."""
    probes: dict[str, Probe] = {}
    startup = probe(points[0].config, 1).setup_seconds if points else 0.0
    for point in points:
        key = cost_key(point.config)
        if key not in probes and len(probes) < max_probes:
            probes[key] = probe(point.config, probe_steps)
    slowest = max(probes.values(), key=lambda p: p.epoch_seconds, default=None)
    seconds = []
    for point in points:
        measured = probes.get(cost_key(point.config), slowest)
        seconds.append(measured.run_seconds(point.config.epochs) if measured else 0.0)
    budget = budget_minutes * 60 if budget_minutes is not None else None
    return CostEstimate(seconds, max(1, concurrency), probes, startup, budget)
