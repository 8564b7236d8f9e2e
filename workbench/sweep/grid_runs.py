"""Grids as recorded runs: each student of a grid (`engine.grid.fit_grid`) is its own run in the store, with its
step and epoch metrics, weights and status, ended as soon as it leaves the grid (done, cancelled through its own
flag, diverged). `train_grids` trains a list of grids in worker processes, one grid per process."""

from __future__ import annotations

import multiprocessing
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Sequence

import torch

from ..config import RunConfig
from ..engine import Callback, FitResult
from ..engine.grid import fit_grid
from ..engine.grid_plan import GridPlan
from ..errors import WorkbenchError
from ..runner import CancelPoller, StoreRecorder, record_internal_error, resolve_teachers
from ..store import FINISHED, RunStore


class _Finisher(Callback):
    """Ends a student's run in the store when it leaves the grid: its weights as the `student` artifact (done or
    collapsed, as `run_recorded` keeps them) and its final status and metrics."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store, self.run_id = store, run_id

    def on_end(self, result: FitResult) -> None:
        """Save the weights of a student that trained every epoch and finish the run."""
        if result.status in ("done", "collapsed"):
            weights = self.store.run_dir(self.run_id) / "student.pt"
            torch.save({k: v.cpu() for k, v in result.student.state_dict().items()}, weights)
            self.store.add_artifact(self.run_id, "student", weights)
        self.store.finish(self.run_id, result.status, final_metrics=result.final_metrics, message=result.message)


def train_grid_recorded(store: RunStore, run_ids: Sequence[str]) -> None:
    """Train the queued runs `run_ids` of `store` together as one grid; every run ends finished. A user error ends
    the unfinished runs failed with its message; an unexpected one ends them failed with its last line (and the
    traceback beside each run)."""
    configs = [RunConfig.from_dict(store.get_run(run_id).config) for run_id in run_ids]
    try:
        distiller = next((config for config in configs if config.method == "kd"), None)
        given = resolve_teachers(distiller, store) if distiller is not None else None
        fit_grid(
            configs,
            [[StoreRecorder(store, run_id), _Finisher(store, run_id)] for run_id in run_ids],
            teachers=given["teachers"] if given else (),
            teacher_logit_files=given["teacher_logit_files"] if given else None,
            cancels=[CancelPoller(store, run_id) for run_id in run_ids],
        )
    except KeyboardInterrupt:  # Ctrl-C reaches the worker processes too
        for run_id in unfinished(store, run_ids):
            store.finish(run_id, "cancelled", message="cancelled (interrupted)")
    except WorkbenchError as error:
        for run_id in unfinished(store, run_ids):
            store.finish(run_id, "failed", message=str(error))
    except Exception as error:  # noqa: BLE001 - every run must end; the traceback is kept beside each
        for run_id in unfinished(store, run_ids):
            record_internal_error(store, run_id, error)


def unfinished(store: RunStore, run_ids: Sequence[str]) -> list[str]:
    """The runs among `run_ids` that have not ended."""
    return [record.id for record in store.recent_runs(len(run_ids), ids=list(run_ids)) if record.status not in FINISHED]


def grid_job(runs_dir: str, run_ids: list[str]) -> None:
    """A worker process's job: one grid of queued runs."""
    train_grid_recorded(RunStore(runs_dir), run_ids)


def create_grid_runs(
    store: RunStore, configs: Sequence[RunConfig], plan: GridPlan, group_id: str, owner: str = ""
) -> list[list[str]]:
    """Record each grid's runs as queued (their ids, grid by grid), in the store the grid jobs read."""
    return [
        [store.create_run(configs[p].to_dict(), name=configs[p].name, owner=owner, group_id=group_id) for p in grid]
        for grid in plan.grids
    ]


class GridJobs:
    """Grids (lists of queued run ids) training in worker processes, `workers` at a time, one grid per fresh
    process."""

    def __init__(self, runs_dir: str | Path, grids: list[list[str]], workers: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pool = ProcessPoolExecutor(max_workers=max(1, min(workers, len(grids))), mp_context=context)
        self.futures = [self.pool.submit(grid_job, str(runs_dir), ids) for ids in grids]

    def running(self) -> bool:
        """Whether any grid is still training (or waiting for a process)."""
        return not all(future.done() for future in self.futures)

    def close(self, store: RunStore, run_ids: Sequence[str]) -> None:
        """Wait for the processes to end, then end `failed` any run a dead process left unfinished."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        errors = {str(future.exception()) for future in self.futures if not future.cancelled() and future.exception()}
        for run_id in unfinished(store, run_ids):
            why = f": {'; '.join(sorted(errors))}" if errors else ""
            store.finish(run_id, "failed", message=f"its grid's worker process ended before the run did{why}")


def describe_plan(plan: GridPlan, configs: Sequence[RunConfig]) -> list[str]:
    """The log lines saying how the runs will train: grids and their sizes, and why each other run trains alone
    (one line per reason, with how many runs it applies to)."""
    lines = []
    if plan.grids:
        sizes = " + ".join(str(len(grid)) for grid in plan.grids)
        lines.append(f"grid: {sum(map(len, plan.grids))} runs train together as {len(plan.grids)} grid(s) of {sizes}")
    for reason, count in Counter(plan.reasons[p] for p in plan.singles).items():
        lines.append(f"grid: {count} run(s) train one at a time: {reason}")
    return lines


def log_line(line: str) -> None:
    """Print a plan line to standard error (the CLI's progress goes to standard output)."""
    print(line, file=sys.stderr, flush=True)
