"""The `kdw` command: train, methods, teachers, runs and demo."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn, Sequence

from .cli_common import config_flags_given, config_from_args, flag_name, print_json
from .config import FIELDS
from .errors import WorkbenchError
from .paths import default_runs_dir

EXIT_USER_ERROR = 2
__all__ = ["EXIT_USER_ERROR", "Parser", "build_parser", "config_flags_given", "config_from_args", "main", "print_json"]


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, with no usage dump."""

    def error(self, message: str) -> NoReturn:
        """Print one line naming the problem and exit 2."""
        self.exit(EXIT_USER_ERROR, f"{self.prog}: {message}\n")


def _method_hyperparam_names() -> list[str]:
    from .methods import list_methods

    config_names = {spec.name for spec in FIELDS} | {"teacher"}
    names: list[str] = []
    for method in list_methods():
        for hp in method.hyperparams:
            if hp.name not in names and hp.name not in config_names:
                names.append(hp.name)
    return names


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per config field and per method hyperparameter; values are checked by RunConfig."""
    parser.add_argument("--config", help="a YAML or JSON file of config fields (flags override it)")
    parser.add_argument(
        "--lesson", help="start from a lesson preset (`kdw lessons list`); --config and flags override it"
    )
    for spec in FIELDS:
        if spec.name == "teachers":
            parser.add_argument("--teacher", "--teachers", dest="teachers", help=spec.help)
        else:
            parser.add_argument(flag_name(spec.name), dest=spec.name, help=f"{spec.help} ({spec.allowed()})")
    group = parser.add_argument_group("method hyperparameters (each applies to the methods that declare it)")
    for name in _method_hyperparam_names():
        group.add_argument(flag_name(name), dest=f"mp_{name}", help="see `kdw methods`")


def add_runs_dir(parser: argparse.ArgumentParser, *, sub_command: bool = False) -> None:
    """The --runs-dir flag every command takes; a sub-command's copy (`kdw runs list --runs-dir X`) leaves the
    command's value alone when it is not given."""
    parser.add_argument(
        "--runs-dir",
        default=argparse.SUPPRESS if sub_command else None,
        help="run store folder (default $KDW_RUNS_DIR or ./runs)",
    )


