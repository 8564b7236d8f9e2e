"""The method registry: name -> Method class. A new method is one file plus one line here."""
from __future__ import annotations

from ..errors import ConfigError
from .at import AttentionTransfer
from .base import Batch, HyperParam, Method, StepOutput, StepState
from .baseline import Baseline
from .dafl import Dafl
from .dml import DeepMutualLearning
from .feed_parallel import FeedParallel
from .feed_sequential import FeedSequential
from .fitnets import FitNets
from .kd import VanillaKD
from .lwkd import LightweightTeacherKD
from .pre_dfkd import PreDfkd
from .qkd import QuantizedStudentKD
from .rkd import RelationalKD
from .speq import StochasticPrecisionEnsemble
from .tfkd import TeacherFreeKD

_REGISTRY: dict[str, type[Method]] = {cls.name: cls for cls in (Baseline, VanillaKD, TeacherFreeKD,
                                                                    QuantizedStudentKD, StochasticPrecisionEnsemble)}

_REGISTRY.update({cls.name: cls for cls in (Dafl, PreDfkd, LightweightTeacherKD)})  # data-free and lightweight-teacher methods
_REGISTRY.update({cls.name: cls for cls in (FitNets, AttentionTransfer, RelationalKD, FeedParallel, FeedSequential,
                                            DeepMutualLearning)})  # feature-, relation- and ensemble-based methods


def list_methods() -> list[type[Method]]:
    """Every registered method class, in registration order."""
    return list(_REGISTRY.values())


def get_method(name: str) -> type[Method]:
    """The method class registered under `name`; ConfigError naming the choices otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError("method", f"unknown method {name!r}; choose one of: {', '.join(_REGISTRY)}") from None


__all__ = ["Batch", "HyperParam", "Method", "StepOutput", "StepState", "get_method", "list_methods"]
