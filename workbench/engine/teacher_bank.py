"""Frozen teachers and their logits, with an exact cache of their training-split logits."""

from __future__ import annotations

import contextlib
import copy
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn

from ..methods.base import Batch
from ..methods.losses import full_precision

PRECOMPUTE_BATCH = 1024
CHECK_ROWS = 8  # images an inference copy is checked on against its teacher before it is used


@dataclass(frozen=True)
class TeacherLogitFiles:
    """Where each teacher's logits are cached on disk, one file per teacher in the teachers' order: on the run's
    training split (as the run sees it: subset and left-out classes) and on the test split."""

    train: list[Path]
    test: list[Path]


@dataclass(frozen=True)
class GlyphTeacher:
    """A method's lightweight teacher trained on rendered glyphs (LW-KD's): the frozen network, its accuracy on
    held-out glyphs and its training seconds (rendering included). It teaches no target-data logits, so it is kept
    apart from the bank's `models` (no agreement/KL, no logit cache)."""

    model: nn.Module
    test_acc: float
    train_seconds: float


class TeacherBank:
    """Holds the frozen teacher networks of a run and answers their logits and features per batch.

    When `train_logits` are set (see `attach_cache`), a batch that is unaugmented and indexed into the
    training split reads its teacher logits from them instead of running the teacher. A frozen teacher in
    eval mode gives each image the same logits whatever batch it is in (to float rounding), so the losses are
    unchanged. Logits come from an inference copy of each teacher (`inference_copy`: batch norm folded into the
    convolutions, channels-last weights), equal to the teacher's within float rounding; features come from the
    teacher itself."""

    def __init__(
        self, teachers: list[nn.Module], *, autocast: Callable | None = None, glyph: GlyphTeacher | None = None
    ) -> None:
        self.models = teachers
        self.glyph = glyph  # the method's glyph teacher (methods that declare `glyph_teacher_spec`), frozen
        for teacher in [*teachers, *([glyph.model] if glyph is not None else [])]:
            teacher.eval()
            teacher.requires_grad_(False)
        self.train_logits: list[Tensor | None] = [None] * len(teachers)
        self._filling: list[_Filling | None] = [None] * len(teachers)  # caches filled by the first epoch's batches
        self._fast: dict[int, nn.Module] = {}  # each teacher's checked inference copy, made on first use
        self._replaced: set[int] = set()  # teachers swapped after loading: their weights' cache files do not apply
        self._autocast = autocast

    def __len__(self) -> int:
        return len(self.models)

    def replace(self, which: int, teacher: nn.Module) -> None:
        """Swap teacher `which` for another network (e.g. a quantised copy), frozen; the cached logits of the
        old one are dropped, so the new one runs on every batch."""
        teacher.eval()
        teacher.requires_grad_(False)
        self.models[which] = teacher
        self.train_logits[which] = None
        self._filling[which] = None
        self._fast.pop(which, None)
        self._replaced.add(which)

    def attach_cache(self, train_x: Tensor, cache_files: list[Path] | None = None) -> None:
        """Serve unaugmented training batches' teacher logits from a cache: read from `cache_files` where one is
        given and valid, else filled by the batches the first epoch runs the teacher on anyway (no separate pass
        over the split) and kept from the epoch that completes it on (`end_epoch`, which writes the file)."""
        files = cache_files or [None] * len(self.models)
        for which, file in enumerate(files):
            file = None if which in self._replaced else file
            cached = _read_cache(file, train_x.shape[0]) if file is not None else None
            if cached is not None:
                self.train_logits[which] = cached.to(train_x.device)
            else:
                self._filling[which] = _Filling(train_x.shape[0], train_x.device, file)

    def end_epoch(self) -> None:
        """Keep each cache the batches so far have filled completely (one host read per filling cache), writing
        its file."""
        for which, filling in enumerate(self._filling):
            if filling is not None and filling.logits is not None and bool(filling.seen.all()):
                self.train_logits[which], self._filling[which] = filling.logits, None
                if filling.file is not None:
                    _write_cache(filling.file, filling.logits)

    @torch.no_grad()
    def split_logits(self, x: Tensor, cache_files: list[Path] | None = None) -> list[Tensor]:
        """Each teacher's logits for all of `x` (a whole split), from its cache file when one is given and
        valid, else computed in large batches (and written to that file)."""
        files = cache_files or [None] * len(self.models)
        results = []
        for which, file in enumerate(files):
            file = None if which in self._replaced else file
            cached = _read_cache(file, x.shape[0]) if file is not None else None
            if cached is None:
                cached = torch.cat(
                    [
                        self._forward(which, x[start : start + PRECOMPUTE_BATCH])
                        for start in range(0, x.shape[0], PRECOMPUTE_BATCH)
                    ]
                )
                if file is not None:
                    _write_cache(file, cached)
            results.append(cached.to(x.device))
        return results

    @torch.no_grad()
    def logits(self, batch: Batch, which: int = 0) -> Tensor:
        """Teacher `which`'s logits for the batch, from the cache when the batch allows it."""
        cached, filling = self.train_logits[which], self._filling[which]
        indexed = batch.index is not None and not batch.augmented
        if cached is not None and indexed:
            return cached[batch.index]
        logits = self._forward(which, batch.x)
        if filling is not None and indexed:
            filling.store(batch.index, logits)
        return logits

    @torch.no_grad()
    def features(self, x: Tensor, which: int = 0) -> tuple[Tensor, dict[str, Tensor]]:
        """Teacher `which`'s logits and named intermediate features (never cached)."""
        teacher = self.models[which]
        with self._context():
            logits, feats = teacher.forward_features(x)
        return full_precision(logits), {name: full_precision(value) for name, value in feats.items()}

    def _forward(self, which: int, x: Tensor) -> Tensor:
        """Teacher `which`'s float32 logits for x from its inference copy (made and checked on first use)."""
        fast = self._fast.get(which)
        if fast is None:
            fast = self._fast[which] = self._checked_copy(self.models[which], x[:CHECK_ROWS])
        with self._context():
            return full_precision(fast(x))

    def _checked_copy(self, teacher: nn.Module, sample: Tensor) -> nn.Module:
        """The teacher's inference copy when its logits on `sample` match the teacher's, else the teacher."""
        fast = inference_copy(teacher)
        if fast is teacher:
            return teacher
        with self._context():
            expected, got = full_precision(teacher(sample)), full_precision(fast(sample))
        scale = expected.abs().max().item() if expected.numel() else 0.0
        return fast if torch.allclose(got, expected, rtol=0.02, atol=0.02 * scale + 1e-5) else teacher

    def _context(self):
        return self._autocast() if self._autocast is not None else contextlib.nullcontext()


