"""How a teacher is named and trained: a `TeacherSpec` (a zoo teacher trained by its dataset's recipe, or LW-KD's glyph
teacher trained on rendered glyphs) and the file stem it is cached under."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from ..config import RunConfig
from ..data import DatasetInfo, dataset_info
from ..errors import WorkbenchError

if TYPE_CHECKING:
    from ..data import LoadedDataset

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


def teacher_key(arch: str, dataset: str, seed: int, recipe: str = RECIPE_NAME) -> str:
    """The file stem a teacher is stored under."""
    return f"{dataset}__{arch.replace(':', '-w')}__{recipe}__s{seed}"


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
            from ..glyphs import glyph_info

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
        from ..glyphs import glyph_dataset

        return glyph_dataset(self.dataset, per_class=self.glyphs_per_class, seed=self.seed, device=device)

    def default_command(self) -> str:
        """What a record says made it, when the caller does not say."""
        if self.glyph:
            return f"kdw train --method lwkd --dataset {self.dataset} (trained on first use)"
        return f"kdw teachers train --dataset {self.dataset} --arch {self.arch} --seed {self.seed}"
