"""FitNets: hints from a teacher's intermediate feature (Romero et al., 2015), trained in one stage."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .base import Batch, FeatureMatch, HyperParam, StepOutput, StepState
from .features import LAST, FeatureMethod, ModelFeatures, as_vector, common_size, feature_match, pool_to, shape_text
from .losses import distillation_kl, full_precision


class HintRegressor(nn.Module):
    """Maps the student's guided feature onto the shape of the teacher's hint.

    Between two maps it is a 1×1 convolution (student channels -> teacher channels) and both sides meet at
    the smaller spatial size by average pooling; otherwise it is a linear layer between vectors (a map is
    first averaged over its positions)."""

    def __init__(self, student_shape: tuple[int, ...], teacher_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.between_maps = len(student_shape) == 3 and len(teacher_shape) == 3
        self.size = common_size(student_shape, teacher_shape) if self.between_maps else None
        if self.between_maps:
            self.project: nn.Module = nn.Conv2d(student_shape[0], teacher_shape[0], kernel_size=1)
        else:
            self.project = nn.Linear(student_shape[0], teacher_shape[0])

    def forward(self, student_feature: Tensor) -> Tensor:
        """The student's feature in the teacher's shape."""
        if self.between_maps:
            return pool_to(self.project(student_feature), self.size)
        return self.project(as_vector(student_feature))

    def target(self, teacher_feature: Tensor) -> Tensor:
        """The teacher's feature brought to the shape the regressor's output has."""
        return pool_to(teacher_feature, self.size) if self.between_maps else as_vector(teacher_feature)


def hint_loss(regressed: Tensor, hint: Tensor) -> Tensor:
    """Mean squared difference between the regressed student feature and the teacher's hint."""
    return F.mse_loss(full_precision(regressed), full_precision(hint))


class FitNets(FeatureMethod):
    """(1−w)·CE + λ·mean (r(F_s) − F_t)² + w·T²·KL; the KD term is optional (w = kd_weight, 0 by default)."""

    name = "fitnets"
    title = "FitNets (hint learning)"
    category = "feature"
    scheme = "offline"
    teacher_need = "one"
    summary = (
        "The student's guided layer, passed through a trainable regressor, is pulled towards the teacher's "
        "hint layer (mean squared error), alongside the label loss and an optional KD term. Trained in one "
        "stage (the paper first trains up to the guided layer on the hint alone)."
    )
    loss_latex = (
        r"\mathcal{L} = (1-w)\,\mathrm{CE}(y, \sigma(z_s)) + \lambda\,\tfrac{1}{D}\,"
        r"\big\| r(F_s^{g}) - F_t^{h} \big\|_2^2"
        r" + w\,T^2\,\mathrm{KL}\big(\sigma(z_t/T)\,\|\,\sigma(z_s/T)\big)"
    )
    hyperparams = (
        HyperParam(
            "hint_layer",
            LAST,
            "teacher feature giving the hint: 'last' (its deepest map) or a feature name such as block2 or embedding",
        ),
        HyperParam("guided_layer", LAST, "student feature that is guided: 'last' (its deepest map) or a feature name"),
        HyperParam("hint_weight", 1.0, "weight λ of the hint loss", 0.0, 1000.0),
        HyperParam(
            "kd_weight", 0.0, "weight w of the optional KD term on the logits (0 = none; 1 − w weighs CE)", 0.0, 1.0
        ),
    )
    uses_alpha = False
    reads_features = (
        "one student feature (guided_layer) and one teacher feature (hint_layer), by default each "
        "model's deepest feature map; logits too when kd_weight > 0"
    )
    extra_modules = (
        "a regressor (1×1 convolution between maps, linear layer between vectors), used only in "
        "training: the deployed student has no extra parameters"
    )
    reference = "Romero, Ballas, Kahou, Chassang, Gatta & Bengio, FitNets: Hints for Thin Deep Nets, ICLR 2015"
    regressor: HintRegressor | None = None  # built by prepare

    def match(self, student: ModelFeatures, teachers: list[ModelFeatures]) -> list[FeatureMatch]:
        """Choose the guided and hint layers and build the regressor between their shapes."""
        teacher = teachers[0]
        self.guided = student.resolve(str(self.params["guided_layer"]), "fitnets.guided_layer")
        self.hint = teacher.resolve(str(self.params["hint_layer"]), "fitnets.hint_layer")
        guided_shape, hint_shape = student.shapes[self.guided], teacher.shapes[self.hint]
        self.regressor = HintRegressor(guided_shape, hint_shape)
        link = "1×1 conv regressor" if self.regressor.between_maps else "linear regressor"
        if self.regressor.size is not None and {guided_shape[1:], hint_shape[1:]} != {self.regressor.size}:
            link += f", pooled to {shape_text(self.regressor.size)}"
        return [feature_match(student, self.guided, teacher, self.hint, link)]

    def trainable_modules(self) -> dict[str, nn.Module]:
        """The regressor, once prepared."""
        return {"regressor": self.regressor} if self.regressor is not None else {}

    def loss_terms(self, batch: Batch, state: StepState) -> StepOutput:
        """Weighted cross-entropy, hint loss and (when kd_weight > 0) the T²-scaled KL to the teacher."""
        logits, features = self.student.forward_features(batch.x)
        teacher_logits, teacher_features = self.teachers.features(batch.x)
        kd_weight = float(self.params["kd_weight"])
        terms = {
            "ce": (1.0 - kd_weight) * F.cross_entropy(logits, batch.y),
            "hint": float(self.params["hint_weight"])
            * hint_loss(self.regressor(features[self.guided]), self.regressor.target(teacher_features[self.hint])),
        }
        if kd_weight > 0:
            terms["kd"] = kd_weight * distillation_kl(logits, teacher_logits, state.temperature)
        return StepOutput(logits, terms)
