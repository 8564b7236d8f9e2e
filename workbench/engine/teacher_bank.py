"""Frozen teachers and their logits, with an exact cache of their training-split logits."""

from __future__ import annotations

import contextlib
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

    When `train_logits` are set (see `precompute`), a batch that is unaugmented and indexed into the
    training split reads its teacher logits from them instead of running the teacher. A frozen teacher in
    eval mode gives each image the same logits whatever batch it is in, so the losses are unchanged."""

    def __init__(
        self, teachers: list[nn.Module], *, autocast: Callable | None = None, glyph: GlyphTeacher | None = None
    ) -> None:
        self.models = teachers
        self.glyph = glyph  # the method's glyph teacher (methods that declare `glyph_teacher_spec`), frozen
        for teacher in [*teachers, *([glyph.model] if glyph is not None else [])]:
            teacher.eval()
            teacher.requires_grad_(False)
        self.train_logits: list[Tensor | None] = [None] * len(teachers)
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
        self._replaced.add(which)

    @torch.no_grad()
    def precompute(self, train_x: Tensor, cache_files: list[Path] | None = None) -> None:
        """Fill the logit cache for the whole training split, reading/writing `cache_files` where given."""
        self.train_logits = list(self.split_logits(train_x, cache_files))

    @torch.no_grad()
    def split_logits(self, x: Tensor, cache_files: list[Path] | None = None) -> list[Tensor]:
        """Each teacher's logits for all of `x` (a whole split), from its cache file when one is given and
        valid, else computed in large batches (and written to that file)."""
        files = cache_files or [None] * len(self.models)
        results = []
        for which, (teacher, file) in enumerate(zip(self.models, files)):
            file = None if which in self._replaced else file
            cached = _read_cache(file, x.shape[0]) if file is not None else None
            if cached is None:
                cached = torch.cat(
                    [
                        self._forward(teacher, x[start : start + PRECOMPUTE_BATCH])
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
        cached = self.train_logits[which]
        if cached is not None and batch.index is not None and not batch.augmented:
            return cached[batch.index]
        return self._forward(self.models[which], batch.x)

    @torch.no_grad()
    def features(self, x: Tensor, which: int = 0) -> tuple[Tensor, dict[str, Tensor]]:
        """Teacher `which`'s logits and named intermediate features (never cached)."""
        teacher = self.models[which]
        with self._context():
            logits, feats = teacher.forward_features(x)
        return full_precision(logits), {name: full_precision(value) for name, value in feats.items()}

    def _forward(self, teacher: nn.Module, x: Tensor) -> Tensor:
        with self._context():
            return full_precision(teacher(x))

    def _context(self):
        return self._autocast() if self._autocast is not None else contextlib.nullcontext()


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
