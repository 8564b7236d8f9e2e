"""Seed-noise verdicts: whether a difference between two arms measured over seeds is evidence.

An effect is the mean difference of a metric between two arms (paired by seed when both ran the same seeds)
with its standard error. Its verdict: `holds` when it points the expected way by at least two standard errors
(and by at least the claim's smallest effect, on every seed when the claim asks for that), `contradicted` when it
points the other way by two standard errors, `within seed noise` otherwise, and `one seed is not evidence` when
there is only one seed."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence

HOLDS, NOISE, CONTRADICTED, ONE_SEED = "holds", "within seed noise", "contradicted", "one seed is not evidence"
VERDICTS = (HOLDS, NOISE, CONTRADICTED, ONE_SEED)
STANDARD_ERRORS = 2.0  # how many standard errors an effect needs to count as evidence


@dataclass(frozen=True)
class Effect:
    """Mean difference (first arm − second arm), its standard error (None with one seed), the number of seeds,
    whether the seeds were paired, and the per-seed differences when they were."""

    difference: float
    se: float | None
    n: int
    paired: bool
    per_seed: tuple[float, ...] = ()


def measure_effect(first: Sequence[float], second: Sequence[float], *, paired: bool = True) -> Effect:
    """The effect of `first` over `second`. Paired (same seeds, same order): the mean and standard error of the
    per-seed differences. Unpaired: the difference of means with Welch's standard error."""
    if not first or not second:
        raise ValueError("both arms need at least one value")
    if paired and len(first) == len(second):
        differences = [a - b for a, b in zip(first, second)]
        se = statistics.stdev(differences) / math.sqrt(len(differences)) if len(differences) > 1 else None
        return Effect(statistics.mean(differences), se, len(differences), True, tuple(differences))
    n = min(len(first), len(second))
    se = None
    if len(first) > 1 and len(second) > 1:
        se = math.sqrt(statistics.variance(first) / len(first) + statistics.variance(second) / len(second))
    return Effect(statistics.mean(first) - statistics.mean(second), se, n, False)


def verdict(effect: Effect, *, min_effect: float = 0.0, every_seed: bool = False) -> str:
    """The verdict on the claim that the first arm beats the second (higher is better)."""
    if effect.n < 2 or effect.se is None:
        return ONE_SEED
    margin = STANDARD_ERRORS * effect.se
    if effect.difference < 0 and -effect.difference >= margin:
        return CONTRADICTED
    strong = effect.difference > 0 and effect.difference >= margin and effect.difference >= min_effect
    if strong and (not every_seed or all(d > 0 for d in effect.per_seed)):
        return HOLDS
    return NOISE


def equivalence_verdict(effect: Effect, tolerance: float) -> str:
    """The verdict on the claim that two arms are the same within ±`tolerance`: holds when the effect's
    two-standard-error interval lies inside it, contradicted when the interval lies wholly outside it, within seed
    noise otherwise."""
    if effect.n < 2 or effect.se is None:
        return ONE_SEED
    margin = STANDARD_ERRORS * effect.se
    if abs(effect.difference) + margin <= tolerance:
        return HOLDS
    if abs(effect.difference) - margin > tolerance:
        return CONTRADICTED
    return NOISE


def combine(verdicts: Sequence[str]) -> str:
    """One verdict for several: contradicted if any is, holds if all do, one seed if any had one, noise otherwise."""
    if CONTRADICTED in verdicts:
        return CONTRADICTED
    if verdicts and all(v == HOLDS for v in verdicts):
        return HOLDS
    return ONE_SEED if ONE_SEED in verdicts else NOISE


def format_effect(effect: Effect, *, scale: float = 100.0, unit: str = "pts") -> str:
    """`+4.07 ± 0.69 pts (s.e., 5 seeds)`, or `+4.07 pts (1 seed)`."""
    seeds = f"{effect.n} seed{'s' if effect.n != 1 else ''}"
    if effect.se is None:
        return f"{effect.difference * scale:+.2f} {unit} ({seeds})"
    return f"{effect.difference * scale:+.2f} ± {effect.se * scale:.2f} {unit} (s.e., {seeds})"


def verdict_sentence(
    first: str, second: str, effect: Effect, *, metric: str = "test accuracy", scale: float = 100.0, unit: str = "pts"
) -> str:
    """One sentence a comparison table or a demo prints: the gain of `first` over `second`, and what it is worth."""
    result = verdict(effect)
    head = f"{first} − {second}, {metric}: {format_effect(effect, scale=scale, unit=unit)}"
    if result == HOLDS:
        return f"{head}: {first} is better, by more than {STANDARD_ERRORS:g} standard errors."
    if result == CONTRADICTED:
        return f"{head}: {second} is better, by more than {STANDARD_ERRORS:g} standard errors."
    if result == ONE_SEED:
        return f"{head}: one seed is not evidence; run more seeds."
    return f"{head}: within seed noise (less than {STANDARD_ERRORS:g} standard errors)."
