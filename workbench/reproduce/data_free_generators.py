"""`kdw reproduce data-free-generators`: DAFL and PRE-DFKD as a user gets them by picking the method and the dataset
(the method's own hyperparameter defaults, every other run-config field at its default, the default teacher
included), over seeds: the final
accuracy, the accuracy's mean, variance and best over training (`workbench.stability`), training time and the
time per step; and PRE-DFKD's claim (a higher mean and a lower variance over training than DAFL's, with a comparable
best) judged by `workbench.evidence`. Writes the "## Data-free generators: accuracy over training" section."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..budgets import check_memory_of
from ..config import RunConfig
from ..data import dataset_info
from ..evidence import format_effect, measure_effect, verdict
from ..methods import get_method
from ..stability import accuracy_over_training
from ..store import RunStore
from .data_free import run_all
from .report import machine_description, mean_std, write_section

HEADING = "## Data-free generators: accuracy over training"
ARMS = {"DAFL": "dafl", "PRE-DFKD": "pre-dfkd"}


@dataclass(frozen=True)
class Setup:
    """One dataset's runs: the seeds, and changes to the defaults (none in the full run: the method picked)."""

    dataset: str
    seeds: tuple[int, ...]
    changes: dict[str, Any] = field(default_factory=dict)


FULL = (Setup("digits", (0, 1, 2)),)
QUICK = (Setup("digits", (0,), {"epochs": 1, "method_params": {"iterations": 2, "gen_width": 8}}),)
WORKERS = 2
SEARCH_NOTE = (
    "How these defaults were found (the BatchNorm-statistics term, PRE-DFKD's 200 batches an epoch), every setup "
    "tried with its seeds and figures, where a step's time goes, Fashion-MNIST and the earlier lenet5-teacher "
    "figures: docs/data-free.md."
)
QUICK_NOTE = "Quick check (digits, one seed, two steps): the numbers say nothing about the methods."


def arm_config(method: str, setup: Setup, seed: int) -> RunConfig:
    """The run a user gets by picking `method` on `setup.dataset` (seed `seed`), every other field at its default."""
    values = {
        "name": f"data-free generators {setup.dataset} {method} s{seed}",
        "method": method,
        "dataset": setup.dataset,
        "seed": seed,
        "device": "cpu",
        "threads": 1,
        **setup.changes,
    }
    return RunConfig.from_dict(values)


def results_frame(
    store: RunStore, runs: list[tuple[str, Setup, RunConfig]], outcomes: list[tuple[str, dict[str, float]]]
) -> pd.DataFrame:
    """One row per run: dataset, arm, seed, final accuracy, its mean/variance/best over the epochs, training time,
    steps and the run's wall time (evaluation and saving included)."""
    rows = []
    for (label, setup, config), (run_id, final) in zip(runs, outcomes):
        over_training = accuracy_over_training(store.metrics_frame(run_id, scope="epoch"))
        record = store.get_run(run_id)
        steps = config.epochs * int(config.method_params["iterations"])
        rows.append(
            {
                "dataset": setup.dataset,
                "arm": label,
                "seed": config.seed,
                "final": final["test_acc"],
                "mean": over_training["mean"],
                "var": over_training["var"],
                "best": over_training["best"],
                "seconds": final["train_seconds"],
                "steps": steps,
                "wall": record.wall_seconds or float("nan"),
            }
        )
    return pd.DataFrame(rows)


