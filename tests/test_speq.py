"""speq: the cosine loss, the stochastic-precision teacher pass (mixed, detached, BN stats kept) and tiny runs."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_config

from workbench.engine import Callback, fit
from workbench.engine.teacher_bank import TeacherBank
from workbench.errors import ConfigError
from workbench.methods import Batch, StepState, get_method
from workbench.methods.speq import cosine_distance
from workbench.models import create_model
from workbench.quant import quantize, quantized_layers, set_activation_bits
from workbench.runner import run_recorded
from workbench.store import RunStore


def quantised_cnn(a_bits=4):
    """A width-8 cnn for 8x8 digits at W4 and `a_bits`: five input-quantising convolutions, with BatchNorm."""
    torch.manual_seed(0)
    return quantize(create_model("cnn:8", 10, 1, 8), 4, a_bits).train()


def speq(student, **params):
    return get_method("speq")(student, TeacherBank([]), get_method("speq").validate_params(params), 10)


def state(temperature=4.0):
    return StepState(step=0, epoch=1, progress=0.0, alpha=0.0, temperature=temperature)


def full_precision_pass(student, x):
    reference = copy.deepcopy(student)
    set_activation_bits(reference, 32)
    with torch.no_grad():
        return reference(x)


def test_cosine_distance_matches_hand_computation():
    # at T = 2: student softmax [1/2, 1/2], teacher softmax [3/4, 1/4]
    student = torch.tensor([[0.0, 0.0]])
    teacher = torch.tensor([[2 * math.log(3.0), 0.0]])
    cos = (0.5 * 0.75 + 0.5 * 0.25) / (math.sqrt(0.5) * math.sqrt(0.75**2 + 0.25**2))
    assert cosine_distance(student, teacher, 2.0).item() == pytest.approx(1.0 - cos, rel=1e-6)
    assert cosine_distance(teacher, teacher, 2.0).item() == pytest.approx(0.0, abs=1e-6)


def test_loss_terms_are_ce_plus_weighted_cosine_distance_to_the_full_precision_pass():
    student = quantised_cnn()
    method = speq(student, p_high=1.0, cos_weight=3.0)
    x, y = torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(0)), torch.arange(16) % 10
    reference = full_precision_pass(student, x)
    output = method.loss_terms(Batch(x, y), state(temperature=2.0))
    assert output.terms["ce"].item() == pytest.approx(F.cross_entropy(output.logits, y).item(), rel=1e-6)
    expected = 3.0 * cosine_distance(output.logits, reference, 2.0)
    assert output.terms["cos"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert output.terms["cos"].item() > 0


@pytest.mark.parametrize(("p_high", "bits"), [(1.0, 32), (0.0, 4)])
def test_teacher_pass_uses_full_or_student_precision_at_the_extremes(p_high, bits):
    student = quantised_cnn()
    method = speq(student, p_high=p_high)
    x = torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    teacher = method.teacher_logits(x)
    assert set(method.last_precisions.values()) == {bits} and len(method.last_precisions) == 5
    expected = full_precision_pass(student, x) if bits == 32 else student(x).detach()
    assert torch.allclose(teacher, expected, atol=1e-6)
    assert all(layer.a_bits == 4 for layer in quantized_layers(student) if layer.quantize_input)


def test_teacher_pass_mixes_precisions_per_layer_and_redraws_each_pass():
    method = speq(quantised_cnn(), p_high=0.5, teacher_a_bits="8")
    x = torch.randn(4, 1, 8, 8)
    draws = []
    for _ in range(10):
        method.teacher_logits(x)
        draws.append(tuple(method.last_precisions.values()))
    assert {bits for draw in draws for bits in draw} == {4, 8}
    assert any(len(set(draw)) == 2 for draw in draws) and len(set(draws)) > 1


def test_teacher_pass_is_detached_and_leaves_batchnorm_statistics_alone():
    student = quantised_cnn()
    method = speq(student)
    before = {name: value.clone() for name, value in student.state_dict().items() if "running" in name}
    teacher = method.teacher_logits(torch.randn(16, 1, 8, 8))
    assert not teacher.requires_grad and teacher.grad_fn is None
    after = student.state_dict()
    assert before and all(torch.equal(value, after[name]) for name, value in before.items())


def test_precision_draws_resume_from_the_method_state():
    method = speq(quantised_cnn())
    saved = method.state_dict()
    x = torch.randn(2, 1, 8, 8)
    method.teacher_logits(x)
    first = dict(method.last_precisions)
    method.load_state_dict(saved)
    method.teacher_logits(x)
    assert method.last_precisions == first


def test_needs_quantised_activations_and_a_higher_teacher_precision():
    cls = get_method("speq")
    assert cls.unavailable_reason(teacher_count=0, dataset="digits", student="cnn", w_bits="4", a_bits="32")
    assert cls.unavailable_reason(teacher_count=0, dataset="digits", student="cnn", w_bits="32", a_bits="4") is None
    with pytest.raises(ConfigError, match="a_bits"):
        speq(quantize(create_model("cnn:8", 10, 1, 8), 4, 32))
    with pytest.raises(ConfigError, match="teacher_a_bits"):
        speq(quantised_cnn(a_bits=8), teacher_a_bits="6")


class Terms(Callback):
    def __init__(self):
        self.cos = []

    def on_step(self, event):
        self.cos.append(event.metrics["cos"])


def test_tiny_w4a4_run_completes_records_its_terms_and_repeats_under_its_seed(tmp_path):
    store = RunStore(tmp_path / "runs")
    config = tiny_config(method="speq", w_bits="4", a_bits="4", epochs=1, train_subset=300)
    first, second = Terms(), Terms()
    run_id, result = run_recorded(config, store, callbacks=[first])
    assert result.status == "done"
    assert {"ce", "cos", "train_ce", "train_cos", "test_acc"} <= set(store.metrics_frame(run_id)["name"])
    fit(config, [second])
    assert first.cos == second.cos and any(value > 0 for value in first.cos)
