"""`kdw reproduce quant`: quantised students trained without KD, with KD (constant and decaying α, small and large
teacher) and with SPEQ, over several seeds; writes the "## Quantised students" section of the results file."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd

from ..budgets import check_memory_of
from ..config import RunConfig
from ..data import dataset_info
from ..methods import get_method
from ..models import create_model
from ..quant import model_size_kb
from ..store import RunStore
from ..teachers import get_teacher
from .report import machine_description, mean_std, write_section

HEADING = "## Quantised students"
TEMPERATURE = 2.0  # T = 4 with α near 1 killed the ternary/2-bit LeNet-5 at lr 0.05 in a pilot
CONSTANT_ALPHA = 0.5
DECAY_ALPHA = (1.0, 0.0)  # linear from the first to the second over the whole run: the same mean α as constant


@dataclass(frozen=True)
class Setting:
    """A student precision: its label, weight bits and activation bits (config spellings)."""

    label: str
    w_bits: str
    a_bits: str


@dataclass(frozen=True)
class Arm:
    """One training recipe: its column label, method, teacher (None: no teacher) and config changes."""

    label: str
    method: str
    teacher: str | None
    changes: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Scale:
    """How big the experiment is: dataset, student, teachers (small, large), seeds, epochs, subset, workers."""

    dataset: str
    student: str
    small_teacher: str
    large_teacher: str
    seeds: tuple[int, ...]
    epochs: int
    train_subset: int
    workers: int


FULL_SCALE = Scale(
    "fashion-mnist", "lenet5", "lenet5", "cnn", seeds=(0, 1, 2), epochs=4, train_subset=15_000, workers=2
)
QUICK_SCALE = Scale("digits", "lenet5", "lenet5", "cnn", seeds=(0,), epochs=1, train_subset=300, workers=1)

SETTINGS = (
    Setting("FP32 (reference)", "32", "32"),
    Setting("W2 (ternary), A32", "ternary", "32"),
    Setting("W4A4", "4", "4"),
    Setting("W2A2 (ternary, 2-bit act.)", "ternary", "2"),
)


def arms(scale: Scale) -> tuple[Arm, ...]:
    """The recipes compared at each precision: no KD, KD with constant or decaying α from each teacher, SPEQ."""
    constant = (("alpha", CONSTANT_ALPHA), ("alpha_schedule", "constant"))
    decaying = (("alpha", DECAY_ALPHA[0]), ("alpha_end", DECAY_ALPHA[1]), ("alpha_schedule", "linear"))
    return (
        Arm("no KD (QAT)", "baseline", None),
        *(
            Arm(f"KD α const, {teacher}", "qkd", teacher, constant)
            for teacher in (scale.small_teacher, scale.large_teacher)
        ),
        *(
            Arm(f"KD α decay, {teacher}", "qkd", teacher, decaying)
            for teacher in (scale.small_teacher, scale.large_teacher)
        ),
        Arm("SPEQ", "speq", None),
    )


def experiment_configs(scale: Scale) -> list[tuple[Setting, Arm, RunConfig]]:
    """Every (precision, recipe, seed) run of the experiment; recipes unavailable at a precision are left out."""
    runs = []
    for setting in SETTINGS:
        for arm in arms(scale):
            reason = get_method(arm.method).unavailable_reason(
                teacher_count=int(arm.teacher is not None),
                dataset=scale.dataset,
                student=scale.student,
                w_bits=setting.w_bits,
                a_bits=setting.a_bits,
            )
            if reason is not None or (setting.w_bits == "32" and arm.method != "baseline"):
                continue
            for seed in scale.seeds:
                values = {
                    "name": f"quant {setting.label} {arm.label} s{seed}",
                    "dataset": scale.dataset,
                    "student": scale.student,
                    "teachers": [arm.teacher or scale.small_teacher],
                    "method": arm.method,
                    "w_bits": setting.w_bits,
                    "a_bits": setting.a_bits,
                    "epochs": scale.epochs,
                    "train_subset": scale.train_subset,
                    "batch_size": 128,
                    "lr": 0.05,
                    "optimizer": "sgd",
                    "lr_schedule": "cosine",
                    "temperature": TEMPERATURE,
                    "seed": seed,
                    "device": "cpu",
                    "threads": 1,
                    "augment": "none",
                    **dict(arm.changes),
                }
                runs.append((setting, arm, RunConfig.from_dict(values)))
    return runs


def train_recorded(runs_dir: str, config: dict[str, Any]) -> dict[str, Any]:
    """Train one config as a recorded run (in a worker process); its final metrics and status."""
    from ..runner import run_recorded

    _, result = run_recorded(RunConfig.from_dict(config), RunStore(runs_dir))
    return {**result.final_metrics, "status": result.status}


def run_all(configs: list[RunConfig], runs_dir: Path, workers: int) -> list[dict[str, Any]]:
    """Final metrics of every config, trained `workers` at a time (in this process when 1)."""
    dicts = [config.to_dict() for config in configs]
    if workers <= 1:
        return [train_recorded(str(runs_dir), config) for config in dicts]
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        return list(pool.map(train_recorded, [str(runs_dir)] * len(dicts), dicts))


def results_frame(runs: list[tuple[Setting, Arm, RunConfig]], metrics: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per run: precision, recipe, seed, status, final test accuracy (NaN if unfinished), model size, and
    whether it collapsed (finished below twice the chance accuracy)."""
    rows = []
    for (setting, arm, config), final in zip(runs, metrics):
        accuracy = final["test_acc"] if final["status"] == "done" else float("nan")
        rows.append(
            {
                "setting": setting.label,
                "arm": arm.label,
                "seed": config.seed,
                "status": final["status"],
                "test_acc": accuracy,
                "size_kb": final["size_kb"],
                "collapsed": accuracy < 2.0 / dataset_info(config.dataset).num_classes,
            }
        )
    return pd.DataFrame(rows)


