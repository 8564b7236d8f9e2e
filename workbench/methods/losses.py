"""Loss functions shared by several methods, each written out from its formula."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def full_precision(x: Tensor) -> Tensor:
    """`x` in at least float32 (bf16/fp16 logits from autocast are upcast, float64 kept)."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def soft_kl(student_logits: Tensor, target_probs: Tensor, temperature: float) -> Tensor:
    """KL(target ‖ softmax(student/T)), summed over classes and averaged over the batch."""
    log_student = F.log_softmax(full_precision(student_logits) / temperature, dim=1)
    return F.kl_div(log_student, full_precision(target_probs), reduction="batchmean")


def distillation_kl(student_logits: Tensor, teacher_logits: Tensor, temperature: float) -> Tensor:
    """Hinton's soft-target term: T² · KL(softmax(t/T) ‖ softmax(s/T)), averaged over the batch."""
    teacher_probs = F.softmax(full_precision(teacher_logits) / temperature, dim=1)
    return temperature**2 * soft_kl(student_logits, teacher_probs, temperature)
