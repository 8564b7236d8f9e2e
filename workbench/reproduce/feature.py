"""`kdw reproduce feature`: feature-, relation- and ensemble-based methods against the baseline and KD.

Every method trains the same student on the same fixed training subset for a few epochs, over several seeds;
the table (mean ± std test accuracy, training time) goes to the results file's section. Jobs run in worker
processes of one thread each (one per core). A run already finished in the run store with the very same config is
reused rather than trained again, so an interrupted invocation continues where it stopped."""

from __future__ import annotations

import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import torch

from ..budgets import check_memory_of
from ..config import RunConfig
from ..data import dataset_info
from ..generations import generation_config, is_generational, run_generations
from ..methods import get_method
from ..runner import cached_or_recorded, run_recorded
from ..store import RunRecord, RunStore
from ..teachers import TeacherSpec
from .report import machine_description, mean_std, write_section

HEADING = "## Feature-, relation- and ensemble-based methods"
SINGLE_TEACHER_METHODS = ("fitnets", "at", "rkd")  # what parallel FEED is compared with
CHANCE_FACTOR = 1.5  # a test accuracy at most 1.5 / classes counts as a run that never left chance level


@dataclass(frozen=True)
class Entry:
    """One row group of the table: a method, its teachers and hyperparameters."""

    label: str
    method: str
    teachers: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    control: bool = False  # a control row, not a method compared with FEED


@dataclass(frozen=True)
class Setup:
    """What is trained: dataset, student, training budget, seeds, teachers and how many worker processes."""

    dataset: str
    student: str
    train_subset: int
    epochs: int
    batch_size: int
    optimizer: str
    lr: float
    seeds: tuple[int, ...]
    teachers: tuple[str, str, str]  # the single teacher first, then the two added for the ensembles
    generations: int
    workers: int

    def entries(self) -> list[Entry]:
        """The rows: baseline, KD, FitNets, AT, RKD (and its clipping-only control), DML, parallel FEED with 2 and 3
        teachers, sequential FEED."""
        single, second, third = self.teachers
        return [
            Entry("Baseline (no teacher)", "baseline"),
            Entry("KD (Hinton)", "kd", (single,)),
            Entry("FitNets", "fitnets", (single,)),
            Entry("Attention transfer", "at", (single,)),
            Entry("RKD", "rkd", (single,)),
            Entry(
                "Control: RKD with both weights 0 (CE + its gradient clipping)",
                "rkd",
                (single,),
                {"distance_weight": 0.0, "angle_weight": 0.0},
                control=True,
            ),
            Entry("DML (2 students)", "dml", (), {"peers": 2}),
            Entry("FEED parallel, 2 teachers", "feed-parallel", (single, second)),
            Entry("FEED parallel, 3 teachers", "feed-parallel", (single, second, third)),
            Entry("FEED sequential", "feed-sequential", (single,), {"generations": self.generations}),
        ]

    def config(self, entry: Entry, seed: int) -> RunConfig:
        """The run config of one entry and seed."""
        return RunConfig.from_dict(
            {
                "name": f"reproduce feature: {entry.label} s{seed}",
                "dataset": self.dataset,
                "student": self.student,
                "train_subset": self.train_subset,
                "epochs": self.epochs,
                "batch_size": self.batch_size,
                "optimizer": self.optimizer,
                "lr": self.lr,
                "seed": seed,
                "device": "cpu",
                "augment": "none",
                "method": entry.method,
                "teachers": list(entry.teachers or self.teachers[:1]),
                "method_params": dict(entry.params),
            }
        )


FULL = Setup(
    dataset="fashion-mnist",
    student="lenet5_half",
    train_subset=10_000,
    epochs=5,
    batch_size=128,
    optimizer="sgd",
    lr=0.02,
    seeds=(0, 1, 2),
    teachers=("lenet5", "cnn", "lenet5_half"),
    generations=3,
    workers=max(1, min(2, os.cpu_count() or 1)),
)
QUICK = Setup(
    dataset="digits",
    student="lenet5_half",
    train_subset=300,
    epochs=1,
    batch_size=64,
    optimizer="sgd",
    lr=0.02,
    seeds=(0,),
    teachers=("cnn", "lenet5", "cnn"),
    generations=2,
    workers=1,
)


@dataclass
class Outcome:
    """One trained student: its entry, seed, generation (sequential FEED) and final numbers."""

    label: str
    seed: int
    generation: int
    status: str
    metrics: dict[str, float]
    reused: bool = False


