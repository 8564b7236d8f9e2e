"""Teacher weights files: reading one safely (size checked against the architecture before it is loaded,
weights_only, memory-mapped), fitting it to a zoo model, and refusing one at chance on the run's dataset."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..data import DatasetInfo, dataset_info
from ..errors import ModelMismatch, WorkbenchError
from ..models import create_model, load_state_dict_checked

if TYPE_CHECKING:
    from ..config import RunConfig

CHECKPOINT_SIZE_FACTOR = 4  # a teacher file may hold up to 4x its weights (a wrapper, optimiser state) plus 1 MiB
CHECKPOINT_SLACK_BYTES = 2**20
CHANCE_FACTOR = 1.5  # a teacher below this multiple of 1 / classes on the test split is at chance


def load_teacher_weights(arch: str, dataset: str, path: str | Path, device: torch.device | str = "cpu") -> nn.Module:
    """A zoo model of `arch` for `dataset` with weights from a state_dict file, checked to fit."""
    return load_weights_for(arch, dataset_info(dataset), path, device)


def load_weights_for(arch: str, info: DatasetInfo, path: str | Path, device: torch.device | str = "cpu") -> nn.Module:
    """A zoo model of `arch` for the data `info` describes, with weights from a state_dict file, checked to fit."""
    model = create_model(arch, info.num_classes, info.in_channels, info.image_size)
    state = read_state_file(Path(path), weights_bytes(model))
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


def weights_bytes(model: nn.Module) -> int:
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
    from ..uploads import measure_test_accuracy

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
