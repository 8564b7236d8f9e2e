"""The lightweight teacher of LW-KD: a small network trained in seconds on the rendered glyph dataset.

It is cached like the other teachers (workbench.teachers): in <data_dir>/teachers, under the key of
dataset "glyphs-<target>" and recipe "glyphs<per_class>", with a JSON record of its glyph test accuracy
and its training time (rendering included), to be set beside a conventional teacher's."""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from .config import RunConfig
from .errors import WorkbenchError
from .glyphs import glyph_dataset, glyph_info
from .models import count_macs, count_params, create_model, load_state_dict_checked
from .teachers import TeacherRecord, cache_dir, teacher_key

GLYPH_RECIPE = {"epochs": 6, "batch_size": 64, "lr": 0.05, "lr_schedule": "cosine", "augment": "none",
                "optimizer": "sgd"}


def glyph_teacher_key(arch: str, target: str, per_class: int, seed: int) -> str:
    """The file stem a glyph teacher for `target` is cached under."""
    return teacher_key(arch, f"glyphs-{target}", seed, recipe=f"glyphs{per_class}")


def find_glyph_teacher(arch: str, target: str, per_class: int, seed: int,
                       data_dir: str | Path | None = None) -> TeacherRecord | None:
    """The record of a cached glyph teacher, or None."""
    folder = cache_dir(data_dir)
    key = glyph_teacher_key(arch, target, per_class, seed)
    meta, weights = folder / f"{key}.json", folder / f"{key}.pt"
    if not (meta.exists() and weights.exists()):
        return None
    record = TeacherRecord(**json.loads(meta.read_text()))
    record.path = str(weights)
    return record


def train_glyph_teacher(arch: str, target: str, per_class: int = 300, seed: int = 0, *,
                        device: str | torch.device = "cpu", data_dir: str | Path | None = None) -> TeacherRecord:
    """Render the glyph dataset for `target`, train `arch` on it (seeded by `seed`) and cache it."""
    from .engine import fit

    started = time.perf_counter()
    data = glyph_dataset(target, per_class=per_class, seed=seed, device=device)
    config = RunConfig.from_dict({"dataset": target, "student": arch, "method": "baseline", "seed": seed,
                                  "device": torch.device(device).type, "name": f"glyph teacher {arch}",
                                  **GLYPH_RECIPE})
    result = fit(config, dataset=data)
    seconds = time.perf_counter() - started
    if result.status != "done":
        raise WorkbenchError(f"glyph teacher training {result.status}: {result.message}")
    info = glyph_info(target)
    folder = cache_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    key = glyph_teacher_key(arch, target, per_class, seed)
    weights = folder / f"{key}.pt"
    temporary = weights.with_suffix(f".{os.getpid()}.tmp")
    torch.save({name: value.cpu() for name, value in result.student.state_dict().items()}, temporary)
    temporary.replace(weights)
    record = TeacherRecord(
        arch=arch, dataset=info.name, recipe=f"glyphs{per_class}", seed=seed, test_acc=result.final_metrics["test_acc"],
        train_seconds=round(seconds, 2), params=count_params(result.student),
        macs=count_macs(result.student, info.in_channels, info.image_size), epochs=GLYPH_RECIPE["epochs"],
        command=f"kdw train --method lwkd --dataset {target} (trained on first use)",
        created=time.strftime("%Y-%m-%d %H:%M:%S"), torch_version=torch.__version__)
    meta = {name: value for name, value in asdict(record).items() if name not in ("path", "packaged")}
    (folder / f"{key}.json").write_text(json.dumps(meta, indent=2) + "\n")
    record.path = str(weights)
    return record


def get_glyph_teacher(target: str, arch: str = "lenet5", per_class: int = 300, seed: int = 0, *,
                      device: str | torch.device = "cpu",
                      data_dir: str | Path | None = None) -> tuple[nn.Module, TeacherRecord]:
    """A frozen glyph teacher for `target` from the cache, trained first when missing. The global random
    state is left as it was, so a run that trains one gives the same numbers as one that finds it cached."""
    with torch.random.fork_rng():
        record = find_glyph_teacher(arch, target, per_class, seed, data_dir)
        if record is None:
            record = train_glyph_teacher(arch, target, per_class, seed, device=device, data_dir=data_dir)
        info = glyph_info(target)
        model = create_model(arch, info.num_classes, info.in_channels, info.image_size)
    load_state_dict_checked(model, torch.load(record.path, map_location="cpu", weights_only=True))
    model.to(device).eval().requires_grad_(False)
    return model, record
