"""DAFL: the generator's shape and output normalisation, its loss against the formula, a data-free run
that never reads the training split, checkpoint state and the sample grids saved as run artifacts."""

import math

import pytest
import torch
from conftest import tiny_config

from workbench.data import LoadedDataset, load_dataset
from workbench.engine import FunctionCallback, fit
from workbench.errors import ConfigError
from workbench.methods.dafl import Dafl, DaflGenerator, dafl_generator_terms
from workbench.runner import run_recorded
from workbench.stability import accuracy_over_training
from workbench.store import RunStore


class ForbiddenSplit:
    """A training split that tells only its length: reading its images or labels fails the test."""

    def __init__(self, size):
        self.size = size

    def __len__(self):
        return self.size

    def __getattr__(self, name):
        raise AssertionError(f"the training split was read (.{name})")


def data_free_dataset():
    """Digits whose training split cannot be read, only its test split."""
    real = load_dataset("digits", train_subset=400)
    return LoadedDataset(real.info, ForbiddenSplit(len(real.train)), real.test, real.mean, real.std)


def dafl_config(**changes):
    values = {
        "method": "dafl",
        "optimizer": "adam",
        "lr": 2e-3,
        "batch_size": 32,
        "method_params": {"iterations": 3, "gen_width": 16},
    }
    values.update(changes)
    return tiny_config(**values)


@pytest.mark.parametrize("channels,size", [(1, 8), (1, 28), (3, 32), (1, 30)])
def test_generator_makes_images_of_the_dataset_shape(channels, size):
    generator = DaflGenerator(latent_dim=20, channels=channels, image_size=size, width=16)
    images = generator(torch.randn(6, 20))
    assert images.shape == (6, channels, size, size)


def test_generator_output_is_batch_normalised_without_affine():
    generator = DaflGenerator(latent_dim=20, channels=3, image_size=8, width=16)
    images = generator(torch.randn(64, 20)).detach()
    assert not generator.out[1].affine
    assert images.mean(dim=(0, 2, 3)) == pytest.approx([0.0] * 3, abs=1e-5)
    assert images.var(dim=(0, 2, 3), unbiased=False) == pytest.approx([1.0] * 3, rel=1e-3)


@pytest.mark.parametrize("entropy_log", ["log10", "natural"])
@pytest.mark.parametrize("activation_norm", ["mean", "l1"])
def test_generator_terms_follow_the_dafl_formula(entropy_log, activation_norm):
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.3, 0.2], [-0.5, 1.5, 3.0]])
    embedding = torch.tensor([[1.0, -2.0], [0.5, 0.0], [-3.0, 1.5]])
    terms = dafl_generator_terms(
        logits, embedding, w_oh=1.5, w_ie=5.0, w_a=0.2, entropy_log=entropy_log, activation_norm=activation_norm
    )
    probs = logits.softmax(1)
    one_hot = -sum(math.log(probs[i, probs[i].argmax()]) for i in range(3)) / 3
    mean_probs = probs.mean(0)
    log = math.log10 if entropy_log == "log10" else math.log
    entropy_term = sum(p * log(p) for p in mean_probs.tolist())
    total = sum(abs(v) for v in embedding.flatten().tolist())
    activation = total / embedding.numel() if activation_norm == "mean" else total / embedding.shape[0]
    assert terms["g_onehot"].item() == pytest.approx(1.5 * one_hot, rel=1e-5)
    assert terms["g_entropy"].item() == pytest.approx(5.0 * entropy_term, rel=1e-5)
    assert terms["g_activation"].item() == pytest.approx(-0.2 * activation, rel=1e-5)


def test_the_authors_code_is_the_default_and_the_paper_a_choice():
    params = Dafl.validate_params({})
    assert (params["entropy_log"], params["activation_norm"]) == ("log10", "mean")
    assert Dafl.validate_params({"entropy_log": "natural", "activation_norm": "l1"})["activation_norm"] == "l1"
    with pytest.raises(ConfigError):
        Dafl.validate_params({"entropy_log": "log2"})


def test_balanced_teacher_answers_minimise_the_entropy_term():
    balanced = torch.eye(4) * 10
    one_class = torch.zeros(4, 4)
    one_class[:, 0] = 10
    embedding = torch.zeros(4, 2)
    assert (
        dafl_generator_terms(balanced, embedding, 1, 1, 1)["g_entropy"]
        < dafl_generator_terms(one_class, embedding, 1, 1, 1)["g_entropy"]
    )
    uniform_mean = dafl_generator_terms(balanced, embedding, 1, 1, 1, entropy_log="natural")["g_entropy"].item()
    assert uniform_mean == pytest.approx(-math.log(4), rel=1e-4)
    assert dafl_generator_terms(balanced, embedding, 1, 1, 1)["g_entropy"].item() == pytest.approx(
        -math.log10(4), rel=1e-4
    )


