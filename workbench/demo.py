"""The class demo: the default setup's teacher, a baseline student and a KD student over several seeds, side by
side, with the verdict on KD's gain (one seed is not evidence)."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from .config import RunConfig
from .evidence import measure_effect, verdict_sentence
from .store import RunRecord, RunStore
from .teachers import find_teacher


@dataclass
class DemoResult:
    """The demo's table (teacher, baseline, KD: test accuracy mean ± std over seeds), its verdict sentence and wall
    time."""

    table: pd.DataFrame
    sentence: str
    seconds: float


def demo_configs(seeds: int, epochs: int | None = None) -> dict[tuple[str, int], RunConfig]:
    """The default setup as a baseline and a KD run per seed (epochs as set, or the default's)."""
    base = RunConfig() if epochs is None else RunConfig(epochs=epochs)
    return {
        (method, seed): base.replace(method=method, seed=seed, name=f"demo {method} seed {seed}")
        for method in ("baseline", "kd")
        for seed in range(seeds)
    }


def run_demo(
    store: RunStore,
    *,
    seeds: int = 3,
    epochs: int | None = None,
    workers: int = 2,
    on_run_end: Callable[[RunRecord, int, int], None] | None = None,
) -> DemoResult:
    """Train the demo's runs (`workers` at a time) and compare them."""
    from .lessons.check import run_value
    from .sweep import run_configs

    started = time.perf_counter()
    configs = demo_configs(seeds, epochs)
    first = next(iter(configs.values()))
    run_ids = run_configs(
        [config.replace(threads=1) for config in configs.values()],
        store,
        "demo",
        max_concurrent=workers,
        on_run_end=on_run_end,
    )
    records = {record.id: record for record in store.recent_runs(len(run_ids), ids=run_ids)}
    runs = {key: records[run_id] for key, run_id in zip(configs, run_ids)}
    accuracy = {key: run_value(run, "test_acc") for key, run in runs.items()}
    rows = []
    teacher = find_teacher(first.teacher, first.dataset, first.teacher_seed)
    if teacher is not None:
        rows.append(
            {
                "model": f"teacher {teacher.arch}",
                "method": "-",
                "test_acc (%)": f"{100 * teacher.test_acc:.2f}",
                "per seed": "",
                "statuses": "packaged" if teacher.packaged else "cached",
            }
        )
    values = {method: [accuracy[method, seed] for seed in range(seeds)] for method in ("baseline", "kd")}
    for method in ("baseline", "kd"):
        scores = [100 * v for v in values[method]]
        spread = f" ± {statistics.stdev(scores):.2f}" if len(scores) > 1 else ""
        statuses = [runs[method, seed].status for seed in range(seeds)]
        rows.append(
            {
                "model": f"student {first.student}",
                "method": method,
                "test_acc (%)": f"{statistics.mean(scores):.2f}{spread}",
                "per seed": " ".join(f"{score:.1f}" for score in scores),
                "statuses": ", ".join(sorted(set(statuses))),
            }
        )
    effect = measure_effect(values["kd"], values["baseline"])
    sentence = verdict_sentence("KD", "baseline", effect)
    return DemoResult(pd.DataFrame(rows), sentence, time.perf_counter() - started)


def describe_setup(config: RunConfig) -> str:
    """One line naming the demo's setup."""
    size = f"{config.train_subset:,} training images" if config.train_subset else "all training images"
    return (
        f"{config.dataset} ({size}), teacher {config.teacher} -> student {config.student}, T {config.temperature:g},"
        f" α {config.alpha:g}, {config.optimizer} lr {config.lr:g}, batch {config.batch_size}, {config.epochs} epochs"
    )
