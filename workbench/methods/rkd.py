"""Relational knowledge distillation (Park, Kim, Lu & Cho, 2019): distances and angles between samples."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import Batch, FeatureMatch, HyperParam, StepOutput, StepState
from .features import FeatureMethod, ModelFeatures, feature_match
from .losses import full_precision

EPS = 1e-12


def pairwise_distances(x: Tensor) -> Tensor:
    """Euclidean distances between the rows of x (N, D), (N, N), zero on the diagonal (gradient-safe there)."""
    squared = (x.unsqueeze(0) - x.unsqueeze(1)).pow(2).sum(dim=2)
    return squared.clamp_min(EPS).sqrt() * (1.0 - torch.eye(x.shape[0], device=x.device, dtype=x.dtype))


def distance_potentials(x: Tensor) -> Tensor:
    """ψ_D(i, j) = ‖x_i − x_j‖ / μ, shape (N, N), μ the mean distance over the pairs i ≠ j (diagonal 0)."""
    distances = pairwise_distances(x)
    pairs = x.shape[0] * (x.shape[0] - 1)
    return distances / (distances.sum() / pairs).clamp_min(EPS)


def angle_potentials(x: Tensor) -> Tensor:
    """ψ_A[j, i, k] = cos of the angle at x_j between x_i and x_k, (N, N, N).

    Where i = j or k = j the direction is the zero vector and the entry is 0; where i = k (≠ j) it is 1: the same
    for every model, so only triplets of distinct samples can differ between student and teacher."""
    directions = F.normalize(x.unsqueeze(0) - x.unsqueeze(1), dim=2)  # [j, i] = unit vector from x_j to x_i
    return torch.bmm(directions, directions.transpose(1, 2))


def rkd_distance_loss(student: Tensor, teacher: Tensor) -> Tensor:
    """Smooth-L1 (Huber) between student and teacher distance potentials, averaged over the pairs i ≠ j;
    0 below 2 samples."""
    n = student.shape[0]
    if n < 2:
        return student.sum() * 0.0
    difference = F.smooth_l1_loss(
        distance_potentials(as_rows(student)), distance_potentials(as_rows(teacher)), reduction="sum"
    )
    return difference / (n * (n - 1))


def rkd_angle_loss(student: Tensor, teacher: Tensor) -> Tensor:
    """Smooth-L1 (Huber) between student and teacher angle potentials, averaged over the triplets of distinct
    samples (the other entries agree by construction); 0 below 3 samples."""
    n = student.shape[0]
    if n < 3:
        return student.sum() * 0.0
    difference = F.smooth_l1_loss(
        angle_potentials(as_rows(student)), angle_potentials(as_rows(teacher)), reduction="sum"
    )
    return difference / (n * (n - 1) * (n - 2))


def as_rows(x: Tensor) -> Tensor:
    """A batch of features flattened to rows, in at least float32."""
    return full_precision(x).flatten(1)


class RelationalKD(FeatureMethod):
    """CE + λ_D·Huber(ψ_D(s), ψ_D(t)) + λ_A·Huber(ψ_A(s), ψ_A(t)) on one feature (the embedding by default)."""

    name = "rkd"
    title = "Relational KD (distance and angle)"
    category = "relation"
    scheme = "offline"
    teacher_need = "one"
    summary = (
        "Instead of single outputs, the student copies the structure of the batch in the teacher's "
        "embedding space: the distances between pairs of samples (normalised by their mean) and the angles "
        "formed by triplets, both compared with a Huber loss. Embedding widths need not match. Both losses "
        "ignore scale, so their gradients grow as the student's embedding shrinks: the step's gradient norm "
        "is clipped (max_grad_norm) to keep a small student from diverging."
    )
    loss_latex = (
        r"\mathcal{L} = \mathrm{CE}(y, \sigma(z_s)) + \lambda_D \sum_{i\neq j} \ell_\delta\big("
        r"\psi_D(t_i,t_j), \psi_D(s_i,s_j)\big) + \lambda_A \sum_{i,j,k} \ell_\delta\big("
        r"\psi_A(t_i,t_j,t_k), \psi_A(s_i,s_j,s_k)\big),\ \psi_D = \frac{\|x_i-x_j\|_2}{\mu},\ "
        r"\psi_A = \Big\langle \frac{x_i-x_j}{\|x_i-x_j\|_2}, \frac{x_k-x_j}{\|x_k-x_j\|_2}\Big\rangle"
    )
    hyperparams = (
        HyperParam("distance_weight", 25.0, "weight λ_D of the distance-wise loss (25 in the paper)", 0.0, 1000.0),
        HyperParam("angle_weight", 50.0, "weight λ_A of the angle-wise loss (50 in the paper)", 0.0, 1000.0),
        HyperParam(
            "rkd_layer",
            "embedding",
            "feature whose sample relations are copied (both models): embedding, "
            "'last' (deepest map, flattened) or a feature name",
        ),
        HyperParam(
            "max_grad_norm", 5.0, "clip the norm of each step's gradient to this (0 = no clipping)", 0.0, 1000.0
        ),
    )
    uses_temperature = False
    uses_alpha = False
    reads_features = "the embedding (the vector before the classifier) of student and teacher, or another rkd_layer"
    extra_modules = "none: relations are compared directly, whatever the two embedding widths"
    reference = "Park, Kim, Lu & Cho, Relational Knowledge Distillation, CVPR 2019"
    layers: tuple[str, str] = ("embedding", "embedding")

    def match(self, student: ModelFeatures, teachers: list[ModelFeatures]) -> list[FeatureMatch]:
        """Resolve the layer in both models: the one pair whose sample relations are compared."""
        teacher, choice = teachers[0], str(self.params["rkd_layer"])
        self.layers = (student.resolve(choice, "rkd.rkd_layer"), teacher.resolve(choice, "rkd.rkd_layer"))
        return [
            feature_match(
                student,
                self.layers[0],
                teacher,
                self.layers[1],
                "pairwise distances and triplet angles within the batch",
            )
        ]

    def before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Clip the gradient norm to max_grad_norm (when above 0) before the step."""
        if float(self.params["max_grad_norm"]) > 0:
            parameters = [p for group in optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(parameters, float(self.params["max_grad_norm"]))

    def loss_terms(self, batch: Batch, state: StepState) -> StepOutput:
        """Cross-entropy and the weighted distance and angle losses (a term with weight 0 is left out)."""
        logits, features = self.student.forward_features(batch.x)
        _, teacher_features = self.teachers.features(batch.x)
        student, teacher = features[self.layers[0]], teacher_features[self.layers[1]]
        terms = {"ce": F.cross_entropy(logits, batch.y)}
        if float(self.params["distance_weight"]) > 0:
            terms["rkd_distance"] = float(self.params["distance_weight"]) * rkd_distance_loss(student, teacher)
        if float(self.params["angle_weight"]) > 0:
            terms["rkd_angle"] = float(self.params["angle_weight"]) * rkd_angle_loss(student, teacher)
        return StepOutput(logits, terms)
