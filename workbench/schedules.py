"""Schedules for the KD coefficient α and the temperature over the course of training."""

from __future__ import annotations

import math

SCHEDULE_KINDS = ("constant", "linear", "step", "cosine")

SCHEDULE_HELP = {
    "constant": "stays at its start value for the whole run",
    "linear": "falls linearly from the start value to the end value over the decay fraction, then stays",
    "step": "drops to the end value in equal steps spread over the decay fraction",
    "cosine": "follows half a cosine from the start value to the end value over the decay fraction",
}


def schedule_value(
    kind: str, start: float, end: float, progress: float, fraction: float = 1.0, steps: int = 3
) -> float:
    """Value of a schedule at `progress` in [0, 1] of training.

    Decaying kinds reach `end` once progress reaches `fraction` and stay there."""
    if kind == "constant":
        return start
    p = min(max(progress, 0.0), 1.0)
    t = min(p / fraction, 1.0) if fraction > 0 else 1.0
    if kind == "linear":
        return start + (end - start) * t
    if kind == "cosine":
        return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * t))
    if kind == "step":
        done = min(math.floor(t * steps + 1e-9), steps)
        return start + (end - start) * done / steps
    raise ValueError(f"unknown schedule {kind!r}")


def schedule_curve(
    kind: str, start: float, end: float, fraction: float = 1.0, steps: int = 3, points: int = 101
) -> tuple[list[float], list[float]]:
    """Progress values and schedule values sampled over training, for drawing the schedule."""
    xs = [i / (points - 1) for i in range(points)]
    return xs, [schedule_value(kind, start, end, x, fraction, steps) for x in xs]