def train_job(setup: Setup, entry: Entry, seed: int, runs_dir: Path) -> list[Outcome]:
    """Train one entry at one seed (all generations for sequential FEED), recorded in the run store; runs already
    finished with the same config are reused."""
    torch.set_num_threads(1)
    store, config = RunStore(runs_dir), setup.config(entry, seed)
    if is_generational(config):
        finished = finished_chain(store, config)
        if finished:
            return [
                Outcome(entry.label, seed, number, "done", record.final_metrics, reused=True)
                for number, record in enumerate(finished, start=1)
            ]
        chain = run_generations(config, store)
        return [Outcome(entry.label, seed, g.number, g.result.status, g.result.final_metrics) for g in chain]
    record = finished_run(store, config.to_dict())
    if record is not None:
        return [
            Outcome(
                entry.label,
                seed,
                0,
                "done",
                {**last_epoch_extras(store, record.id), **record.final_metrics},
                reused=True,
            )
        ]
    run_id, result = run_recorded(config, store)
    return [Outcome(entry.label, seed, 0, result.status, {**last_epoch_extras(store, run_id), **result.final_metrics})]


def finished_run(store: RunStore, config: dict[str, Any], parent_id: str | None = None) -> RunRecord | None:
    """A finished run of exactly this config (and parent, when given) in the store, if there is one."""
    return next(
        (
            record
            for record in store.list_runs(status="done")
            if record.config == config and (parent_id is None or record.parent_id == parent_id)
        ),
        None,
    )


def finished_chain(store: RunStore, config: RunConfig) -> list[RunRecord]:
    """Every generation of a finished sequential-FEED chain of this config, or [] when any is missing."""
    total = get_method(config.method).chain_length(config.method_params)
    chain: list[RunRecord] = []
    for number in range(1, total + 1):
        previous = chain[-1] if chain else None
        record = finished_run(
            store,
            generation_config(config, number, total, previous.artifacts["student"] if previous else None).to_dict(),
            previous.id if previous else None,
        )
        if record is None:
            return []
        chain.append(record)
    return chain


def last_epoch_extras(store: RunStore, run_id: str) -> dict[str, float]:
    """A run's method-specific test accuracies (e.g. DML's peers) from its last recorded epoch."""
    epochs = store.metrics_frame(run_id, scope="epoch")
    last = epochs[epochs["epoch"] == epochs["epoch"].max()]
    return {row.name: row.value for row in last.itertuples() if row.name.endswith("_test_acc")}


def ensure_teachers(setup: Setup, store: RunStore) -> dict[str, float]:
    """Every teacher's test accuracy, training (into the user's teacher cache, each as a recorded run in `store`)
    those that are missing."""
    return {
        arch: cached_or_recorded(TeacherSpec(arch, setup.dataset, 0), store).test_acc
        for arch in dict.fromkeys(setup.teachers)
    }


def run_jobs(setup: Setup, runs_dir: Path) -> list[Outcome]:
    """Every entry at every seed, the longest first, in `setup.workers` processes (in this one when 1)."""
    jobs = [(entry, seed) for entry in setup.entries() for seed in setup.seeds]
    jobs.sort(key=lambda job: job[0].method not in ("feed-sequential", "feed-parallel", "rkd", "dml"))
    if setup.workers == 1:
        return [outcome for entry, seed in jobs for outcome in train_job(setup, entry, seed, runs_dir)]
    with ProcessPoolExecutor(setup.workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(train_job, setup, entry, seed, runs_dir) for entry, seed in jobs]
        return [outcome for future in futures for outcome in future.result()]


def table_rows(setup: Setup, outcomes: list[Outcome]) -> list[list[str]]:
    """One row per entry (per generation for sequential FEED): teachers, accuracy, time, extras."""
    rows = []
    for entry in setup.entries():
        generations = sorted({o.generation for o in outcomes if o.label == entry.label})
        for generation in generations:
            done = [o for o in outcomes if o.label == entry.label and o.generation == generation and o.status == "done"]
            label, teachers = entry.label, ", ".join(entry.teachers) or "–"
            if generation:
                label = f"{entry.label}, generation {generation}"
                teachers = teachers if generation == 1 else f"generation {generation - 1} student"
            rows.append(
                [
                    label,
                    teachers,
                    f"{len(done)}/{len(setup.seeds)}",
                    mean_std([o.metrics["test_acc"] for o in done], 100.0),
                    mean_std([o.metrics["train_seconds"] for o in done], 1.0, 1),
                    str(int(done[0].metrics["params"])) if done else "–",
                    extras(entry, done, dataset_info(setup.dataset).num_classes),
                ]
            )
    return rows


def extras(entry: Entry, done: list[Outcome], num_classes: int) -> str:
    """What else a row should say: DML's peer and cohort accuracy, RKD's clipping, seeds stuck at chance level."""
    notes = []
    if entry.method == "dml" and done:
        notes.append(
            f"peer {mean_std([o.metrics['peer1_test_acc'] for o in done], 100.0)}, "
            f"cohort {mean_std([o.metrics['cohort_test_acc'] for o in done], 100.0)}"
        )
    if entry.method == "rkd":
        notes.append("gradient norm clipped at 5 (max_grad_norm)")
    stuck = [o for o in done if o.metrics["test_acc"] <= CHANCE_FACTOR / num_classes]
    if stuck:
        accuracies = ", ".join(f"{100 * o.metrics['test_acc']:.2f} %" for o in stuck)
        notes.append(f"{len(stuck)} of {len(done)} seeds stayed at chance level ({accuracies})")
    return "; ".join(notes)


