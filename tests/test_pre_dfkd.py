"""PRE-DFKD: Jensen–Shannon and VAE losses against their formulas, the VAE memory's shapes, a data-free
run with replay that never reads the training split, its memory footprint metrics, and resume."""

import math

import pytest
import torch
from conftest import tiny_config
from test_dafl import data_free_dataset

from workbench.engine import Callback, fit
from workbench.methods.pre_dfkd import ReplayVAE, js_divergence, vae_terms


def pre_dfkd_config(**changes):
    values = {
        "method": "pre-dfkd",
        "optimizer": "adam",
        "lr": 2e-3,
        "batch_size": 16,
        "temperature": 2.0,
        "cache_teacher_logits": False,
        "method_params": {"iterations": 3, "gen_width": 16, "vae_latent": 8},
    }
    values.update(changes)
    return tiny_config(**values)


def explicit_js(a, b, temperature):
    total = 0.0
    for row_a, row_b in zip(a.tolist(), b.tolist()):
        p = torch.tensor(row_a).div(temperature).softmax(0).tolist()
        q = torch.tensor(row_b).div(temperature).softmax(0).tolist()
        m = [(x + y) / 2 for x, y in zip(p, q)]
        total += 0.5 * sum(x * math.log(x / z) for x, z in zip(p, m))
        total += 0.5 * sum(y * math.log(y / z) for y, z in zip(q, m))
    return total / len(a)


def test_js_divergence_follows_its_formula():
    a = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    b = torch.tensor([[0.0, 1.0, 1.0], [-2.0, 4.0, 0.0]])
    assert js_divergence(a, b, 2.0).item() == pytest.approx(explicit_js(a, b, 2.0), rel=1e-5)
    assert js_divergence(a, b, 2.0).item() == pytest.approx(js_divergence(b, a, 2.0).item(), rel=1e-6)


def test_js_divergence_is_zero_for_equal_and_below_log2_for_opposite_outputs():
    a = torch.tensor([[30.0, -30.0]])
    assert js_divergence(a, a, 1.0).item() == pytest.approx(0.0, abs=1e-7)
    assert js_divergence(a, -a, 1.0).item() == pytest.approx(math.log(2), rel=1e-4)


def test_vae_terms_follow_their_formula():
    images = torch.tensor([[[[1.0, -1.0], [0.5, 0.0]]]])
    reconstruction = torch.tensor([[[[0.5, -1.0], [1.5, 0.25]]]])
    teacher_x, teacher_r = torch.tensor([[2.0, -1.0, 0.0]]), torch.tensor([[1.0, 1.0, 0.5]])
    mu, log_var = torch.tensor([[0.5, -1.0]]), torch.tensor([[0.0, math.log(2.0)]])
    terms = vae_terms(images, reconstruction, teacher_x, teacher_r, mu, log_var, w_pixel=2.0, w_logit=0.5, w_kl=0.1)
    pixel = (0.5 + 0.0 + 1.0 + 0.25) / 4
    logit = (1.0 + 2.0 + 0.5) / 3
    kl = 0.5 * ((0.25 + 1.0 - 1.0 - 0.0) + (1.0 + 2.0 - 1.0 - math.log(2.0)))
    assert terms["vae_pixel"].item() == pytest.approx(2.0 * pixel, rel=1e-6)
    assert terms["vae_logit"].item() == pytest.approx(0.5 * logit, rel=1e-6)
    assert terms["vae_kl"].item() == pytest.approx(0.1 * kl, rel=1e-5)


@pytest.mark.parametrize("channels,size", [(1, 8), (1, 28), (3, 32)])
def test_vae_reconstructs_and_samples_images_of_the_dataset_shape(channels, size):
    vae = ReplayVAE(channels, size, latent_dim=8, width=16)
    reconstruction, mu, log_var = vae(torch.randn(4, channels, size, size))
    assert reconstruction.shape == (4, channels, size, size) and mu.shape == log_var.shape == (4, 8)
    assert vae.sample(5).shape == (5, channels, size, size)


class EpochMetrics(Callback):
    def __init__(self):
        self.epochs, self.steps = [], []

    def on_step(self, event):
        self.steps.append(event.metrics)

    def on_epoch(self, event):
        self.epochs.append((event.metrics, event.images))