def dataset_lines(frame: pd.DataFrame, dataset: str) -> list[str]:
    """The table of one dataset (mean ± std over seeds) and PRE-DFKD's claim against DAFL."""
    rows = frame[frame.dataset == dataset]
    lines = [
        "| arm | final test acc (%) | mean over training (%) | variance over training (%²) | best (%) | "
        "train time (s) | ms per step | run wall time (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label in ARMS:
        arm = rows[rows.arm == label].sort_values("seed")
        if arm.empty:
            continue
        per_step = (arm.seconds / arm.steps * 1000).tolist()
        lines.append(
            f"| {label} | {mean_std(arm.final.tolist(), 100)} | {mean_std(arm['mean'].tolist(), 100)} | "
            f"{mean_std(arm['var'].tolist(), 1e4)} | {mean_std(arm.best.tolist(), 100)} | "
            f"{mean_std(arm.seconds.tolist(), 1.0, 1)} | {mean_std(per_step, 1.0, 1)} | "
            f"{mean_std(arm.wall.tolist(), 1.0, 1)} |"
        )
    dafl, pre = (rows[rows.arm == label].sort_values("seed") for label in ("DAFL", "PRE-DFKD"))
    if dafl.empty or pre.empty:
        return lines
    claims = [
        ("mean over training: PRE-DFKD − DAFL", pre["mean"].tolist(), dafl["mean"].tolist(), 100.0, "pts"),
        ("variance over training: DAFL − PRE-DFKD", dafl["var"].tolist(), pre["var"].tolist(), 1e4, "%²"),
        ("best: PRE-DFKD − DAFL", pre.best.tolist(), dafl.best.tolist(), 100.0, "pts"),
        ("final: PRE-DFKD − DAFL", pre.final.tolist(), dafl.final.tolist(), 100.0, "pts"),
    ]
    finals = "; ".join(
        f"{label} " + ", ".join(f"{value * 100:.1f}" for value in arm.final)
        for label, arm in (("DAFL", dafl), ("PRE-DFKD", pre))
    )
    lines += ["", f"Final test accuracy per seed (%): {finals}."]
    lines += [
        "",
        "PRE-DFKD's claim, paired by seed (a positive effect is in the claim's direction; *holds*: by at "
        "least 2 standard errors):",
        "",
    ]
    for text, first, second, scale, unit in claims:
        effect = measure_effect(first, second)
        lines.append(f"- {text}: {format_effect(effect, scale=scale, unit=unit)}: {verdict(effect)}")
    return lines


def section(
    frame: pd.DataFrame, setups: tuple[Setup, ...], wall_seconds: float, quick: bool, load: tuple[float, float]
) -> str:
    """The markdown of the results section (`load`: the machine's 1-minute load average before and after)."""
    command = "kdw reproduce data-free-generators" + (" --quick" if quick else "")
    defaults = RunConfig()
    lines = [
        *([QUICK_NOTE, ""] if quick else []),
        f"`{command}`: DAFL and PRE-DFKD as a user gets them by picking the method and the dataset: every "
        f"other field at its default (teacher {defaults.teacher}, the packaged one; student {defaults.student}, SGD lr "
        f"{defaults.lr:g} with momentum {defaults.momentum:g}, gradient norms clipped at {defaults.grad_clip:g}, "
        f"cosine schedule, T {defaults.temperature:g}, batch {defaults.batch_size} generated images, "
        f"{defaults.epochs} epochs) and the methods' own defaults ("
        + ", ".join(f"{hp.name} {hp.default}" for hp in get_method("dafl").hyperparams)
        + f"; PRE-DFKD: iterations {get_method('pre-dfkd').validate_params({})['iterations']}, its memory terms as "
        "declared). Test accuracy on the full test split after every epoch; per "
        "run the final accuracy and the mean, variance and best over the epochs (`workbench.stability`); cells "
        "are mean ± sample std over seeds. Train time: the sum of the epochs' training time (evaluation excluded), "
        "one thread per run.",
        "",
    ]
    for setup in setups:
        lines += [
            f"**{dataset_info(setup.dataset).title}** (seeds {', '.join(map(str, setup.seeds))})",
            "",
            *dataset_lines(frame, setup.dataset),
            "",
        ]
    lines += [
        SEARCH_NOTE,
        "",
        f"Machine: {machine_description()}; {WORKERS} run(s) at a time, one thread each, shared with other "
        f"sessions' jobs (1-minute load average {load[0]:.1f} when the runs started, {load[1]:.1f} when they "
        f"ended); wall time {wall_seconds / 60:.1f} min for {len(frame)} runs.",
    ]
    return "\n".join(lines)


def run(*, quick: bool, runs_dir: Path, results_file: Path) -> str:
    """Train the runs (digits, one seed, two steps with quick), write the section and return it."""
    from ..runner import prepare_teachers

    setups = QUICK if quick else FULL
    runs = [
        (label, setup, arm_config(method, setup, seed))
        for setup in setups
        for label, method in ARMS.items()
        for seed in setup.seeds
    ]
    check_memory_of((f"{label} on {config.dataset}, seed {config.seed}", config) for label, _, config in runs)
    # the teachers, trained here first (recorded runs) when missing, not by two workers at once
    prepare_teachers([config for _, _, config in runs], RunStore(runs_dir))
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    outcomes = run_all([config for _, _, config in runs], runs_dir, 1 if quick else WORKERS)
    frame = results_frame(RunStore(runs_dir), runs, outcomes)
    body = section(frame, setups, time.perf_counter() - started, quick, (load_before, os.getloadavg()[0]))
    write_section(results_file, HEADING, body)
    return body
