"""Teachers trained once and cached on disk, keyed by architecture, dataset, recipe and seed.

Lookup order: the user's cache (<data_dir>/teachers), then the small teachers shipped in the package
(workbench/pretrained). A teacher is named by a `TeacherSpec`: a zoo teacher (the dataset's recipe) or LW-KD's
glyph teacher (trained on rendered glyphs shaped like the dataset). `train_and_cache` is the one function that
trains either; `resolve_for(config)` gives what `engine.fit` needs for a config's teachers, training a missing one
only through the `train` function it is given (`runner.resolve_teachers` passes one that records the training as a
run of its own)."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import time
import uuid
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypedDict

import torch
from torch import nn

from .config import RunConfig
from .data import DatasetInfo, dataset_info
from .engine.teacher_bank import GlyphTeacher, TeacherLogitFiles
from .errors import ModelMismatch, WorkbenchError
from .methods import get_method
from .models import count_macs, count_params, create_model, load_state_dict_checked
from .paths import default_data_dir

if TYPE_CHECKING:
    from .data import LoadedDataset
    from .engine import Callback

PACKAGED_DIR = Path(__file__).parent / "pretrained"

# How a teacher is trained on each dataset: a baseline run with these config fields.
RECIPES: dict[str, dict[str, Any]] = {
    "digits": {
        "epochs": 30,
        "batch_size": 64,
        "optimizer": "sgd",
        "lr": 0.05,
        "lr_schedule": "cosine",
        "augment": "none",
    },
    "fashion-mnist": {
        "epochs": 4,
        "batch_size": 128,
        "optimizer": "sgd",
        "lr": 0.05,
        "lr_schedule": "cosine",
        "augment": "none",
    },
    "mnist": {
        "epochs": 8,
        "batch_size": 128,
        "optimizer": "sgd",
        "lr": 0.05,
        "lr_schedule": "cosine",
        "augment": "none",
    },
    "cifar10": {
        "epochs": 120,
        "batch_size": 128,
        "optimizer": "sgd",
        "lr": 0.1,
        "lr_schedule": "cosine",
        "augment": "crop,flip",
    },
    "cifar100": {
        "epochs": 120,
        "batch_size": 128,
        "optimizer": "sgd",
        "lr": 0.1,
        "lr_schedule": "cosine",
        "augment": "crop,flip",
    },
    "svhn": {
        "epochs": 30,
        "batch_size": 128,
        "optimizer": "sgd",
        "lr": 0.05,
        "lr_schedule": "cosine",
        "augment": "crop",
    },
}
RECIPE_NAME = "default"
# How LW-KD's glyph teacher is trained on its rendered glyphs (recipe name "glyphs<per class>").
GLYPH_RECIPE: dict[str, Any] = {
    "epochs": 6,
    "batch_size": 64,
    "lr": 0.05,
    "lr_schedule": "cosine",
    "augment": "none",
    "optimizer": "sgd",
}
CHECKPOINT_SIZE_FACTOR = 4  # a teacher file may hold up to 4x its weights (a wrapper, optimiser state) plus 1 MiB
CHECKPOINT_SLACK_BYTES = 2**20
CHANCE_FACTOR = 1.5  # a teacher below this multiple of 1 / classes on the test split is at chance


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


def teacher_key(arch: str, dataset: str, seed: int, recipe: str = RECIPE_NAME) -> str:
    """The file stem a teacher is stored under."""
    return f"{dataset}__{arch.replace(':', '-w')}__{recipe}__s{seed}"


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


def load_teacher_weights(arch: str, dataset: str, path: str | Path, device: torch.device | str = "cpu") -> nn.Module:
    """A zoo model of `arch` for `dataset` with weights from a state_dict file, checked to fit."""
    return _load_weights(arch, dataset_info(dataset), path, device)


def _load_weights(arch: str, info: DatasetInfo, path: str | Path, device: torch.device | str = "cpu") -> nn.Module:
    """A zoo model of `arch` for the data `info` describes, with weights from a state_dict file, checked to fit."""
    model = create_model(arch, info.num_classes, info.in_channels, info.image_size)
    state = read_state_file(Path(path), _weights_bytes(model))
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    classifier = state.get("classifier.weight") if isinstance(state, dict) else None
    if isinstance(classifier, torch.Tensor) and classifier.ndim == 2 and classifier.shape[0] != info.num_classes:
        raise ModelMismatch(
            f"teacher: the state_dict has {classifier.shape[0]} output classes but {info.name} has "
            f"{info.num_classes}; use a teacher trained on {info.name}"
        )
    load_state_dict_checked(model, state)
    return model.to(device).eval()


def _weights_bytes(model: nn.Module) -> int:
    """How many bytes a model's state_dict tensors take."""
    return sum(tensor.numel() * tensor.element_size() for tensor in model.state_dict().values())


