"""`kdw runs`: list, show and export recorded runs (reading only), and cancel runs (the server's admin)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cli_common import print_json
from .errors import WorkbenchError
from .store import FINISHED, RunStore


def runs(args: argparse.Namespace, runs_dir: Path) -> int:
    """kdw runs list|show|export (reading only: nothing is written, not even a missing store) and cancel."""
    if args.runs_command == "cancel":
        return cancel_runs(args.run_ids, runs_dir)
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


def cancel_runs(run_ids: list[str], runs_dir: Path) -> int:
    """kdw runs cancel ID [ID ...], on the server's machine: any owner's queued run is cancelled at once, a running
    one is asked to stop (its cancel flag: it stops at its next step, and the app server's dispatcher stops its
    worker by force after a grace period). One line per id, on standard error for an unknown id or a run that
    already finished; exit 0 when every run was cancelled or asked to stop, else 1."""
    from .executor import Executor

    if not (Path(runs_dir) / "runs.sqlite").exists():
        raise WorkbenchError(f"runs_dir: no run store in {runs_dir}")
    executor = Executor(runs_dir)
    wanted = list(dict.fromkeys(run_ids))
    stopped = 0
    for run_id in wanted:
        try:
            record = executor.store.get_run(run_id, refresh=True)
        except WorkbenchError as error:
            print(f"kdw runs cancel: {error}", file=sys.stderr)
            continue
        if record.status in FINISHED:
            print(f"kdw runs cancel: run {run_id} already ended ({record.status}); nothing to cancel", file=sys.stderr)
            continue
        if executor.cancel(run_id) == "cancelled":
            print(f"run {run_id}: cancelled before it started")
        else:
            print(f"run {run_id}: asked to stop; it stops at its next step")
        stopped += 1
    return 0 if stopped == len(wanted) else 1
