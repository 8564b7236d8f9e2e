"""Attention transfer (Zagoruyko & Komodakis, 2017): the student mimics where the teacher's maps are active."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ..errors import ConfigError
from .base import Batch, FeatureMatch, HyperParam, StepOutput, StepState
from .features import (
    LAST,
    FeatureMethod,
    ModelFeatures,
    common_size,
    feature_match,
    normalised_map_distance,
    shape_text,
)
from .losses import full_precision

ALL = "all"


def attention_map(feature: Tensor, power: float) -> Tensor:
    """Spatial attention of a batch of maps (N, C, H, W): the channel mean of |F|^p, shape (N, H, W)."""
    return full_precision(feature).abs().pow(power).mean(dim=1)


def attention_distance(student_feature: Tensor, teacher_feature: Tensor, power: float) -> Tensor:
    """Mean squared difference of the two L2-normalised, flattened attention maps (over batch and positions);
    the larger map is average-pooled to the smaller one's size first."""
    return normalised_map_distance(
        attention_map(student_feature, power).unsqueeze(1), attention_map(teacher_feature, power).unsqueeze(1), 2
    )


def layer_pairs(choice: str, student: ModelFeatures, teacher: ModelFeatures) -> list[tuple[str, str]]:
    """(student map, teacher map) pairs for a layer choice: 'all' pairs the deepest maps of both, one to one
    from the end; 'last' only the deepest two; otherwise comma-separated 'student:teacher' pairs or names that
    both models have."""
    student_maps, teacher_maps = student.maps("at"), teacher.maps("at")
    if choice == ALL:
        count = min(len(student_maps), len(teacher_maps))
        return list(zip(student_maps[-count:], teacher_maps[-count:]))
    if choice == LAST:
        return [(student_maps[-1], teacher_maps[-1])]
    pairs = []
    for item in choice.split(","):
        student_name, _, teacher_name = item.strip().partition(":")
        teacher_name = teacher_name or student_name
        for name, maps, owner in (
            (student_name, student_maps, student.owner),
            (teacher_name, teacher_maps, teacher.owner),
        ):
            if name not in maps:
                raise ConfigError(
                    "at.at_layers",
                    f"{owner} has no feature map {name!r}; its maps: {', '.join(maps)} (or use '{ALL}' or '{LAST}')",
                )
        pairs.append((student_name, teacher_name))
    return pairs


class AttentionTransfer(FeatureMethod):
    """CE + β/2 · Σ_j mean((Q_s^j/‖Q_s^j‖ − Q_t^j/‖Q_t^j‖)²), Q = channel mean of |F|^p."""

    name = "at"
    title = "Attention transfer"
    category = "feature"
    scheme = "offline"
    teacher_need = "one"
    summary = (
        "Each chosen feature map is summarised as a spatial attention map (the channel mean of |F|^p), "
        "flattened and L2-normalised; the student matches the teacher's maps, pair by pair, besides the "
        "label loss. Maps of different sizes are compared at the smaller size (average pooling), so "
        "channel counts never need to agree."
    )
    loss_latex = (
        r"\mathcal{L} = \mathrm{CE}(y, \sigma(z_s)) + \frac{\beta}{2}\sum_{j}\frac{1}{HW}\Big\|"
        r"\frac{Q_s^j}{\|Q_s^j\|_2} - \frac{Q_t^j}{\|Q_t^j\|_2}\Big\|_2^2,\quad "
        r"Q^j = \frac{1}{C}\sum_{c}|F^j_c|^{p}"
    )
    hyperparams = (
        HyperParam(
            "at_layers",
            ALL,
            "map pairs compared: 'all' (the deepest maps of both, paired from the end), "
            "'last', or pairs such as block1:block2,block2:block3 (student:teacher)",
        ),
        HyperParam("beta", 1000.0, "weight β of the attention loss (1000 in the paper)", 0.0, 100000.0),
        HyperParam("attention_power", 2.0, "exponent p in the attention map |F|^p", 1.0, 4.0),
    )
    uses_temperature = False
    uses_alpha = False
    reads_features = (
        "spatial feature maps (C×H×W) of student and teacher; by default every student map paired "
        "with a teacher map, one to one from the deepest"
    )
    extra_modules = "none: attention maps need no trainable layer"
    needs_student_maps = True
    reference = (
        "Zagoruyko & Komodakis, Paying More Attention to Attention: Improving the Performance of "
        "Convolutional Neural Networks via Attention Transfer, ICLR 2017"
    )
    pairs: tuple[tuple[str, str], ...] = ()

    def match(self, student: ModelFeatures, teachers: list[ModelFeatures]) -> list[FeatureMatch]:
        """Pair the student's maps with the teacher's, compared as attention maps at the smaller size."""
        teacher = teachers[0]
        self.pairs = tuple(layer_pairs(str(self.params["at_layers"]), student, teacher))
        return [
            feature_match(
                student,
                s,
                teacher,
                t,
                "attention maps at " + shape_text(common_size(student.shapes[s], teacher.shapes[t])),
            )
            for s, t in self.pairs
        ]

    def loss_terms(self, batch: Batch, state: StepState) -> StepOutput:
        """Cross-entropy and the β/2-weighted sum of attention distances over the layer pairs."""
        logits, features = self.student.forward_features(batch.x)
        _, teacher_features = self.teachers.features(batch.x)
        power = float(self.params["attention_power"])
        distance = sum(attention_distance(features[s], teacher_features[t], power) for s, t in self.pairs)
        return StepOutput(
            logits,
            {
                "ce": F.cross_entropy(logits, batch.y),
                "at": float(self.params["beta"]) / 2.0 * distance,
            },
        )