def read_state_file(path: Path, weights_bytes: int) -> Any:
    """What a teacher weights file holds, loaded with weights_only (memory-mapped when it is a zip archive) once its
    size fits a model of `weights_bytes`; each problem is one ModelMismatch/WorkbenchError line of our own."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise WorkbenchError(f"teacher_checkpoint: no file at {path}") from None
    except OSError as error:
        raise WorkbenchError(f"teacher_checkpoint: cannot read {path}: {error.strerror}") from None
    limit = CHECKPOINT_SIZE_FACTOR * weights_bytes + CHECKPOINT_SLACK_BYTES
    if size > limit:
        raise ModelMismatch(
            f"teacher_checkpoint: {path} is {size / 2**20:.1f} MB, too large for this teacher's "
            f"{weights_bytes / 2**20:.1f} MB of weights (at most {limit / 2**20:.1f} MB is read)"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except pickle.UnpicklingError as error:
        if "unsupported global" in str(error).lower():  # a valid pickle of classes, not of tensors alone
            raise ModelMismatch(
                f"teacher_checkpoint: {path} holds Python objects besides tensors (a whole pickled "
                "model?); save model.state_dict() with torch.save and use that"
            ) from None
        raise ModelMismatch(f"teacher_checkpoint: {path} is not a readable PyTorch state_dict (corrupt)") from None
    except Exception:  # torch raises many types for corrupt or foreign files
        raise ModelMismatch(
            f"teacher_checkpoint: {path} is not a readable PyTorch state_dict (corrupt, or not written by torch.save)"
        ) from None


def check_teacher_checkpoint(config: RunConfig) -> float:
    """The test accuracy of the first teacher loaded from config.teacher_checkpoint; ModelMismatch when it is at
    chance on config.dataset (a teacher trained on another dataset fits the shapes but teaches nothing)."""
    from .uploads import measure_test_accuracy

    teacher = load_teacher_weights(config.teacher, config.dataset, config.teacher_checkpoint)
    accuracy = measure_test_accuracy(teacher, config.dataset)
    classes = dataset_info(config.dataset).num_classes
    if accuracy < CHANCE_FACTOR / classes:
        raise ModelMismatch(
            f"teacher_checkpoint: {config.teacher_checkpoint} scores {accuracy:.1%} on the "
            f"{config.dataset} test split, chance is {1 / classes:.0%}; is it a teacher for another "
            "dataset?"
        )
    return accuracy


@dataclass(frozen=True)
class TeacherSpec:
    """A teacher to find in the cache or train: `arch` for `dataset` under `seed`, trained by the dataset's recipe
    (a zoo teacher) or, with `glyphs_per_class`, on that many rendered glyphs per class shaped like `dataset`
    (LW-KD's glyph teacher, cached as dataset `glyphs-<dataset>`). `epochs` overrides a zoo recipe's epochs."""

    arch: str
    dataset: str
    seed: int = 0
    glyphs_per_class: int = 0
    epochs: int | None = None

    @property
    def glyph(self) -> bool:
        """Whether this is a glyph teacher."""
        return self.glyphs_per_class > 0

    @property
    def cache_dataset(self) -> str:
        """The dataset name the teacher is cached and recorded under."""
        return f"glyphs-{self.dataset}" if self.glyph else self.dataset

    @property
    def recipe(self) -> str:
        """The recipe name in the teacher's key: 'default', or 'glyphs<per class>' for a glyph teacher."""
        return f"glyphs{self.glyphs_per_class}" if self.glyph else RECIPE_NAME

    @property
    def key(self) -> str:
        """The file stem the teacher is stored under."""
        return teacher_key(self.arch, self.cache_dataset, self.seed, self.recipe)

    @property
    def label(self) -> str:
        """How messages name it, e.g. 'teacher cnn:33 for fashion-mnist'."""
        seed = f" (seed {self.seed})" if self.seed else ""
        return f"{'glyph teacher' if self.glyph else 'teacher'} {self.arch} for {self.dataset}{seed}"

    def info(self) -> DatasetInfo:
        """The facts of the data it is trained on (the glyphs' for a glyph teacher)."""
        if self.glyph:
            from .glyphs import glyph_info

            return glyph_info(self.dataset)
        return dataset_info(self.dataset)

    def run_config(self, device: str = "auto") -> RunConfig:
        """The baseline run that trains it (recorded as the teacher's run)."""
        if self.glyph:
            recipe, name = dict(GLYPH_RECIPE), f"glyph teacher {self.arch} ({self.dataset})"
        else:
            if self.dataset not in RECIPES:
                raise WorkbenchError(f"teacher: no training recipe for dataset {self.dataset!r}")
            recipe, name = dict(RECIPES[self.dataset]), f"teacher {self.arch} ({self.dataset})"
            if self.epochs is not None:
                recipe["epochs"] = self.epochs
        return RunConfig.from_dict(
            {
                "dataset": self.dataset,
                "student": self.arch,
                "teachers": [self.arch],
                "method": "baseline",
                "seed": self.seed,
                "device": device,
                "name": name,
                **recipe,
            }
        )

    def training_data(self, device: torch.device) -> LoadedDataset | None:
        """The rendered glyphs a glyph teacher trains on (None: a zoo teacher trains on its dataset)."""
        if not self.glyph:
            return None
        from .glyphs import glyph_dataset

        return glyph_dataset(self.dataset, per_class=self.glyphs_per_class, seed=self.seed, device=device)

    def default_command(self) -> str:
        """What a record says made it, when the caller does not say."""
        if self.glyph:
            return f"kdw train --method lwkd --dataset {self.dataset} (trained on first use)"
        return f"kdw teachers train --dataset {self.dataset} --arch {self.arch} --seed {self.seed}"


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
    return _load_weights(spec.arch, spec.info(), record.path, device)


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
    from .engine import fit
    from .engine.device import resolve_device

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


# Trains a missing teacher on a device ("auto", "cpu", ...) and returns its record: `train_and_cache` itself
# (unrecorded), or the recorded training `runner.resolve_teachers` passes.
TrainTeacher = Callable[[TeacherSpec, str], TeacherRecord]


class FitTeachers(TypedDict):
    """The keyword arguments of `engine.fit` that carry a run's teachers."""

    teachers: list[nn.Module]
    teacher_logit_files: TeacherLogitFiles | None
    glyph_teacher: GlyphTeacher | None


def needed_teachers(config: RunConfig) -> list[TeacherSpec]:
    """The cached teachers a run of `config` needs: its zoo teachers when its method needs teachers (the first is
    not among them when it comes from teacher_checkpoint), then the glyph teacher its method declares."""
    method = get_method(config.method)
    specs = []
    if method.teacher_need in ("one", "several"):
        specs = [
            TeacherSpec(arch, config.dataset, config.teacher_seed)
            for position, arch in enumerate(config.teachers)
            if not (position == 0 and config.teacher_checkpoint)
        ]
    glyph = method.glyph_teacher_spec(config.method_params)
    if glyph is not None:
        arch, per_class, seed = glyph
        specs.append(TeacherSpec(arch, config.dataset, seed, glyphs_per_class=per_class))
    return specs


def training_device(spec: TeacherSpec, config: RunConfig) -> str:
    """Where a run's missing teacher is trained: a zoo teacher wherever is fastest ('auto', as `kdw teachers train`
    does), a glyph teacher (seconds of training) on the run's own device."""
    return config.device if spec.glyph else "auto"


def cached_or_trained(
    spec: TeacherSpec, config: RunConfig, train: TrainTeacher | None = None, data_dir: str | Path | None = None
) -> TeacherRecord:
    """The record of the teacher `spec` names, trained first by `train` when it is not cached; TeacherMissing when
    it is not cached and there is no `train`."""
    record = find_cached(spec, data_dir)
    if record is not None:
        return record
    if train is None:
        hint = (
            f"kdw teachers train --dataset {spec.dataset} --arch {spec.arch} --seed {spec.seed}"
            if not spec.glyph
            else "kdw train (it trains the glyph teacher first)"
        )
        raise TeacherMissing(f"teacher: {spec.label} is not cached; train it first with: {hint}")
    return train(spec, training_device(spec, config))


def resolve_for(
    config: RunConfig,
    *,
    train: TrainTeacher | None = None,
    teachers: Sequence[nn.Module] | None = None,
    device: torch.device | str = "cpu",
    data_dir: str | Path | None = None,
) -> FitTeachers:
    """What `engine.fit` needs for the teachers of a run of `config`: `fit(config, callbacks, **resolve_for(config))`.

    The zoo teachers when the method needs teachers (the first from teacher_checkpoint when given, the rest from
    the cache), with each one's teacher-logit cache files (keyed by its weights file); `teachers` replaces them
    (modules in hand, e.g. the previous generation's student; no cache files then). Then the glyph teacher the
    method declares. A teacher that is not cached is trained by `train` (TeacherMissing without one)."""
    method = get_method(config.method)
    models: list[nn.Module] = []
    files = None
    if teachers is not None:
        models = list(teachers)
    elif method.teacher_need in ("one", "several"):
        weights = []
        for position, arch in enumerate(config.teachers):
            if position == 0 and config.teacher_checkpoint:
                path = Path(config.teacher_checkpoint)
            else:
                path = Path(
                    cached_or_trained(
                        TeacherSpec(arch, config.dataset, config.teacher_seed), config, train, data_dir
                    ).path
                )
            models.append(load_teacher_weights(arch, config.dataset, path, device))
            weights.append(path)
        split = f"train-{config.train_subset or 'all'}" + "".join(f"-omit{c}" for c in config.omit_classes)
        files = TeacherLogitFiles(
            [logits_cache_file(w, config.dataset, split, data_dir) for w in weights],
            [logits_cache_file(w, config.dataset, "test", data_dir) for w in weights],
        )
    glyph = None
    glyph_spec = next((spec for spec in needed_teachers(config) if spec.glyph), None)
    if glyph_spec is not None:
        record = cached_or_trained(glyph_spec, config, train, data_dir)
        glyph = GlyphTeacher(load_cached(glyph_spec, record, device), record.test_acc, record.train_seconds)
    return {"teachers": models, "teacher_logit_files": files, "glyph_teacher": glyph}


def logits_cache_file(weights: Path, dataset: str, split: str, data_dir: str | Path | None = None) -> Path:
    """Where a teacher's logits on a split (e.g. 'train-all', 'train-400', 'test') are cached: keyed by its
    weights file (path, size, time) and the split, so retraining or replacing the teacher never reuses
    stale logits."""
    stat = weights.stat()
    fingerprint = hashlib.sha256(f"{weights.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return cache_dir(data_dir) / "logits" / f"{dataset}__{split}__{weights.stem}__{fingerprint}.pt"
