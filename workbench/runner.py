"""Running a config as a recorded run: the engine's events go to the run store. The run's teachers are resolved
first (`resolve_teachers`); a teacher that is not cached is trained before it as a recorded run of its own
(`train_teacher_recorded`)."""

from __future__ import annotations

import threading
import time
import traceback
from pathlib import Path
from typing import Callable, Iterable, Sequence

import torch

from . import teachers as teacher_cache
from .config import RunConfig
from .engine import Callback, EpochEvent, FitResult, RunInfo, StepEvent, fit
from .engine.probe import ProbeClock
from .errors import WorkbenchError
from .paths import default_runs_dir
from .store import RunStore
from .teachers import FitTeachers, TeacherNotTrained, TeacherRecord, TeacherSpec

# Told when a missing teacher starts training as a run: (its spec, its run id, the run's config) -> the callbacks
# that training reports to as well (a progress bar, a job's step total).
TeacherStarting = Callable[[TeacherSpec, str, RunConfig], Sequence[Callback]]

FLUSH_SECONDS = 0.5


class StoreRecorder(Callback):
    """Writes step metrics (buffered, flushed at least every half second) and epoch metrics to the store, and about
    once a second the student's accuracy on a fixed test subset (scope `probe`: `test_acc`, and `epoch`, the
    fractional epoch it was taken at), so a live chart moves within an epoch."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self._buffer: list[tuple[int, int, str, str, float]] = []
        self._last_flush = float("-inf")  # the first step is written at once: a live chart's first point
        self._probe: Callable[[], float] | None = None
        self._probe_clock = ProbeClock()
        self._steps_per_epoch = 1

    def on_start(self, info: RunInfo) -> None:
        """Mark the run as running; a resumed run drops the metrics of the epochs it redoes."""
        self.store.clear_metrics_after(self.run_id, info.start_epoch)
        self.store.mark_running(self.run_id)
        self._probe, self._steps_per_epoch = info.test_probe, max(1, info.steps_per_epoch)

    def on_step(self, event: StepEvent) -> None:
        """Buffer the step's metrics (and a probe of test accuracy when one is due); flush when the buffer is old
        enough."""
        self._buffer.extend((event.step, event.epoch, "step", name, value) for name, value in event.metrics.items())
        if self._probe is not None and self._probe_clock.due():
            accuracy = self._probe_clock.measure(self._probe)
            self._buffer.append((event.step, event.epoch, "probe", "test_acc", accuracy))
            self._buffer.append((event.step, event.epoch, "probe", "epoch", event.step / self._steps_per_epoch))
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


def teacher_final_metrics(record: TeacherRecord) -> dict[str, float]:
    """The final metrics a teacher's run is remembered by."""
    return {
        "test_acc": record.test_acc,
        "best_test_acc": record.test_acc,
        "train_seconds": record.train_seconds,
        "params": float(record.params),
        "macs": float(record.macs),
        "epochs_done": float(record.epochs),
    }


def train_teacher_recorded(
    spec: TeacherSpec,
    store: RunStore,
    *,
    run_id: str | None = None,
    callbacks: Sequence[Callback] = (),
    cancel_event: threading.Event | None = None,
    device: str = "auto",
    owner: str = "",
    command: str = "",
    output_dir: str | Path | None = None,
) -> tuple[str, TeacherRecord]:
    """Train the teacher `spec` names (`teachers.train_and_cache`) as a recorded run in `store` (a new one unless
    `run_id` is given): every step and epoch recorded, cancellable through the run's flag or `cancel_event`, ended
    done with the weights as its `teacher` artifact. A teacher that does not finish ends its run with that status
    (TeacherNotTrained is raised again); any other error ends it failed and is raised again."""
    if run_id is None:
        config = spec.run_config(device)
        run_id = store.create_run(config.to_dict(), name=config.name, owner=owner)
    try:
        record = teacher_cache.train_and_cache(
            spec,
            device,
            callbacks=[StoreRecorder(store, run_id), *callbacks],
            cancel=CancelPoller(store, run_id, cancel_event),
            output_dir=output_dir,
            command=command,
        )
    except TeacherNotTrained as error:
        store.finish(
            run_id,
            error.status if error.status in ("cancelled", "diverged", "collapsed") else "failed",
            message=str(error),
        )
        raise
    except WorkbenchError as error:
        store.finish(run_id, "failed", message=str(error))
        raise
    except Exception as error:
        record_internal_error(store, run_id, error)
        raise
    store.add_artifact(run_id, "teacher", record.path)
    store.finish(run_id, "done", final_metrics=teacher_final_metrics(record))
    return run_id, record


