"""The model registry: names, descriptions and ``create_model`` for "name" / "name:width" specs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from ..errors import ConfigError
from .base import FeatureModel
from .cnn import SimpleCNN
from .lenet import lenet5, lenet5_half
from .mlp import MLP
from .mobilenetv2 import MobileNetV2
from .resnet import WIDE_WIDTHS, CifarResNet
from .wrn import WideResNet

MAX_WIDTH = 4096

# build(num_classes, in_channels, image_size) for fixed models; widthable ones also take width=.
Builder = Callable[..., FeatureModel]


@dataclass(frozen=True)
class ModelEntry:
    """How to build one named model, what it is, and its default width (None: no width suffix)."""

    build: Builder
    description: str
    default_width: int | None = None


def _resnet(depth: int, num_classes: int, in_channels: int, image_size: int) -> FeatureModel:
    return CifarResNet(depth, num_classes, in_channels)


def _resnet_x4(depth: int, num_classes: int, in_channels: int, image_size: int) -> FeatureModel:
    return CifarResNet(depth, num_classes, in_channels, widths=WIDE_WIDTHS)


def _wrn(depth: int, widen_factor: int, num_classes: int, in_channels: int, image_size: int) -> FeatureModel:
    return WideResNet(depth, widen_factor, num_classes, in_channels)


def _mobilenetv2(num_classes: int, in_channels: int, image_size: int) -> FeatureModel:
    return MobileNetV2(num_classes, in_channels)


def _resnet_entry(depth: int) -> ModelEntry:
    blocks = (depth - 2) // 6
    return ModelEntry(
        partial(_resnet, depth),
        f"CIFAR ResNet-{depth} (He et al. 2016): {blocks} basic block(s) per group of 16/32/64 channels.",
    )


MODELS: dict[str, ModelEntry] = {
    "mlp": ModelEntry(
        MLP, "Two-hidden-layer ReLU perceptron on flattened pixels (width: hidden units, default 256).", 256
    ),
    "lenet5_half": ModelEntry(
        lenet5_half, "LeNet-5-half of the DAFL paper: 3-8 channel 5x5 convs, 60-42 unit FC layers."
    ),
    "lenet5": ModelEntry(lenet5, "Classic LeNet-5: 6-16 channel 5x5 convs with max-pooling, 120-84 unit FC layers."),
    "cnn": ModelEntry(
        SimpleCNN,
        "Small VGG-style CNN: three stages of two 3x3 conv-BN-ReLU, w/2w/4w channels (width: w, default 32).",
        32,
    ),
    **{f"resnet{depth}": _resnet_entry(depth) for depth in (8, 14, 20, 32, 44, 56, 110)},
    "resnet8x4": ModelEntry(
        partial(_resnet_x4, 8),
        "CRD-style 4x-wide ResNet-8: 32-channel stem, one basic block per group of 64/128/256 channels.",
    ),
    "resnet32x4": ModelEntry(
        partial(_resnet_x4, 32),
        "CRD-style 4x-wide ResNet-32: 32-channel stem, five basic blocks per group of 64/128/256 channels.",
    ),
    "wrn_16_2": ModelEntry(
        partial(_wrn, 16, 2), "Wide ResNet-16-2: pre-activation, two blocks per group of 32/64/128 channels."
    ),
    "wrn_40_2": ModelEntry(
        partial(_wrn, 40, 2), "Wide ResNet-40-2: pre-activation, six blocks per group of 32/64/128 channels."
    ),
    "mobilenetv2": ModelEntry(
        _mobilenetv2, "MobileNetV2 (width 1.0) with a stride-1 stem and 8x downsampling for small images."
    ),
}


def list_models() -> list[str]:
    """All model names, grouped by family and roughly from small to large."""
    return list(MODELS)


def model_description(name: str) -> str:
    """One sentence describing the model ``name`` (a width suffix is allowed and ignored)."""
    return _entry(_split_spec(name)[0]).description


def create_model(spec: str, num_classes: int, in_channels: int, image_size: int) -> FeatureModel:
    """Build the model named by ``spec`` ("name" or "name:width" for cnn and mlp).

    The returned model's ``name`` is the canonical spec, with the width spelled out for
    widthable models (e.g. "cnn:32"). Raises ConfigError("model", ...) for an unknown name, a
    bad width, or non-positive sizes.
    """
    name, width = _split_spec(spec)
    entry = _entry(name)
    sizes = {"num_classes": num_classes, "in_channels": in_channels, "image_size": image_size}
    for label, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError("model", f"{label} must be a positive integer, got {value!r}")
    if entry.default_width is None:
        if width is not None:
            only = ", ".join(_widthable())
            raise ConfigError("model", f"model '{name}' takes no width suffix; only {only} do")
        model = entry.build(num_classes, in_channels, image_size)
        model.name = name
    else:
        chosen = entry.default_width if width is None else _parse_width(spec, width)
        model = entry.build(num_classes, in_channels, image_size, width=chosen)
        model.name = f"{name}:{chosen}"
    return model


def _split_spec(spec: str) -> tuple[str, str | None]:
    name, sep, width = str(spec).strip().lower().partition(":")
    return name.strip(), (width.strip() if sep else None)


def _entry(name: str) -> ModelEntry:
    if name not in MODELS:
        raise ConfigError("model", f"unknown model '{name}'; choose one of: {', '.join(MODELS)}")
    return MODELS[name]


def _parse_width(spec: str, width: str) -> int:
    if not (width.isascii() and width.isdigit()) or not 1 <= int(width) <= MAX_WIDTH:
        raise ConfigError("model", f"width in '{spec}' must be an integer from 1 to {MAX_WIDTH}")
    return int(width)


def _widthable() -> list[str]:
    return [name for name, entry in MODELS.items() if entry.default_width is not None]
