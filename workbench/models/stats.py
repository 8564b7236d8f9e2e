"""Model size and cost: parameter counts, multiply-accumulates and feature shapes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .base import FeatureModel


@dataclass(frozen=True)
class ModelInfo:
    """Size and cost of a model for one image: its features' shapes exclude the batch dimension."""

    name: str
    params: int
    macs: int
    feature_shapes: dict[str, tuple[int, ...]]


def count_params(model: nn.Module) -> int:
    """Number of parameters, trainable or not."""
    return sum(parameter.numel() for parameter in model.parameters())


def count_macs(model: nn.Module, in_channels: int, image_size: int) -> int:
    """Multiply-accumulates of one image's forward pass through every Conv2d and Linear.

    Subclasses of nn.Conv2d and nn.Linear count too; biases, norms and activations do not.
    The model runs once in eval mode under no_grad; each module's train/eval mode is restored.
    """
    with _counting_macs(model) as macs, _eval_no_grad(model):
        model(_dummy_input(model, in_channels, image_size))
    return sum(macs)


def describe_model(model: FeatureModel, in_channels: int, image_size: int) -> ModelInfo:
    """Name, parameter count, MACs and per-image feature shapes of ``model``, from one forward pass."""
    with _counting_macs(model) as macs, _eval_no_grad(model):
        _, features = model.forward_features(_dummy_input(model, in_channels, image_size))
    shapes = {name: tuple(feature.shape[1:]) for name, feature in features.items()}
    return ModelInfo(getattr(model, "name", type(model).__name__), count_params(model), sum(macs), shapes)


def _layer_macs(module: nn.Module, output: Tensor) -> int:
    if isinstance(module, nn.Conv2d):
        kernel_h, kernel_w = module.kernel_size
        return output.numel() * (module.in_channels // module.groups) * kernel_h * kernel_w
    assert isinstance(module, nn.Linear)
    return output.numel() * module.in_features


@contextmanager
def _counting_macs(model: nn.Module) -> Iterator[list[int]]:
    """Yield a list that collects the MACs of each Conv2d/Linear call while the context is open."""
    macs: list[int] = []

    def hook(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        macs.append(_layer_macs(module, output))

    layers = [module for module in model.modules() if isinstance(module, (nn.Conv2d, nn.Linear))]
    handles = [layer.register_forward_hook(hook) for layer in layers]
    try:
        yield macs
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def _eval_no_grad(model: nn.Module) -> Iterator[None]:
    """Put every module in eval mode under no_grad, then restore each module's own mode."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for module, training in modes:
            module.training = training


def _dummy_input(model: nn.Module, in_channels: int, image_size: int) -> Tensor:
    """A batch of one zero image on the device and floating dtype of the model's first parameter."""
    reference = next((p for p in model.parameters() if p.is_floating_point()), None)
    if reference is None:
        return torch.zeros(1, in_channels, image_size, image_size)
    return torch.zeros(1, in_channels, image_size, image_size, device=reference.device, dtype=reference.dtype)
