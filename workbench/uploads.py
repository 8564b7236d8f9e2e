"""Checking an uploaded teacher state_dict before anything uses it: size, format, fit to the architecture; and
keeping uploads within a shared server's limits: a per-owner quota (`UploadLimits`: files and megabytes) and an
expiry (`expire_uploads`: files older than the limit's days, unless a queued or running run uses them).

Every problem is one WorkbenchError naming what is wrong; a file is written (under the uploads folder)
only once every check has passed, so a bad upload changes nothing. Who uploaded a file is kept beside it
(`<file>.owners`, one owner id a line): an identical file uploaded by two owners is kept once and counts for both."""

from __future__ import annotations

import contextlib
import hashlib
import io
import pickle
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from .data import dataset_info, load_dataset
from .errors import ModelMismatch, WorkbenchError
from .models import count_params, create_model, load_state_dict_checked
from .store import RunStore

DAY = 86400.0


@dataclass(frozen=True)
class UploadLimits:
    """A server's limits on kept uploads (0: none): files and megabytes per owner, and days a file is kept."""

    count: int = 0
    megabytes: float = 0.0
    days: float = 0.0


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
    data: bytes,
    filename: str,
    arch: str,
    dataset: str,
    *,
    uploads_dir: str | Path,
    limit_mb: float,
    owner: str = "",
    limits: UploadLimits = UploadLimits(),
    store: RunStore | None = None,
) -> UploadedTeacher:
    """Check an uploaded state_dict against `arch` on `dataset`, measure its test accuracy and keep it as `owner`'s.

    Expired uploads are removed first (`expire_uploads`, sparing those the unfinished runs of `store` use). Raises
    WorkbenchError (or its ModelMismatch) with one line when the file is too large, empty, over the owner's quota,
    not a state_dict, corrupt, or does not fit the architecture; nothing is written then."""
    size_mb = len(data) / 2**20
    if size_mb > limit_mb:
        raise WorkbenchError(
            f"upload: {filename} is {size_mb:.1f} MB, over the {limit_mb:g} MB upload limit (a setting in the sidebar)"
        )
    if not data:
        raise WorkbenchError(f"upload: {filename} is empty")
    folder = Path(uploads_dir)
    digest = hashlib.sha256(data).hexdigest()[:12]
    if limits.days:
        expire_uploads(folder, limits.days, store)
    check_quota(folder, owner, len(data), digest, limits)
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
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{dataset}__{arch.replace(':', '-w')}__{digest}.pt"
    partial = target.with_suffix(".part")
    torch.save({key: value.detach().cpu() for key, value in model.state_dict().items()}, partial)
    partial.replace(target)  # a new file, or the same weights again: kept from now on
    if owner not in upload_owners(target):
        with open(owners_file(target), "a", encoding="ascii") as owners:
            owners.write(owner + "\n")
    return UploadedTeacher(target, arch, dataset, count_params(model), accuracy)


def owners_file(upload: Path) -> Path:
    """The file beside an upload listing who uploaded it."""
    return upload.with_suffix(".owners")


def upload_owners(upload: Path) -> list[str]:
    """The owner ids that uploaded this file (none when the list is missing)."""
    try:
        return owners_file(upload).read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        return []


def owner_uploads(uploads_dir: Path, owner: str) -> list[Path]:
    """The uploads kept for `owner`."""
    if not uploads_dir.is_dir():
        return []
    return [path for path in sorted(uploads_dir.glob("*.pt")) if owner in upload_owners(path)]


def check_quota(uploads_dir: Path, owner: str, size: int, digest: str, limits: UploadLimits) -> None:
    """WorkbenchError (one line naming the quota and its setting) when keeping `size` more bytes would pass `owner`'s
    upload quota; an identical file the owner already keeps (same `digest`) adds nothing."""
    kept = owner_uploads(uploads_dir, owner)
    if any(path.stem.endswith(f"__{digest}") for path in kept):
        return
    if limits.count and len(kept) + 1 > limits.count:
        raise WorkbenchError(
            f"upload: you already keep {len(kept)} uploaded teachers on this server, the most one session may keep "
            f"({limits.count}, KDW_UPLOAD_QUOTA_COUNT); older ones expire after {limits.days:g} days"
        )
    used = sum(path.stat().st_size for path in kept)
    if limits.megabytes and (used + size) / 2**20 > limits.megabytes:
        raise WorkbenchError(
            f"upload: your uploads would take {(used + size) / 2**20:.1f} MB on this server, over the "
            f"{limits.megabytes:g} MB one session may keep (KDW_UPLOAD_QUOTA_MB)"
        )


def expire_uploads(uploads_dir: Path, days: float, store: RunStore | None = None) -> list[Path]:
    """Remove the uploads last written more than `days` ago, with their owner lists, except those a queued or
    running run of `store` uses as its teacher checkpoint; returns the removed files."""
    if not uploads_dir.is_dir():
        return []
    in_use: set[Path] = set()
    if store is not None:
        unfinished = store.run_ids_with_status(("queued", "running"))
        for record in store.recent_runs(len(unfinished), ids=unfinished) if unfinished else []:
            checkpoint = str(record.config.get("teacher_checkpoint") or "")
            if checkpoint:
                in_use.add(Path(checkpoint).resolve())
    cutoff = time.time() - days * DAY
    removed = []
    for path in sorted(uploads_dir.glob("*.pt")):
        try:
            if path.stat().st_mtime >= cutoff or path.resolve() in in_use:
                continue
            path.unlink()
            owners_file(path).unlink(missing_ok=True)
        except OSError:
            continue  # removed by another process meanwhile, or not ours to remove: left alone
        removed.append(path)
    return removed


@torch.no_grad()
def measure_test_accuracy(model: torch.nn.Module, dataset: str) -> float:
    """A model's accuracy on a dataset's test split (on the CPU)."""
    from .engine.loop import predict

    data = load_dataset(dataset, device="cpu")
    logits = predict(model, data.test.x, contextlib.nullcontext)
    return (logits.argmax(1) == data.test.y).float().mean().item()
