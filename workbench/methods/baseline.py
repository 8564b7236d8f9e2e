"""The student trained on hard labels alone: the reference every distillation method is compared with."""

from __future__ import annotations

import torch.nn.functional as F

from .base import Batch, Method, StepOutput, StepState


class Baseline(Method):
    """Cross-entropy only; no teacher."""

    name = "baseline"
    title = "Baseline (no teacher)"
    category = "response"
    scheme = "offline"
    teacher_need = "none"
    summary = "The student alone, trained with cross-entropy on the true labels."
    loss_latex = r"\mathcal{L} = \mathrm{CE}(y, \sigma(z_s))"
    uses_temperature = False
    uses_alpha = False

    def loss_terms(self, batch: Batch, state: StepState) -> StepOutput:
        """Cross-entropy of the student's logits against the labels."""
        logits = self.student(batch.x)
        return StepOutput(logits, {"ce": F.cross_entropy(logits, batch.y)})
