"""The model zoo: FeatureModel, the registry of named models, and size/cost/checkpoint helpers."""

from .base import FeatureModel
from .checkpoint import load_state_dict_checked
from .registry import MODELS, create_model, list_models, model_description
from .stats import ModelInfo, count_macs, count_params, describe_model

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
