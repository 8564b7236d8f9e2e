"""Checkpoints written at each epoch end, and resuming from them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import WorkbenchError


def save_checkpoint(
    path: str | Path,
    epoch: int,
    step: int,
    student: nn.Module,
    method: Any,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    history: list[dict[str, float]],
) -> None:
    """Write everything needed to continue after `epoch` (atomically: a crash leaves the old one)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "epoch": epoch,
        "step": step,
        "student": student.state_dict(),
        "method": method.state_dict(),
        "optimizer": optimizer.state_dict(),
        "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "history": history,
    }
    if torch.cuda.is_available():
        state["cuda_rng"] = torch.cuda.get_rng_state_all()
    temporary = target.with_suffix(".tmp")
    torch.save(state, temporary)
    os.replace(temporary, target)


def load_checkpoint(
    path: str | Path, student: nn.Module, method: Any, optimizer: torch.optim.Optimizer, generator: torch.Generator
) -> dict[str, Any]:
    """Restore a checkpoint into the given objects; returns its epoch, step and history. Each problem is one line of
    our own (PyTorch's messages run to many lines)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as error:
        raise WorkbenchError(f"checkpoint: cannot read {path}: {error.strerror}") from None
    except Exception:  # torch raises many types for damaged files
        raise WorkbenchError(f"checkpoint: cannot resume from {path}: the file is damaged") from None
    try:
        student.load_state_dict(state["student"])
        method.load_state_dict(state["method"])
        optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, KeyError, IndexError, ValueError, TypeError):
        raise WorkbenchError(
            f"checkpoint: cannot resume from {path}: it does not fit this run's models and optimiser"
        ) from None
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    if "cuda_rng" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    return {"epoch": state["epoch"], "step": state["step"], "history": state["history"]}
