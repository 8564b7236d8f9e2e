"""qkd: KD loss into a quantised student, the α schedule it runs under, its quantised teacher, presets and CLI."""

import math

import pytest
import torch
from conftest import tiny_config
from torch import nn

from workbench.cli import main
from workbench.config import RunConfig, load_config_file
from workbench.engine import Callback, fit
from workbench.engine.teacher_bank import TeacherBank
from workbench.methods import Batch, StepState, get_method
from workbench.models import create_model
from workbench.presets import list_presets
from workbench.quant import QuantLayer, model_size_kb, quantized_layers, weight_levels
from workbench.runner import run_recorded
from workbench.store import RunStore


class FixedLogits(nn.Module):
    """Returns the same logits for every input row (a trainable offset for the student)."""

    def __init__(self, logits):
        super().__init__()
        self.logits = nn.Parameter(torch.tensor(logits))

    def forward(self, x):
        return self.logits.expand(x.shape[0], -1)


def state(alpha, temperature):
    return StepState(step=0, epoch=1, progress=0.0, alpha=alpha, temperature=temperature)


def test_loss_terms_match_hand_computation():
    # teacher softmax at T = 2: [3/4, 1/4]; student softmax: [1/2, 1/2]; label 0
    teacher = FixedLogits([2 * math.log(3.0), 0.0])
    student = FixedLogits([0.0, 0.0])
    method = get_method("qkd")(student, TeacherBank([teacher]), {"teacher_w_bits": "32"}, 2)
    batch = Batch(torch.zeros(1, 1), torch.tensor([0]))
    terms = method.loss_terms(batch, state(alpha=0.3, temperature=2.0)).terms
    kl = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    assert terms["ce"].item() == pytest.approx(0.7 * math.log(2.0), rel=1e-6)
    assert terms["kd"].item() == pytest.approx(0.3 * 4.0 * kl, rel=1e-6)


def test_alpha_follows_the_linear_decay_named_in_the_card(digits_teacher):
    class Alphas(Callback):
        def __init__(self):
            self.values = []

        def on_step(self, event):
            self.values.append(event.metrics["alpha"])

    alphas = Alphas()
    config = tiny_config(
        method="qkd", w_bits="ternary", alpha=0.8, alpha_end=0.2, alpha_schedule="linear", schedule_fraction=0.5
    )
    fit(config, [alphas], teachers=[digits_teacher])
    last = len(alphas.values) - 1  # progress runs from 0 at the first step to 1 at the last
    for step, value in enumerate(alphas.values):
        assert value == pytest.approx(0.8 + (0.2 - 0.8) * min(step / last / 0.5, 1.0))
    assert "min(p/f, 1)" in get_method("qkd").summary


def test_teacher_is_quantised_when_asked_and_the_original_is_untouched(digits_teacher):
    bank = TeacherBank([digits_teacher])
    bank.train_logits[0] = torch.zeros(5, 10)
    get_method("qkd")(nn.Linear(64, 10), bank, {"teacher_w_bits": "ternary"}, 10)
    layers = quantized_layers(bank.models[0])
    assert bank.models[0] is not digits_teacher and layers
    assert all(weight_levels(layer).numel() <= 3 for layer in layers)
    assert not any(isinstance(m, QuantLayer) for m in digits_teacher.modules())
    assert bank.train_logits[0] is None  # the full-precision teacher's cached logits are not reused


def test_full_precision_teacher_is_kept_as_is(digits_teacher):
    bank = TeacherBank([digits_teacher])
    get_method("qkd")(nn.Linear(64, 10), bank, {"teacher_w_bits": "32"}, 10)
    assert bank.models[0] is digits_teacher


def test_quantised_teacher_gets_no_gradients(digits_teacher):
    student = FixedLogits([0.0] * 10)
    bank = TeacherBank([digits_teacher])
    method = get_method("qkd")(student, bank, {"teacher_w_bits": "4"}, 10)
    batch = Batch(torch.randn(8, 1, 8, 8), torch.arange(8))
    sum(method.loss_terms(batch, state(alpha=0.5, temperature=4.0)).terms.values()).backward()
    assert student.logits.grad is not None
    teacher = bank.models[0]
    assert not teacher.training
    assert all(not p.requires_grad and p.grad is None for p in teacher.parameters())


def test_tiny_ternary_run_completes_and_records_its_loss_terms(tmp_path):
    store = RunStore(tmp_path / "runs")
    config = tiny_config(
        method="qkd",
        w_bits="ternary",
        alpha_schedule="linear",
        alpha_end=0.0,
        method_params={"teacher_w_bits": "ternary"},
    )
    run_id, result = run_recorded(config, store)
    assert result.status == "done"
    names = set(store.metrics_frame(run_id)["name"])
    assert {"ce", "kd", "train_ce", "train_kd", "alpha", "agreement"} <= names
    assert result.final_metrics["size_kb"] < model_size_kb(create_model("lenet5_half", 10, 1, 8))


@pytest.mark.parametrize(
    ("flag", "value", "field"),
    [
        ("--w-bits", "9", "w_bits"),
        ("--a-bits", "1", "a_bits"),
        ("--teacher-w-bits", "9", "teacher_w_bits"),
    ],
)
def test_bad_bit_width_flag_is_one_line_error(flag, value, field, capsys):
    code = main(["train", "--method", "qkd", flag, value])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and field in lines[0] and "Traceback" not in err


def test_presets_validate_and_hold_the_papers_setup():
    presets = {preset.name: preset for preset in list_presets()}
    assert {"qkd_resnet20_cifar10", "qkd_resnet20_cifar100"} <= set(presets)
    for name, dataset in (("qkd_resnet20_cifar10", "cifar10"), ("qkd_resnet20_cifar100", "cifar100")):
        preset = presets[name]
        config = RunConfig.from_dict(load_config_file(preset.path))
        assert (config.method, config.student, config.w_bits, config.dataset) == ("qkd", "resnet20", "ternary", dataset)
        assert config.alpha_schedule == "linear"
        assert "not verified here" in preset.description


def test_kdw_presets_lists_each_preset_with_its_file(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for preset in list_presets():
        assert preset.name in out and f"kdw train --config {preset.path}" in out


def test_a_quantised_teacher_never_reads_the_full_precision_teachers_cached_test_logits():
    from workbench.engine.teacher_bank import TeacherBank

    class Constant(torch.nn.Module):
        def __init__(self, value):
            super().__init__()
            self.value = value

        def forward(self, x):
            return torch.full((x.shape[0], 2), self.value)

    bank = TeacherBank([Constant(1.0)])
    x = torch.zeros(3, 1)
    import tempfile
    from pathlib import Path

    file = Path(tempfile.mkdtemp()) / "test_logits.pt"
    assert bank.split_logits(x, [file])[0].eq(1.0).all() and file.exists()
    bank.replace(0, Constant(2.0))
    assert bank.split_logits(x, [file])[0].eq(2.0).all()
