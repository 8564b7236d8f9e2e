"""The feature, relation and mutual-learning losses against hand computations on small fixed tensors."""

import math

import pytest
import torch

from workbench.methods.at import attention_distance, attention_map
from workbench.methods.dml import mutual_kl
from workbench.methods.features import normalised_map_distance
from workbench.methods.feed_parallel import FeedTransform, feed_distance
from workbench.methods.fitnets import HintRegressor, hint_loss
from workbench.methods.rkd import angle_potentials, distance_potentials, rkd_angle_loss, rkd_distance_loss


def test_hint_regressor_projects_channels_and_pools_to_the_teacher_size():
    regressor = HintRegressor((2, 2, 2), (3, 1, 1))
    with torch.no_grad():
        regressor.project.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]).view(3, 2, 1, 1))
        regressor.project.bias.zero_()
    student = torch.tensor([[[1.0, 2.0], [3.0, 4.0]], [[0.0, 0.0], [0.0, 4.0]]]).unsqueeze(0).requires_grad_()
    teacher = torch.tensor([2.5, 0.0, 1.5]).view(1, 3, 1, 1)
    regressed = regressor(student)
    assert regressed.flatten().tolist() == pytest.approx([2.5, 1.0, 3.5])  # channel means of s0, s1, s0 + s1
    loss = hint_loss(regressed, regressor.target(teacher))
    assert loss.item() == pytest.approx((0 + 1 + 4) / 3)
    loss.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert regressor.project.weight.grad.abs().sum() > 0


def test_hint_regressor_is_linear_between_a_map_and_a_vector():
    regressor = HintRegressor((4, 3, 3), (6,))
    assert isinstance(regressor.project, torch.nn.Linear) and regressor.project.in_features == 4
    out = regressor(torch.randn(5, 4, 3, 3))
    assert out.shape == (5, 6) and regressor.target(torch.randn(5, 6)).shape == (5, 6)


def test_attention_map_is_the_channel_mean_of_squared_activations():
    feature = torch.tensor([[[1.0, -2.0]], [[3.0, 0.0]]]).unsqueeze(0)  # (1, 2, 1, 2)
    assert attention_map(feature, 2.0).flatten().tolist() == pytest.approx([(1 + 9) / 2, (4 + 0) / 2])


def test_attention_distance_of_hand_made_maps():
    student = torch.zeros(1, 2, 2, 2)
    student[0, :, 0, 0] = 1.0  # attention [1, 0, 0, 0]
    teacher = torch.zeros(1, 1, 2, 2)
    teacher[0, 0, 1, 1] = 2.0  # attention [0, 0, 0, 4] -> normalised [0, 0, 0, 1]
    assert attention_distance(student, teacher, 2.0).item() == pytest.approx((1 + 1) / 4)


def test_attention_distance_sends_gradients_to_the_student_only():
    student = torch.randn(2, 3, 4, 4, requires_grad=True)
    teacher = torch.randn(2, 6, 4, 4)
    attention_distance(student, teacher, 2.0).backward()
    assert student.grad.abs().sum() > 0 and teacher.grad is None


def test_attention_maps_of_different_sizes_meet_at_the_smaller():
    student = torch.zeros(1, 3, 2, 2)
    student[0, :, 0, 0] = 1.0
    teacher = torch.zeros(1, 5, 4, 4)
    teacher[0, :, :2, :2] = 1.0  # the same top-left quarter, at twice the resolution
    assert attention_distance(student, teacher, 2.0).item() == pytest.approx(0.0, abs=1e-12)


def test_rkd_distance_potentials_and_loss_by_hand():
    student = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 4.0]])  # distances 5, 4, 3; mean 4
    teacher = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])  # distances 1, 2, 1; mean 4/3
    potentials = distance_potentials(student)
    assert potentials[0, 1].item() == pytest.approx(1.25) and potentials[1, 2].item() == pytest.approx(0.75)
    assert torch.diagonal(potentials).abs().max().item() < 1e-5
    # differences 1.25-0.75, 1-1.5, 0.75-0.75 -> Huber 0.125, 0.125, 0 -> mean over pairs
    assert rkd_distance_loss(student, teacher).item() == pytest.approx(0.25 / 3, rel=1e-5)
    assert rkd_distance_loss(student, 7.0 * student).item() == pytest.approx(0.0, abs=1e-6)  # scale-free