def test_dafl_run_never_reads_the_training_split_and_records_its_terms(digits_teacher):
    steps = []
    result = fit(
        dafl_config(),
        [FunctionCallback(on_step=lambda event: steps.append(event.metrics))],
        teachers=[digits_teacher],
        dataset=data_free_dataset(),
    )
    assert result.status == "done" and len(result.history) == 2
    assert len(steps) == 6  # `iterations` steps per epoch, not the split's 400 / 32
    assert {"kd", "g_onehot", "g_entropy", "g_activation"} <= set(steps[0])
    assert 0.0 <= result.history[-1]["train_acc"] <= 1.0 and "test_acc" in result.history[-1]


def test_dafl_checkpoint_state_holds_the_generator_and_its_optimiser(digits_teacher):
    trained = built_dafl(digits_teacher, seed=0)
    trained.train_step(None, _state(), torch.optim.SGD(trained.student.parameters(), lr=0.1), _no_autocast)
    fresh = built_dafl(digits_teacher, seed=1)
    fresh.load_state_dict(trained.state_dict())
    for a, b in zip(trained.generator.state_dict().values(), fresh.generator.state_dict().values()):
        assert torch.equal(a, b)
    assert fresh.generator_optimizer.state_dict()["state"]
    assert set(trained.sample_images()) == {"generated"}
    assert trained.sample_images()["generated"].shape[1:] == (1, 8, 8)


def test_recorded_data_free_run_saves_its_sample_grid_as_a_png(digits_teacher, tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id, result = run_recorded(dafl_config(epochs=1), store, teachers=[digits_teacher])
    artifact = store.get_run(run_id).artifacts["samples_generated"]
    assert result.status == "done"
    assert accuracy_over_training(store.metrics_frame(run_id))["epochs"] == 1
    with open(artifact, "rb") as file:
        assert file.read(8) == b"\x89PNG\r\n\x1a\n"


def built_dafl(teacher, seed, **params):
    """A DAFL method prepared for digits, its networks initialised from `seed` (`params`: its hyperparameters)."""
    from workbench.data import dataset_info
    from workbench.engine.teacher_bank import TeacherBank
    from workbench.models import create_model

    torch.manual_seed(seed)
    method = Dafl(
        create_model("lenet5_half", 10, 1, 8),
        TeacherBank([teacher]),
        Dafl.validate_params({"gen_width": 16, **params}),
        10,
    )
    method.prepare(dataset_info("digits"), 16)
    return method


def _state():
    from workbench.methods import StepState

    return StepState(step=0, epoch=1, progress=0.0, alpha=0.9, temperature=4.0)


def _no_autocast():
    import contextlib

    return contextlib.nullcontext()


def test_the_mnist_gpu_preset_holds_the_papers_setting():
    from workbench.config import RunConfig, load_config_file
    from workbench.presets import list_presets

    preset = {preset.name: preset for preset in list_presets()}["dafl_mnist_gpu"]
    config = RunConfig.from_dict(load_config_file(preset.path))
    assert (config.dataset, config.teachers, config.student, config.method) == (
        "mnist",
        ["lenet5"],
        "lenet5_half",
        "dafl",
    )
    assert (config.epochs, config.batch_size, config.optimizer, config.lr, config.temperature) == (
        200,
        512,
        "adam",
        0.002,
        1.0,
    )
    params = config.method_params
    assert (params["iterations"], params["gen_lr"], params["gen_width"], params["w_bn"]) == (120, 0.2, 128, 0.0)
    assert (params["w_oh"], params["w_ie"], params["w_a"], params["entropy_log"]) == (1.0, 5.0, 0.1, "log10")


def test_the_fashion_preset_is_dafl_as_picked_for_six_epochs():
    from workbench.config import RunConfig, load_config_file
    from workbench.presets import list_presets

    preset = {preset.name: preset for preset in list_presets()}["dafl_fashion"]
    config = RunConfig.from_dict(load_config_file(preset.path))
    picked = RunConfig.from_dict({"dataset": "fashion-mnist", "method": "dafl", "epochs": 6, "name": config.name})
    assert config == picked
