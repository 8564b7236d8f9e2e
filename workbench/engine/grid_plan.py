"""Which runs can train together as one grid (`engine.grid.fit_grid`): runs that differ only in seed, T, α, their
schedules and method (vanilla KD or the baseline) share dataset, student architecture, teacher, batch size and
recipe, so they train in one process, each student on its own seeded stream of batches."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

from ..config import COEFFICIENT_FIELDS, RunConfig
from ..data import dataset_info
from ..errors import ConfigError
from ..models import create_model
from .device import resolve_device, resolve_precision
from .grid_model import unstackable_reason

GRID_METHODS = ("kd", "baseline")
MAX_GRID_STUDENTS = 16  # students per grid at most (memory grows with them); a larger group trains as more grids
# the fields a grid's students may differ in; every other field is the grid's own
PER_STUDENT = (
    "name",
    "seed",
    "method",
    *COEFFICIENT_FIELDS,
)


@dataclass
class GridPlan:
    """The configs' positions split into grids (each trained together) and singles (trained one at a time, today's
    path), with why each single could not join a grid."""

    grids: list[list[int]] = field(default_factory=list)
    singles: list[int] = field(default_factory=list)
    reasons: dict[int, str] = field(default_factory=dict)


def grid_unfit_reason(config: RunConfig) -> str | None:
    """Why a run of `config` cannot train in a grid (None when it can)."""
    if config.method not in GRID_METHODS:
        return f"method {config.method} (grids train {' and '.join(GRID_METHODS)})"
    if config.method_params:
        return "method parameters are set"
    if config.w_bits != "32" or config.a_bits != "32":
        return "a quantised student (bit widths are not stacked yet)"
    augment = dataset_info(config.dataset).default_augment if config.augment == "auto" else config.augment
    if augment and augment != "none":
        return "augmentation (its teacher would run on every batch)"
    if config.method == "kd" and not config.cache_teacher_logits:
        return "cache_teacher_logits is off"
    if config.compile:
        return "compile is on"
    try:
        precision = resolve_precision(config.precision, resolve_device(config.device))
    except ConfigError as error:  # a device that is not here: the run alone says so
        return str(error)
    if precision != "fp32":
        return f"precision {precision} (grids train in fp32)"
    if config.teacher_checkpoint:
        return "a teacher from a checkpoint"
    return _student_reason(config.student, config.dataset)


@lru_cache(maxsize=64)
def _student_reason(student: str, dataset: str) -> str | None:
    """Why students of this architecture on this dataset cannot be stacked (built once per pair)."""
    info = dataset_info(dataset)
    reason = unstackable_reason(create_model(student, info.num_classes, info.in_channels, info.image_size))
    return f"student {student}: {reason}" if reason else None


def grid_key(config: RunConfig) -> str:
    """What runs of one grid share: every field but those a student may have of its own (PER_STUDENT, threads)."""
    shared = {k: v for k, v in config.to_dict().items() if k not in PER_STUDENT and k != "threads"}
    return json.dumps(shared, sort_keys=True)


def plan_grids(configs: Sequence[RunConfig], workers: int = 1) -> GridPlan:
    """Group the configs into grids: runs sharing a `grid_key` and fit for a grid, split into `workers` grids
    (more when one would pass MAX_GRID_STUDENTS) of near-equal size (students sharing a seed kept together, so
    they share their batches); a group of one, or a run unfit for a grid, is a single with its reason."""
    plan = GridPlan()
    groups: dict[str, list[int]] = {}
    for position, config in enumerate(configs):
        unfit = grid_unfit_reason(config)
        if unfit:
            plan.singles.append(position)
            plan.reasons[position] = unfit
            continue
        groups.setdefault(grid_key(config), []).append(position)
    for members in groups.values():
        if len(members) == 1:
            plan.singles.append(members[0])
            plan.reasons[members[0]] = "no other run shares its setup"
            continue
        parts = max(workers, -(-len(members) // MAX_GRID_STUDENTS))
        plan.grids.extend(split_grid(members, [configs[p].seed for p in members], parts))
    plan.singles.sort()
    return plan


def split_grid(members: list[int], seeds: list[int], parts: int) -> list[list[int]]:
    """Split a grid's members into up to `parts` grids of near-equal size, in seed order (students sharing a seed
    stay together where the sizes allow), none smaller than two."""
    ordered = [member for _, member in sorted(zip(seeds, members))]
    parts = max(1, min(parts, len(ordered) // 2))
    size, extra = divmod(len(ordered), parts)
    chunks, start = [], 0
    for index in range(parts):
        end = start + size + (index < extra)
        chunks.append(ordered[start:end])
        start = end
    return chunks
