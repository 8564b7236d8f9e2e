"""LW-KD: discriminator and fooling losses against their formulas, soft targets drawn from the right
class, the cached glyph teacher (time recorded, random state untouched) and a tiny digits run."""

import math

import pytest
import torch
from conftest import tiny_config

from workbench.engine import FunctionCallback, fit
from workbench.glyph_teacher import find_glyph_teacher, get_glyph_teacher
from workbench.methods.lwkd import LightweightTeacherKD, OutputDiscriminator, discriminator_loss, fooling_loss
from workbench.runner import run_recorded
from workbench.store import RunStore
from workbench.teachers import TeacherMissing, resolve_for, train_and_cache

GLYPHS = 60  # fewer leave the glyph teacher at chance, and a collapsed teacher is refused


def lwkd_config(**changes):
    values = {
        "method": "lwkd",
        "teachers": ["cnn"],
        "epochs": 2,
        "method_params": {"glyphs_per_class": GLYPHS, "glyph_arch": "lenet5_half"},
    }
    values.update(changes)
    return tiny_config(**values)


def sigmoid(v):
    return 1 / (1 + math.exp(-v))


def test_discriminator_loss_follows_binary_cross_entropy():
    real, fake = torch.tensor([2.0, -0.5]), torch.tensor([0.3, -1.0])
    expected = (
        -(math.log(sigmoid(2.0)) + math.log(sigmoid(-0.5))) / 2
        - (math.log(1 - sigmoid(0.3)) + math.log(1 - sigmoid(-1.0))) / 2
    )
    assert discriminator_loss(real, fake).item() == pytest.approx(expected, rel=1e-6)


def test_fooling_loss_is_minus_log_d_of_the_student():
    fake = torch.tensor([0.3, -1.0, 4.0])
    expected = -sum(math.log(sigmoid(v)) for v in fake.tolist()) / 3
    assert fooling_loss(fake).item() == pytest.approx(expected, rel=1e-6)


def test_discriminator_sees_the_distribution_and_its_class():
    discriminator = OutputDiscriminator(num_classes=4)
    probs = torch.full((2, 4), 0.25)
    as_class_0 = discriminator(probs, torch.tensor([0, 0]))
    as_classes = discriminator(probs, torch.tensor([0, 3]))
    assert as_class_0.shape == (2,)
    assert as_class_0[0] == as_classes[0] and as_class_0[1] != as_classes[1]


def test_soft_targets_come_from_glyphs_of_the_same_class():
    method = LightweightTeacherKD.__new__(LightweightTeacherKD)
    method.per_class = 5
    method.glyph_logits = torch.arange(4).repeat_interleave(5).float().unsqueeze(1)  # row value = its class
    labels = torch.tensor([3, 0, 2, 2, 1, 3] * 20)
    assert torch.equal(method.glyph_soft_logits(labels).squeeze(1), labels.float())


def test_glyph_teacher_is_trained_once_then_cached_without_touching_the_random_state():
    torch.manual_seed(7)
    expected_next = torch.rand(3)
    torch.manual_seed(7)
    teacher, record = get_glyph_teacher("digits", "lenet5_half", per_class=GLYPHS, seed=0)
    assert torch.equal(torch.rand(3), expected_next)
    assert record.dataset == "glyphs-digits" and record.train_seconds > 0 and 0 <= record.test_acc <= 1
    assert find_glyph_teacher("lenet5_half", "digits", GLYPHS, 0).created == record.created
    assert not any(p.requires_grad for p in teacher.parameters())


def test_lwkd_digits_run_records_its_terms_and_the_teacher_cost():
    steps = []
    config = lwkd_config()
    result = fit(
        config,
        [FunctionCallback(on_step=lambda event: steps.append(event.metrics))],
        **resolve_for(config, train=train_and_cache),
    )
    assert result.status == "done" and len(result.history) == 2
    assert {"ce", "kd", "adv", "disc"} <= set(steps[0])
    last = result.history[-1]
    assert last["glyph_teacher_seconds"] > 0 and 0 <= last["glyph_teacher_acc"] <= 1
    assert "agreement" not in last  # the glyph teacher is not a teacher of the target data


def test_lwkd_gives_the_same_numbers_whether_the_glyph_teacher_is_cached_or_new(tmp_path):
    store = RunStore(tmp_path / "runs")
    first_id, first = run_recorded(lwkd_config(epochs=1), store)  # trains the glyph teacher first, as its own run
    second_id, second = run_recorded(lwkd_config(epochs=1), store)
    assert first.history[-1]["train_loss"] == second.history[-1]["train_loss"]
    teacher_runs = [record for record in store.list_runs() if record.id not in (first_id, second_id)]
    assert [record.name for record in teacher_runs] == ["glyph teacher lenet5_half (digits)"]
    assert teacher_runs[0].status == "done" and "teacher" in teacher_runs[0].artifacts


def test_lwkd_declares_its_glyph_teacher_and_the_caller_resolves_it():
    config = lwkd_config(method_params={"glyphs_per_class": GLYPHS, "glyph_arch": "lenet5_half", "glyph_seed": 3})
    assert LightweightTeacherKD.glyph_teacher_spec(config.method_params) == ("lenet5_half", GLYPHS, 3)
    with pytest.raises(TeacherMissing, match="glyph teacher lenet5_half for digits"):
        resolve_for(config)  # not cached, and no way to train it given
    given = resolve_for(config, train=train_and_cache)
    assert given["teachers"] == [] and given["glyph_teacher"].train_seconds > 0
