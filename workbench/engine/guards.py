"""How a run can go wrong while it trains: a non-finite or exploding loss (Diverged) and a collapsed student."""

from __future__ import annotations

import math

GROWTH_LIMIT = 1e3  # a step loss this many times the first step's (at least 1) means the run diverged
COLLAPSE_SHARE = 0.9  # a student at chance that gives one class to at least this share of the test set collapsed
COLLAPSE_ACCURACY = 1.5  # "at chance": test accuracy below this multiple of 1 / classes
COLLAPSE_MIN_STEPS = 50  # a shorter run cannot tell a collapse from a student that has not started to learn


class Diverged(Exception):
    """A loss term became NaN or infinite, or the loss grew by orders of magnitude."""


class LossGrowthGuard:
    """Raises Diverged when a step's total loss exceeds GROWTH_LIMIT times the first step's loss (a yardstick of
    at least 1, so a loss that starts near zero may still grow to ordinary sizes). Blow-ups under too large a
    step size happen within a few steps, so the first step is the yardstick."""

    def __init__(self) -> None:
        self.reference: float | None = None

    def check(self, total: float, epoch: int, step: int) -> None:
        """Take the first loss as the yardstick; afterwards raise Diverged on a loss far above it."""
        if self.reference is None:
            self.reference = max(abs(total), 1.0)
            return
        reference = self.reference
        if abs(total) > GROWTH_LIMIT * reference:
            raise Diverged(
                f"the loss grew from {reference:.3g} to {total:.3g} by epoch {epoch}, step {step}; "
                f"try a lower learning rate (or less momentum)"
            )


def check_step_terms(terms: dict[str, float], total: float, epoch: int, step: int) -> None:
    """Raise Diverged naming the first loss term of a step that is NaN or infinite."""
    if not math.isfinite(total):
        bad = next(name for name, value in terms.items() if not math.isfinite(value))
        raise Diverged(
            f"loss term '{bad}' became {terms[bad]} at epoch {epoch}, step {step}; "
            f"try a lower learning rate or temperature"
        )


def check_epoch_metrics(metrics: dict[str, float], epoch: int) -> None:
    """Raise Diverged when an end-of-epoch metric is NaN or infinite (with one step per epoch a blow-up shows first
    in the evaluation)."""
    bad = next((name for name, value in metrics.items() if not math.isfinite(value)), None)
    if bad is not None:
        raise Diverged(
            f"'{bad}' became {metrics[bad]} in the evaluation after epoch {epoch}; "
            f"try a lower learning rate or temperature"
        )


def collapse_message(metrics: dict[str, float], num_classes: int, class_names: tuple[str, ...]) -> str:
    """Why a finished run counts as collapsed (empty when it does not): at chance, one class predicted for most
    of the test set."""
    accuracy, share = metrics.get("test_acc"), metrics.get("prediction_share")
    if accuracy is None or share is None:
        return ""
    chance = 1.0 / num_classes
    if accuracy >= COLLAPSE_ACCURACY * chance or share < COLLAPSE_SHARE:
        return ""
    top = int(metrics.get("prediction_top_class", -1))
    name = class_names[top] if 0 <= top < len(class_names) else str(top)
    return (
        f"the student predicts '{name}' for {share:.0%} of the test images ({accuracy:.1%} accuracy, chance "
        f"{chance:.0%}); try a lower learning rate, a smaller α or temperature, or more epochs"
    )
