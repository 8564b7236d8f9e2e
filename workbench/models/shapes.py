"""What a model's named features look like: per-image shapes from one forward pass, which of them are spatial
maps, and whether an architecture has any (read by the feature-matching methods and by `Method.unavailable_reason`)."""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import nn

from ..data import dataset_info
from ..errors import ConfigError
from .registry import create_model

Shapes = dict[str, tuple[int, ...]]


def model_label(model: nn.Module) -> str:
    """The zoo name of a model (e.g. "cnn:32"), or its class name."""
    return str(getattr(model, "name", type(model).__name__))


@torch.no_grad()
def feature_shapes(model: nn.Module, input_shape: tuple[int, int, int]) -> Shapes:
    """Per-image shapes of a model's named features, shallow to deep, from one forward pass of a blank image
    in eval mode (the model's mode is restored)."""
    if not hasattr(model, "forward_features"):
        raise ConfigError("model", f"{model_label(model)} does not expose named features")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        _, features = model.forward_features(torch.zeros(1, *input_shape, device=device))
    finally:
        model.train(was_training)
    return {name: tuple(value.shape[1:]) for name, value in features.items()}


def map_names(shapes: Shapes) -> list[str]:
    """The names of the spatial feature maps (C, H, W), shallow to deep."""
    return [name for name, shape in shapes.items() if len(shape) == 3]


@lru_cache(maxsize=64)
def arch_has_maps(arch: str, dataset: str) -> bool:
    """Whether a zoo architecture has spatial feature maps on a dataset (built once, untrained, on the CPU)."""
    info = dataset_info(dataset)
    model = create_model(arch, info.num_classes, info.in_channels, info.image_size)
    return bool(map_names(feature_shapes(model, (info.in_channels, info.image_size, info.image_size))))
