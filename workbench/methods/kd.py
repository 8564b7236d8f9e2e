"""Vanilla knowledge distillation (Hinton, Vinyals & Dean, 2015)."""

from __future__ import annotations

import torch.nn.functional as F

from .base import Batch, Method, StepOutput, StepState
from .losses import distillation_kl


class VanillaKD(Method):
    """(1−α)·CE(y, s) + α·T²·KL(softmax(t/T) ‖ softmax(s/T))."""

    name = "kd"
    title = "Vanilla KD (Hinton)"
    category = "response"
    scheme = "offline"
    teacher_need = "one"
    summary = (
        "The student matches the teacher's temperature-softened outputs; T² keeps the soft-target "
        "gradients on the scale of the hard-label ones as T grows."
    )
    loss_latex = (
        r"\mathcal{L} = (1-\alpha)\,\mathrm{CE}(y, \sigma(z_s)) + \alpha\,T^2\,"
        r"\mathrm{KL}\big(\sigma(z_t/T)\,\|\,\sigma(z_s/T)\big)"
    )
    reference = "Hinton, Vinyals & Dean, Distilling the Knowledge in a Neural Network, 2015"

    def loss_terms(self, batch: Batch, state: StepState) -> StepOutput:
        """Weighted hard-label cross-entropy and T²-scaled KL to the teacher's soft targets."""
        logits = self.student(batch.x)
        teacher_logits = self.teachers.logits(batch)
        return StepOutput(
            logits,
            {
                "ce": (1.0 - state.alpha) * F.cross_entropy(logits, batch.y),
                "kd": state.alpha * distillation_kl(logits, teacher_logits, state.temperature),
            },
        )
