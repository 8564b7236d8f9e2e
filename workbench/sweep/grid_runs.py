"""A sweep's grids: their runs recorded as queued (`create_grid_runs`), trained in worker processes, one grid per
process (`GridJobs`, each grid through `grid_runner.train_grid_recorded`), and the plan's log lines."""

from __future__ import annotations

import multiprocessing
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Sequence

from ..config import RunConfig
from ..engine.grid_plan import GridPlan
from ..grid_runner import train_grid_recorded, unfinished
from ..store import RunStore


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


def grid_caption(configs: Sequence[RunConfig], workers: int) -> str:
    """One sentence for the app: how the configs, started together on `workers` workers, will train (grids, and why
    the other runs train alone)."""
    from ..engine.grid_plan import plan_grids

    plan = plan_grids(configs, workers)
    lines = "; ".join(line.removeprefix("grid: ") for line in describe_plan(plan, configs))
    if not plan.grids:
        return f"Each run trains on its own: {lines}."
    return (
        "Runs that differ only in seed, method (KD or the baseline), T and α train together as a grid in one worker, "
        f"each with its own weights and seed: {lines}."
    )