def _recorded_training(
    store: RunStore, on_teacher: TeacherStarting | None, cancel_event: threading.Event | None, owner: str
) -> teacher_cache.TrainTeacher:
    """A `teachers.TrainTeacher` that trains each missing teacher as a recorded run in `store`."""

    def train(spec: TeacherSpec, device: str) -> TeacherRecord:
        config = spec.run_config(device)
        run_id = store.create_run(config.to_dict(), name=config.name, owner=owner)
        callbacks = list(on_teacher(spec, run_id, config)) if on_teacher is not None else []
        return train_teacher_recorded(
            spec, store, run_id=run_id, callbacks=callbacks, cancel_event=cancel_event, device=device
        )[1]

    return train


def resolve_teachers(
    config: RunConfig,
    store: RunStore | None = None,
    *,
    teachers: Sequence[torch.nn.Module] | None = None,
    on_teacher: TeacherStarting | None = None,
    cancel_event: threading.Event | None = None,
    owner: str = "",
) -> FitTeachers:
    """What `engine.fit` needs for the teachers of `config` (`teachers.resolve_for`; `teachers` replaces the zoo
    teachers), each missing teacher trained first as a recorded run in `store` (the default runs folder when None),
    owned by `owner`; `on_teacher` is told as each starts."""
    store = store if store is not None else RunStore(default_runs_dir())
    return teacher_cache.resolve_for(
        config, teachers=teachers, train=_recorded_training(store, on_teacher, cancel_event, owner)
    )


def cached_or_recorded(
    spec: TeacherSpec,
    store: RunStore,
    *,
    device: str = "auto",
    on_teacher: TeacherStarting | None = None,
    owner: str = "",
) -> TeacherRecord:
    """The record of the teacher `spec` names: from the cache, or trained first as a recorded run in `store`."""
    record = teacher_cache.find_cached(spec)
    return record if record is not None else _recorded_training(store, on_teacher, None, owner)(spec, device)


def prepare_teachers(
    configs: Iterable[RunConfig], store: RunStore, *, on_teacher: TeacherStarting | None = None, owner: str = ""
) -> dict[TeacherSpec, TeacherRecord]:
    """Every teacher the `configs` need, each found in the cache or trained once as a recorded run (before runs that
    train in parallel, so that no two of them train the same teacher); their records by spec."""
    train = _recorded_training(store, on_teacher, None, owner)
    records: dict[TeacherSpec, TeacherRecord] = {}
    for config in configs:
        for spec in teacher_cache.needed_teachers(config):
            if spec not in records:
                records[spec] = teacher_cache.cached_or_trained(spec, config, train)
    return records


def run_recorded(
    config: RunConfig,
    store: RunStore,
    *,
    run_id: str | None = None,
    callbacks: Sequence[Callback] = (),
    cancel_event: threading.Event | None = None,
    resume: bool = False,
    teachers: list[torch.nn.Module] | None = None,
    on_teacher: TeacherStarting | None = None,
) -> tuple[str, FitResult]:
    """Train `config`, recording it in `store` (a new run unless `run_id` is given); returns the id and result.

    The teachers are resolved first (`resolve_teachers`: `teachers` replaces the config's zoo teachers): a teacher
    that is not cached is trained before this run as a recorded run of its own, `on_teacher` told as it starts.
    A user error (WorkbenchError) marks the run failed with its message (cancelled when its teacher's training was
    cancelled) and is raised again; an unexpected error marks it failed with the error's last line and its
    traceback saved beside it."""
    if run_id is None:
        run_id = store.create_run(config.to_dict(), name=config.name)
    folder = store.run_dir(run_id)
    checkpoint = folder / "checkpoint.pt"
    recorder = StoreRecorder(store, run_id)
    try:
        given = resolve_teachers(
            config,
            store,
            teachers=teachers,
            on_teacher=on_teacher,
            cancel_event=cancel_event,
            owner=store.get_run(run_id).owner,
        )
        result = fit(
            config,
            [recorder, *callbacks],
            **given,
            cancel=CancelPoller(store, run_id, cancel_event),
            checkpoint_path=checkpoint,
            resume=resume,
        )
    except TeacherNotTrained as error:
        store.finish(
            run_id,
            "cancelled" if error.status == "cancelled" else "failed",
            message=f"its teacher was not trained: {error}",
        )
        raise
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
