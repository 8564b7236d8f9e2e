"""One student of a grid (`engine.grid.fit_grid`): its config, callbacks, seeded batch stream, guards and history,
and the test metrics an epoch records for it, as `engine.fit` records them for a run alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from torch import Tensor, nn

from ..config import RunConfig
from ..data import LoadedDataset
from .evaluation import class_accuracies_from, final_metrics
from .events import Callback, FitResult, RunInfo, StepEvent
from .guards import COLLAPSE_MIN_STEPS, Diverged, LossGrowthGuard, check_step_terms, collapse_message


@dataclass
class GridStudent:
    """A student's own state in a grid: what `fit` keeps in local variables for a run alone."""

    config: RunConfig
    callbacks: Sequence[Callback]
    cancel: Callable[[], bool] | None
    info: RunInfo
    status: str = "done"
    message: str = ""
    history: list[dict[str, float]] = field(default_factory=list)
    steps: int = 0
    best: float = 0.0
    term_sums: dict[str, float] = field(default_factory=dict)
    correct: float = 0.0
    seen: int = 0
    growth: LossGrowthGuard = field(default_factory=LossGrowthGuard)
    result: FitResult | None = None

    @property
    def distils(self) -> bool:
        """Whether the student learns from the teacher (vanilla KD) rather than the labels alone (baseline)."""
        return self.config.method == "kd"

    def start_epoch(self) -> None:
        """Reset the epoch's sums."""
        self.term_sums, self.correct, self.seen = {}, 0.0, 0

    def cancelled(self) -> bool:
        """Whether the student's run was cancelled (polled before each step, as fit polls); marks it so."""
        if self.cancel is None or not self.cancel():
            return False
        self.status, self.message = "cancelled", f"cancelled during epoch {len(self.history) + 1}"
        return True

    def record_step(self, epoch: int, ce: float, kd: float, correct: float, batch: int, step_metrics: dict) -> bool:
        """Take one step's values (fit's checks and sums); False when the student diverged (and is marked so)."""
        terms = {"ce": ce, "kd": kd} if self.distils else {"ce": ce}
        total = sum(terms.values())
        try:
            check_step_terms(terms, total, epoch, self.steps)
            self.growth.check(total, epoch, self.steps)
        except Diverged as error:
            self.status, self.message = "diverged", str(error)
            return False
        self.correct += correct
        self.seen += batch
        self.steps += 1
        for name, value in terms.items():
            self.term_sums[name] = self.term_sums.get(name, 0.0) + value * batch
        event = StepEvent(self.steps, epoch, {**terms, "loss": total, **step_metrics})
        for callback in self.callbacks:
            callback.on_step(event)
        return True

    def finish(self, model: nn.Module, data: LoadedDataset, last_logits: Tensor | None) -> FitResult:
        """End the student's run as fit ends one: final metrics, per-class accuracies and the collapse check when it
        trained every epoch (from the last evaluation's logits: the weights have not changed since)."""
        model.eval()
        final = final_metrics(self.history, self.info)
        if self.status == "done" and self.history and last_logits is not None:
            final.update(class_accuracies_from(last_logits, data))
            info = data.info
            self.message = (
                collapse_message(self.history[-1], info.num_classes, info.class_names)
                if self.steps >= COLLAPSE_MIN_STEPS
                else ""
            )
            self.status = "collapsed" if self.message else self.status
        self.result = FitResult(self.status, self.message, final, self.history, model)
        for callback in self.callbacks:
            callback.on_end(self.result)
        return self.result
