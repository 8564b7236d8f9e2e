"""Loading a state_dict with a one-line ModelMismatch instead of PyTorch's long error."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from ..errors import ModelMismatch

_SHOWN_KEYS = 3


def load_state_dict_checked(model: nn.Module, state_dict: object) -> None:
    """Load ``state_dict`` into ``model`` strictly, raising ModelMismatch naming the first difference.

    The message names the first problem found: not a dict of tensors, missing and/or unexpected
    keys (the first few of each), or the first tensor whose shape differs (both shapes given).
    """
    label = getattr(model, "name", type(model).__name__)
    if not isinstance(state_dict, Mapping):
        kind = type(state_dict).__name__
        raise ModelMismatch(f"checkpoint for {label} is not a dict of tensors but a {kind}")
    for key, value in state_dict.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            kind = type(value).__name__
            raise ModelMismatch(f"checkpoint for {label} is not a dict of tensors: entry {key!r} holds a {kind}")
    expected = model.state_dict()
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    if missing or unexpected:
        named = (("missing", missing), ("unexpected", unexpected))
        parts = [f"{kind} keys {_some(keys)}" for kind, keys in named if keys]
        raise ModelMismatch(f"state_dict does not fit {label}: {'; '.join(parts)}")
    for key, tensor in expected.items():
        if state_dict[key].shape != tensor.shape:
            raise ModelMismatch(
                f"state_dict does not fit {label}: '{key}' has shape {tuple(state_dict[key].shape)} "
                f"in the checkpoint but {tuple(tensor.shape)} in the model"
            )
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as error:
        raise ModelMismatch(f"state_dict does not fit {label}: {_summary(str(error))}") from None


def _some(keys: list[str]) -> str:
    shown = ", ".join(f"'{key}'" for key in keys[:_SHOWN_KEYS])
    more = len(keys) - _SHOWN_KEYS
    return f"{shown} (and {more} more)" if more > 0 else shown


def _summary(text: str) -> str:
    """The first two non-empty lines of a PyTorch error, joined into one line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(lines[:2]) if lines else "load_state_dict failed"
