"""User-facing errors: each carries one line that names what is wrong and what is allowed."""

from __future__ import annotations


class WorkbenchError(Exception):
    """An error caused by user input or the environment; its message is shown as is, no traceback."""


class ConfigError(WorkbenchError):
    """A configuration field holds a value outside what is allowed."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.detail = message
        super().__init__(f"{field}: {message}")


class DatasetUnavailable(WorkbenchError):
    """A dataset cannot be loaded here (offline, files missing); the message says how to get it."""


class ModelMismatch(WorkbenchError):
    """A model or state_dict does not fit the architecture, dataset or class count asked for."""
