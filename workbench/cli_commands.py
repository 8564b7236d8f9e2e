"""What each `kdw` sub-command does (argument parsing lives in cli.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from .config import RunConfig
from .engine import Callback, EpochEvent, FitResult, RunInfo, StepEvent
from .errors import ConfigError, WorkbenchError
from .generations import is_generational, run_generations
from .methods import list_methods
from .models.estimate import check_config_memory
from .runner import TeacherStarting, prepare_teachers, run_recorded
from .store import RunStore
from .teachers import TeacherSpec


class ProgressBar(Callback):
    """A tqdm bar over all steps, with the latest loss and test accuracy; one line per epoch otherwise."""

    def __init__(self, label: str = "train") -> None:
        self.label = label
        self.bar: tqdm | None = None

    def on_start(self, info: RunInfo) -> None:
        """Open the bar at the step training starts from."""
        self.bar = tqdm(
            total=info.total_steps,
            initial=info.start_epoch * info.steps_per_epoch,
            desc=self.label,
            unit="step",
            file=sys.stderr,
            dynamic_ncols=True,
            leave=False,
        )

    def on_step(self, event: StepEvent) -> None:
        """Advance one step."""
        if self.bar is not None:
            self.bar.update(1)
            if event.step % 10 == 0:
                self.bar.set_postfix(epoch=event.epoch, loss=f"{event.metrics['loss']:.3f}")

    def on_epoch(self, event: EpochEvent) -> None:
        """Print the epoch's key numbers above the bar."""
        m = event.metrics
        line = (
            f"{self.label} epoch {event.epoch}: train_acc {m['train_acc']:.4f}  test_acc {m['test_acc']:.4f}"
            f"  loss {m['train_loss']:.4f}  {m['throughput']:.0f} img/s"
        )
        if "agreement" in m:
            line += f"  agreement {m['agreement']:.4f}  kl {m['kl']:.4f}"
        tqdm.write(line, file=sys.stderr)

    def on_end(self, result: FitResult) -> None:
        """Close the bar."""
        if self.bar is not None:
            self.bar.close()


def announce_teacher(quiet: bool) -> TeacherStarting:
    """What a CLI run says when its teacher is not cached and is trained first: one line naming the teacher, its
    epochs and its run id, then a progress bar (none with --quiet)."""

    def on_teacher(spec: TeacherSpec, run_id: str, config: RunConfig) -> list[Callback]:
        print(
            f"{spec.label} is not cached: training it first ({config.epochs} epochs) as run {run_id}", file=sys.stderr
        )
        return [] if quiet else [ProgressBar(f"teacher {spec.arch}")]

    return on_teacher


def train(args: argparse.Namespace, runs_dir: Path) -> int:
    """kdw train: validate the flags, train while recording, print the final metrics and the run id."""
    from .cli import config_from_args

    store = RunStore(runs_dir)
    if args.resume:
        config = resumable_config(args, store)
    else:
        config = config_from_args(args)
        check_config_memory(config)
        if config.teacher_checkpoint:
            from .teachers import check_teacher_checkpoint

            check_teacher_checkpoint(config)
    if not args.resume and is_generational(config):
        return train_generations(config, store, quiet=args.quiet)
    callbacks = [] if args.quiet else [ProgressBar(config.method)]
    run_id, result = run_recorded(
        config,
        store,
        run_id=args.resume,
        callbacks=callbacks,
        resume=bool(args.resume),
        on_teacher=announce_teacher(args.quiet),
    )
    print(f"run {run_id}: {result.status}" + (f" ({result.message})" if result.message else ""))
    for key, value in result.final_metrics.items():
        print(f"  {key:15s} {value:.4f}" if isinstance(value, float) and value < 100 else f"  {key:15s} {value:g}")
    return 0 if result.status in ("done", "cancelled") else 1


def resumable_config(args: argparse.Namespace, store: RunStore) -> RunConfig:
    """The recorded config of the run --resume names; refused when config flags come with it (a resumed run keeps
    its config) or while the run is still training."""
    from .cli import config_flags_given

    flags = config_flags_given(args)
    if flags:
        raise ConfigError(
            "resume",
            f"--resume continues a run with the config it was started with; drop "
            f"{', '.join(flags)} (or start a new run)",
        )
    record = store.get_run(args.resume, refresh=True)
    if record.status == "running" and record.pid is not None:
        raise WorkbenchError(
            f"resume: run {record.id} is still training (pid {record.pid} on {record.host}); "
            "let it finish or cancel it first"
        )
    return RunConfig.from_dict(record.config)


