"""A run's teachers resolved before it trains: which cached teachers it needs, and `resolve_for`, what `engine.fit`
receives for them (a missing teacher trained only by the function the caller gives)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Sequence, TypedDict

import torch
from torch import nn

from ..config import RunConfig
from ..engine.teacher_bank import GlyphTeacher, TeacherLogitFiles
from ..methods import get_method
from .cache import TeacherMissing, TeacherRecord, cache_dir, find_cached, load_cached
from .files import load_teacher_weights
from .spec import TeacherSpec

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
