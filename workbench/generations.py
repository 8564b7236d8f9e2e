"""Chains of runs where each trained student teaches the next, for the methods that declare a `generations_param`
(sequential FEED): one run per generation."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Callable, Sequence

import pandas as pd
import torch

from .config import RunConfig
from .engine import Callback, FitResult
from .errors import ConfigError
from .methods import get_method
from .runner import TeacherStarting, run_recorded
from .store import RunRecord, RunStore

CHAIN_COLUMNS = ("chain", "generation", "run", "id", "taught by", "status", "test acc", "gain vs previous (pts)")


@dataclass
class Generation:
    """One generation of a chain: its number (from 1), run id, parent run id and training result."""

    number: int
    run_id: str
    parent_id: str | None
    result: FitResult


def is_chained(method: str | None) -> bool:
    """Whether the method of this name trains a chain of generations (it declares a `generations_param`); False
    for a name that is not registered."""
    try:
        return get_method(str(method)).generations_param is not None
    except ConfigError:
        return False


def is_generational(config: RunConfig) -> bool:
    """Whether a config trains a chain of generations rather than a single run."""
    return is_chained(config.method)


def generation_config(config: RunConfig, number: int, total: int, previous_student: str | None) -> RunConfig:
    """The config of generation `number`: the first keeps the configured teacher; a later one is taught by the
    previous generation's student, recorded as a teacher of the student's architecture loaded from its weights."""
    label = f"{config.name or config.method} gen {number}/{total}"
    if previous_student is None:
        return config.replace(name=label)
    return config.replace(name=label, teachers=[config.student], teacher_checkpoint=previous_student)


def run_generations(
    config: RunConfig,
    store: RunStore,
    *,
    callbacks_for: Callable[[int, str], Sequence[Callback]] | None = None,
    cancel_event: threading.Event | None = None,
    teachers: list[torch.nn.Module] | None = None,
    first_run_id: str | None = None,
    on_teacher: TeacherStarting | None = None,
) -> list[Generation]:
    """Train the method's `chain_length` of students in sequence, each a run in `store` whose parent is the run
    before, all sharing one group id (returned in every record's `group_id`).

    `callbacks_for(number, run_id)` gives the callbacks of each generation as it starts (e.g. a progress bar,
    or a way to learn the new run id); `teachers` are generation 1's teacher modules (when None, the runner resolves
    its teachers, training a missing one first as a recorded run and telling `on_teacher`); `first_run_id` is an
    already created run (e.g. queued by the app) to train generation 1 in, whose group id and owner the chain then
    shares. The chain stops early when a generation does not finish (cancelled, diverged)."""
    total = get_method(config.method).chain_length(config.method_params)
    first = store.get_run(first_run_id) if first_run_id else None
    group_id = (first.group_id if first else None) or f"chain-{uuid.uuid4().hex[:10]}"
    owner = first.owner if first else ""
    chain: list[Generation] = []
    parent_id: str | None = None
    previous_student: str | None = None
    teacher_modules = teachers
    for number in range(1, total + 1):
        generation = generation_config(config, number, total, previous_student)
        if number == 1 and first_run_id:
            run_id = first_run_id
            store.rename(run_id, generation.name)
        else:
            run_id = store.create_run(
                generation.to_dict(), name=generation.name, parent_id=parent_id, group_id=group_id, owner=owner
            )
        callbacks = list(callbacks_for(number, run_id)) if callbacks_for is not None else []
        _, result = run_recorded(
            generation,
            store,
            run_id=run_id,
            callbacks=callbacks,
            cancel_event=cancel_event,
            teachers=teacher_modules,
            on_teacher=on_teacher,
        )
        chain.append(Generation(number, run_id, parent_id, result))
        if result.status != "done":
            break
        parent_id = run_id
        previous_student = store.get_run(run_id).artifacts["student"]
        teacher_modules = [result.student]
    return chain


def chain_label(record: RunRecord) -> str:
    """The name a chain goes by: its first generation's run name without the "gen 1/N" suffix."""
    return record.name.rsplit(" gen ", 1)[0]


def chain_table(records: Sequence[RunRecord]) -> pd.DataFrame:
    """The generation chains among `records` (runs of a generational method), one row per generation in order,
    following parent links: chain label, generation number, run name and id, its teacher, status, final test
    accuracy and its gain over the previous generation in percentage points. A run whose parent is not among
    `records` starts a chain of its own."""
    chained = [record for record in records if is_chained(record.config.get("method"))]
    ids = {record.id for record in chained}
    children: dict[str, list[RunRecord]] = {}
    for record in chained:
        if record.parent_id in ids:
            children.setdefault(record.parent_id, []).append(record)
    rows = []
    for root in sorted((r for r in chained if r.parent_id not in ids), key=lambda r: r.created):
        label, number, previous_acc = f"{chain_label(root)} [{root.id[-6:]}]", 1, None
        teacher = ", ".join(root.config.get("teachers", [])) + (
            " (uploaded)" if root.config.get("teacher_checkpoint") else ""
        )
        current: RunRecord | None = root
        while current is not None:
            accuracy = current.final_metrics.get("test_acc") if current.status == "done" else None
            gain = (accuracy - previous_acc) * 100 if accuracy is not None and previous_acc is not None else None
            rows.append(
                {
                    "chain": label,
                    "generation": number,
                    "run": current.name,
                    "id": current.id,
                    "taught by": teacher,
                    "status": current.status,
                    "test acc": accuracy,
                    "gain vs previous (pts)": gain,
                }
            )
            teacher, previous_acc, number = f"generation {number}", accuracy, number + 1
            following = sorted(children.get(current.id, []), key=lambda r: r.created)
            current = following[0] if following else None
    return pd.DataFrame(rows, columns=list(CHAIN_COLUMNS))
