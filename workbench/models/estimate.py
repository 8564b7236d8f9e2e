"""A model's size and training memory from its spec, without allocating it: the model is built on PyTorch's
`meta` device (shapes only, no storage), so `cnn:4096` (4.68 G parameters) costs nothing to estimate.

The training estimate is rough but stated: float32 weights, their gradients and two Adam moments (4 copies of the
parameters), plus every module's output kept for the backward pass for one batch (float32)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ConfigError
from .registry import create_model
from .stats import count_macs, count_params

BYTES_PER_FLOAT = 4
PARAMETER_COPIES = 4  # weights, gradients, Adam's two moments
GIB = 1024**3


@dataclass(frozen=True)
class Estimate:
    """Parameters, MACs of one image's forward pass, and the bytes training it with a batch takes (rough)."""

    spec: str
    params: int
    macs: int
    train_bytes: int


def estimate(spec: str, num_classes: int, in_channels: int, image_size: int, batch_size: int = 64) -> Estimate:
    """Estimate `spec` on a dataset of this shape, building it on the meta device (no memory allocated)."""
    with torch.device("meta"):
        model = create_model(spec, num_classes, in_channels, image_size)
    params = count_params(model)
    activations = _activation_elements(model, in_channels, image_size)
    macs = count_macs(model, in_channels, image_size)
    train_bytes = BYTES_PER_FLOAT * (PARAMETER_COPIES * params + batch_size * activations)
    return Estimate(model.name, params, macs, train_bytes)


def _activation_elements(model: nn.Module, in_channels: int, image_size: int) -> int:
    """Elements of every leaf module's output for one image (what backward keeps, roughly)."""
    sizes: list[int] = []

    def hook(module: nn.Module, inputs: object, output: object) -> None:
        if isinstance(output, torch.Tensor):
            sizes.append(output.numel())

    model.eval()  # a throwaway meta model: batch norm sees one image
    leaves = [module for module in model.modules() if not any(True for _ in module.children())]
    handles = [leaf.register_forward_hook(hook) for leaf in leaves]
    try:
        with torch.no_grad():
            model(torch.zeros(1, in_channels, image_size, image_size, device="meta"))
    finally:
        for handle in handles:
            handle.remove()
    return sum(sizes)


def memory_budget_bytes() -> int:
    """The server's memory budget for one run: `KDW_MEMORY_BUDGET_GB` (GiB), else half this machine's memory."""
    setting = os.environ.get("KDW_MEMORY_BUDGET_GB", "").strip()
    if setting:
        try:
            value = float(setting)
        except ValueError:
            value = -1.0
        if not value > 0:
            raise ConfigError("KDW_MEMORY_BUDGET_GB", f"{setting!r} is not a positive number of GiB")
        return int(value * GIB)
    return _machine_memory_bytes() // 2


def _machine_memory_bytes() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 * GIB


def check_memory(
    field: str, spec: str, num_classes: int, in_channels: int, image_size: int, batch_size: int = 64
) -> Estimate:
    """The estimate of `spec`, or ConfigError(field, one line) when training it would pass the memory budget."""
    found = estimate(spec, num_classes, in_channels, image_size, batch_size)
    budget = memory_budget_bytes()
    if found.train_bytes > budget:
        raise ConfigError(
            field,
            f"{found.spec} needs about {found.train_bytes / GIB:.1f} GiB to train "
            f"({found.params / 1e9:.2f} G parameters, batch {batch_size}); this server's memory "
            f"budget is {budget / GIB:.1f} GiB (KDW_MEMORY_BUDGET_GB)",
        )
    return found


def check_config_memory(config: object) -> None:
    """Refuse a run config whose student or teachers would pass the memory budget (ConfigError, one line)."""
    from ..data import dataset_info

    info = dataset_info(config.dataset)  # type: ignore[attr-defined]
    shape = (info.num_classes, info.in_channels, info.image_size)
    batch = int(getattr(config, "batch_size", 64))
    check_memory("student", config.student, *shape, batch_size=batch)  # type: ignore[attr-defined]
    for teacher in dict.fromkeys(config.teachers):  # type: ignore[attr-defined]
        check_memory("teachers", teacher, *shape, batch_size=batch)
