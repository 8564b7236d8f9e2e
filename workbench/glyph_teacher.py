"""The lightweight teacher of LW-KD: a small network trained in seconds on the rendered glyph dataset.

It is a teacher like the others (workbench.teachers): named by a `TeacherSpec` with `glyphs_per_class`, trained by
the same `train_and_cache`, cached in <data_dir>/teachers under the key of dataset "glyphs-<target>" and recipe
"glyphs<per_class>", with a JSON record of its glyph test accuracy and its training time (rendering included), to
be set beside a conventional teacher's. A run of LW-KD gets it resolved before training (`teachers.resolve_for`)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .teachers import GLYPH_RECIPE, TeacherRecord, TeacherSpec, find_cached, load_cached, train_and_cache

__all__ = ["GLYPH_RECIPE", "find_glyph_teacher", "get_glyph_teacher", "glyph_teacher_key", "train_glyph_teacher"]


def glyph_teacher_key(arch: str, target: str, per_class: int, seed: int) -> str:
    """The file stem a glyph teacher for `target` is cached under."""
    return TeacherSpec(arch, target, seed, glyphs_per_class=per_class).key


def find_glyph_teacher(
    arch: str, target: str, per_class: int, seed: int, data_dir: str | Path | None = None
) -> TeacherRecord | None:
    """The record of a cached glyph teacher, or None."""
    return find_cached(TeacherSpec(arch, target, seed, glyphs_per_class=per_class), data_dir)


def train_glyph_teacher(
    arch: str,
    target: str,
    per_class: int = 300,
    seed: int = 0,
    *,
    device: str | torch.device = "cpu",
    data_dir: str | Path | None = None,
) -> TeacherRecord:
    """Render the glyph dataset for `target`, train `arch` on it (seeded by `seed`) and cache it."""
    return train_and_cache(
        TeacherSpec(arch, target, seed, glyphs_per_class=per_class), device=torch.device(device).type, data_dir=data_dir
    )


def get_glyph_teacher(
    target: str,
    arch: str = "lenet5",
    per_class: int = 300,
    seed: int = 0,
    *,
    device: str | torch.device = "cpu",
    data_dir: str | Path | None = None,
) -> tuple[nn.Module, TeacherRecord]:
    """A frozen glyph teacher for `target` from the cache, trained first (without a run record) when missing. The
    global random state is left as it was."""
    spec = TeacherSpec(arch, target, seed, glyphs_per_class=per_class)
    with torch.random.fork_rng():
        record = find_cached(spec, data_dir)
        if record is None:
            record = train_and_cache(spec, device=torch.device(device).type, data_dir=data_dir)
        model = load_cached(spec, record, device)
    return model.requires_grad_(False), record
