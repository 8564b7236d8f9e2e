"""Behaviour of the model zoo: shapes, features, cost counting, checkpoints and the registry."""

from __future__ import annotations

from functools import lru_cache

import pytest
import torch
from torch import nn

from workbench.errors import ConfigError, ModelMismatch
from workbench.models import (
    FeatureModel,
    count_macs,
    count_params,
    create_model,
    describe_model,
    list_models,
    load_state_dict_checked,
    model_description,
)
from workbench.models.registry import BUILDERS

NUM_CLASSES = 7
# (in_channels, image_size) of sklearn digits, MNIST / Fashion-MNIST, CIFAR / SVHN
SHAPES = {"digits": (1, 8), "mnist": (1, 28), "cifar": (3, 32)}
REQUIRED = [
    "lenet5",
    "lenet5_half",
    "mlp",
    "cnn",
    "resnet8",
    "resnet14",
    "resnet20",
    "resnet32",
    "resnet44",
    "resnet56",
    "resnet110",
    "resnet8x4",
    "resnet32x4",
    "wrn_16_2",
    "wrn_40_2",
    "mobilenetv2",
]
CONV_MODELS = [name for name in REQUIRED if name != "mlp"]
CASES = [pytest.param(name, shape, id=f"{name}-{shape}") for name in REQUIRED for shape in SHAPES]


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    """Small models run fastest on one thread, and a busy 2-core machine makes threads spin."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@lru_cache(maxsize=None)
def built(name: str, shape: str) -> FeatureModel:
    """One seeded model per (name, input shape), shared by the tests that only run it."""
    torch.manual_seed(0)
    in_channels, image_size = SHAPES[shape]
    return create_model(name, NUM_CLASSES, in_channels, image_size)


def batch(shape: str, n: int = 2) -> torch.Tensor:
    in_channels, image_size = SHAPES[shape]
    return torch.randn(n, in_channels, image_size, image_size, generator=torch.Generator().manual_seed(1))


def test_list_models_holds_every_required_model_once_with_a_one_sentence_description():
    names = list_models()
    assert sorted(names) == sorted(REQUIRED)
    for name in names:
        description = model_description(name)
        assert description.endswith(".") and "\n" not in description


def test_every_catalogued_model_has_a_builder_in_the_catalogues_order():
    assert list(BUILDERS) == list_models()


@pytest.mark.parametrize(("name", "shape"), CASES)
def test_forward_gives_one_logit_per_class(name, shape):
    model = built(name, shape).eval()
    with torch.no_grad():
        assert model(batch(shape, 3)).shape == (3, NUM_CLASSES)


@pytest.mark.parametrize(("name", "shape"), CASES)
def test_forward_features_logits_equal_forward_exactly_in_eval_mode(name, shape):
    model = built(name, shape).eval()
    x = batch(shape)
    with torch.no_grad():
        logits, features = model.forward_features(x)
        assert torch.equal(logits, model(x))
        assert torch.equal(model.classifier(features["embedding"]), logits)


@pytest.mark.parametrize(("name", "shape"), CASES)
def test_features_are_listed_shallow_to_deep_and_embedding_is_2d(name, shape):
    model = built(name, shape).eval()
    with torch.no_grad():
        _, features = model.forward_features(batch(shape))
    assert tuple(features) == model.feature_names
    assert model.feature_names[-1] == "embedding"
    assert isinstance(model.classifier, nn.Linear)
    assert features["embedding"].shape == (2, model.classifier.in_features)
    inner = model.feature_names[:-1]
    if name == "mlp":
        assert inner == ("hidden1", "hidden2")
        assert all(features[key].dim() == 2 for key in inner)
    else:
        assert inner == tuple(f"block{i}" for i in range(1, len(inner) + 1)) and len(inner) >= 2
        assert all(features[key].dim() == 4 and min(features[key].shape[2:]) >= 1 for key in inner)


@pytest.mark.parametrize("name", [n for n in CONV_MODELS if not n.startswith("lenet")])
def test_embedding_is_the_global_average_of_the_last_feature_map(name):
    model = built(name, "cifar").eval()
    with torch.no_grad():
        _, features = model.forward_features(batch("cifar"))
    last_map = features[model.feature_names[-2]]
    torch.testing.assert_close(features["embedding"], last_map.mean(dim=(2, 3)))


@pytest.mark.parametrize(("name", "shape"), CASES)
def test_params_match_numel_and_macs_are_positive(name, shape):
    model = built(name, shape)
    assert count_params(model) == sum(p.numel() for p in model.parameters()) > 0
    assert count_macs(model, *SHAPES[shape]) > 0


def test_macs_of_mlp_on_digits_are_counted_exactly():
    model = create_model("mlp", 10, 1, 8)
    assert count_macs(model, 1, 8) == 64 * 256 + 256 * 256 + 256 * 10


def test_macs_of_lenet5_on_digits_are_counted_exactly():
    model = create_model("lenet5", 10, 1, 8)
    conv1 = 6 * 8 * 8 * (1 * 5 * 5)  # padded 5x5 conv keeps 8x8, pool -> 4x4
    conv2 = 16 * 4 * 4 * (6 * 5 * 5)  # pool -> 2x2, flattened to 64
    assert count_macs(model, 1, 8) == conv1 + conv2 + 64 * 120 + 120 * 84 + 84 * 10


def test_macs_count_subclasses_of_conv_and_linear():
    class QuantLinear(nn.Linear):
        pass

    class QuantConv(nn.Conv2d):
        pass

    model = create_model("lenet5", 10, 1, 8)
    before = count_macs(model, 1, 8)
    model.blocks["block1"][0] = QuantConv(1, 6, 5, padding=2)
    model.classifier = QuantLinear(84, 10)
    assert count_macs(model, 1, 8) == before


def test_counting_macs_restores_each_modules_mode_and_leaves_no_gradients():
    model = create_model("resnet8", 10, 3, 32).train()
    model.blocks["block2"].eval()
    modes = [m.training for m in model.modules()]
    count_macs(model, 3, 32)
    describe_model(model, 3, 32)
    assert [m.training for m in model.modules()] == modes
    assert all(p.grad is None for p in model.parameters())


def test_describe_model_reports_name_cost_and_per_image_feature_shapes():
    model = create_model("resnet20", 10, 3, 32)
    info = describe_model(model, 3, 32)
    assert info.name == "resnet20"
    assert info.params == count_params(model) and info.macs == count_macs(model, 3, 32)
    assert info.feature_shapes == {
        "block1": (16, 32, 32),
        "block2": (32, 16, 16),
        "block3": (64, 8, 8),
        "embedding": (64,),
    }


@pytest.mark.parametrize(("name", "shape"), CASES)
def test_backward_reaches_every_parameter(name, shape):
    model = built(name, shape).train()
    model.zero_grad(set_to_none=True)
    model(batch(shape)).square().mean().backward()
    unreached = [key for key, p in model.named_parameters() if p.grad is None]
    assert not unreached


def test_width_suffix_sets_cnn_channels_and_mlp_hidden_units():
    cnn = create_model("cnn:64", 10, 3, 32)
    assert describe_model(cnn, 3, 32).feature_shapes["block3"][0] == 4 * 64
    assert cnn.name == "cnn:64"
    mlp = create_model("mlp:512", 10, 1, 28)
    assert mlp.classifier.in_features == 512
    assert create_model("cnn", 10, 3, 32).name == "cnn:32"
    assert create_model("mlp", 10, 1, 8).classifier.in_features == 256


@pytest.mark.parametrize("spec", ["cnn:0", "cnn:abc", "mlp:-4", "cnn:", "cnn:99999", "resnet20:4"])
def test_bad_width_raises_config_error(spec):
    with pytest.raises(ConfigError) as caught:
        create_model(spec, 10, 3, 32)
    assert caught.value.field == "model"


def test_unknown_model_raises_config_error_listing_the_choices():
    with pytest.raises(ConfigError) as caught:
        create_model("foo", 10, 3, 32)
    assert caught.value.field == "model"
    assert "unknown model 'foo'; choose one of: " in caught.value.detail
    assert all(name in caught.value.detail for name in REQUIRED)


def test_checked_load_restores_an_identical_model():
    source = create_model("resnet8", 10, 3, 32).eval()
    target = create_model("resnet8", 10, 3, 32).eval()
    load_state_dict_checked(target, source.state_dict())
    x = batch("cifar")
    with torch.no_grad():
        assert torch.equal(source(x), target(x))


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        (("resnet8", 10), ("resnet14", 10), "missing keys"),
        (("resnet14", 10), ("resnet8", 10), "unexpected keys"),
        (
            ("resnet8", 100),
            ("resnet8", 10),
            "'classifier.weight' has shape (100, 64) in the checkpoint but (10, 64) in the model",
        ),
    ],
)
def test_checked_load_names_the_difference_of_a_wrong_architecture_in_one_line(source, target, expected):
    state = create_model(source[0], source[1], 3, 32).state_dict()
    with pytest.raises(ModelMismatch) as caught:
        load_state_dict_checked(create_model(target[0], target[1], 3, 32), state)
    message = str(caught.value)
    assert expected in message and "\n" not in message


@pytest.mark.parametrize("state", [[1, 2], "weights.pt", {"classifier.weight": [0.0]}])
def test_checked_load_rejects_something_that_is_not_a_dict_of_tensors(state):
    with pytest.raises(ModelMismatch) as caught:
        load_state_dict_checked(create_model("mlp", 10, 1, 8), state)
    assert "\n" not in str(caught.value)
