"""Names of a package imported on first use (PEP 562), so a package can offer its torch-free parts (a registry, a
catalogue) without importing torch for the rest."""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping


def lazy_getattr(package: str, module_of: Mapping[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module-level `__getattr__` for `package`: a name of `module_of` (name: the package's module holding it) is
    imported from its module on first use and kept in the package's `namespace`; any other name is an
    AttributeError, as for a plain module."""

    def __getattr__(name: str) -> Any:
        if name not in module_of:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module_of[name]}", package), name)
        namespace[name] = value
        return value

    return __getattr__
