"""Teachers trained once and cached on disk, keyed by architecture, dataset, recipe and seed.

Lookup order: the user's cache (<data_dir>/teachers), then the small teachers shipped inside the
package (workbench/pretrained). A missing teacher is trained with the dataset's recipe when allowed."""
from __future__ import annotations

import hashlib
import json
import pickle
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from .config import RunConfig
from .data import dataset_info
from .errors import ModelMismatch, WorkbenchError
from .models import count_macs, count_params, create_model, load_state_dict_checked
from .paths import default_data_dir

PACKAGED_DIR = Path(__file__).parent / "pretrained"

# How a teacher is trained on each dataset: a baseline run with these config fields.
RECIPES: dict[str, dict[str, Any]] = {
    "digits": {"epochs": 30, "batch_size": 64, "optimizer": "sgd", "lr": 0.05, "lr_schedule": "cosine", "augment": "none"},
    "fashion-mnist": {"epochs": 4, "batch_size": 128, "optimizer": "sgd", "lr": 0.05, "lr_schedule": "cosine", "augment": "none"},
    "mnist": {"epochs": 8, "batch_size": 128, "optimizer": "sgd", "lr": 0.05, "lr_schedule": "cosine", "augment": "none"},
    "cifar10": {"epochs": 120, "batch_size": 128, "optimizer": "sgd", "lr": 0.1, "lr_schedule": "cosine", "augment": "crop,flip"},
    "cifar100": {"epochs": 120, "batch_size": 128, "optimizer": "sgd", "lr": 0.1, "lr_schedule": "cosine", "augment": "crop,flip"},
    "svhn": {"epochs": 30, "batch_size": 128, "optimizer": "sgd", "lr": 0.05, "lr_schedule": "cosine", "augment": "crop"},
}
RECIPE_NAME = "default"
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


