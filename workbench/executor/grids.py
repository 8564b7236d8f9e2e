"""Which waiting runs the dispatcher sends to one worker together, to train as a grid (`engine.fit_grid` through
`worker.execute_grid_job`): runs submitted together (one group: a Train page Start over several seeds, a sweep)
by one owner that `engine.grid_plan.plan_grids` puts in one grid."""

from __future__ import annotations

from typing import Sequence

from ..config import RunConfig
from ..errors import WorkbenchError
from ..store import RunStore


def grid_partners(store: RunStore, run_id: str, waiting: Sequence[tuple[str, str]], workers: int) -> list[str]:
    """The waiting runs (of `waiting`'s (run id, kind) pairs) that train in one grid with the queued run `run_id`:
    same group and owner, and in its grid of `plan_grids` over that group's waiting runs split for `workers` idle
    workers; none when it trains alone."""
    lead = store.get_run(run_id)
    if not lead.group_id:
        return []
    others = [other for other, kind in waiting if kind == "run" and other != run_id]
    if not others:
        return []
    group = [
        record
        for record in store.recent_runs(len(others), ids=others)
        if record.group_id == lead.group_id and record.owner == lead.owner and record.status == "queued"
    ]
    if not group:
        return []
    from ..engine.grid_plan import plan_grids  # imports torch: only when a group has runs to plan

    try:
        configs = [RunConfig.from_dict(record.config) for record in (lead, *group)]
        plan = plan_grids(configs, max(1, workers))
    except WorkbenchError:  # a config no grid takes (it trains alone and reports its own error)
        return []
    grid = next((members for members in plan.grids if 0 in members), [])
    return [group[position - 1].id for position in grid if position != 0]