def test_rkd_angle_potentials_and_loss_by_hand():
    right = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])  # cosines at the vertices: 0, 0.6, 0.8
    equilateral = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3) / 2]])  # all 0.5
    potentials = angle_potentials(right)
    assert potentials[0, 1, 2].item() == pytest.approx(0.0, abs=1e-6)
    assert potentials[1, 0, 2].item() == pytest.approx(0.6) and potentials[2, 0, 1].item() == pytest.approx(0.8)
    # Huber of -0.5, 0.1, 0.3 -> 0.125, 0.005, 0.045, each vertex counted twice among the 6 ordered triplets
    assert rkd_angle_loss(right, equilateral).item() == pytest.approx(0.175 / 3, rel=1e-4)


def test_rkd_losses_send_gradients_to_the_student_only():
    student = torch.randn(6, 4, requires_grad=True)
    teacher = torch.randn(6, 9)
    (rkd_distance_loss(student, teacher) + rkd_angle_loss(student, teacher)).backward()
    assert student.grad is not None and torch.isfinite(student.grad).all() and student.grad.abs().sum() > 0


def test_rkd_losses_are_zero_for_too_small_batches():
    one = torch.randn(1, 3, requires_grad=True)
    assert rkd_distance_loss(one, torch.randn(1, 5)).item() == 0.0
    assert rkd_angle_loss(torch.randn(2, 3), torch.randn(2, 5)).item() == 0.0


def test_feed_distance_compares_unit_length_maps():
    transformed = torch.tensor([3.0, 4.0]).view(1, 1, 1, 2).requires_grad_()  # unit [0.6, 0.8]
    teacher = torch.tensor([5.0, 0.0]).view(1, 1, 1, 2)  # unit [1, 0]
    distance = feed_distance(transformed, teacher)
    assert distance.item() == pytest.approx((0.4 + 0.8) / 2)
    distance.backward()
    assert transformed.grad.abs().sum() > 0
    assert feed_distance(transformed, 10.0 * transformed.detach()).item() == pytest.approx(0.0, abs=1e-7)


def test_normalised_map_distance_pools_to_the_smaller_map_then_raises_unit_differences_to_the_power():
    first = torch.tensor([3.0, 4.0]).view(1, 1, 1, 2)  # unit [0.6, 0.8]
    second = torch.tensor([[5.0, 5.0, 0.0, 0.0]]).view(1, 1, 1, 4)  # pooled to [5, 0] -> unit [1, 0]
    assert normalised_map_distance(first, second, 1).item() == pytest.approx((0.4 + 0.8) / 2)
    assert normalised_map_distance(second, first, 2).item() == pytest.approx((0.16 + 0.64) / 2)


def test_feed_transform_maps_student_channels_to_teacher_channels():
    transform = FeedTransform(3, 5)
    assert transform(torch.randn(2, 3, 7, 7)).shape == (2, 5, 7, 7)
    convolutions = [m for m in transform if isinstance(m, torch.nn.Conv2d)]
    assert [m.kernel_size for m in convolutions] == [(3, 3)] * 3
    assert sum(p.numel() for p in transform.parameters()) == (3 * 5 * 9 + 5) + 2 * (5 * 5 * 9 + 5)


def test_mutual_kl_by_hand_with_targets_held_fixed():
    first = torch.tensor([[0.0, math.log(3.0)]], requires_grad=True)  # p = [1/4, 3/4]
    second = torch.tensor([[0.0, 0.0]], requires_grad=True)  # q = [1/2, 1/2]
    kl_first, kl_second = mutual_kl([first, second])
    assert kl_first.item() == pytest.approx(0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75))
    assert kl_second.item() == pytest.approx(0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5))
    kl_first.backward()
    assert first.grad.abs().sum() > 0 and second.grad is None


def test_mutual_kl_averages_over_the_other_students():
    logits = [torch.randn(4, 3) for _ in range(3)]
    pairwise = mutual_kl([logits[0], logits[1]])[0], mutual_kl([logits[0], logits[2]])[0]
    assert mutual_kl(logits)[0].item() == pytest.approx((pairwise[0].item() + pairwise[1].item()) / 2, rel=1e-5)
