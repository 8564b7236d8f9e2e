"""Tests for workbench.quant: quantisers, STE gradients, conversion, stochastic precision, size."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from workbench.errors import ConfigError
from workbench.quant import (
    TERNARY,
    QConv2d,
    QLinear,
    QuantLayer,
    binarize,
    model_size_bits,
    model_size_kb,
    parse_bits,
    quantize,
    quantize_activation,
    quantize_weight,
    quantized_layers,
    quantized_weight,
    set_activation_bits,
    stochastic_activation_precision,
    ternarize,
    weight_levels,
)


def small_cnn(num_classes: int = 10) -> nn.Sequential:
    """Conv/BN/ReLU stack for 3x8x8 inputs."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, stride=2),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8 * 4 * 4, 16),
        nn.ReLU(),
        nn.Linear(16, num_classes),
    )


# --- quantisers -------------------------------------------------------------------------


@pytest.mark.parametrize("bits", range(2, 9))
@pytest.mark.parametrize("per_channel", [False, True])
def test_uniform_weights_use_at_most_2k_minus_1_levels(bits: int, per_channel: bool) -> None:
    w = torch.randn(16, 8, 3, 3, generator=torch.Generator().manual_seed(bits))
    q = quantize_weight(w, bits, per_channel=per_channel)
    top = 2 ** (bits - 1) - 1
    dims = (1, 2, 3) if per_channel else (0, 1, 2, 3)
    scale = w.abs().amax(dim=dims, keepdim=True) / top
    steps = q / scale
    assert torch.allclose(steps, steps.round(), atol=1e-4)
    assert steps.abs().max() <= top + 1e-4
    levels_per_row = [row.unique().numel() for row in q] if per_channel else [q.unique().numel()]
    for count in levels_per_row:
        assert 2 <= count <= 2**bits - 1
    if not per_channel:
        assert q.unique().numel() >= min(2**bits - 1, 2 ** (bits - 1) + 1)


def test_two_bit_uniform_is_three_levels_at_max_abs() -> None:
    w = torch.tensor([[0.1, -0.3, 0.8, -1.0]])
    assert torch.equal(quantize_weight(w, 2), torch.tensor([[0.0, -0.0, 1.0, -1.0]]))


def test_binary_weights_are_plus_minus_mean_abs() -> None:
    w = torch.randn(6, 4, 3, 3, generator=torch.Generator().manual_seed(1))
    w[0, 0, 0, 0] = 0.0
    q = binarize(w)
    mean_abs = w.abs().mean()
    assert sorted(q.unique().tolist()) == pytest.approx([-mean_abs.item(), mean_abs.item()])
    assert torch.equal(q > 0, w >= 0)


def test_binary_per_channel_uses_each_rows_mean_abs() -> None:
    w = torch.tensor([[1.0, -3.0], [0.5, 0.5]])
    assert torch.equal(quantize_weight(w, 1, per_channel=True), torch.tensor([[2.0, -2.0], [0.5, 0.5]]))


def test_ternary_threshold_and_scale_on_hand_made_tensor() -> None:
    # mean|w| = 0.6 -> threshold 0.42: keeps 1.0, -1.4, 0.6 (|-0.4| < 0.42); s = mean(1.0, 1.4, 0.6) = 1.0
    w = torch.tensor([[0.2, -0.4, 1.0], [-1.4, 0.0, 0.6]])
    expected = torch.tensor([[0.0, 0.0, 1.0], [-1.0, 0.0, 1.0]])
    assert torch.allclose(ternarize(w), expected)
    assert torch.allclose(quantize_weight(w, TERNARY), expected)


def test_ternary_per_channel_thresholds_each_row() -> None:
    # row 0: mean 0.5333 -> threshold 0.3733, keeps -0.4, 1.0, s = 0.7
    # row 1: mean 0.6667 -> threshold 0.4667, keeps -1.4, 0.6, s = 1.0
    w = torch.tensor([[0.2, -0.4, 1.0], [-1.4, 0.0, 0.6]])
    expected = torch.tensor([[0.0, -0.7, 0.7], [-1.0, 0.0, 1.0]])
    assert torch.allclose(ternarize(w, per_channel=True), expected)


