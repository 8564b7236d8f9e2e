"""Choosing the training device and the autocast context for the chosen precision."""

from __future__ import annotations

import contextlib
import os
from functools import partial
from typing import Callable, ContextManager

import torch

from ..errors import ConfigError


def resolve_device(requested: str) -> torch.device:
    """cuda, then mps, then cpu for 'auto'; a clear error when an asked-for device is absent."""
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "cuda was asked for but no CUDA GPU is available; use auto or cpu")
    if requested == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device", "mps was asked for but is not available here; use auto or cpu")
    return torch.device(requested)


def apply_cpu_threads(requested: int) -> int:
    """Set PyTorch's intra-op threads: `requested`, or half the cores (at least 1) for 0; returns the count."""
    threads = requested or max(1, (os.cpu_count() or 1) // 2)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def resolve_precision(requested: str, device: torch.device) -> str:
    """'auto' means bf16 on CUDA and fp32 elsewhere."""
    if requested == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    return requested


def autocast_factory(precision: str, device: torch.device) -> Callable[[], ContextManager]:
    """A zero-argument factory of the autocast context for this precision (a no-op for fp32)."""
    if precision == "bf16":
        return partial(torch.autocast, device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext
