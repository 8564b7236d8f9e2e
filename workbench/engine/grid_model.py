"""Stacked students: G networks of one architecture, each with its own weights, run as one network of grouped
layers. A spatial activation holds every student's channels side by side, (N, G·C, H, W), so a convolution is one
grouped convolution (G groups per group of the original), batch norm, ReLU and pooling act per channel as they are;
a flat activation is (G, N, F) and a linear layer one batched matrix product. Gradients of one student's loss reach
only its own weights, so each student trains as it would alone (up to the float rounding of the batched kernels)."""

from __future__ import annotations

from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..models.base import FeatureModel

# layers that act on each channel (or element) alone: applied to the stacked activation as they are
PER_CHANNEL = (
    nn.ReLU,
    nn.ReLU6,
    nn.GELU,
    nn.SiLU,
    nn.Tanh,
    nn.Sigmoid,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
    nn.Identity,
)


def leaf_layers(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """The model's layers in the order its forward runs them, with their parameter-name prefixes: a FeatureModel
    (stem, blocks, head, classifier) of nested nn.Sequential containers."""
    parts = [("stem", model.stem), *((f"blocks.{n}", b) for n, b in model.blocks.items())]
    parts += [("head", model.head), ("classifier", model.classifier)]
    for prefix, part in parts:
        yield from _flatten(prefix, part)


def _flatten(prefix: str, module: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    if isinstance(module, nn.Sequential):
        for name, child in module.named_children():
            yield from _flatten(f"{prefix}.{name}", child)
    else:
        yield prefix, module


def unstackable_reason(model: nn.Module) -> str | None:
    """Why students of this architecture cannot be stacked (a layer the grid has no grouped form of, a layer
    drawing random numbers), or None when they can."""
    if not isinstance(model, FeatureModel) or type(model)._run is not FeatureModel._run:
        return f"{type(model).__name__} runs its own forward (only stem -> blocks -> head -> classifier stacks)"
    for name, layer in leaf_layers(model):
        if isinstance(layer, PER_CHANNEL) or type(layer) in (nn.Conv2d, nn.Linear, nn.BatchNorm2d):
            continue
        if isinstance(layer, nn.Flatten) and layer.start_dim == 1 and layer.end_dim == -1:
            continue
        return f"its layer {name} ({type(layer).__name__}) has no grouped form in the grid"
    return None


def pool_before_relu(layers: list[tuple[str, nn.Module]]) -> list[tuple[str, nn.Module]]:
    """The layers with each ReLU that a max-pool follows moved after it: the same values and gradients (ReLU is
    monotone and a pooled window's gradient reaches one input, zeroed by the ReLU either way when it is not
    positive), on a quarter of the elements."""
    layers = list(layers)
    for which in range(len(layers) - 1):
        if type(layers[which][1]) is nn.ReLU and type(layers[which + 1][1]) is nn.MaxPool2d:
            layers[which], layers[which + 1] = layers[which + 1], layers[which]
    return layers


class StackedStudents:
    """G students of one architecture (`models`, built and seeded by the caller) as stacked leaf tensors:
    `params[name]` is (G, *shape) and trains as one tensor (an optimiser over it updates each student's slice
    elementwise, as it would alone); `buffers` hold the batch-norm statistics the same way."""

    def __init__(self, models: list[nn.Module]) -> None:
        self.template = models[0]
        self.layers = pool_before_relu(list(leaf_layers(self.template)))
        self.params = {
            name: torch.stack([dict(m.named_parameters())[name].detach() for m in models]).requires_grad_()
            for name, _ in self.template.named_parameters()
        }
        self.buffers = {
            name: torch.stack([dict(m.named_buffers())[name] for m in models])
            for name, _ in self.template.named_buffers()
        }
        self.training = True

    @property
    def size(self) -> int:
        """How many students are stacked."""
        return next(iter(self.params.values())).shape[0]

    def parameters(self) -> list[Tensor]:
        """The stacked parameters, for an optimiser."""
        return list(self.params.values())

    def __call__(self, x: Tensor) -> Tensor:
        """Every student's logits (G, N, classes) for stacked inputs `x` (N, G·C, H, W): student g reads channels
        g·C to (g+1)·C."""
        groups = self.size
        flat = False
        for name, layer in self.layers:
            if isinstance(layer, nn.Conv2d):
                weight = self.params[f"{name}.weight"]
                bias = self.params.get(f"{name}.bias")
                x = F.conv2d(
                    x,
                    weight.reshape(-1, *weight.shape[2:]),
                    bias.reshape(-1) if bias is not None else None,
                    layer.stride,
                    layer.padding,
                    layer.dilation,
                    layer.groups * groups,
                )
            elif isinstance(layer, nn.BatchNorm2d):
                x = self._batch_norm(name, layer, x)
            elif isinstance(layer, nn.Flatten):
                x, flat = x.reshape(x.shape[0], groups, -1).transpose(0, 1), True
            elif isinstance(layer, nn.Linear):
                weight = self.params[f"{name}.weight"]
                bias = self.params.get(f"{name}.bias")
                x = (
                    torch.bmm(x, weight.transpose(1, 2))
                    if bias is None
                    else torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))
                )
            else:
                x = layer(x)
        if not flat:
            raise ValueError("the stacked model never flattened its maps")
        return x

    def _batch_norm(self, name: str, layer: nn.BatchNorm2d, x: Tensor) -> Tensor:
        """Batch norm over every student's channels at once; each student's running statistics in its slice."""
        use_batch = self.training or not layer.track_running_stats
        momentum = layer.momentum
        if self.training and layer.track_running_stats:
            tracked = self.buffers[f"{name}.num_batches_tracked"]
            tracked.add_(1)
            if momentum is None:
                momentum = 1.0 / float(tracked[0])
        mean = self.buffers.get(f"{name}.running_mean")
        var = self.buffers.get(f"{name}.running_var")
        weight, bias = self.params.get(f"{name}.weight"), self.params.get(f"{name}.bias")
        return F.batch_norm(
            x,
            mean.view(-1) if mean is not None else None,
            var.view(-1) if var is not None else None,
            weight.reshape(-1) if weight is not None else None,
            bias.reshape(-1) if bias is not None else None,
            use_batch,
            momentum or 0.0,
            layer.eps,
        )

    def state_dict(self, which: int) -> dict[str, Tensor]:
        """Student `which`'s weights and buffers, as its own model's state_dict."""
        state = {name: value[which].detach().clone() for name, value in self.params.items()}
        state.update({name: value[which].clone() for name, value in self.buffers.items()})
        return state

    def keep(self, which: list[int]) -> dict[Tensor, Tensor]:
        """Keep only the students `which` (in that order); returns each old stacked parameter's replacement, so the
        caller can carry optimiser state over."""
        index = torch.tensor(which, device=next(iter(self.params.values())).device)
        replaced = {}
        for name, value in list(self.params.items()):
            self.params[name] = value.detach().index_select(0, index).requires_grad_()
            replaced[value] = self.params[name]
        self.buffers = {name: value.index_select(0, index) for name, value in self.buffers.items()}
        return replaced


def clip_each(stacked: StackedStudents, max_norm: float) -> None:
    """Clip each student's gradient norm (over all its parameters) to `max_norm`, as clip_grad_norm_ does for one
    network: scale by max_norm / (norm + 1e-6) where that is below 1."""
    grads = [p.grad for p in stacked.parameters() if p.grad is not None]
    if not grads:
        return
    norms = torch.stack([torch.linalg.vector_norm(g.flatten(1), 2, dim=1) for g in grads])
    total = torch.linalg.vector_norm(norms, 2, dim=0)
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for grad in grads:
        grad.mul_(scale.view(-1, *([1] * (grad.dim() - 1))))
