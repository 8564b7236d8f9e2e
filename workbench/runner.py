"""Running a config as a recorded run: the engine's events go to the run store."""
from __future__ import annotations

import threading
import time
import traceback
from pathlib import Path
from typing import Sequence

import torch

from .config import RunConfig
from .engine import Callback, EpochEvent, FitResult, RunInfo, StepEvent, fit
from .errors import WorkbenchError
from .store import RunStore

FLUSH_SECONDS = 0.5


class StoreRecorder(Callback):
    """Writes step metrics (buffered, flushed at least every half second) and epoch metrics to the store."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self._buffer: list[tuple[int, int, str, str, float]] = []
        self._last_flush = float("-inf")  # the first step is written at once: a live chart's first point

    def on_start(self, info: RunInfo) -> None:
        """Mark the run as running; a resumed run drops the metrics of the epochs it redoes."""
        self.store.clear_metrics_after(self.run_id, info.start_epoch)
        self.store.mark_running(self.run_id)

    def on_step(self, event: StepEvent) -> None:
        """Buffer the step's metrics; flush when the buffer is old enough."""
        self._buffer.extend((event.step, event.epoch, "step", name, value) for name, value in event.metrics.items())
        if time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def on_epoch(self, event: EpochEvent) -> None:
        """Write the epoch's metrics (and any buffered step rows) at once, and the epoch's image grids as
        PNG artifacts (`samples_<name>`, replaced each epoch)."""
        self._buffer.extend((event.step, event.epoch, "epoch", name, value) for name, value in event.metrics.items())
        self.flush()
        for name, path in save_sample_grids(self.store.run_dir(self.run_id), event.images).items():
            self.store.add_artifact(self.run_id, f"samples_{name}", path)

    def on_end(self, result: FitResult) -> None:
        """Flush what is left."""
        self.flush()

    def flush(self) -> None:
        """Write the buffered rows in one transaction, and beat the run's heartbeat."""
        rows, self._buffer = self._buffer, []
        self.store.log_metrics(self.run_id, rows)
        self.store.beat(self.run_id)
        self._last_flush = time.monotonic()


def save_sample_grids(folder: Path, images: dict[str, torch.Tensor]) -> dict[str, Path]:
    """Each named image batch (N, C, H, W) as a PNG grid `samples_<name>.png` in `folder`, rescaled to [0, 1]
    by the batch's own minimum and maximum (the images are in the dataset's normalised space)."""
    from torchvision.utils import save_image

    paths: dict[str, Path] = {}
    for name, batch in images.items():
        if batch.numel():
            path = folder / f"samples_{name}.png"
            save_image(batch.detach().float().cpu(), path, nrow=8, normalize=True)
            paths[name] = path
    return paths


class CancelPoller:
    """A cancel check for the engine: a thread event, or a flag in the store polled twice a second."""

    def __init__(self, store: RunStore, run_id: str, event: threading.Event | None = None) -> None:
        self.store, self.run_id, self.event = store, run_id, event
        self._last_poll, self._requested = 0.0, False

    def __call__(self) -> bool:
        if self.event is not None and self.event.is_set():
            return True
        now = time.monotonic()
        if now - self._last_poll >= FLUSH_SECONDS:
            self._last_poll = now
            self._requested = self.store.cancel_requested(self.run_id)
        return self._requested


def record_internal_error(store: RunStore, run_id: str, error: BaseException) -> None:
    """End a run `failed` after an unexpected error: the message is the error's last line (its type and text),
    and the traceback is saved beside the run as traceback.txt."""
    (store.run_dir(run_id) / "traceback.txt").write_text("".join(traceback.format_exception(error)))
    text = " ".join(str(error).split())  # one line, whatever the error's text holds
    store.finish(run_id, "failed", message=f"internal error: {type(error).__name__}: {text}")


def run_recorded(config: RunConfig, store: RunStore, *, run_id: str | None = None,
                 callbacks: Sequence[Callback] = (), cancel_event: threading.Event | None = None,
                 resume: bool = False, teachers: list[torch.nn.Module] | None = None) -> tuple[str, FitResult | None]:
    """Train `config`, recording it in `store` (a new run unless `run_id` is given); returns the id and result.

    A user error (WorkbenchError) marks the run failed with its message and is raised again; an
    unexpected error marks it failed with the error's last line and its traceback saved beside it."""
    if run_id is None:
        run_id = store.create_run(config.to_dict(), name=config.name)
    folder = store.run_dir(run_id)
    checkpoint = folder / "checkpoint.pt"
    recorder = StoreRecorder(store, run_id)
    try:
        result = fit(config, [recorder, *callbacks], teachers=teachers, cancel=CancelPoller(store, run_id, cancel_event),
                     checkpoint_path=checkpoint, resume=resume)
    except WorkbenchError as error:
        store.finish(run_id, "failed", message=str(error))
        raise
    except Exception as error:
        record_internal_error(store, run_id, error)
        raise
    if checkpoint.exists():
        store.add_artifact(run_id, "checkpoint", checkpoint)
    if result.status in ("done", "collapsed"):  # a collapsed student trained every epoch: its weights can be studied
        weights = folder / "student.pt"
        torch.save({k: v.cpu() for k, v in result.student.state_dict().items()}, weights)
        store.add_artifact(run_id, "student", weights)
    store.finish(run_id, result.status, final_metrics=result.final_metrics, message=result.message)
    return run_id, result