def train_generations(config: RunConfig, store: RunStore, *, quiet: bool) -> int:
    """kdw train for a chain of generations (sequential FEED): one run per generation, each id printed."""
    chain = run_generations(
        config,
        store,
        callbacks_for=lambda number, run_id: [] if quiet else [ProgressBar(f"{config.method} gen {number}")],
        on_teacher=announce_teacher(quiet),
    )
    for generation in chain:
        result = generation.result
        print(
            f"generation {generation.number}: run {generation.run_id}: {result.status}"
            + (f" ({result.message})" if result.message else "")
            + (f"  test_acc {result.final_metrics['test_acc']:.4f}" if "test_acc" in result.final_metrics else "")
        )
    return 0 if all(g.result.status in ("done", "cancelled") for g in chain) else 1


def methods(args: argparse.Namespace, runs_dir: Path) -> int:
    """kdw methods: every method with its category, scheme, teachers and hyperparameters."""
    cards = [method.card() for method in list_methods()]
    if args.json:
        from .cli import print_json

        print_json(cards)
        return 0
    for card in cards:
        print(
            f"{card['name']:10s} {card['title']}  [{card['category']}, {card['scheme']}, teachers: {card['teachers']}]"
        )
        print(f"{'':10s} {card['summary']}")
        common = [
            name for name, used in (("temperature", card["uses_temperature"]), ("alpha", card["uses_alpha"])) if used
        ]
        if common:
            print(f"{'':10s} uses: {', '.join(common)}")
        for hp in card["hyperparams"]:
            print(f"{'':10s} --{hp['name'].replace('_', '-')} (default {hp['default']}, {hp['allowed']}): {hp['help']}")
    return 0


def teachers(args: argparse.Namespace, runs_dir: Path) -> int:
    """kdw teachers list|train."""
    from .data import dataset_info
    from .models import create_model
    from .runner import train_teacher_recorded
    from .teachers import RECIPES, list_teachers

    if args.teacher_command == "list":
        records = list_teachers()
        if not records:
            print("no cached teachers; train one with: kdw teachers train --dataset digits --arch cnn")
            return 0
        frame = pd.DataFrame(
            [
                {
                    "dataset": r.dataset,
                    "arch": r.arch,
                    "seed": r.seed,
                    "test_acc": round(r.test_acc, 4),
                    "params": r.params,
                    "train_s": r.train_seconds,
                    "where": "packaged" if r.packaged else "cache",
                }
                for r in records
            ]
        )
        print(frame.to_string(index=False))
        return 0
    info = dataset_info(args.dataset)
    create_model(args.arch, info.num_classes, info.in_channels, info.image_size)  # checks the name early
    if args.dataset not in RECIPES:
        raise ConfigError("dataset", f"no teacher recipe for {args.dataset}")
    seed = _int_arg("seed", args.seed, 0)
    epochs = _int_arg("epochs", args.epochs, 1) if args.epochs is not None else None
    command = " ".join(["kdw", *sys.argv[1:]]) if sys.argv and "kdw" in Path(sys.argv[0]).name else ""
    run_id, record = train_teacher_recorded(
        TeacherSpec(args.arch, args.dataset, seed, epochs=epochs),
        RunStore(runs_dir),
        callbacks=[ProgressBar(f"teacher {args.arch}")],
        command=command,
        output_dir=args.output_dir,
    )
    print(
        f"teacher {record.arch} on {record.dataset} (seed {record.seed}): test_acc {record.test_acc:.4f}, "
        f"{record.train_seconds:.1f} s, saved to {record.path} (run {run_id})"
    )
    return 0