class _Filling:
    """A teacher-logit cache being filled batch by batch: the logits so far and which rows they cover."""

    def __init__(self, rows: int, device: torch.device, file: Path | None) -> None:
        self.rows, self.file = rows, file
        self.logits: Tensor | None = None
        self.seen = torch.zeros(rows, dtype=torch.bool, device=device)

    def store(self, index: Tensor, logits: Tensor) -> None:
        """Record a batch's logits at its training-split rows (on the device: no host read)."""
        if self.logits is None:
            self.logits = torch.zeros(self.rows, logits.shape[1], dtype=logits.dtype, device=logits.device)
        self.logits[index] = logits
        self.seen[index] = True


def inference_copy(teacher: nn.Module) -> nn.Module:
    """A frozen copy of a convolutional teacher made for inference: batch norm folded into the convolution before
    it (torch.fx), weights in channels-last memory format; the teacher itself when it has no convolution or cannot
    be copied."""
    if not any(isinstance(module, nn.Conv2d) for module in teacher.modules()):
        return teacher
    from torch.fx.experimental.optimization import fuse

    try:
        fast = fuse(teacher)  # a traced copy; the teacher is untouched
    except Exception:  # noqa: BLE001 - a model fx cannot trace (data-dependent control flow) is copied as it is
        try:
            fast = copy.deepcopy(teacher)
        except Exception:  # noqa: BLE001 - not copyable: the teacher runs as it is
            return teacher
    fast = fast.to(memory_format=torch.channels_last).eval()
    return fast.requires_grad_(False)


def _read_cache(file: Path, rows: int) -> Tensor | None:
    """Cached logits from disk, or None when absent, unreadable or of the wrong size."""
    try:
        logits = torch.load(file, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError):
        return None
    return logits if isinstance(logits, Tensor) and logits.ndim == 2 and logits.shape[0] == rows else None


def _write_cache(file: Path, logits: Tensor) -> None:
    """Store logits atomically (a concurrent reader never sees half a file). A cache that cannot be written (a
    read-only or unusable data folder, a full disk) is skipped: it only saves time, so the run goes on."""
    temporary = file.with_suffix(f".{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        torch.save(logits.cpu(), temporary)
        temporary.replace(file)
    except (OSError, RuntimeError):  # torch.save reports a failed write as a RuntimeError
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
