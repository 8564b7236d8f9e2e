"""Stochastic precision ensemble (SPEQ, Boo et al., 2021): a quantised student taught by itself at mixed precision."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError
from ..quant import quantized_layers, stochastic_activation_precision
from ..quant.spec import ACTIVATION_BIT_CHOICES
from .base import Batch, HyperParam, Method, StepOutput, StepState
from .losses import full_precision

if TYPE_CHECKING:
    from ..engine.teacher_bank import TeacherBank

FULL_PRECISION = 32


@contextmanager
def kept_batchnorm_stats(model: nn.Module) -> Iterator[None]:
    """Within the block, forward passes in training mode leave the BatchNorm running statistics as they were."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [[buffer.clone() for buffer in norm.buffers()] for norm in norms]
    try:
        yield
    finally:
        with torch.no_grad():
            for norm, buffers in zip(norms, saved):
                for buffer, value in zip(norm.buffers(), buffers):
                    buffer.copy_(value)


def cosine_distance(student_logits: Tensor, teacher_logits: Tensor, temperature: float) -> Tensor:
    """1 − cos(softmax(s/T), softmax(t/T)), averaged over the batch."""
    student_probs = F.softmax(full_precision(student_logits) / temperature, dim=1)
    teacher_probs = F.softmax(full_precision(teacher_logits) / temperature, dim=1)
    return (1.0 - F.cosine_similarity(student_probs, teacher_probs, dim=1)).mean()


def activation_bits(student: nn.Module) -> int | None:
    """The activation bit width of a quantised student (its input-quantising layers), None when it has none."""
    bits = {layer.a_bits for layer in quantized_layers(student) if layer.quantize_input}
    return min(bits) if bits else None


class StochasticPrecisionEnsemble(Method):
    """CE + λ·(1 − cos) between the student's soft outputs and its own stochastic-precision pass, detached."""

    name = "speq"
    title = "Stochastic precision ensemble (SPEQ)"
    category = "response"
    scheme = "self"
    teacher_need = "self"
    summary = (
        "No external teacher: the teacher is the quantised student's own weights run with each quantised "
        "layer's activation precision drawn at random per forward pass (the student's a_bits, or "
        "teacher_a_bits with probability p_high), its output detached. The student learns from the labels "
        "and from the cosine similarity of its softened outputs to that ensemble's. Needs a_bits below 32."
    )
    loss_latex = (
        r"\mathcal{L} = \mathrm{CE}(y, \sigma(z_s)) + \lambda\,\big(1 - \cos(\sigma(z_s/T),\,"
        r"\mathrm{sg}[\sigma(z_{\tilde s}/T)])\big),\ z_{\tilde s}: \text{each layer at } b_{\mathrm{high}}"
        r"\text{ w.p. } u \text{ else } b"
    )
    hyperparams = (
        HyperParam("p_high", 0.5, "probability u that a layer of the teacher pass runs at teacher_a_bits", 0.0, 1.0),
        HyperParam(
            "teacher_a_bits",
            str(FULL_PRECISION),
            "the higher activation precision of the teacher pass",
            choices=ACTIVATION_BIT_CHOICES,
        ),
        HyperParam("cos_weight", 1.0, "weight λ of the cosine-similarity loss", 0.0, 1000.0),
    )
    uses_alpha = False
    reference = (
        "Boo, Shin, Choi & Sung, Stochastic Precision Ensemble: Self-Knowledge Distillation for Quantized "
        "Deep Neural Networks, AAAI 2021"
    )

    def __init__(self, student: nn.Module, teachers: "TeacherBank", params: dict[str, Any], num_classes: int) -> None:
        super().__init__(student, teachers, params, num_classes)
        bits = activation_bits(student)
        if bits is None or bits >= FULL_PRECISION:
            raise ConfigError("a_bits", "speq needs a student with quantised activations (a_bits below 32)")
        self.student_a_bits = bits
        self.teacher_a_bits = int(params["teacher_a_bits"])
        if self.teacher_a_bits <= bits:
            raise ConfigError("speq.teacher_a_bits", f"must be above the student's a_bits ({bits})")
        # Drawn from the global generator, which the engine seeds with the run's seed before building the student.
        self.generator = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,))))
        self.last_precisions: dict[str, int] = {}

    @classmethod
    def unavailable_reason(
        cls, *, teacher_count: int, dataset: str, student: str, w_bits: str = "32", a_bits: str = "32"
    ) -> str | None:
        """SPEQ varies activation precision, so it needs a student with a_bits below 32."""
        if str(a_bits) == str(FULL_PRECISION):
            return "needs a student with quantised activations (a_bits below 32)"
        return None

    @torch.no_grad()
    def teacher_logits(self, x: Tensor) -> Tensor:
        """The student's logits with each quantised layer at a freshly drawn precision; no gradient, and the
        BatchNorm running statistics untouched."""
        with (
            kept_batchnorm_stats(self.student),
            stochastic_activation_precision(
                self.student, self.student_a_bits, self.teacher_a_bits, float(self.params["p_high"]), self.generator
            ) as chosen,
        ):
            logits = self.student(x)
        self.last_precisions = dict(chosen)
        return logits.detach()

    def loss_terms(self, batch: Batch, state: StepState) -> StepOutput:
        """Cross-entropy on the labels and the weighted cosine distance to the stochastic-precision pass."""
        teacher = self.teacher_logits(batch.x)
        logits = self.student(batch.x)
        return StepOutput(
            logits,
            {
                "ce": F.cross_entropy(logits, batch.y),
                "cos": float(self.params["cos_weight"]) * cosine_distance(logits, teacher, state.temperature),
            },
        )

    def state_dict(self) -> dict[str, Any]:
        """The precision generator's state, so a resumed run draws the same precisions."""
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the precision generator."""
        self.generator.set_state(state["generator"])
