"""FitNets, AT, RKD, FEED and DML as methods: layer choice, extra modules, gradients and clear errors."""

import contextlib

import pytest
import torch
from conftest import tiny_config

from workbench.data import dataset_info
from workbench.engine.teacher_bank import TeacherBank
from workbench.errors import ConfigError
from workbench.methods import Batch, StepState, get_method
from workbench.models import count_params, create_model
from workbench.previews import preview_feature_matches

DIGITS = dataset_info("digits")


@pytest.fixture(scope="module")
def lenet5_teacher():
    """The packaged digits LeNet-5 teacher."""
    from workbench.teachers import get_teacher

    return get_teacher("lenet5", "digits", 0, train_if_missing=False)[0]


@pytest.fixture(scope="module")
def mlp_teacher():
    """The packaged digits MLP teacher (no feature maps)."""
    from workbench.teachers import get_teacher

    return get_teacher("mlp", "digits", 0, train_if_missing=False)[0]


def build(name, teachers, student="lenet5_half", **params):
    """A prepared method for digits with a fresh student."""
    method_cls = get_method(name)
    model = create_model(student, DIGITS.num_classes, DIGITS.in_channels, DIGITS.image_size)
    method = method_cls(model, TeacherBank(list(teachers)), method_cls.validate_params(params), DIGITS.num_classes)
    method.prepare(DIGITS, 16)
    return method


def one_step_gradients(method):
    """Backpropagate the summed loss terms of one random batch; returns the output."""
    batch = Batch(torch.randn(16, 1, 8, 8), torch.randint(0, 10, (16,)))
    output = method.loss_terms(batch, StepState(step=0, epoch=1, progress=0.0, alpha=0.9, temperature=4.0))
    sum(output.terms.values()).backward()
    return output


@pytest.mark.parametrize(
    "name, terms",
    [
        ("fitnets", {"ce", "hint"}),
        ("at", {"ce", "at"}),
        ("rkd", {"ce", "rkd_distance", "rkd_angle"}),
        ("feed-parallel", {"ce", "feed_1", "feed_2"}),
        ("feed-sequential", {"ce", "feed_1"}),
        ("dml", {"ce", "kl", "peer_ce", "peer_kl"}),
    ],
)
def test_gradients_reach_the_student_and_extra_modules_never_the_teachers(name, terms, digits_teacher, lenet5_teacher):
    teachers = {"feed-parallel": [digits_teacher, lenet5_teacher], "dml": []}.get(name, [digits_teacher])
    method = build(name, teachers)
    output = one_step_gradients(method)
    assert set(output.terms) == terms and output.logits.shape == (16, 10)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in method.student.parameters())
    for module in method.trainable_modules().values():
        assert all(p.grad is not None for p in module.parameters())
    assert all(p.grad is None for teacher in teachers for p in teacher.parameters())


def test_fitnets_builds_a_conv_regressor_between_the_chosen_maps(digits_teacher):
    method = build("fitnets", [digits_teacher], hint_layer="block1", guided_layer="block2")
    regressor = method.trainable_modules()["regressor"]
    assert (regressor.project.in_channels, regressor.project.out_channels) == (8, 32)
    (match,) = method.feature_matches()
    assert (match.student_layer, match.student_shape, match.teacher_layer, match.teacher_shape) == (
        "block2",
        (8, 2, 2),
        "block1",
        (32, 4, 4),
    )
    assert "pooled to 2×2" in match.link
    assert "pooled" not in build("fitnets", [digits_teacher]).feature_matches()[0].link  # 8×2×2 -> 128×2×2
    larger_student = build("fitnets", [digits_teacher], guided_layer="block1").feature_matches()[0]
    assert (larger_student.student_shape, larger_student.link) == ((3, 4, 4), "1×1 conv regressor, pooled to 2×2")


def test_fitnets_guides_an_mlp_student_through_a_linear_regressor(digits_teacher):
    method = build("fitnets", [digits_teacher], student="mlp")
    regressor = method.trainable_modules()["regressor"]
    assert isinstance(regressor.project, torch.nn.Linear)
    assert (regressor.project.in_features, regressor.project.out_features) == (256, 128)


def test_fitnets_unknown_layer_lists_the_models_features(digits_teacher):
    with pytest.raises(
        ConfigError,
        match=r"fitnets.hint_layer: the teacher cnn:32 has no feature 'block9'; "
        r"its features: block1, block2, block3, embedding",
    ):
        build("fitnets", [digits_teacher], hint_layer="block9")


def test_fitnets_kd_term_appears_only_with_a_kd_weight(digits_teacher):
    assert "kd" not in one_step_gradients(build("fitnets", [digits_teacher])).terms
    assert "kd" in one_step_gradients(build("fitnets", [digits_teacher], kd_weight=0.5)).terms


