"""The method registry: name -> Method class. A new method is one file plus its class in _METHOD_CLASSES."""

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

_METHOD_CLASSES: tuple[type[Method], ...] = (
    Baseline,
    VanillaKD,
    TeacherFreeKD,
    QuantizedStudentKD,
    StochasticPrecisionEnsemble,  # logit-based
    Dafl,
    PreDfkd,
    LightweightTeacherKD,  # data-free and lightweight-teacher
    FitNets,
    AttentionTransfer,
    RelationalKD,
    FeedParallel,
    FeedSequential,  # feature- and relation-based
    DeepMutualLearning,  # online (mutual learning)
)
_REGISTRY: dict[str, type[Method]] = {cls.name: cls for cls in _METHOD_CLASSES}
if len(_REGISTRY) != len(_METHOD_CLASSES):
    _names = [cls.name for cls in _METHOD_CLASSES]
    raise RuntimeError(f"method names registered twice: {sorted({n for n in _names if _names.count(n) > 1})}")


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
