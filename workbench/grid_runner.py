"""Grids as recorded runs: each student of a grid (`engine.grid.fit_grid`) is its own run in the store, with its
step and epoch metrics, live probes, weights and status, ended as soon as it leaves the grid (done, cancelled
through its own flag, diverged). Used by a sweep's grid processes and by the app's executor."""

from __future__ import annotations

import threading
from typing import Callable, Sequence

import torch

from .config import RunConfig
from .engine import Callback, FitResult
from .engine.grid import fit_grid
from .errors import WorkbenchError
from .runner import CancelPoller, StoreRecorder, TeacherStarting, record_internal_error, resolve_teachers
from .store import FINISHED, RunStore


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


def train_grid_recorded(
    store: RunStore,
    run_ids: Sequence[str],
    *,
    callbacks_for: Callable[[str], list[Callback]] | None = None,
    cancel_event: threading.Event | None = None,
    on_teacher: TeacherStarting | None = None,
) -> None:
    """Train the queued runs `run_ids` of `store` together as one grid; every run ends finished. `callbacks_for`
    gives a run's extra callbacks (called first: they may amend its result); `cancel_event` (a time budget) stops
    them all at their next step; a teacher not cached is trained first as a run of their owner's (`on_teacher` is
    told as it starts). A user error ends the unfinished runs failed with its message; an unexpected one
    ends them failed with its last line (and the traceback beside each run)."""
    configs = [RunConfig.from_dict(store.get_run(run_id).config) for run_id in run_ids]
    extra = callbacks_for or (lambda run_id: [])
    try:
        distiller = next((config for config in configs if config.method == "kd"), None)
        owner = store.get_run(run_ids[0]).owner
        given = (
            resolve_teachers(distiller, store, on_teacher=on_teacher, cancel_event=cancel_event, owner=owner)
            if distiller is not None
            else None
        )
        fit_grid(
            configs,
            [[*extra(run_id), StoreRecorder(store, run_id), _Finisher(store, run_id)] for run_id in run_ids],
            teachers=given["teachers"] if given else (),
            teacher_logit_files=given["teacher_logit_files"] if given else None,
            cancels=[CancelPoller(store, run_id, cancel_event) for run_id in run_ids],
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