def _int_arg(name: str, value: str, low: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(name, f"{value!r} is not an integer") from None
    if number < low:
        raise ConfigError(name, f"{number} is out of range; allowed: at least {low}")
    return number


def runs(args: argparse.Namespace, runs_dir: Path) -> int:
    """kdw runs list|show|export (reading only: nothing is written, not even a missing store)."""
    store = RunStore(runs_dir, read_only=True)
    if args.runs_command == "list":
        frame = store.runs_frame()
        if frame.empty:
            print(f"no runs in {runs_dir}")
            return 0
        columns = [
            c
            for c in (
                "id",
                "name",
                "status",
                "config.method",
                "config.dataset",
                "config.student",
                "final.test_acc",
                "wall_seconds",
            )
            if c in frame
        ]
        print(frame[columns].to_string(index=False))
        return 0
    record = store.get_run(args.run_id, refresh=True)
    if args.runs_command == "show":
        from .cli import print_json

        print_json(
            {
                "id": record.id,
                "name": record.name,
                "status": record.status,
                "message": record.message,
                "wall_seconds": record.wall_seconds,
                "final_metrics": record.final_metrics,
                "config": record.config,
                "artifacts": record.artifacts,
            }
        )
        return 0
    frame = store.metrics_frame(record.id)
    text = frame.to_csv(index=False) if args.format == "csv" else frame.to_json(orient="records", indent=1)
    if args.output:
        try:
            Path(args.output).write_text(text)
        except OSError as error:
            raise WorkbenchError(f"output: cannot write {args.output}: {error.strerror}") from None
        print(f"wrote {len(frame)} metric rows to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def demo(args: argparse.Namespace, runs_dir: Path) -> int:
    """kdw demo: the default setup's teacher, baseline and KD students over seeds, and the verdict on the gain."""
    from .demo import demo_configs, describe_setup, run_demo

    seeds = _int_arg("seeds", args.seeds, 1)
    epochs = _int_arg("epochs", args.epochs, 1) if args.epochs is not None else None
    workers = _int_arg("workers", args.workers, 1)
    print(describe_setup(next(iter(demo_configs(1, epochs).values()))), file=sys.stderr)
    store = RunStore(runs_dir)
    prepare_teachers(demo_configs(seeds, epochs).values(), store, on_teacher=announce_teacher(False))
    progress = tqdm(total=2 * seeds, desc="demo runs", unit="run", file=sys.stderr, leave=False)
    result = run_demo(
        store, seeds=seeds, epochs=epochs, workers=workers, on_run_end=lambda record, done, total: progress.update(1)
    )
    progress.close()
    print(result.table.to_string(index=False))
    print(result.sentence)
    print(f"({result.seconds:.0f} s)")
    return 0


def presets(args: argparse.Namespace, runs_dir: Path) -> int:
    """kdw presets: each shipped preset's name, description and file (for kdw train --config)."""
    from .presets import list_presets

    for preset in list_presets():
        print(f"{preset.name}  {preset.description}\n{'':4s}kdw train --config {preset.path}")
    return 0


def reproduce(args: argparse.Namespace, runs_dir: Path) -> int:
    """kdw reproduce NAME: run a scripted experiment, rewrite its section of the results file and print it."""
    from .reproduce import run_experiment

    section = run_experiment(args.experiment, quick=args.quick, runs_dir=runs_dir, results_file=Path(args.output))
    print(section)
    print(f"wrote the section to {args.output}")
    return 0


def lessons_check(args: argparse.Namespace, runs_dir: Path) -> int:
    """kdw lessons check: train each lesson's arms over seeds, print and record each verdict; exit 1 when a claim
    is contradicted."""
    from .evidence import CONTRADICTED
    from .lessons import get_lesson, list_lessons
    from .lessons.check import (
        SHIPPED_VERDICTS,
        VERDICTS_FILE,
        check_lessons,
        planned_runs,
        record_verdicts,
        report_text,
        write_markdown,
    )
    from .sweep import default_concurrency

    seeds = _int_arg("seeds", args.seeds, 1)
    workers = _int_arg("workers", args.workers, 1) if args.workers is not None else default_concurrency()
    chosen = [get_lesson(name) for name in args.names] if args.names else list_lessons()
    store = RunStore(runs_dir)
    planned = planned_runs(chosen, seeds)
    runs = len(planned)
    print(f"checking {len(chosen)} lesson(s): {runs} runs, {workers} at a time", file=sys.stderr)
    prepare_teachers(planned.values(), store, on_teacher=announce_teacher(False))
    progress = tqdm(total=runs, desc="lesson runs", unit="run", file=sys.stderr, leave=False)
    results = check_lessons(
        chosen, store, seeds=seeds, workers=workers, on_run_end=lambda record, done, total: progress.update(1)
    )
    progress.close()
    by_name = {lesson.name: lesson for lesson in chosen}
    for result in results:
        print(report_text(result, by_name[result.lesson].claim.metric) + "\n")
    record_verdicts(results, runs_dir / "lessons" / VERDICTS_FILE)
    if args.ship:
        record_verdicts(results, SHIPPED_VERDICTS)
    if args.output:
        command = "kdw lessons check " + " ".join([*args.names, f"--seeds {seeds}"])
        write_markdown(results, by_name, Path(args.output), command)
        print(f"wrote {len(results)} section(s) to {args.output}")
    return 1 if any(result.verdict == CONTRADICTED for result in results) else 0


def _float_arg(name: str, value: str, low: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(name, f"{value!r} is not a number") from None
    if not number >= low:
        raise ConfigError(name, f"{number:g} is out of range; allowed: at least {low:g}")
    return number


def sweep(args: argparse.Namespace, runs_dir: Path) -> int:
    """kdw sweep FILE: the cost estimate (probe runs), then every point × seed on the local engine or Ray,
    one line per finished run, and the sweep id to find the runs by."""
    from .sweep import default_concurrency, estimate_cost, expand, load_sweep, run_sweep

    if args.engine != "ray" and (args.address or args.asha):
        raise ConfigError("engine", "--address and --asha need --engine ray")
    concurrency = _int_arg("max-concurrent", args.max_concurrent, 1) if args.max_concurrent else None
    budget = _float_arg("budget-minutes", args.budget_minutes, 0.0) if args.budget_minutes else None
    ray_options = {}
    if args.engine == "ray":
        ray_options = {
            "address": args.address,
            "cpus_per_trial": _float_arg("cpus-per-trial", args.cpus_per_trial, 0.01),
            "gpus_per_trial": _float_arg("gpus-per-trial", args.gpus_per_trial, 0.0),
            "asha": args.asha,
            "grace_period": _int_arg("grace-period", args.grace_period, 1),
        }
        from .sweep.ray import import_ray

        import_ray()  # a missing ray is reported before the probe runs
    spec = load_sweep(args.file)
    points = expand(spec, source=args.file)
    print(
        f"sweep {spec.name}: {len(points)} runs ({len(points) // spec.seeds} points × {spec.seeds} seeds) "
        f"over {', '.join(spec.swept_fields)}"
    )
    if not args.estimate_only or not args.no_estimate:  # the probes and the runs find every teacher cached
        prepare_teachers([point.config for point in points], RunStore(runs_dir), on_teacher=announce_teacher(False))
    if not args.no_estimate:
        cores = default_concurrency()
        if args.engine == "local":  # single-threaded runs beyond the core count do not go faster together
            parallel = min(concurrency or cores, cores)
        else:
            parallel = concurrency or max(1, int(cores // ray_options["cpus_per_trial"]))
        estimate = estimate_cost(points, concurrency=parallel, budget_minutes=budget)
        print(f"estimate: {estimate.summary()}")
        warning = estimate.warning()
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
    if args.estimate_only:
        return 0

    def report(record, finished: int, total: int) -> None:
        accuracy = record.final_metrics.get("test_acc")
        print(
            f"[{finished}/{total}] {record.status:9s} {record.name}"
            + (f"  test_acc {accuracy:.4f}" if accuracy is not None else "")
            + (f"  ({record.message})" if record.message else ""),
            flush=True,
        )

    result = run_sweep(spec, runs_dir, engine=args.engine, max_concurrent=concurrency, on_run_end=report, **ray_options)
    counts = ", ".join(f"{count} {status}" for status, count in sorted(result.counts().items()))
    print(f"sweep {result.sweep_id}: {counts} in {result.wall_seconds:.1f} s (runs dir {runs_dir})")
    return 0 if set(result.counts()) <= {"done"} else 1


def lessons(args: argparse.Namespace, runs_dir: Path) -> int:
    """kdw lessons list|show NAME|check [NAME ...]."""
    from .lessons import get_lesson, lesson_link, list_lessons
    from .lessons.check import last_verdicts

    if args.lessons_command == "check":
        return lessons_check(args, runs_dir)
    if args.lessons_command == "list":
        verdicts = last_verdicts(runs_dir)
        for lesson in list_lessons():
            checked = verdicts.get(lesson.name)
            mark = (
                f"  [{checked['verdict']}, {checked['seeds']} seeds, {checked['checked']}]"
                if checked
                else "  [not checked]"
            )
            print(f"{lesson.name} (v{lesson.version})  {lesson.title}{mark}\n{'':4s}{lesson.commentary}")
        return 0
    lesson = get_lesson(args.name)
    print(f"{lesson.name} (v{lesson.version}): {lesson.title}\n{lesson.commentary}\n")
    print(f"claim:     {lesson.claim.says}")
    for expectation in lesson.claim.expect:
        print(f"           expects {expectation.describe()}")
    print(f"train it:  kdw train --lesson {lesson.name}")
    print(f"app link:  {lesson_link(lesson)}")
    if lesson.hide:
        print(f"hidden controls in the link: {', '.join(lesson.hide)}")
    print("config:")
    for key, value in lesson.config_values().items():
        print(f"  {key}: {value}")
    return 0
