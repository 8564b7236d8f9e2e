"""Checking an uploaded teacher state_dict before anything uses it: size, format, fit to the architecture.

Every problem is one WorkbenchError naming what is wrong; a file is written (under the uploads folder)
only once every check has passed, so a bad upload changes nothing."""

from __future__ import annotations

import contextlib
import hashlib
import io
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from .data import dataset_info, load_dataset
from .errors import ModelMismatch, WorkbenchError
from .models import count_params, create_model, load_state_dict_checked


@dataclass
class UploadedTeacher:
    """An accepted upload: where its weights now are, what they fit, and how good they are."""

    path: Path
    arch: str
    dataset: str
    params: int
    test_acc: float


def read_state_dict(data: bytes, filename: str) -> Mapping[str, torch.Tensor]:
    """The state_dict in the bytes of a .pt file (a {'state_dict': ...} wrapper is unwrapped)."""
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "unsupported global" in str(error).lower():  # a valid pickle of classes, not of tensors alone
            raise WorkbenchError(
                f"upload: {filename} holds Python objects besides tensors (a whole pickled "
                "model?); save model.state_dict() with torch.save and upload that"
            ) from None
        raise WorkbenchError(f"upload: {filename} is corrupt or not a file written by torch.save") from None
    except Exception:  # torch raises many types for corrupt or foreign files
        raise WorkbenchError(f"upload: {filename} is corrupt or not a file written by torch.save") from None
    if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise WorkbenchError(
            f"upload: {filename} holds a {type(state).__name__}, not a state_dict "
            "(a dict of parameter names to tensors)"
        )
    return state


def accept_teacher_upload(
    data: bytes, filename: str, arch: str, dataset: str, *, uploads_dir: str | Path, limit_mb: float
) -> UploadedTeacher:
    """Check an uploaded state_dict against `arch` on `dataset`, measure its test accuracy and keep it.

    Raises WorkbenchError (or its ModelMismatch) with one line when the file is too large, empty, not a
    state_dict, corrupt, or does not fit the architecture; nothing is written then."""
    size_mb = len(data) / 2**20
    if size_mb > limit_mb:
        raise WorkbenchError(
            f"upload: {filename} is {size_mb:.1f} MB, over the {limit_mb:g} MB upload limit (a setting in the sidebar)"
        )
    if not data:
        raise WorkbenchError(f"upload: {filename} is empty")
    state = read_state_dict(data, filename)
    info = dataset_info(dataset)
    model = create_model(arch, info.num_classes, info.in_channels, info.image_size)
    classifier = state.get("classifier.weight")
    if isinstance(classifier, torch.Tensor) and classifier.ndim == 2 and classifier.shape[0] != info.num_classes:
        raise ModelMismatch(
            f"upload: {filename} has {classifier.shape[0]} output classes but {dataset} has {info.num_classes}"
        )
    try:
        load_state_dict_checked(model, dict(state))
    except ModelMismatch as error:
        raise ModelMismatch(f"upload: {filename}: {error}") from None
    accuracy = measure_test_accuracy(model.eval(), dataset)
    digest = hashlib.sha256(data).hexdigest()[:12]
    folder = Path(uploads_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{dataset}__{arch.replace(':', '-w')}__{digest}.pt"
    partial = target.with_suffix(".part")
    torch.save({key: value.detach().cpu() for key, value in model.state_dict().items()}, partial)
    partial.replace(target)
    return UploadedTeacher(target, arch, dataset, count_params(model), accuracy)


@torch.no_grad()
def measure_test_accuracy(model: torch.nn.Module, dataset: str) -> float:
    """A model's accuracy on a dataset's test split (on the CPU)."""
    from .engine.loop import predict

    data = load_dataset(dataset, device="cpu")
    logits = predict(model, data.test.x, contextlib.nullcontext)
    return (logits.argmax(1) == data.test.y).float().mean().item()