def find_teacher(arch: str, dataset: str, seed: int, data_dir: str | Path | None = None) -> TeacherRecord | None:
    """The record of a cached or packaged teacher, or None when there is none."""
    key = teacher_key(arch, dataset, seed)
    for folder, packaged in ((cache_dir(data_dir), False), (PACKAGED_DIR, True)):
        meta, weights = folder / f"{key}.json", folder / f"{key}.pt"
        if meta.exists() and weights.exists():
            record = TeacherRecord(**json.loads(meta.read_text()))
            record.path, record.packaged = str(weights), packaged
            return record
    return None


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
    info = dataset_info(dataset)
    model = create_model(arch, info.num_classes, info.in_channels, info.image_size)
    state = read_state_file(Path(path), _weights_bytes(model))
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    classifier = state.get("classifier.weight") if isinstance(state, dict) else None
    if isinstance(classifier, torch.Tensor) and classifier.ndim == 2 and classifier.shape[0] != info.num_classes:
        raise ModelMismatch(f"teacher: the state_dict has {classifier.shape[0]} output classes but {dataset} has "
                            f"{info.num_classes}; use a teacher trained on {dataset}")
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
        raise ModelMismatch(f"teacher_checkpoint: {path} is {size / 2**20:.1f} MB, too large for this teacher's "
                            f"{weights_bytes / 2**20:.1f} MB of weights (at most {limit / 2**20:.1f} MB is read)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except pickle.UnpicklingError as error:
        if "unsupported global" in str(error).lower():  # a valid pickle of classes, not of tensors alone
            raise ModelMismatch(f"teacher_checkpoint: {path} holds Python objects besides tensors (a whole pickled "
                                "model?); save model.state_dict() with torch.save and use that") from None
        raise ModelMismatch(f"teacher_checkpoint: {path} is not a readable PyTorch state_dict (corrupt)") from None
    except Exception:  # torch raises many types for corrupt or foreign files
        raise ModelMismatch(f"teacher_checkpoint: {path} is not a readable PyTorch state_dict (corrupt, or not "
                            "written by torch.save)") from None


def check_teacher_checkpoint(config: RunConfig) -> float:
    """The test accuracy of the first teacher loaded from config.teacher_checkpoint; ModelMismatch when it is at
    chance on config.dataset (a teacher trained on another dataset fits the shapes but teaches nothing)."""
    from .uploads import measure_test_accuracy

    teacher = load_teacher_weights(config.teacher, config.dataset, config.teacher_checkpoint)
    accuracy = measure_test_accuracy(teacher, config.dataset)
    classes = dataset_info(config.dataset).num_classes
    if accuracy < CHANCE_FACTOR / classes:
        raise ModelMismatch(f"teacher_checkpoint: {config.teacher_checkpoint} scores {accuracy:.1%} on the "
                            f"{config.dataset} test split, chance is {1 / classes:.0%}; is it a teacher for another "
                            "dataset?")
    return accuracy


def train_teacher(arch: str, dataset: str, seed: int = 0, *, data_dir: str | Path | None = None,
                  callbacks: Sequence[Any] = (), device: str = "auto", epochs: int | None = None,
                  output_dir: str | Path | None = None, command: str = "") -> TeacherRecord:
    """Train a teacher with the dataset's recipe and store it in the cache (or `output_dir`)."""
    from .engine import fit

    recipe = dict(RECIPES[dataset])
    if epochs is not None:
        recipe["epochs"] = epochs
    config = RunConfig.from_dict({"dataset": dataset, "student": arch, "method": "baseline", "seed": seed,
                                  "device": device, "name": f"teacher {arch}", **recipe})
    started = time.perf_counter()
    result = fit(config, callbacks)
    seconds = time.perf_counter() - started
    if result.status != "done":
        raise WorkbenchError(f"teacher training {result.status}: {result.message}")
    info = dataset_info(dataset)
    folder = Path(output_dir) if output_dir else cache_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    key = teacher_key(arch, dataset, seed)
    weights = folder / f"{key}.pt"
    torch.save({k: v.cpu() for k, v in result.student.state_dict().items()}, weights)
    record = TeacherRecord(
        arch=arch, dataset=dataset, recipe=RECIPE_NAME, seed=seed, test_acc=result.final_metrics["test_acc"],
        train_seconds=round(seconds, 2), params=count_params(result.student),
        macs=count_macs(result.student, info.in_channels, info.image_size), epochs=recipe["epochs"],
        command=command or f"kdw teachers train --dataset {dataset} --arch {arch} --seed {seed}",
        created=time.strftime("%Y-%m-%d %H:%M:%S"), torch_version=torch.__version__)
    meta = {k: v for k, v in asdict(record).items() if k not in ("path", "packaged")}
    (folder / f"{key}.json").write_text(json.dumps(meta, indent=2) + "\n")
    record.path = str(weights)
    return record


def get_teacher(arch: str, dataset: str, seed: int = 0, *, device: torch.device | str = "cpu",
                data_dir: str | Path | None = None, train_if_missing: bool = True,
                callbacks: Sequence[Any] = ()) -> tuple[nn.Module, TeacherRecord]:
    """A frozen teacher from the cache, trained first when missing (and allowed)."""
    record = find_teacher(arch, dataset, seed, data_dir)
    if record is None:
        if not train_if_missing:
            raise WorkbenchError(f"teacher: no cached {arch} teacher for {dataset} (seed {seed}); "
                                 f"train one with: kdw teachers train --dataset {dataset} --arch {arch} --seed {seed}")
        record = train_teacher(arch, dataset, seed, data_dir=data_dir, callbacks=callbacks)
    return load_teacher_weights(arch, dataset, record.path, device), record


def load_teachers(config: RunConfig, *, device: torch.device | str = "cpu",
                  data_dir: str | Path | None = None) -> tuple[list[nn.Module], list[Path]]:
    """The teachers a run config names (the first from teacher_checkpoint when given, the rest from the
    cache), and each one's weights file (which keys its logit caches, see `logits_cache_file`)."""
    teachers, weight_files = [], []
    for position, arch in enumerate(config.teachers):
        if position == 0 and config.teacher_checkpoint:
            weights = Path(config.teacher_checkpoint)
            teachers.append(load_teacher_weights(arch, config.dataset, weights, device))
        else:
            model, record = get_teacher(arch, config.dataset, config.teacher_seed, device=device, data_dir=data_dir)
            teachers.append(model)
            weights = Path(record.path)
        weight_files.append(weights)
    return teachers, weight_files


def logits_cache_file(weights: Path, dataset: str, split: str, data_dir: str | Path | None = None) -> Path:
    """Where a teacher's logits on a split (e.g. 'train-all', 'train-400', 'test') are cached: keyed by its
    weights file (path, size, time) and the split, so retraining or replacing the teacher never reuses
    stale logits."""
    stat = weights.stat()
    fingerprint = hashlib.sha256(f"{weights.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return cache_dir(data_dir) / "logits" / f"{dataset}__{split}__{weights.stem}__{fingerprint}.pt"
