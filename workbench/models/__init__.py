"""The model zoo: FeatureModel, the registry of named models, and size/cost/checkpoint helpers.

The catalogue (names, descriptions, default widths) imports no torch, so the app's first page lists the models
before torch is imported; the other names import their module (and torch) on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_getattr
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


__getattr__ = lazy_getattr(__name__, _MODULE_OF, globals())  # a name that needs torch: imported on first use
