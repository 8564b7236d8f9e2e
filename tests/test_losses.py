"""Each loss against its formula, computed by hand on fixed tensors."""

from __future__ import annotations

import math

import pytest
import torch

from workbench.engine.teacher_bank import TeacherBank
from workbench.methods import Batch, StepState, get_method
from workbench.methods.losses import distillation_kl
from workbench.methods.tfkd import handmade_soft_target

STUDENT = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]], dtype=torch.float64)
TEACHER = torch.tensor([[3.0, 1.0, -2.0], [0.5, 0.0, 2.0]], dtype=torch.float64)
LABELS = torch.tensor([0, 2])


def softmax(row, t=1.0):
    exps = [math.exp(v / t) for v in row]
    return [e / sum(exps) for e in exps]


def hand_kd(student, teacher, t):
    total = 0.0
    for s_row, t_row in zip(student.tolist(), teacher.tolist()):
        p, q = softmax(t_row, t), softmax(s_row, t)
        total += sum(pi * math.log(pi / qi) for pi, qi in zip(p, q))
    return t * t * total / len(student)


def hand_ce(student, labels):
    rows = student.tolist()
    return sum(-math.log(softmax(r)[y]) for r, y in zip(rows, labels.tolist())) / len(rows)


@pytest.mark.parametrize("temperature", [1.0, 4.0, 20.0])
def test_distillation_kl_is_t_squared_kl_averaged_over_batch(temperature):
    expected = hand_kd(STUDENT, TEACHER, temperature)
    assert distillation_kl(STUDENT, TEACHER, temperature).item() == pytest.approx(expected, rel=1e-9)


class FixedStudent(torch.nn.Module):
    """Returns fixed logits (with a parameter so gradients can be checked)."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.nn.Parameter(logits.clone())

    def forward(self, x):
        return self.logits


class FixedTeacher(torch.nn.Module):
    def forward(self, x):
        return TEACHER


def state(alpha, temperature):
    return StepState(step=0, epoch=1, progress=0.0, alpha=alpha, temperature=temperature)


def test_kd_loss_is_weighted_ce_plus_alpha_t2_kl():
    student = FixedStudent(STUDENT)
    bank = TeacherBank([FixedTeacher()])
    method = get_method("kd")(student, bank, {}, 3)
    out = method.loss_terms(Batch(torch.zeros(2, 1), LABELS), state(alpha=0.7, temperature=4.0))
    assert out.terms["ce"].item() == pytest.approx(0.3 * hand_ce(STUDENT, LABELS), rel=1e-9)
    assert out.terms["kd"].item() == pytest.approx(0.7 * hand_kd(STUDENT, TEACHER, 4.0), rel=1e-9)
    sum(out.terms.values()).backward()
    assert student.logits.grad is not None and student.logits.grad.abs().sum() > 0


def test_baseline_is_plain_cross_entropy():
    method = get_method("baseline")(FixedStudent(STUDENT), TeacherBank([]), {}, 3)
    out = method.loss_terms(Batch(torch.zeros(2, 1), LABELS), state(0.9, 4.0))
    assert list(out.terms) == ["ce"]
    assert out.terms["ce"].item() == pytest.approx(hand_ce(STUDENT, LABELS), rel=1e-9)


def test_handmade_soft_target_puts_a_on_true_class_at_t1():
    target = handmade_soft_target(LABELS, 3, correct_prob=0.8, temperature=1.0)
    assert target.flatten().tolist() == pytest.approx([0.8, 0.1, 0.1, 0.1, 0.1, 0.8], abs=1e-6)


def test_handmade_soft_target_softens_with_temperature():
    t = 3.0
    target = handmade_soft_target(LABELS[:1], 3, correct_prob=0.8, temperature=t)
    raw = [0.8 ** (1 / t), 0.1 ** (1 / t), 0.1 ** (1 / t)]
    assert target[0].tolist() == pytest.approx([v / sum(raw) for v in raw], abs=1e-6)


def test_tfkd_loss_matches_formula():
    method = get_method("tfkd")(FixedStudent(STUDENT), TeacherBank([]), {"correct_prob": 0.8}, 3)
    t, alpha = 2.0, 0.6
    out = method.loss_terms(Batch(torch.zeros(2, 1), LABELS), state(alpha, t))
    target = handmade_soft_target(LABELS, 3, 0.8, t, torch.float64).tolist()
    kl = 0.0
    for s_row, p in zip(STUDENT.tolist(), target):
        q = softmax(s_row, t)
        kl += sum(pi * math.log(pi / qi) for pi, qi in zip(p, q))
    assert out.terms["tf_kd"].item() == pytest.approx(alpha * t * t * kl / 2, rel=1e-9)
    assert out.terms["ce"].item() == pytest.approx((1 - alpha) * hand_ce(STUDENT, LABELS), rel=1e-9)


def test_teacher_gets_no_gradient_in_kd():
    teacher = torch.nn.Linear(3, 3)
    bank = TeacherBank([teacher])
    student = torch.nn.Linear(3, 3)
    method = get_method("kd")(student, bank, {}, 3)
    out = method.loss_terms(Batch(torch.randn(2, 3), LABELS), state(0.5, 2.0))
    sum(out.terms.values()).backward()
    assert teacher.weight.grad is None and student.weight.grad is not None