def test_full_precision_weights_and_activations_are_identity() -> None:
    w = torch.randn(4, 3)
    assert quantize_weight(w, 32) is w
    assert quantize_activation(w, 32, torch.tensor(1.0)) is w


def test_activation_quantisation_has_2k_values_in_clip_range() -> None:
    x = torch.linspace(-2.0, 8.0, 1001)
    for bits in (2, 4):
        q = quantize_activation(x, bits, torch.tensor(6.0))
        assert q.unique().numel() == 2**bits
        assert q.min() == 0.0 and q.max() == pytest.approx(6.0)


# --- straight-through gradients ---------------------------------------------------------


@pytest.mark.parametrize("bits", [TERNARY, 2, 4, 8])
def test_weight_ste_passes_upstream_gradient_unchanged(bits: int | str) -> None:
    w = torch.randn(5, 4, requires_grad=True)
    upstream = torch.randn(5, 4)
    quantize_weight(w, bits).backward(upstream)
    assert torch.equal(w.grad, upstream)


def test_binary_ste_is_clipped_outside_unit_interval() -> None:
    w = torch.tensor([[-1.5, -0.5, 0.2, 1.0, 2.0]], requires_grad=True)
    upstream = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]])
    binarize(w).backward(upstream)
    assert torch.equal(w.grad, torch.tensor([[0.0, 2.0, 3.0, 4.0, 0.0]]))


def test_activation_ste_passes_gradient_only_inside_clip_range() -> None:
    x = torch.tensor([-1.0, 0.5, 2.0, 7.0, 9.0], requires_grad=True)
    upstream = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    quantize_activation(x, 4, torch.tensor(6.0)).backward(upstream)
    assert torch.equal(x.grad, torch.tensor([0.0, 2.0, 3.0, 0.0, 0.0]))


def test_pact_alpha_gets_gradient_from_clipped_inputs_only() -> None:
    alpha = nn.Parameter(torch.tensor(6.0))
    x = torch.tensor([-1.0, 0.5, 2.0, 7.0, 9.0])
    upstream = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    quantize_activation(x, 4, alpha).backward(upstream)
    assert alpha.grad is not None and alpha.grad.item() == pytest.approx(9.0)

    alpha.grad = None
    quantize_activation(torch.tensor([0.5, 2.0]), 4, alpha).sum().backward()
    assert alpha.grad.item() == 0.0


# --- layers and conversion --------------------------------------------------------------


