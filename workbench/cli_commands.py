"""What each `kdw` sub-command does (argument parsing lives in cli.py): train, methods, teachers and presets here;
runs in `cli_runs`; demo, reproduce, sweep and lessons in `cli_experiments` (re-exported here for cli.py); the
progress bar and number flags in `cli_common`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from .cli_common import ProgressBar, announce_teacher, config_flags_given, config_from_args, int_arg, print_json
from .cli_experiments import demo, lessons, lessons_check, reproduce, sweep
from .cli_runs import runs
from .config import RunConfig
from .errors import ConfigError, WorkbenchError
from .generations import is_generational, run_generations
from .methods import list_methods
from .models.estimate import check_config_memory
from .runner import run_recorded
from .store import RunStore
from .teachers import TeacherSpec

__all__ = [
    "ProgressBar",
    "announce_teacher",
    "demo",
    "lessons",
    "lessons_check",
    "methods",
    "presets",
    "reproduce",
    "resumable_config",
    "runs",
    "sweep",
    "teachers",
    "train",
    "train_generations",
]


def train(args: argparse.Namespace, runs_dir: Path) -> int:
    """kdw train: validate the flags, train while recording, print the final metrics and the run id."""
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
    seed = int_arg("seed", args.seed, 0)
    epochs = int_arg("epochs", args.epochs, 1) if args.epochs is not None else None
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


def presets(args: argparse.Namespace, runs_dir: Path) -> int:
    """kdw presets: each shipped preset's name, description and file (for kdw train --config)."""
    from .presets import list_presets

    for preset in list_presets():
        print(f"{preset.name}  {preset.description}\n{'':4s}kdw train --config {preset.path}")
    return 0
