"""The `kdw` sub-commands that train many runs: demo, reproduce, sweep and lessons (list, show, check). Each checks
every config it will train against the memory budget before anything trains (`budgets.check_memory_of`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from .budgets import check_memory_of
from .cli_common import announce_teacher, float_arg, int_arg
from .errors import ConfigError
from .runner import prepare_teachers
from .store import RunStore


def demo(args: argparse.Namespace, runs_dir: Path) -> int:
    """kdw demo: the default setup's teacher, baseline and KD students over seeds, and the verdict on the gain."""
    from .demo import demo_configs, describe_setup, run_demo

    seeds = int_arg("seeds", args.seeds, 1)
    epochs = int_arg("epochs", args.epochs, 1) if args.epochs is not None else None
    workers = int_arg("workers", args.workers, 1)
    configs = demo_configs(seeds, epochs)
    check_memory_of((config.name, config) for config in configs.values())
    print(describe_setup(next(iter(configs.values()))), file=sys.stderr)
    store = RunStore(runs_dir)
    prepare_teachers(configs.values(), store, on_teacher=announce_teacher(False))
    progress = tqdm(total=2 * seeds, desc="demo runs", unit="run", file=sys.stderr, leave=False)
    result = run_demo(
        store, seeds=seeds, epochs=epochs, workers=workers, on_run_end=lambda record, done, total: progress.update(1)
    )
    progress.close()
    print(result.table.to_string(index=False))
    print(result.sentence)
    print(f"({result.seconds:.0f} s)")
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
    from .lessons.check import check_lessons, planned_runs, record_verdicts, report_text, write_markdown
    from .lessons.verdicts import SHIPPED_VERDICTS, VERDICTS_FILE
    from .sweep import default_concurrency

    seeds = int_arg("seeds", args.seeds, 1)
    workers = int_arg("workers", args.workers, 1) if args.workers is not None else default_concurrency()
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


def sweep(args: argparse.Namespace, runs_dir: Path) -> int:
    """kdw sweep FILE: the cost estimate (probe runs), then every point × seed on the local engine or Ray,
    one line per finished run, and the sweep id to find the runs by."""
    from .sweep import default_concurrency, estimate_cost, expand, load_sweep, run_sweep

    if args.engine != "ray" and (args.address or args.asha):
        raise ConfigError("engine", "--address and --asha need --engine ray")
    concurrency = int_arg("max-concurrent", args.max_concurrent, 1) if args.max_concurrent else None
    budget = float_arg("budget-minutes", args.budget_minutes, 0.0) if args.budget_minutes else None
    ray_options = {}
    if args.engine == "ray":
        ray_options = {
            "address": args.address,
            "cpus_per_trial": float_arg("cpus-per-trial", args.cpus_per_trial, 0.01),
            "gpus_per_trial": float_arg("gpus-per-trial", args.gpus_per_trial, 0.0),
            "asha": args.asha,
            "grace_period": int_arg("grace-period", args.grace_period, 1),
        }
        from .sweep.ray import import_ray

        import_ray()  # a missing ray is reported before the probe runs
    spec = load_sweep(args.file)
    points = expand(spec, source=args.file)
    check_memory_of((f"sweep point {point.label or 'base'}, seed {point.seed}", point.config) for point in points)
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
    from .lessons.verdicts import last_verdicts

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