def build_parser() -> Parser:
    """The full `kdw` argument parser."""
    parser = Parser(prog="kdw", description="KD Workbench: knowledge distillation for teaching and research.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    train = commands.add_parser("train", help="train a student with a distillation method")
    add_config_flags(train)
    add_runs_dir(train)
    train.add_argument(
        "--resume",
        metavar="RUN_ID",
        help="continue an interrupted run from its last checkpoint, with the config it was started "
        "with (config flags are refused; start a new run to change them)",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    methods = commands.add_parser("methods", help="list the distillation methods and their hyperparameters")
    methods.add_argument("--json", action="store_true", help="print the method cards as JSON")

    teachers = commands.add_parser("teachers", help="list or train cached teachers")
    teacher_commands = teachers.add_subparsers(dest="teacher_command", required=True, parser_class=Parser)
    teacher_commands.add_parser("list", help="cached and packaged teachers")
    teacher_train = teacher_commands.add_parser("train", help="train a teacher with its dataset's recipe")
    teacher_train.add_argument("--dataset", required=True)
    teacher_train.add_argument("--arch", required=True, help="zoo architecture (name or name:width)")
    teacher_train.add_argument("--seed", default="0")
    teacher_train.add_argument("--epochs", default=None, help="override the recipe's epochs")
    teacher_train.add_argument("--output-dir", default=None, help="where to write it (default: the cache)")

    runs = commands.add_parser("runs", help="list, show, export or cancel recorded runs")
    add_runs_dir(runs)
    run_commands = runs.add_subparsers(dest="runs_command", required=True, parser_class=Parser)
    listing = run_commands.add_parser("list", help="all runs, newest first")
    show = run_commands.add_parser("show", help="one run's config, status and final metrics")
    show.add_argument("run_id")
    export = run_commands.add_parser("export", help="a run's metrics as CSV or JSON")
    cancel = run_commands.add_parser(
        "cancel", help="cancel runs of any owner (queued: at once; running: at their next step); the server's admin"
    )
    cancel.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    for sub_command in (listing, show, export, cancel):
        add_runs_dir(sub_command, sub_command=True)
    export.add_argument("run_id")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--output", default=None, help="file to write (default: standard output)")

    demo = commands.add_parser(
        "demo", help="the default setup: teacher, baseline and KD students over seeds, with the verdict on KD's gain"
    )
    add_runs_dir(demo)
    demo.add_argument("--seeds", default="3", help="seeds per student (default 3; one seed is not evidence)")
    demo.add_argument("--epochs", default=None, help="epochs per student (default: the default setup's)")
    demo.add_argument("--workers", default="2", help="runs training at once (default 2)")

    commands.add_parser("presets", help="list the shipped config presets (use one with: kdw train --config FILE)")

    from .reproduce import EXPERIMENTS

    reproduce = commands.add_parser("reproduce", help="run a scripted experiment and write its section of the results")
    add_runs_dir(reproduce)
    reproduce.add_argument("experiment", choices=list(EXPERIMENTS), help="which experiment")
    reproduce.add_argument("--quick", action="store_true", help="a tiny digits version that runs in seconds")
    reproduce.add_argument("--output", default="docs/results.md", help="results file whose section is rewritten")

    sweep = commands.add_parser("sweep", help="train a grid or random sample of configs × seeds (one sweep id)")
    add_runs_dir(sweep)
    sweep.add_argument("file", help="sweep file (YAML): base, grid or random (+ samples), seeds")
    sweep.add_argument(
        "--engine", choices=("local", "ray"), default="local", help="local worker processes (default) or Ray Tune"
    )
    sweep.add_argument("--address", default=None, help="Ray: address of an existing cluster (default: start Ray here)")
    sweep.add_argument("--max-concurrent", default=None, help="runs training at once (default: one per CPU core)")
    sweep.add_argument("--budget-minutes", default=None, help="warn when the estimated wall time exceeds this")
    sweep.add_argument("--estimate-only", action="store_true", help="print the cost estimate and start nothing")
    sweep.add_argument("--no-estimate", action="store_true", help="start without the probe runs of the estimate")
    sweep.add_argument("--cpus-per-trial", default="1", help="Ray: CPUs per trial (also its training threads)")
    sweep.add_argument("--gpus-per-trial", default="0", help="Ray: GPUs per trial (fractions share a GPU)")
    sweep.add_argument("--asha", action="store_true", help="Ray: stop poor trials early (ASHA on test accuracy)")
    sweep.add_argument("--grace-period", default="1", help="Ray ASHA: epochs every trial runs before it can be stopped")

    lessons = commands.add_parser("lessons", help="classroom lesson presets: list, show or check them")
    lesson_commands = lessons.add_subparsers(dest="lessons_command", required=True, parser_class=Parser)
    lesson_commands.add_parser("list", help="every lesson with its commentary and last verdict")
    lesson_show = lesson_commands.add_parser("show", help="a lesson's commentary, claim, config and app link")
    lesson_show.add_argument("name")
    lesson_check = lesson_commands.add_parser(
        "check", help="run lessons' arms over seeds and judge their claims (holds / within seed noise / contradicted)"
    )
    add_runs_dir(lesson_check)
    lesson_check.add_argument("names", nargs="*", metavar="NAME", help="lessons to check (default: all)")
    lesson_check.add_argument("--seeds", default="5", help="seeds per arm (default 5; one seed is not evidence)")
    lesson_check.add_argument("--workers", default=None, help="runs training at once (default: one per core)")
    lesson_check.add_argument(
        "--output", default="docs/lessons.md", help="markdown file whose lesson sections are rewritten ('' = none)"
    )
    lesson_check.add_argument(
        "--ship", action="store_true", help="also record the verdicts in the package (what a fresh install's app shows)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `kdw`; user errors print one line and return 2."""
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except WorkbenchError as error:
        for line in str(error).splitlines():
            print(f"kdw {args.command}: {line}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("kdw: interrupted", file=sys.stderr)
        return 130


def _runs_dir(args: argparse.Namespace) -> Path:
    return Path(args.runs_dir) if getattr(args, "runs_dir", None) else default_runs_dir()


def _dispatch(args: argparse.Namespace) -> int:
    from . import cli_commands

    handler = {
        "train": cli_commands.train,
        "methods": cli_commands.methods,
        "teachers": cli_commands.teachers,
        "runs": cli_commands.runs,
        "demo": cli_commands.demo,
        "presets": cli_commands.presets,
        "reproduce": cli_commands.reproduce,
        "sweep": cli_commands.sweep,
        "lessons": cli_commands.lessons,
    }[args.command]
    return handler(args, _runs_dir(args))


if __name__ == "__main__":
    sys.exit(main())
