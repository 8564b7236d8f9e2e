"""The model registry: ``create_model`` for "name" / "name:width" specs, from how each catalogued model is built
(its name, description and default width are in `catalogue`, which imports no torch)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ..errors import ConfigError
from .base import FeatureModel
from .catalogue import RESNET_DEPTHS, model_entry, parse_width, split_spec, widthable_models
from .cnn import SimpleCNN
from .lenet import lenet5, lenet5_half
from .mlp import MLP
from .mobilenetv2 import MobileNetV2
from .resnet import WIDE_WIDTHS, CifarResNet
from .wrn import WideResNet

# build(num_classes, in_channels, image_size) for fixed models; widthable ones also take width=.
Builder = Callable[..., FeatureModel]


def _resnet(depth: int, num_classes: int, in_channels: int, image_size: int) -> FeatureModel:
    return CifarResNet(depth, num_classes, in_channels)


def _resnet_x4(depth: int, num_classes: int, in_channels: int, image_size: int) -> FeatureModel:
    return CifarResNet(depth, num_classes, in_channels, widths=WIDE_WIDTHS)


def _wrn(depth: int, widen_factor: int, num_classes: int, in_channels: int, image_size: int) -> FeatureModel:
    return WideResNet(depth, widen_factor, num_classes, in_channels)


def _mobilenetv2(num_classes: int, in_channels: int, image_size: int) -> FeatureModel:
    return MobileNetV2(num_classes, in_channels)


BUILDERS: dict[str, Builder] = {  # one per name in catalogue.MODELS, in its order
    "mlp": MLP,
    "lenet5_half": lenet5_half,
    "lenet5": lenet5,
    "cnn": SimpleCNN,
    **{f"resnet{depth}": partial(_resnet, depth) for depth in RESNET_DEPTHS},
    "resnet8x4": partial(_resnet_x4, 8),
    "resnet32x4": partial(_resnet_x4, 32),
    "wrn_16_2": partial(_wrn, 16, 2),
    "wrn_40_2": partial(_wrn, 40, 2),
    "mobilenetv2": _mobilenetv2,
}


def create_model(spec: str, num_classes: int, in_channels: int, image_size: int) -> FeatureModel:
    """Build the model named by ``spec`` ("name" or "name:width" for cnn and mlp).

    The returned model's ``name`` is the canonical spec, with the width spelled out for
    widthable models (e.g. "cnn:32"). Raises ConfigError("model", ...) for an unknown name, a
    bad width, or non-positive sizes.
    """
    name, width = split_spec(spec)
    entry = model_entry(name)
    build = BUILDERS[name]
    sizes = {"num_classes": num_classes, "in_channels": in_channels, "image_size": image_size}
    for label, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError("model", f"{label} must be a positive integer, got {value!r}")
    if entry.default_width is None:
        if width is not None:
            only = ", ".join(widthable_models())
            raise ConfigError("model", f"model '{name}' takes no width suffix; only {only} do")
        model = build(num_classes, in_channels, image_size)
        model.name = name
    else:
        chosen = entry.default_width if width is None else parse_width(spec, width)
        model = build(num_classes, in_channels, image_size, width=chosen)
        model.name = f"{name}:{chosen}"
    return model
