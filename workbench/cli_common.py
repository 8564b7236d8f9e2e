"""What several `kdw` sub-commands share: the progress bar of a training run, the announcement of a teacher trained
first, number flags checked with one-line errors, the config built from a command line's file, lesson and flags
(`config_from_args`, `config_flags_given`), and JSON output."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tqdm import tqdm

from .config import FIELDS, RunConfig, load_config_file, params_mapping
from .engine import Callback, EpochEvent, FitResult, RunInfo, StepEvent
from .errors import ConfigError
from .runner import TeacherStarting
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


def int_arg(name: str, value: str, low: int) -> int:
    """A whole-number flag of at least `low`; ConfigError naming the flag otherwise."""
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(name, f"{value!r} is not an integer") from None
    if number < low:
        raise ConfigError(name, f"{number} is out of range; allowed: at least {low}")
    return number


def float_arg(name: str, value: str, low: float) -> float:
    """A number flag of at least `low`; ConfigError naming the flag otherwise."""
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(name, f"{value!r} is not a number") from None
    if not number >= low:
        raise ConfigError(name, f"{number:g} is out of range; allowed: at least {low:g}")
    return number


def flag_name(name: str) -> str:
    """The command-line flag of a config field or hyperparameter (`--train-subset`)."""
    return "--" + name.replace("_", "-")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """Merge a config file (if any) with the flags given, then validate."""
    values: dict[str, Any] = load_config_file(args.config) if args.config else {}
    if getattr(args, "lesson", None):
        from .lessons import get_lesson

        values = {**get_lesson(args.lesson).config_values(), **values}
    for spec in FIELDS:
        value = getattr(args, spec.name, None)
        if value is not None:
            values[spec.name] = value
    params = params_mapping(values.get("method_params"))
    for key, value in vars(args).items():
        if key.startswith("mp_") and value is not None:
            params[key[3:]] = value
    values["method_params"] = params
    return RunConfig.from_dict(values)


def config_flags_given(args: argparse.Namespace) -> list[str]:
    """The config flags (and --config, --lesson) given on the command line, as typed."""
    given = [flag for flag, name in (("--config", "config"), ("--lesson", "lesson")) if getattr(args, name, None)]
    given += [
        "--teacher" if spec.name == "teachers" else flag_name(spec.name)
        for spec in FIELDS
        if getattr(args, spec.name, None) is not None
    ]
    return given + [
        flag_name(key[3:]) for key, value in vars(args).items() if key.startswith("mp_") and value is not None
    ]


def print_json(data: Any) -> None:
    """Pretty JSON on standard output."""
    print(json.dumps(data, indent=2, default=str))