def accuracies_of(outcomes: list[Outcome], label: str, generation: int = 0) -> list[float]:
    """Test accuracies (in %) of the finished runs of one row."""
    return [
        100.0 * o.metrics["test_acc"]
        for o in outcomes
        if o.label == label and o.generation == generation and o.status == "done"
    ]


def reading(setup: Setup, outcomes: list[Outcome]) -> str:
    """Sentences comparing parallel FEED with the best single-teacher feature method, from the numbers."""
    singles = [
        (entry.label, accuracies_of(outcomes, entry.label))
        for entry in setup.entries()
        if entry.method in SINGLE_TEACHER_METHODS and not entry.control
    ]
    singles += [
        (f"single-teacher FEED ({entry.label}, generation 1)", accuracies_of(outcomes, entry.label, 1))
        for entry in setup.entries()
        if entry.method == "feed-sequential"
    ]
    singles = [(label, values) for label, values in singles if values]
    if not singles:
        return ""
    best_label, best = max(singles, key=lambda item: statistics.mean(item[1]))
    lines = [f"Best single-teacher feature or relation method: {best_label} ({mean_std(best)} %)."]
    for entry in setup.entries():
        if entry.method != "feed-parallel":
            continue
        values = accuracies_of(outcomes, entry.label)
        if not values:
            continue
        gap = statistics.mean(values) - statistics.mean(best)
        spread = max(
            statistics.stdev(values) if len(values) > 1 else 0.0, statistics.stdev(best) if len(best) > 1 else 0.0
        )
        verdict = (
            "beats it"
            if gap > spread
            else "falls below it"
            if gap < -spread
            else "is within one standard deviation of it"
        )
        lines.append(f"{entry.label} ({mean_std(values)} %) {verdict}: {gap:+.2f} points.")
    return " ".join(lines)


def markdown(
    setup: Setup, outcomes: list[Outcome], teacher_accuracy: dict[str, float], wall_seconds: float, quick: bool
) -> str:
    """The section body: setup, teachers, the table and what it shows."""
    header = ["method", "teachers", "seeds done", "test acc (%)", "train time per run (s)", "student params", "notes"]
    rows = table_rows(setup, outcomes)
    lines = [
        ("Quick check (digits, one seed, one epoch): numbers say nothing about the methods. " if quick else "")
        + f"Produced by `kdw reproduce feature{' --quick' if quick else ''}`.",
        "",
        f"Setup: {setup.dataset}, student {setup.student}, a fixed class-balanced subset of {setup.train_subset} "
        f"training images, the full test split; epochs: {setup.epochs}, batch {setup.batch_size}, "
        f"{setup.optimizer} lr {setup.lr:g} (cosine), no augmentation, seeds {', '.join(map(str, setup.seeds))}; "
        f"test accuracy after the last epoch, mean ± std over the seeds. Method hyperparameters are the defaults "
        f"shown by `kdw methods`. "
        f"Train time is the sum of the epochs' training time (evaluation excluded) of one run, with one thread; "
        f"{setup.workers} run(s) at a time. It is wall-clock time and grows when other work shares the cores, so "
        f"compare times only between runs made together.",
        "",
        "Teachers (seed 0, test accuracy): "
        + ", ".join(f"{arch} {100 * acc:.2f} %" for arch, acc in teacher_accuracy.items())
        + ". FEED's transformation layers and DML's peer are training-only: the student parameter count is the "
        "deployed student's.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
        reading(setup, outcomes),
        "",
        f"Machine: {machine_description()}. This invocation took {wall_seconds / 60:.1f} min; "
        f"{sum(o.reused for o in outcomes)} of {len(outcomes)} runs were reused from the run store (trained by an "
        f"earlier invocation). Train time summed over all runs: "
        f"{sum(o.metrics.get('train_seconds', 0.0) for o in outcomes) / 60:.1f} min.",
    ]
    return "\n".join(lines)


def run(*, quick: bool, runs_dir: Path, results_file: Path) -> str:
    """Train every entry, write the section into `results_file` and return it."""
    setup = QUICK if quick else FULL
    check_memory_of(
        (f"{entry.label}, seed {seed}", setup.config(entry, seed)) for entry in setup.entries() for seed in setup.seeds
    )
    started = time.perf_counter()
    teacher_accuracy = ensure_teachers(setup, RunStore(runs_dir))
    outcomes = run_jobs(setup, Path(runs_dir))
    body = markdown(setup, outcomes, teacher_accuracy, time.perf_counter() - started, quick)
    write_section(Path(results_file), HEADING, body)
    return f"{HEADING}\n\n{body}"
