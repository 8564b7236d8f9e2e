"""Running a sweep: its runs carry one sweep id (`sweep-…`) as group id and its spec is kept in
`<runs>/sweeps/<id>.yaml`. `run_sweep` trains every point on an engine (`ENGINES`: `local`, worker processes
of a private executor; `ray`, Ray Tune in `sweep.ray`, imported only when used) and waits; `submit_sweep`
queues them on the app's shared executor; `list_sweeps` names the sweeps in a store with their counts."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Collection, Sequence

import yaml

from ..concurrency import default_concurrency
from ..config import RunConfig
from ..errors import WorkbenchError
from ..store import FINISHED, RunRecord, RunStore
from .spec import SweepPoint, SweepSpec, expand

if TYPE_CHECKING:
    from ..executor import Executor

SWEEP_PREFIX = "sweep-"
RunEnded = Callable[[RunRecord, int, int], None]  # (record, finished so far, total)
Engine = Callable[..., list[str]]  # (points, store, sweep id, max_concurrent=, owner=, on_run_end=, **options) -> ids


def new_sweep_id() -> str:
    """A fresh sweep id (the runs' group id): `sweep-<date>-<time>-<hex>`."""
    return f"{SWEEP_PREFIX}{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"


@dataclass
class SweepResult:
    """How a sweep went: its id, run ids in point order, and their final statuses."""

    sweep_id: str
    run_ids: list[str]
    statuses: dict[str, str]
    wall_seconds: float

    def counts(self) -> dict[str, int]:
        """How many runs ended with each status."""
        counts: dict[str, int] = {}
        for status in self.statuses.values():
            counts[status] = counts.get(status, 0) + 1
        return counts


def save_spec(store: RunStore, sweep_id: str, spec: SweepSpec, engine: str) -> Path:
    """Keep the sweep's spec beside the runs (`<runs>/sweeps/<id>.yaml`) so views can name the sweep."""
    folder = store.root / "sweeps"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sweep_id}.yaml"
    path.write_text(
        yaml.safe_dump({**spec.to_dict(), "engine": engine, "id": sweep_id}, sort_keys=False, allow_unicode=True)
    )
    return path


def run_local(
    points: Sequence[SweepPoint],
    store: RunStore,
    sweep_id: str,
    *,
    max_concurrent: int | None = None,
    owner: str = "",
    on_run_end: RunEnded | None = None,
    poll_seconds: float = 0.2,
    grid: bool = True,
) -> list[str]:
    """Train every point with `max_concurrent` processes (default: one per core), runs that can train together as
    grids (`grid`, see `run_configs`), and wait for all to finish (Ctrl-C cancels the sweep's runs)."""
    return run_configs(
        [point.config for point in points],
        store,
        sweep_id,
        max_concurrent=max_concurrent,
        owner=owner,
        on_run_end=on_run_end,
        poll_seconds=poll_seconds,
        grid=grid,
    )


def run_configs(
    configs: Sequence[RunConfig],
    store: RunStore,
    group_id: str,
    *,
    max_concurrent: int | None = None,
    owner: str = "",
    on_run_end: RunEnded | None = None,
    poll_seconds: float = 0.2,
    grid: bool = True,
    log: Callable[[str], None] | None = None,
) -> list[str]:
    """Train the configs under `group_id` with `max_concurrent` processes at a time (default: one per core) and wait
    for all to finish; returns their run ids in config order (Ctrl-C cancels them). With `grid`, runs that can
    train together (`engine.grid_plan.plan_grids`: same setup but seed, method kd/baseline, T, α, schedules) train
    as grids first, one grid per process, split so every process gets one; the others then train one at a time on
    a private executor. `log` (default: standard error) is told the plan (which runs form grids, why the others
    train alone). The grid modules import torch: imported here, on use."""
    from ..engine.grid_plan import plan_grids
    from .grid_runs import GridJobs, create_grid_runs, describe_plan, log_line

    plan = plan_grids(configs, max_concurrent or default_concurrency()) if grid else None
    if plan is None or not plan.grids:
        return run_singly(configs, store, group_id, max_concurrent, owner, on_run_end, poll_seconds)
    for line in describe_plan(plan, configs):
        (log or log_line)(line)
    grids = create_grid_runs(store, configs, plan, group_id, owner)
    ids: dict[int, str] = {
        p: run_id for grid_ids, positions in zip(grids, plan.grids) for p, run_id in zip(positions, grid_ids)
    }
    grid_ids = [run_id for grid_ids in grids for run_id in grid_ids]
    jobs, reported = GridJobs(store.root, grids, max_concurrent or default_concurrency()), set()
    try:
        while len(reported) < len(grid_ids) and jobs.running():
            wait_for_runs(store, grid_ids, on_run_end, poll_seconds, 1.0, reported=reported, total=len(configs))
    except KeyboardInterrupt:
        for run_id in grid_ids:
            store.request_cancel(run_id)
        raise
    finally:
        jobs.close(store, grid_ids)
    wait_for_runs(store, grid_ids, on_run_end, poll_seconds, reported=reported, total=len(configs))
    singles = [configs[p] for p in plan.singles]
    if singles:
        done = len(reported)

        def shifted(record: RunRecord, finished: int, total: int) -> None:
            if on_run_end is not None:
                on_run_end(record, done + finished, len(configs))

        single_ids = run_singly(singles, store, group_id, max_concurrent, owner, shifted, poll_seconds)
        ids.update(zip(plan.singles, single_ids))
    return [ids[p] for p in range(len(configs))]