def test_attention_pairs_the_deepest_maps_by_default_or_as_named(digits_teacher):
    assert build("at", [digits_teacher]).pairs == (("block1", "block2"), ("block2", "block3"))
    assert build("at", [digits_teacher], at_layers="last").pairs == (("block2", "block3"),)
    assert build("at", [digits_teacher], at_layers="block1,block2:block1").pairs == (
        ("block1", "block1"),
        ("block2", "block1"),
    )
    with pytest.raises(ConfigError, match="at.at_layers: the teacher cnn:32 has no feature map 'embedding'"):
        build("at", [digits_teacher], at_layers="block1:embedding")


def test_feature_map_methods_refuse_an_mlp(digits_teacher, mlp_teacher):
    for name in ("at", "feed-parallel", "feed-sequential"):
        reason = get_method(name).unavailable_reason(
            teacher_count=2 if name == "feed-parallel" else 1, dataset="digits", student="mlp"
        )
        assert reason == "needs a student with spatial feature maps (mlp has none)"
    assert get_method("at").unavailable_reason(teacher_count=1, dataset="digits", student="lenet5_half") is None
    with pytest.raises(ConfigError, match="teachers: at needs spatial feature maps, but the teacher mlp:256 has none"):
        build("at", [mlp_teacher])
    with pytest.raises(ConfigError, match="teachers: feed-parallel needs spatial feature maps"):
        build("feed-parallel", [digits_teacher, mlp_teacher])


def test_feed_parallel_needs_two_teachers_and_sequential_exactly_one(digits_teacher, lenet5_teacher):
    assert (
        get_method("feed-parallel").unavailable_reason(teacher_count=1, dataset="digits", student="lenet5_half")
        == "needs at least two teachers"
    )
    assert (
        get_method("feed-sequential")
        .unavailable_reason(teacher_count=2, dataset="digits", student="lenet5_half")
        .startswith("takes exactly one teacher")
    )
    with pytest.raises(ConfigError, match="feed-sequential takes exactly one teacher"):
        build("feed-sequential", [digits_teacher, lenet5_teacher])
    with pytest.raises(ConfigError, match=r"teachers: feed-parallel needs at least two teachers \(got 1\)"):
        build("feed-parallel", [digits_teacher])


def test_feed_builds_one_transform_per_teacher_to_its_channels(digits_teacher, lenet5_teacher):
    method = build("feed-parallel", [digits_teacher, lenet5_teacher])
    transforms = method.trainable_modules()["transforms"]
    assert [t[-1].out_channels for t in transforms] == [128, 16] and [t[0].in_channels for t in transforms] == [8, 8]
    assert [(m.teacher, m.teacher_layer, m.teacher_shape) for m in method.feature_matches()] == [
        ("cnn:32", "block3", (128, 2, 2)),
        ("lenet5", "block2", (16, 2, 2)),
    ]


def test_dml_peers_are_freshly_initialised_students():
    method = build("dml", [], peers=3)
    peers = method.trainable_modules()["peers"]
    assert len(peers) == 2 and count_params(peers[0]) == count_params(method.student)
    student_weights = method.student.state_dict()
    for peer in peers:
        assert any(not torch.equal(value, student_weights[key]) for key, value in peer.state_dict().items())
    assert isinstance(build("dml", [], peer_model="lenet5").peer_models[0].classifier, torch.nn.Linear)
    with pytest.raises(ConfigError, match="dml.peer_model: unknown model 'nope'"):
        build("dml", [], peer_model="nope")


def test_dml_reports_each_peer_and_the_cohort():
    method = build("dml", [], peers=3)
    metrics = method.evaluate_extra(torch.randn(20, 1, 8, 8), torch.randint(0, 10, (20,)))
    assert set(metrics) == {"peer1_test_acc", "peer2_test_acc", "cohort_test_acc"}
    assert all(0.0 <= value <= 1.0 for value in metrics.values())
    assert all(peer.training for peer in method.peer_models)


def test_preview_shows_the_matched_shapes_before_training():
    matches = preview_feature_matches(tiny_config(method="feed-parallel", teachers=["cnn", "lenet5"]))
    assert [(m.student_shape, m.teacher_shape) for m in matches] == [((8, 2, 2), (128, 2, 2)), ((8, 2, 2), (16, 2, 2))]
    assert preview_feature_matches(tiny_config(method="kd")) == []


def test_cards_say_the_extra_modules_are_training_only():
    for name in ("fitnets", "feed-parallel", "feed-sequential", "dml"):
        card = get_method(name).card()
        assert "only in training" in card["extra_modules"]
        assert card["reads_features"]


def test_rkd_step_clips_the_gradient_norm(digits_teacher):
    def gradient_norm_after_step(max_grad_norm):
        torch.manual_seed(0)
        method = build("rkd", [digits_teacher], max_grad_norm=max_grad_norm)
        parameters = list(method.student.parameters())
        optimizer = torch.optim.SGD(parameters, lr=0.0)
        batch = Batch(torch.randn(16, 1, 8, 8), torch.randint(0, 10, (16,)))
        method.train_step(batch, StepState(0, 1, 0.0, 0.9, 4.0), optimizer, contextlib.nullcontext)
        return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in parameters])).item()

    assert gradient_norm_after_step(0.0) > 0.01
    assert gradient_norm_after_step(0.01) == pytest.approx(0.01, rel=1e-3)
