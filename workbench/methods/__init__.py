"""The method registry: name -> Method class. A new method is one file plus one line here."""
from __future__ import annotations

from ..errors import ConfigError
from .base import Batch, HyperParam, Method, StepOutput, StepState
from .baseline import Baseline
from .kd import VanillaKD
from .tfkd import TeacherFreeKD

_REGISTRY: dict[str, type[Method]] = {cls.name: cls for cls in (Baseline, VanillaKD, TeacherFreeKD)}


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
