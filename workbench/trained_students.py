"""Rebuilding a recorded run's trained student (quantised as it was trained) from its saved weights."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .data import dataset_info
from .errors import WorkbenchError
from .models import create_model, load_state_dict_checked
from .quant import parse_bits, quantize
from .store import RunRecord


def load_trained_student(record: RunRecord) -> nn.Module:
    """The run's student architecture, quantised like the run's student, with the run's final weights (eval)."""
    weights = record.artifacts.get("student")
    if not weights or not Path(weights).exists():
        raise WorkbenchError(f"run {record.id}: no saved student weights (only finished runs keep them)")
    config = record.config
    info = dataset_info(config["dataset"])
    model = create_model(config["student"], info.num_classes, info.in_channels, info.image_size)
    w_bits, a_bits = str(config.get("w_bits", "32")), str(config.get("a_bits", "32"))
    if w_bits != "32" or a_bits != "32":
        model = quantize(model, parse_bits(w_bits), int(a_bits))
    load_state_dict_checked(model, torch.load(weights, map_location="cpu", weights_only=True))
    return model.eval()
