"""FEED, parallel: feature-level ensemble distillation from several teachers (Park & Kwak, 2019)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError
from .base import Batch, FeatureMatch, HyperParam, StepOutput, StepState
from .features import FeatureMethod, ModelFeatures, common_size, feature_match, normalised_map_distance, shape_text

if TYPE_CHECKING:
    from ..data import DatasetInfo


class FeedTransform(nn.Sequential):
    """The non-linear transformation layer: three 3×3 convolutions (ReLU between them) from the student's
    channels to one teacher's, keeping the spatial size."""

    def __init__(self, student_channels: int, teacher_channels: int) -> None:
        super().__init__(
            nn.Conv2d(student_channels, teacher_channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(teacher_channels, teacher_channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(teacher_channels, teacher_channels, 3, padding=1),
        )


def feed_distance(transformed: Tensor, teacher_map: Tensor) -> Tensor:
    """Mean absolute difference of the per-sample L2-normalised maps (the larger map average-pooled to the
    smaller one's size first)."""
    return normalised_map_distance(transformed, teacher_map, 1)


FEED_BETA = HyperParam("beta", 100.0, "weight β of each teacher's feature distance", 0.0, 100000.0)


class FeedParallel(FeatureMethod):
    """CE + β·Σ_n mean|T_n(F_s)/‖T_n(F_s)‖ − F_tn/‖F_tn‖| over the teachers n, on the deepest maps."""

    name = "feed-parallel"
    title = "FEED, parallel (feature-level ensemble)"
    category = "feature"
    scheme = "offline"
    teacher_need = "several"
    summary = (
        "Several frozen teachers, possibly of different architectures, each get a transformation layer "
        "(three 3×3 convolutions) mapping the student's deepest feature map to that teacher's deepest map; "
        "the student learns the labels and all the normalised teacher maps at once, so their knowledge is "
        "ensembled at the feature level. The transformation layers are dropped after training."
    )
    loss_latex = (
        r"\mathcal{L} = \mathrm{CE}(y, \sigma(z_s)) + \beta \sum_{n=1}^{N} \frac{1}{D_n}\Big\|"
        r"\frac{T_n(F_s)}{\|T_n(F_s)\|_2} - \frac{F_{t_n}}{\|F_{t_n}\|_2}\Big\|_1"
    )
    hyperparams = (FEED_BETA,)
    uses_temperature = False
    uses_alpha = False
    reads_features = "the deepest spatial feature map (C×H×W) of the student and of every teacher"
    extra_modules = (
        "one transformation layer per teacher (three 3×3 convolutions), used only in training: they are "
        "dropped afterwards, so the deployed student's parameter count is its own"
    )
    needs_student_maps = True
    reference = "Park & Kwak, FEED: Feature-level Ensemble for Knowledge Distillation, 2019 (arXiv:1909.10754)"
    student_layer = ""
    teacher_layers: tuple[str, ...] = ()
    transforms: nn.ModuleList | None = None  # built by prepare

    def prepare(self, info: "DatasetInfo", batch_size: int) -> None:
        """Check the number of teachers, then build their transformation layers."""
        problem = self.teacher_count_problem(len(self.teachers))
        if problem is not None:
            raise ConfigError("teachers", problem)
        super().prepare(info, batch_size)

    def teacher_count_problem(self, count: int) -> str | None:
        """Why `count` teachers cannot be used (parallel FEED needs several), or None."""
        if count < 2:
            return f"{self.name} needs at least two teachers (got {count}), e.g. --teacher cnn,lenet5"
        return None

    def match(self, student: ModelFeatures, teachers: list[ModelFeatures]) -> list[FeatureMatch]:
        """Pair the student's deepest map with each teacher's, through one transformation layer per teacher."""
        self.student_layer = student.maps(self.name)[-1]
        student_shape = student.shapes[self.student_layer]
        layers, transforms, matches = [], [], []
        for teacher in teachers:
            layer = teacher.maps(self.name)[-1]
            teacher_shape = teacher.shapes[layer]
            layers.append(layer)
            transforms.append(FeedTransform(student_shape[0], teacher_shape[0]))
            matches.append(
                feature_match(
                    student,
                    self.student_layer,
                    teacher,
                    layer,
                    f"3×(3×3 conv) transform, {student_shape[0]}→{teacher_shape[0]} channels, "
                    f"compared at {shape_text(common_size(student_shape, teacher_shape))}",
                )
            )
        self.teacher_layers = tuple(layers)
        self.transforms = nn.ModuleList(transforms)
        return matches

    def trainable_modules(self) -> dict[str, nn.Module]:
        """The transformation layers, once prepared (training only)."""
        return {"transforms": self.transforms} if self.transforms is not None else {}

    def loss_terms(self, batch: Batch, state: StepState) -> StepOutput:
        """Cross-entropy and, per teacher n, the β-weighted distance `feed_n`."""
        logits, features = self.student.forward_features(batch.x)
        student_map = features[self.student_layer]
        beta = float(self.params["beta"])
        terms = {"ce": F.cross_entropy(logits, batch.y)}
        for which, (layer, transform) in enumerate(zip(self.teacher_layers, self.transforms)):
            _, teacher_features = self.teachers.features(batch.x, which)
            terms[f"feed_{which + 1}"] = beta * feed_distance(transform(student_map), teacher_features[layer])
        return StepOutput(logits, terms)