@pytest.mark.parametrize(("w_bits", "max_levels"), [(1, 2), (TERNARY, 3), (2, 3), (4, 15)])
def test_converted_model_forward_uses_only_allowed_levels(w_bits: int | str, max_levels: int) -> None:
    qmodel = quantize(small_cnn(), w_bits, 3)
    captured: list[tuple[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def record(module: nn.Module, inputs: tuple[torch.Tensor], output: torch.Tensor) -> None:
        captured.append((module, module.input_q(inputs[0]).detach(), quantized_weight(module), output.detach()))

    for layer in quantized_layers(qmodel):
        layer.register_forward_hook(record)
    qmodel(torch.randn(4, 3, 8, 8))

    assert len(captured) == 2
    for module, x_q, w_q, out in captured:
        assert 2 <= w_q.unique().numel() <= max_levels
        assert torch.equal(weight_levels(module), w_q.unique())
        assert x_q.unique().numel() <= 2**3
        expected = (
            module._conv_forward(x_q, w_q, module.bias)
            if isinstance(module, nn.Conv2d)
            else F.linear(x_q, w_q, module.bias)
        )
        assert torch.allclose(out, expected, atol=1e-5)
    if w_bits == TERNARY:
        assert all(0.0 in w_q for _, _, w_q, _ in captured)


@pytest.mark.parametrize(("w_bits", "act_clip"), [(4, "pact"), (1, "pact"), (TERNARY, 4.0)])
def test_converted_model_still_trains(w_bits: int | str, act_clip: str | float) -> None:
    qmodel = quantize(small_cnn(), w_bits, 4, act_clip=act_clip)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 3, 8, 8, generator=gen), torch.randint(0, 10, (32,), generator=gen)
    opt = torch.optim.Adam(qmodel.parameters(), lr=1e-2)
    losses = []
    for _ in range(25):
        loss = F.cross_entropy(qmodel(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_pact_alpha_is_parameter_and_fixed_clip_is_buffer() -> None:
    pact = quantize(small_cnn(), 4, 4)
    fixed = quantize(small_cnn(), 4, 4, act_clip=6.0)
    assert all(isinstance(layer.alpha, nn.Parameter) for layer in quantized_layers(pact))
    for layer in quantized_layers(fixed):
        assert not isinstance(layer.alpha, nn.Parameter) and layer.alpha.item() == 6.0


def test_keep_first_last_leaves_first_conv_and_last_linear_full_precision() -> None:
    qmodel = quantize(small_cnn(), 4, 4)
    assert type(qmodel[0]) is nn.Conv2d and type(qmodel[9]) is nn.Linear
    assert isinstance(qmodel[3], QConv2d) and isinstance(qmodel[7], QLinear)
    assert isinstance(qmodel[3], nn.Conv2d) and isinstance(qmodel[7], nn.Linear)

    everything = quantize(small_cnn(), 4, 4, keep_first_last=False)
    layers = quantized_layers(everything)
    assert [type(m) for m in layers] == [QConv2d, QConv2d, QLinear, QLinear]
    assert [m.quantize_input for m in layers] == [False, True, True, True]


def test_quantize_32_32_is_numerically_identical_copy() -> None:
    model = small_cnn().eval()
    copy = quantize(model, 32, 32)
    assert copy is not model
    assert not any(isinstance(m, QuantLayer) for m in copy.modules())
    x = torch.randn(2, 3, 8, 8)
    assert torch.equal(copy(x), model(x))


def test_quantize_leaves_original_model_untouched() -> None:
    model = small_cnn()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    types = [type(m) for m in model.modules()]
    qmodel = quantize(model, 2, 4, keep_first_last=False)
    with torch.no_grad():
        for p in qmodel.parameters():
            p.add_(1.0)
    assert [type(m) for m in model.modules()] == types
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])


def test_quantize_carries_over_weights_and_training_mode() -> None:
    model = small_cnn().eval()
    qmodel = quantize(model, 8, 8)
    assert torch.equal(qmodel[3].weight, model[3].weight) and torch.equal(qmodel[7].bias, model[7].bias)
    assert not qmodel[3].training


def test_quantize_rejects_invalid_bits_with_allowed_list() -> None:
    with pytest.raises(ConfigError) as err:
        quantize(small_cnn(), 16, 4)
    assert err.value.field == "w_bits"
    assert str(err.value) == "w_bits: must be one of 32, 8, 7, 6, 5, 4, 3, 2, ternary, 1"
    with pytest.raises(ConfigError) as err:
        quantize(small_cnn(), 4, 1)
    assert err.value.field == "a_bits" and "32, 8, 7, 6, 5, 4, 3, 2" in str(err.value)
    for bad in (0, 9, True, "4", 4.0):
        with pytest.raises(ConfigError):
            quantize(small_cnn(), bad, 4)
    with pytest.raises(ConfigError, match="act_clip"):
        quantize(small_cnn(), 4, 4, act_clip=-1.0)


def test_parse_bits_accepts_cli_spellings() -> None:
    assert parse_bits("32") == 32
    assert parse_bits(" 4 ") == 4
    assert parse_bits("1") == 1
    assert parse_bits(2) == 2
    assert parse_bits("t") == TERNARY
    assert parse_bits("Ternary") == TERNARY
    assert parse_bits("binary") == 1
    for bad in ("16", "quad", "", "-4"):
        with pytest.raises(ConfigError, match="must be one of"):
            parse_bits(bad)


# --- stochastic precision ---------------------------------------------------------------


def deep_quantised_mlp() -> nn.Module:
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(12):
        layers += [nn.Linear(8, 8), nn.ReLU()]
    return quantize(nn.Sequential(*layers), 4, 4, keep_first_last=False)


@pytest.mark.parametrize(("p_high", "expected"), [(0.0, 2), (1.0, 8)])
def test_stochastic_precision_extremes_use_low_or_high_bits_and_restore(p_high: float, expected: int) -> None:
    model = deep_quantised_mlp()
    inputs = [m for m in quantized_layers(model) if m.quantize_input]
    with stochastic_activation_precision(model, 2, 8, p_high, torch.Generator().manual_seed(0)) as chosen:
        assert set(chosen.values()) == {expected} and len(chosen) == len(inputs) == 11
        assert all(m.a_bits == expected for m in inputs)
    assert all(m.a_bits == 4 for m in quantized_layers(model))


def test_stochastic_precision_is_deterministic_under_seeded_generator() -> None:
    model = deep_quantised_mlp()
    draws = []
    for _ in range(2):
        with stochastic_activation_precision(model, 2, 32, 0.5, torch.Generator().manual_seed(7)) as chosen:
            draws.append(dict(chosen))
    assert draws[0] == draws[1]
    assert set(draws[0].values()) == {2, 32}
    with stochastic_activation_precision(model, 2, 32, 0.5, torch.Generator().manual_seed(8)) as other:
        assert other != draws[0]


def test_stochastic_precision_changes_forward_and_restores_after_error() -> None:
    model = deep_quantised_mlp()
    x = torch.rand(3, 8)
    set_activation_bits(model, 32)
    full = model(x)
    set_activation_bits(model, 2)
    with stochastic_activation_precision(model, 2, 32, 1.0):
        assert torch.equal(model(x), full)
    with pytest.raises(RuntimeError):
        with stochastic_activation_precision(model, 3, 32, 0.5):
            raise RuntimeError("boom")
    assert all(m.a_bits == 2 for m in quantized_layers(model) if m.quantize_input)
    with pytest.raises(ConfigError):
        set_activation_bits(model, 1)
    with pytest.raises(ConfigError, match="p_high"):
        with stochastic_activation_precision(model, 2, 8, 1.5):
            pass


# --- size -------------------------------------------------------------------------------


def hand_countable_model() -> nn.Sequential:
    # 2x3x3 input -> conv3x3 (72 w + 4 b) -> BN (4 w, 4 b, 4 mean, 4 var, 1 count)
    # -> conv1x1 no bias (16 w) -> flatten -> linear (12 w + 3 b)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 4, 1, bias=False),
        nn.Flatten(),
        nn.Linear(4, 3),
    )


