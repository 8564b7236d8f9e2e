"""The teacher cache: records of cached and packaged teachers, finding and loading one, and `train_and_cache`, the
one function that trains every teacher."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import torch
from torch import nn

from ..errors import WorkbenchError
from ..models import count_macs, count_params
from ..paths import default_data_dir
from .files import load_weights_for
from .spec import TeacherSpec

if TYPE_CHECKING:
    from ..engine import Callback

PACKAGED_DIR = Path(__file__).parent.parent / "pretrained"


@dataclass
class TeacherRecord:
    """What is known about a cached teacher: where it came from and how good it is."""

    arch: str
    dataset: str
    recipe: str
    seed: int
    test_acc: float
    train_seconds: float
    params: int
    macs: int
    epochs: int
    command: str
    created: str
    torch_version: str
    path: str = ""
    packaged: bool = False


def cache_dir(data_dir: str | Path | None = None) -> Path:
    """The user's teacher cache folder."""
    return Path(data_dir or default_data_dir()) / "teachers"


def list_teachers(data_dir: str | Path | None = None) -> list[TeacherRecord]:
    """Every cached and packaged teacher (a cached one hides a packaged one with the same key)."""
    found: dict[str, TeacherRecord] = {}
    for folder, packaged in ((PACKAGED_DIR, True), (cache_dir(data_dir), False)):
        for meta in sorted(folder.glob("*.json")):
            weights = meta.with_suffix(".pt")
            if weights.exists():
                record = TeacherRecord(**json.loads(meta.read_text()))
                record.path, record.packaged = str(weights), packaged
                found[meta.stem] = record
    return list(found.values())


class TeacherNotTrained(WorkbenchError):
    """Teacher training ended other than done (`status`: cancelled, diverged, collapsed); nothing was cached."""

    def __init__(self, message: str, status: str) -> None:
        super().__init__(message)
        self.status = status


class TeacherMissing(WorkbenchError):
    """A teacher a run needs is not cached, and the caller gave no way to train it."""


def find_cached(spec: TeacherSpec, data_dir: str | Path | None = None) -> TeacherRecord | None:
    """The record of the cached (or packaged) teacher `spec` names, or None when there is none."""
    for folder, packaged in ((cache_dir(data_dir), False), (PACKAGED_DIR, True)):
        meta, weights = folder / f"{spec.key}.json", folder / f"{spec.key}.pt"
        if meta.exists() and weights.exists():
            record = TeacherRecord(**json.loads(meta.read_text()))
            record.path, record.packaged = str(weights), packaged
            return record
    return None


def find_teacher(arch: str, dataset: str, seed: int, data_dir: str | Path | None = None) -> TeacherRecord | None:
    """The record of a cached or packaged zoo teacher, or None when there is none."""
    return find_cached(TeacherSpec(arch, dataset, seed), data_dir)


def load_cached(spec: TeacherSpec, record: TeacherRecord, device: torch.device | str = "cpu") -> nn.Module:
    """The teacher network of a cached record, its weights checked to fit, in eval mode."""
    return load_weights_for(spec.arch, spec.info(), record.path, device)


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write a file through a temporary one renamed over it, so a concurrent reader never sees half a file."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(temporary)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def train_and_cache(
    spec: TeacherSpec,
    device: str = "auto",
    *,
    callbacks: Sequence[Callback] = (),
    cancel: Callable[[], bool] | None = None,
    data_dir: str | Path | None = None,
    output_dir: str | Path | None = None,
    command: str = "",
) -> TeacherRecord:
    """Train the teacher `spec` names and store it in the cache (or `output_dir`): the one function that trains every
    teacher, zoo and glyph alike, wherever the training is asked for (`kdw teachers train`, the app's teacher jobs, a
    run whose teacher is missing). The weights, then the JSON record, are each written atomically; the global random
    state is left as it was. The training time of a glyph teacher includes rendering its glyphs.

    `device` is where it trains ('auto', 'cpu', ...), `callbacks` get the training's events, `cancel` is polled
    between steps; TeacherNotTrained when training ends other than done. Unrecorded: `runner.train_teacher_recorded`
    records it as a run."""
    from ..engine import fit
    from ..engine.device import resolve_device

    config = spec.run_config(device)
    started = time.perf_counter()
    with torch.random.fork_rng():
        data = spec.training_data(resolve_device(device))
        result = fit(config, callbacks, dataset=data, cancel=cancel)
    seconds = time.perf_counter() - started
    if result.status != "done":
        raise TeacherNotTrained(
            f"{spec.label}: training {result.status}" + (f": {result.message}" if result.message else ""), result.status
        )
    info = spec.info()
    folder = Path(output_dir) if output_dir else cache_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / f"{spec.key}.pt"
    state = {name: value.cpu() for name, value in result.student.state_dict().items()}
    _write_atomically(weights, lambda path: torch.save(state, path))
    record = TeacherRecord(
        arch=spec.arch,
        dataset=spec.cache_dataset,
        recipe=spec.recipe,
        seed=spec.seed,
        test_acc=result.final_metrics["test_acc"],
        train_seconds=round(seconds, 2),
        params=count_params(result.student),
        macs=count_macs(result.student, info.in_channels, info.image_size),
        epochs=config.epochs,
        command=command or spec.default_command(),
        created=time.strftime("%Y-%m-%d %H:%M:%S"),
        torch_version=torch.__version__,
    )
    meta = {name: value for name, value in asdict(record).items() if name not in ("path", "packaged")}
    _write_atomically(folder / f"{spec.key}.json", lambda path: path.write_text(json.dumps(meta, indent=2) + "\n"))
    record.path = str(weights)
    return record


def get_teacher(
    arch: str,
    dataset: str,
    seed: int = 0,
    *,
    device: torch.device | str = "cpu",
    data_dir: str | Path | None = None,
    train_if_missing: bool = True,
    callbacks: Sequence[Any] = (),
) -> tuple[nn.Module, TeacherRecord]:
    """A frozen zoo teacher from the cache, trained first (without a run record) when missing and allowed."""
    spec = TeacherSpec(arch, dataset, seed)
    record = find_cached(spec, data_dir)
    if record is None:
        if not train_if_missing:
            raise TeacherMissing(
                f"teacher: no cached {arch} teacher for {dataset} (seed {seed}); "
                f"train one with: kdw teachers train --dataset {dataset} --arch {arch} --seed {seed}"
            )
        record = train_and_cache(spec, data_dir=data_dir, callbacks=callbacks)
    return load_cached(spec, record, device), record