def test_pre_dfkd_run_replays_memory_without_reading_the_training_split(digits_teacher):
    recorder = EpochMetrics()
    result = fit(pre_dfkd_config(), [recorder], teachers=[digits_teacher], dataset=data_free_dataset())
    assert result.status == "done"
    terms = {"g_onehot", "g_entropy", "g_activation", "g_adv", "vae_pixel", "vae_logit", "vae_kl", "l1"}
    assert terms <= set(recorder.steps[0])
    metrics, images = recorder.epochs[-1]
    assert set(images) == {"generated", "replayed"} and images["replayed"].shape[1:] == (1, 8, 8)
    assert metrics["memory_samples"] == 2 * 3 * 16  # epochs × iterations × novel batch
    assert metrics["memory_buffer_bytes"] == metrics["memory_samples"] * 8 * 8 * 4
    vae = ReplayVAE(1, 8, latent_dim=8, width=16)
    assert metrics["memory_vae_bytes"] == 4 * sum(p.numel() for p in vae.parameters())


def test_student_rehearses_novel_and_replayed_samples(digits_teacher):
    seen = []

    class Counting(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            seen.append(x.shape[0])
            return self.inner(x)

        def forward_features(self, x):
            return self.inner.forward_features(x)

    fit(
        pre_dfkd_config(epochs=1, method_params={"iterations": 1, "gen_width": 16, "replay_ratio": 0.5}),
        teachers=[Counting(digits_teacher)],
        dataset=data_free_dataset(),
    )
    # the one step's teacher calls come first: VAE input (16 novel + 8 replayed), its reconstruction, and the
    # student's rehearsal batch; the test split's logits follow at the first evaluation (through the bank's inference
    # copy, whose tracing sees a symbolic batch size)
    calls = [size for size in seen if isinstance(size, int)]
    assert calls[:3] == [24, 24, 24]


def test_pre_dfkd_resumes_with_its_generator_and_memory(digits_teacher, tmp_path):
    full = fit(pre_dfkd_config(), teachers=[digits_teacher])
    checkpoint = tmp_path / "ckpt.pt"
    stop = {"now": False}

    class StopAfterFirstEpoch(Callback):
        def on_epoch(self, event):
            stop["now"] = True

    interrupted = fit(
        pre_dfkd_config(),
        [StopAfterFirstEpoch()],
        teachers=[digits_teacher],
        cancel=lambda: stop["now"],
        checkpoint_path=checkpoint,
    )
    assert interrupted.status == "cancelled"
    resumed = fit(pre_dfkd_config(), teachers=[digits_teacher], checkpoint_path=checkpoint, resume=True)
    assert resumed.history[-1]["train_loss"] == pytest.approx(full.history[-1]["train_loss"], rel=1e-5)
    assert resumed.history[-1]["memory_samples"] == full.history[-1]["memory_samples"]


def test_generator_step_leaves_the_students_batchnorm_statistics_to_the_student_step(digits_teacher):
    from test_dafl import _no_autocast, _state

    from workbench.data import dataset_info
    from workbench.engine.teacher_bank import TeacherBank
    from workbench.methods.pre_dfkd import PreDfkd
    from workbench.models import create_model

    torch.manual_seed(0)
    student = create_model("cnn:8", 10, 1, 8)
    method = PreDfkd(
        student, TeacherBank([digits_teacher]), PreDfkd.validate_params({"gen_width": 16, "vae_latent": 8}), 10
    )
    method.prepare(dataset_info("digits"), 16)
    modes = []
    norm = next(m for m in student.modules() if isinstance(m, torch.nn.BatchNorm2d))
    norm.register_forward_hook(lambda module, inputs, output: modes.append((module.training, inputs[0].shape[0])))
    student.train()
    method.train_step(None, _state(), torch.optim.SGD(student.parameters(), lr=0.01), _no_autocast)
    # the generator step's forward in eval mode (running statistics used, not updated); the student's own step on
    # novel + replayed samples in train mode; the student is left in train mode
    assert modes == [(False, 16), (True, 32)] and student.training
    assert int(norm.num_batches_tracked) == 1


def test_the_digits_preset_is_pre_dfkd_with_the_lenet5_teacher_500_batches_and_the_methods_other_defaults():
    from workbench.config import RunConfig, load_config_file
    from workbench.methods.pre_dfkd import PreDfkd
    from workbench.presets import list_presets

    preset = {preset.name: preset for preset in list_presets()}["pre_dfkd_digits"]
    config = RunConfig.from_dict(load_config_file(preset.path))
    assert (config.method, config.dataset, config.teachers, config.student) == (
        "pre-dfkd",
        "digits",
        ["lenet5"],
        "lenet5_half",
    )
    assert PreDfkd.validate_params(config.method_params) == PreDfkd.validate_params({"iterations": 500})
