"""The model zoo: FeatureModel, the registry of named models, and size/cost/checkpoint helpers.

The catalogue (names, descriptions, default widths) imports no torch, so the app's first page lists the models
before torch is imported; the other names import their module (and torch) on first use."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .catalogue import MODELS, list_models, model_description

if TYPE_CHECKING:
    from .base import FeatureModel
    from .checkpoint import load_state_dict_checked
    from .registry import create_model
    from .stats import ModelInfo, count_macs, count_params, describe_model

_MODULE_OF = {  # name: the module of this package that holds it
    "FeatureModel": "base",
    "load_state_dict_checked": "checkpoint",
    "create_model": "registry",
    "ModelInfo": "stats",
    "count_macs": "stats",
    "count_params": "stats",
    "describe_model": "stats",
}

__all__ = [
    "MODELS",
    "FeatureModel",
    "ModelInfo",
    "count_macs",
    "count_params",
    "create_model",
    "describe_model",
    "list_models",
    "load_state_dict_checked",
    "model_description",
]


def __getattr__(name: str) -> Any:
    """A name that needs torch, imported from its module on first use (PEP 562)."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    globals()[name] = value
    return value
