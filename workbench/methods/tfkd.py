"""Teacher-free KD, regularisation variant (Yuan et al., 2020): a hand-made soft target replaces the teacher."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import Batch, HyperParam, Method, StepOutput, StepState
from .losses import full_precision, soft_kl


def handmade_soft_target(
    labels: Tensor, num_classes: int, correct_prob: float, temperature: float, dtype: torch.dtype = torch.float32
) -> Tensor:
    """The virtual teacher's distribution: `correct_prob` on the true class, the rest spread evenly,
    then softened at `temperature` (softmax of the log-probabilities divided by T)."""
    others = (1.0 - correct_prob) / (num_classes - 1)
    probs = torch.full((labels.shape[0], num_classes), others, device=labels.device, dtype=dtype)
    probs.scatter_(1, labels.unsqueeze(1), correct_prob)
    return F.softmax(probs.log() / temperature, dim=1)


class TeacherFreeKD(Method):
    """(1−α)·CE(y, s) + α·T²·KL(p_virtual^T ‖ softmax(s/T)), no teacher network."""

    name = "tfkd"
    title = "Teacher-free KD (regularisation)"
    category = "response"
    scheme = "self"
    teacher_need = "none"
    summary = (
        "A virtual teacher that puts probability a on the true class and spreads the rest evenly "
        "gives soft targets without any trained teacher: KD as learned label smoothing. "
        "Softened at T as p_v^(1/T), renormalised (at T = 1 exactly the hand-made target)."
    )
    loss_latex = (
        r"\mathcal{L} = (1-\alpha)\,\mathrm{CE}(y, \sigma(z_s)) + \alpha\,T^2\,"
        r"\mathrm{KL}\big(p^{T}_{v}\,\|\,\sigma(z_s/T)\big),\ p^{T}_{v} \propto p_v^{1/T},\ "
        r"p_v(k) = \begin{cases} a & k = y \\ \frac{1-a}{K-1} & k \neq y \end{cases}"
    )
    hyperparams = (
        HyperParam("correct_prob", 0.9, "probability a the virtual teacher gives the true class", 0.1, 0.999),
    )
    reference = "Yuan, Tay, Li, Wang & Feng, Revisiting Knowledge Distillation via Label Smoothing Regularization, 2020"

    def loss_terms(self, batch: Batch, state: StepState) -> StepOutput:
        """Weighted cross-entropy and T²-scaled KL to the hand-made soft target."""
        logits = self.student(batch.x)
        target = handmade_soft_target(
            batch.y,
            self.num_classes,
            float(self.params["correct_prob"]),
            state.temperature,
            full_precision(logits).dtype,
        )
        return StepOutput(
            logits,
            {
                "ce": (1.0 - state.alpha) * F.cross_entropy(logits, batch.y),
                "tf_kd": state.alpha * state.temperature**2 * soft_kl(logits, target, state.temperature),
            },
        )
