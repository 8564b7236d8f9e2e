"""KD for quantised students (Shin, Boo & Sung, 2019): temperature, α schedule and teacher size together."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torch import nn

from ..quant import parse_bits, quantize
from ..quant.spec import WEIGHT_BIT_CHOICES
from .base import HyperParam
from .kd import VanillaKD

if TYPE_CHECKING:
    from ..engine.teacher_bank import TeacherBank

FULL_PRECISION = "32"


def quantized_teacher(teacher: nn.Module, w_bits: str) -> nn.Module:
    """A frozen copy of `teacher` with weights quantised to `w_bits` (activations stay full precision; the
    first conv and last linear stay float, as for the student); `teacher` itself is untouched."""
    copy = quantize(teacher, parse_bits(w_bits, "qkd.teacher_w_bits"), 32)
    copy.eval()
    copy.requires_grad_(False)
    return copy


class QuantizedStudentKD(VanillaKD):
    """Hinton's KD loss into a quantised student, with α scheduled by the engine and an optionally quantised teacher."""

    name = "qkd"
    title = "KD for quantised students (Shin, Boo & Sung)"
    summary = (
        "KD into a low-bit student (set --w-bits/--a-bits), where temperature, the soft/hard coefficient α "
        "and the teacher's size interact: a small teacher at a good temperature can match a large one. "
        "Gradual soft-loss reduction is the run's α schedule: with --alpha-schedule linear, "
        "α(p) = α₀ + (α_end − α₀)·min(p/f, 1) at training progress p ∈ [0, 1] "
        "(α₀ = --alpha, α_end = --alpha-end, f = --schedule-fraction), updated every step; "
        "constant keeps α₀. The teacher can be quantised too (teacher_w_bits). Presets qkd_resnet20_cifar10 and "
        "qkd_resnet20_cifar100 (kdw presets) hold the paper's setup, for a GPU with CIFAR downloaded; not "
        "verified here (the paper reports 92.7% and 67.0% for a ternary ResNet20)."
    )
    loss_latex = (
        r"\mathcal{L} = (1-\alpha(p))\,\mathrm{CE}(y, \sigma(z_s^{Q})) + \alpha(p)\,T^2\,"
        r"\mathrm{KL}\big(\sigma(z_t/T)\,\|\,\sigma(z_s^{Q}/T)\big),\ "
        r"\alpha(p) = \alpha_0 + (\alpha_{\mathrm{end}} - \alpha_0)\min(p/f, 1)"
    )
    hyperparams = (
        HyperParam(
            "teacher_w_bits",
            FULL_PRECISION,
            "weight precision of the (frozen) teacher's copy used in the run; 32 = the teacher as trained",
            choices=WEIGHT_BIT_CHOICES,
        ),
    )
    reference = (
        "Shin, Boo & Sung, Knowledge Distillation for Optimization of Quantized Deep Neural Networks, "
        "IEEE SiPS 2020 (arXiv:1909.01688)"
    )

    def __init__(self, student: nn.Module, teachers: "TeacherBank", params: dict[str, Any], num_classes: int) -> None:
        super().__init__(student, teachers, params, num_classes)
        bits = str(params["teacher_w_bits"])
        if bits != FULL_PRECISION and len(teachers):
            teachers.replace(0, quantized_teacher(teachers.models[0], bits))