def accuracy_table(frame: pd.DataFrame, scale: Scale) -> str:
    """Markdown: a row per precision with its size, and mean ± std test accuracy (%) per recipe."""
    columns = [arm.label for arm in arms(scale)]
    lines = ["| student precision | size (KB) | " + " | ".join(columns) + " |", "|---|---:|" + "---:|" * len(columns)]
    for setting in SETTINGS:
        rows = frame[frame.setting == setting.label]
        if rows.empty:
            continue
        cells = [cell(rows[rows.arm == label]) for label in columns]
        lines.append(f"| {setting.label} | {rows.size_kb.iloc[0]:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cell(rows: pd.DataFrame) -> str:
    """Mean ± std accuracy (%) of the finished runs of one recipe, noting runs that did not finish or that
    collapsed to near chance (they stay in the mean); n/a if none."""
    if rows.empty:
        return "n/a"
    notes = rows[rows.status != "done"].status.tolist()
    if rows.collapsed.any():
        notes.append(f"{int(rows.collapsed.sum())} of {len(rows)} collapsed to chance")
    return mean_std(rows.test_acc.dropna().tolist(), 100.0) + (f" ({', '.join(notes)})" if notes else "")


def comparison(frame: pd.DataFrame, setting: str, better: str, worse: str) -> str | None:
    """'+x.xx (within seed noise)': the mean accuracy of `better` minus `worse` at a precision; the
    difference counts as within noise when it is no larger than the larger of the two seed std's."""
    rows = frame[frame.setting == setting]
    a, b = (rows[rows.arm == arm].test_acc.dropna().tolist() for arm in (better, worse))
    if not a or not b:
        return None
    diff = 100.0 * (statistics.mean(a) - statistics.mean(b))
    noise = 100.0 * max(statistics.stdev(a) if len(a) > 1 else 0.0, statistics.stdev(b) if len(b) > 1 else 0.0)
    return f"{diff:+.2f}" + (" (within seed noise)" if abs(diff) <= noise else "")


def claims(frame: pd.DataFrame, scale: Scale) -> list[str]:
    """The papers' claims, each with the measured differences in points (better − worse) per low-bit precision."""
    small, large = scale.small_teacher, scale.large_teacher
    checks: list[tuple[str, list[tuple[str, str, str]]]] = [
        (
            "KD helps low-bit students (KD − no KD)",
            [
                (f"{kind} {teacher}", f"KD α {kind}, {teacher}", "no KD (QAT)")
                for kind in ("const", "decay")
                for teacher in (small, large)
            ],
        ),
        (
            "decaying α helps (decay − constant)",
            [(teacher, f"KD α decay, {teacher}", f"KD α const, {teacher}") for teacher in (small, large)],
        ),
        (
            f"a small teacher can match a large one ({small} − {large})",
            [(kind, f"KD α {kind}, {small}", f"KD α {kind}, {large}") for kind in ("const", "decay")],
        ),
        ("SPEQ beats plain QAT (SPEQ − no KD)", [("", "SPEQ", "no KD (QAT)")]),
    ]
    lines = []
    for claim, pairs in checks:
        parts = []
        for setting in SETTINGS[1:]:
            found = [(label, comparison(frame, setting.label, better, worse)) for label, better, worse in pairs]
            measured = [f"{label + ' ' if label else ''}{diff}" for label, diff in found if diff is not None]
            if measured:
                parts.append(f"{setting.label}: " + ", ".join(measured))
        lines.append(f"- {claim}: " + ("; ".join(parts) if parts else "not measured") + ".")
    return lines


def teacher_lines(scale: Scale) -> list[str]:
    """The teachers used: test accuracy (of their own training) and full-precision size."""
    info = dataset_info(scale.dataset)
    lines = []
    for arch in (scale.small_teacher, scale.large_teacher):
        _, record = get_teacher(arch, scale.dataset, 0, train_if_missing=False)
        size = model_size_kb(create_model(arch, info.num_classes, info.in_channels, info.image_size))
        lines.append(f"{arch} ({record.test_acc * 100:.2f}% test accuracy, {size:.1f} KB at 32 bits)")
    return lines


def section(frame: pd.DataFrame, scale: Scale, wall_seconds: float, quick: bool) -> str:
    """The markdown of the results section: set-up, machine, table and the claims with measured differences."""
    command = "kdw reproduce quant" + (" --quick" if quick else "")
    return "\n".join(
        [
            f"`{command}`: {scale.dataset}, student {scale.student}, {len(scale.seeds)} seed(s) "
            f"({', '.join(map(str, scale.seeds))}), {scale.epochs} epochs on a class-balanced subset of "
            f"{scale.train_subset} training images, SGD lr 0.05 (cosine), batch 128, no augmentation; test accuracy "
            f"on the full test split after the last epoch, mean ± sample std over seeds (%). Teachers (full "
            f"precision, packaged or cached, seed 0): " + "; ".join(teacher_lines(scale)) + ".",
            "",
            f"KD is `qkd` at T = {TEMPERATURE:g}: constant α = {CONSTANT_ALPHA:g}, or decaying α falling linearly from "
            f"{DECAY_ALPHA[0]:g} to {DECAY_ALPHA[1]:g} over the run (the same mean α). T = 2 because in a pilot T = 4 "
            "with α ≥ 0.9 left the W2A2 student dead (10% accuracy) at this learning rate. SPEQ: p_high 0.5, teacher "
            f"activations at 32 bits, cosine weight 1, T = {TEMPERATURE:g}; it needs quantised activations, so it is "
            "n/a at A32. W2 is ternary weights; the first convolution and the last linear layer stay full precision; "
            "activations use PACT clipping. Size: stored bits of all parameters and buffers (`model_size_kb`).",
            "",
            accuracy_table(frame, scale),
            "",
            'Measured against the papers\' claims (mean differences in accuracy points; "within seed noise" when '
            "no larger than the larger seed std of the two cells):",
            "",
            *claims(frame, scale),
            "",
            f"Machine: {machine_description()}; {scale.workers} run(s) at a time, one thread each, under other load "
            f"where there was any; wall time {wall_seconds / 60:.1f} min for {len(frame)} runs.",
        ]
    )


def run(*, quick: bool, runs_dir: Path, results_file: Path) -> str:
    """Train the experiment (digits, one seed, one epoch with quick), write its section and return it."""
    from ..runner import prepare_teachers

    scale = QUICK_SCALE if quick else FULL_SCALE
    runs = experiment_configs(scale)
    check_memory_of((f"{arm.label} {setting.label}, seed {config.seed}", config) for setting, arm, config in runs)
    # missing teachers are trained here first (recorded runs), not by two workers at once
    prepare_teachers([config for _, _, config in runs], RunStore(runs_dir))
    started = time.perf_counter()
    metrics = run_all([config for _, _, config in runs], runs_dir, scale.workers)
    frame = results_frame(runs, metrics)
    body = section(frame, scale, time.perf_counter() - started, quick)
    write_section(results_file, HEADING, body)
    return body
