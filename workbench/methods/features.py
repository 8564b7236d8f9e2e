"""Methods that read intermediate features: their shared base (`FeatureMethod`), feature shapes, layer choice
by name, map pooling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError
from ..models.shapes import Shapes, feature_shapes, map_names, model_label
from .base import FeatureMatch, Method
from .losses import full_precision

if TYPE_CHECKING:
    from ..data import DatasetInfo

LAST = "last"  # a layer choice: the deepest feature map (or the embedding of a model without maps)


def resolve_layer(choice: str, shapes: Shapes, *, field: str, owner: str) -> str:
    """The feature name a layer choice stands for; 'last' is the deepest map (the embedding when there is none).

    An unknown name raises ConfigError(field) listing the owner's features."""
    if choice == LAST:
        maps = map_names(shapes)
        return maps[-1] if maps else "embedding"
    if choice not in shapes:
        raise ConfigError(
            field,
            f"{owner} has no feature {choice!r}; its features: {', '.join(shapes)} (or '{LAST}' for its deepest map)",
        )
    return choice


def require_maps(shapes: Shapes, *, field: str, owner: str, method: str) -> list[str]:
    """The owner's feature-map names; ConfigError(field) when it has none (e.g. an MLP)."""
    maps = map_names(shapes)
    if not maps:
        raise ConfigError(
            field, f"{method} needs spatial feature maps, but {owner} has none (its features: {', '.join(shapes)})"
        )
    return maps


@dataclass(frozen=True)
class ModelFeatures:
    """One model's per-image feature shapes, with its zoo label and its role ("student" or "teacher")."""

    label: str
    role: str
    shapes: Shapes

    @property
    def owner(self) -> str:
        """How messages name the model, e.g. 'the teacher cnn:32'."""
        return f"the {self.role} {self.label}"

    def resolve(self, choice: str, field: str) -> str:
        """The feature a layer choice stands for in this model (`resolve_layer`; ConfigError(field) if unknown)."""
        return resolve_layer(choice, self.shapes, field=field, owner=self.owner)

    def maps(self, method: str) -> list[str]:
        """The model's feature-map names, shallow to deep; ConfigError on the config field naming the model
        (student or teachers) when it has none."""
        field = "student" if self.role == "student" else "teachers"
        return require_maps(self.shapes, field=field, owner=self.owner, method=method)


def model_features(model: nn.Module, role: str, input_shape: tuple[int, int, int]) -> ModelFeatures:
    """A model's `ModelFeatures` (its shapes from one blank forward pass, see `feature_shapes`)."""
    return ModelFeatures(model_label(model), role, feature_shapes(model, input_shape))


def feature_match(
    student: ModelFeatures, student_layer: str, teacher: ModelFeatures, teacher_layer: str, link: str
) -> FeatureMatch:
    """The `FeatureMatch` of a student feature and a teacher feature, with their shapes and how they are joined."""
    return FeatureMatch(
        student_layer, student.shapes[student_layer], teacher.label, teacher_layer, teacher.shapes[teacher_layer], link
    )


class FeatureMethod(Method):
    """Base of the methods that match student features to teacher features.

    `prepare` reads the feature shapes of the student and of the teachers it compares (every teacher when the
    method needs several, else the first), then the subclass's `match` chooses the compared pairs, keeps what its
    `loss_terms` needs and builds any trainable layer between them; `feature_matches` reports the pairs."""

    matches: tuple[FeatureMatch, ...] = ()

    def prepare(self, info: "DatasetInfo", batch_size: int) -> None:
        """Read each compared model's feature shapes once, then choose and link the pairs (`match`)."""
        input_shape = (info.in_channels, info.image_size, info.image_size)
        teachers = self.teachers.models if self.teacher_need == "several" else self.teachers.models[:1]
        self.matches = tuple(
            self.match(
                model_features(self.student, "student", input_shape),
                [model_features(teacher, "teacher", input_shape) for teacher in teachers],
            )
        )

    def match(self, student: ModelFeatures, teachers: list[ModelFeatures]) -> list[FeatureMatch]:
        """Choose the student/teacher feature pairs (keeping what `loss_terms` needs and building any trainable
        layer between them) and describe each."""
        raise NotImplementedError

    def feature_matches(self) -> list[FeatureMatch]:
        """The compared feature pairs (after `prepare`)."""
        return list(self.matches)


def common_size(first: tuple[int, ...], second: tuple[int, ...]) -> tuple[int, int]:
    """The spatial size two maps (C, H, W) are compared at: the smaller of each side."""
    return min(first[-2], second[-2]), min(first[-1], second[-1])


def pool_to(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Average-pool a batch of maps (N, C, H, W) down to `size` (unchanged when it already has that size)."""
    return x if tuple(x.shape[-2:]) == size else F.adaptive_avg_pool2d(x, size)


def as_vector(x: Tensor) -> Tensor:
    """A batch of features as vectors: maps (N, C, H, W) averaged over positions, vectors kept."""
    return x.mean(dim=(2, 3)) if x.ndim == 4 else x.flatten(1)


def unit_rows(x: Tensor) -> Tensor:
    """Each sample's feature flattened and scaled to unit L2 norm, in at least float32."""
    return F.normalize(full_precision(x).flatten(1), dim=1)


def normalised_map_distance(first: Tensor, second: Tensor, power: float) -> Tensor:
    """Mean of |a − b|^power over batch and entries, where a and b are two batches of maps (N, C, H, W) with
    the larger average-pooled to the smaller one's size, then each sample flattened and scaled to unit L2 norm
    (attention transfer compares squared, FEED absolute differences)."""
    size = common_size(tuple(first.shape), tuple(second.shape))
    return (unit_rows(pool_to(first, size)) - unit_rows(pool_to(second, size))).abs().pow(power).mean()


def shape_text(shape: tuple[int, ...]) -> str:
    """A per-image shape as 'C×H×W' or 'D'."""
    return "×".join(str(size) for size in shape)