def test_model_size_of_float_model_is_32_bits_per_element() -> None:
    assert model_size_bits(hand_countable_model()) == (72 + 4 + 17 + 16 + 12 + 3) * 32


def test_model_size_of_quantised_model_matches_hand_count() -> None:
    float_elements = 72 + 4 + 17 + 12 + 3  # first conv, its bias, BN, last linear
    # middle conv only: 16 weights * 4 bits + one scale, plus its PACT alpha
    four_bit = quantize(hand_countable_model(), 4, 4)
    assert model_size_bits(four_bit) == float_elements * 32 + 16 * 4 + 32 + 32
    assert model_size_kb(four_bit) == pytest.approx(3584 / 8 / 1024)
    # ternary per channel: 2 bits per weight + 4 channel scales + alpha
    ternary = quantize(hand_countable_model(), TERNARY, 4, per_channel=True)
    assert model_size_bits(ternary) == float_elements * 32 + 16 * 2 + 4 * 32 + 32
    # binary everywhere, per channel; first layer has no alpha (its input is not quantised)
    binary = quantize(hand_countable_model(), 1, 4, keep_first_last=False, per_channel=True)
    weights = (72 + 4 * 32) + (16 + 4 * 32) + (12 + 3 * 32)
    others = (4 + 17 + 3) * 32 + 2 * 32  # biases, BN, two alphas
    assert model_size_bits(binary) == weights + others