def run_singly(
    configs: Sequence[RunConfig],
    store: RunStore,
    group_id: str,
    max_concurrent: int | None,
    owner: str,
    on_run_end: RunEnded | None,
    poll_seconds: float,
) -> list[str]:
    """Queue the configs one run each on a private executor with `max_concurrent` workers and wait for all."""
    from ..executor import Executor

    executor = Executor(store.root, max_workers=max_concurrent or default_concurrency(), poll_seconds=0.1, grids=False)
    run_ids: list[str] = []
    try:
        run_ids.extend(executor.submit_many(list(configs), owner=owner, group_id=group_id))
        wait_for_runs(store, run_ids, on_run_end, poll_seconds)
    except KeyboardInterrupt:
        for run_id in run_ids:
            executor.cancel(run_id)
        wait_for_runs(store, run_ids, None, poll_seconds, timeout=executor.grace_seconds + 5.0)
        raise
    finally:
        executor.shutdown()
    return run_ids


def run_on_ray(points: Sequence[SweepPoint], store: RunStore, sweep_id: str, **options: Any) -> list[str]:
    """The Ray Tune engine (`sweep.ray.run_ray`, which takes `address`, `cpus_per_trial`, `gpus_per_trial`,
    `asha`, `grace_period`), imported only when a sweep uses it."""
    from .ray import run_ray

    return run_ray(points, store, sweep_id, **options)


ENGINES: dict[str, Engine] = {"local": run_local, "ray": run_on_ray}


def run_sweep(
    spec: SweepSpec,
    runs_dir: str | Path,
    *,
    engine: str = "local",
    max_concurrent: int | None = None,
    owner: str = "",
    on_run_end: RunEnded | None = None,
    grid: bool = True,
    **ray_options: Any,
) -> SweepResult:
    """Train every run of `spec` on one of the `ENGINES` and wait for all of them; the runs carry the new
    sweep id as group id. The `local` engine trains runs that can train together as grids unless `grid` is
    False; only the `ray` engine takes options (see `run_on_ray`)."""
    if engine not in ENGINES:
        raise WorkbenchError(f"engine: {engine!r} is not allowed; allowed: {', '.join(ENGINES)}")
    if max_concurrent is not None and max_concurrent < 1:
        raise WorkbenchError(f"max_concurrent: {max_concurrent} is out of range; allowed: at least 1")
    if engine == "local" and ray_options:
        raise WorkbenchError(f"{', '.join(ray_options)}: only used with --engine ray")
    points = expand(spec)
    store = RunStore(runs_dir)
    sweep_id = new_sweep_id()
    save_spec(store, sweep_id, spec, engine)
    begun = time.monotonic()
    options = {"grid": grid} if engine == "local" else ray_options
    run_ids = ENGINES[engine](
        points, store, sweep_id, max_concurrent=max_concurrent, owner=owner, on_run_end=on_run_end, **options
    )
    statuses = {record.id: record.status for record in store.recent_runs(len(run_ids), ids=run_ids)}
    return SweepResult(sweep_id, run_ids, statuses, time.monotonic() - begun)


def submit_points(executor: "Executor", points: Sequence[SweepPoint], sweep_id: str, owner: str = "") -> list[str]:
    """Queue every point on an executor (its concurrency limit applies) under the sweep id; returns run ids. The
    whole batch is refused, nothing queued, when it would pass the server's budgets (`Executor.check_submission`:
    the owner's cap on queued runs, memory, time)."""
    return executor.submit_many([point.config for point in points], owner=owner, group_id=sweep_id)


def submit_sweep(spec: SweepSpec, executor: "Executor", owner: str = "") -> tuple[str, list[str]]:
    """Start a sweep on a running executor without waiting (the app): (sweep id, run ids); refused whole, with one
    line and nothing queued or saved, when it would pass the server's budgets."""
    configs = [point.config for point in expand(spec)]
    executor.check_submission(configs, owner=owner)
    sweep_id = new_sweep_id()
    save_spec(executor.store, sweep_id, spec, "local")
    return sweep_id, executor.submit_many(configs, owner=owner, group_id=sweep_id)


def wait_for_runs(
    store: RunStore,
    run_ids: list[str],
    on_run_end: RunEnded | None,
    poll_seconds: float = 0.2,
    timeout: float | None = None,
    *,
    reported: set[str] | None = None,
    total: int | None = None,
) -> None:
    """Poll the store until every run has finished, calling `on_run_end` once per run as it ends (with the count
    so far and `total`, default the number of runs); `reported` collects the ids reported."""
    reported = reported if reported is not None else set()
    total = total if total is not None else len(run_ids)
    deadline = None if timeout is None else time.monotonic() + timeout
    while len(reported) < len(run_ids):
        for record in store.recent_runs(len(run_ids), ids=run_ids):
            if record.status in FINISHED and record.id not in reported:
                reported.add(record.id)
                if on_run_end is not None:
                    on_run_end(record, len(reported), total)
        if len(reported) < len(run_ids):
            if deadline is not None and time.monotonic() > deadline:
                return
            time.sleep(poll_seconds)


def list_sweeps(store: RunStore, owners: Collection[str] | None = None) -> list[dict[str, Any]]:
    """The sweeps in a store (only those started by `owners`, when given), newest first: id, name (from the
    saved spec), runs and how many are finished and done; counted by the store in one query."""
    sweeps = []
    for group in store.group_counts(SWEEP_PREFIX, owners):
        path = store.root / "sweeps" / f"{group.group_id}.yaml"
        saved = (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}
        sweeps.append(
            {
                "id": group.group_id,
                "name": str(saved.get("name") or group.group_id),
                "runs": group.runs,
                "finished": group.finished,
                "done": group.done,
            }
        )
    return sweeps
