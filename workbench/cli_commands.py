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
from .methods import list_methods
from .runner import run_recorded
from .store import RunStore


class ProgressBar(Callback):
    """A tqdm bar over all steps, with the latest loss and test accuracy; one line per epoch otherwise."""

    def __init__(self, label: str = "train") -> None:
        self.label = label
        self.bar: tqdm | None = None

    def on_start(self, info: RunInfo) -> None:
        """Open the bar at the step training starts from."""
        self.bar = tqdm(total=info.total_steps, initial=info.start_epoch * info.steps_per_epoch,
                        desc=self.label, unit="step", file=sys.stderr, dynamic_ncols=True, leave=False)

    def on_step(self, event: StepEvent) -> None:
        """Advance one step."""
        if self.bar is not None:
            self.bar.update(1)
            if event.step % 10 == 0:
                self.bar.set_postfix(epoch=event.epoch, loss=f"{event.metrics['loss']:.3f}")

    def on_epoch(self, event: EpochEvent) -> None:
        """Print the epoch's key numbers above the bar."""
        m = event.metrics
        line = (f"{self.label} epoch {event.epoch}: train_acc {m['train_acc']:.4f}  test_acc {m['test_acc']:.4f}"
                f"  loss {m['train_loss']:.4f}  {m['throughput']:.0f} img/s")
        if "agreement" in m:
            line += f"  agreement {m['agreement']:.4f}  kl {m['kl']:.4f}"
        tqdm.write(line, file=sys.stderr)

    def on_end(self, result: FitResult) -> None:
        """Close the bar."""
        if self.bar is not None:
            self.bar.close()


def train(args: argparse.Namespace, runs_dir: Path) -> int:
    """kdw train: validate the flags, train while recording, print the final metrics and the run id."""
    from .cli import config_from_args

    store = RunStore(runs_dir)
    if args.resume:
        record = store.get_run(args.resume)
        config = RunConfig.from_dict(record.config)
    else:
        config = config_from_args(args)
    callbacks = [] if args.quiet else [ProgressBar(config.method)]
    run_id, result = run_recorded(config, store, run_id=args.resume, callbacks=callbacks, resume=bool(args.resume))
    print(f"run {run_id}: {result.status}" + (f" ({result.message})" if result.message else ""))
    for key, value in result.final_metrics.items():
        print(f"  {key:15s} {value:.4f}" if isinstance(value, float) and value < 100 else f"  {key:15s} {value:g}")
    return 0 if result.status in ("done", "cancelled") else 1


def methods(args: argparse.Namespace, runs_dir: Path) -> int:
    """kdw methods: every method with its category, scheme, teachers and hyperparameters."""
    cards = [method.card() for method in list_methods()]
    if args.json:
        from .cli import print_json

        print_json(cards)
        return 0
    for card in cards:
        print(f"{card['name']:10s} {card['title']}  [{card['category']}, {card['scheme']}, "
              f"teachers: {card['teachers']}]")
        print(f"{'':10s} {card['summary']}")
        common = [name for name, used in (("temperature", card["uses_temperature"]), ("alpha", card["uses_alpha"]))
                  if used]
        if common:
            print(f"{'':10s} uses: {', '.join(common)}")
        for hp in card["hyperparams"]:
            print(f"{'':10s} --{hp['name'].replace('_', '-')} (default {hp['default']}, {hp['allowed']}): {hp['help']}")
    return 0


def teachers(args: argparse.Namespace, runs_dir: Path) -> int:
    """kdw teachers list|train."""
    from .data import dataset_info
    from .models import create_model
    from .teachers import RECIPES, list_teachers, train_teacher

    if args.teacher_command == "list":
        records = list_teachers()
        if not records:
            print("no cached teachers; train one with: kdw teachers train --dataset digits --arch cnn")
            return 0
        frame = pd.DataFrame([{"dataset": r.dataset, "arch": r.arch, "seed": r.seed, "test_acc": round(r.test_acc, 4),
                               "params": r.params, "train_s": r.train_seconds,
                               "where": "packaged" if r.packaged else "cache"} for r in records])
        print(frame.to_string(index=False))
        return 0
    info = dataset_info(args.dataset)
    create_model(args.arch, info.num_classes, info.in_channels, info.image_size)  # checks the name early
    if args.dataset not in RECIPES:
        raise ConfigError("dataset", f"no teacher recipe for {args.dataset}")
    seed = _int_arg("seed", args.seed, 0)
    epochs = _int_arg("epochs", args.epochs, 1) if args.epochs is not None else None
    command = " ".join(["kdw", *sys.argv[1:]]) if sys.argv and "kdw" in Path(sys.argv[0]).name else ""
    record = train_teacher(args.arch, args.dataset, seed, epochs=epochs, output_dir=args.output_dir,
                           callbacks=[ProgressBar(f"teacher {args.arch}")], command=command)
    print(f"teacher {record.arch} on {record.dataset} (seed {record.seed}): test_acc {record.test_acc:.4f}, "
          f"{record.train_seconds:.1f} s, saved to {record.path}")
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
    """kdw runs list|show|export."""
    store = RunStore(runs_dir)
    if args.runs_command == "list":
        frame = store.runs_frame()
        if frame.empty:
            print(f"no runs in {runs_dir}")
            return 0
        columns = [c for c in ("id", "name", "status", "config.method", "config.dataset", "config.student",
                               "final.test_acc", "wall_seconds") if c in frame]
        print(frame[columns].to_string(index=False))
        return 0
    record = store.get_run(args.run_id)
    if args.runs_command == "show":
        from .cli import print_json

        print_json({"id": record.id, "name": record.name, "status": record.status, "message": record.message,
                    "wall_seconds": record.wall_seconds, "final_metrics": record.final_metrics,
                    "config": record.config, "artifacts": record.artifacts})
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
    """kdw demo: on digits, a cached teacher, a baseline student and a KD student, compared in a table."""
    from .demo import run_demo

    epochs = _int_arg("epochs", args.epochs, 1)
    table = run_demo(RunStore(runs_dir), epochs=epochs)
    print(table.to_string(index=False))
    return 0
