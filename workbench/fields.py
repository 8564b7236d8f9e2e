"""Declared settings: a `FieldSpec` says what one setting holds (type, range or choices, help, group, default)
and `FieldSpec.coerce` is the one conversion path every source goes through: CLI flags, YAML/JSON files, URL
parameters, widgets and sweep files, for a run's fields and a method's hyperparameters alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .errors import ConfigError

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def parse_bool(value: Any) -> bool | None:
    """A boolean from a bool or a word (1/true/yes/on, 0/false/no/off, any case); None when it is neither."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return None


@dataclass(frozen=True)
class FieldSpec:
    """How one setting is typed, bounded and explained. `label` names it in messages (a run's field by its name, a
    method's hyperparameter as `method.name`)."""

    name: str
    kind: type  # float, int, str, bool or list
    help: str
    default: Any = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: the value must be strictly greater than `low`
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] | None = None
    group: str = "training"
    model_spec: bool = False  # the value may carry a width suffix, `name:width`, checked by the model zoo
    item_kind: type = str  # a list field's item type (str names or int indices)
    min_items: int = 1  # a list field's fewest items (0: may be empty)
    label: str = ""

    @property
    def title(self) -> str:
        """The name messages give this setting."""
        return self.label or self.name

    def allowed(self) -> str:
        """A short phrase saying which values are allowed."""
        if self.choices is not None:
            return "one of: " + ", ".join(self.choice_list())
        if self.kind is list and self.item_kind is int:
            return f"comma-separated integers from {self.show(self.low)} to {self.show(self.high)}" + (
                ", or none" if not self.min_items else ""
            )
        if self.low is not None and self.high is not None:
            left = f"greater than {self.show(self.low)}" if self.low_open else f"at least {self.show(self.low)}"
            return f"{left} and at most {self.show(self.high)}"
        if self.kind is bool:
            return "true or false"
        return f"a {self.kind.__name__}"

    def show(self, number: float) -> str:
        """A number as this field prints it: integers in full (2147483647, not 2.14748e+09), floats short."""
        integral = self.kind is int or (self.kind is list and self.item_kind is int)
        return str(int(number)) if integral else f"{number:g}"

    def choice_list(self) -> tuple[str, ...]:
        """The allowed choices (resolved when they come from a registry)."""
        choices = self.choices() if callable(self.choices) else self.choices
        return tuple(choices or ())

    def coerce(self, value: Any) -> Any:
        """Convert `value` (possibly a string from a flag or URL) to this field's type, or raise ConfigError."""
        if self.kind is list:
            return self._coerce_list(value)
        if self.kind is bool:
            parsed = parse_bool(value)
            if parsed is None:
                raise ConfigError(self.title, f"{value!r} is not true or false")
            return parsed
        if self.kind in (int, float):
            return self._check_range(self._number(value))
        text = str(value).strip()
        base = text.split(":", 1)[0] if self.model_spec else text
        if self.model_spec and ":" in text:
            _check_model_width(self.title, text)
        if self.choices is not None and base not in self.choice_list():
            raise ConfigError(self.title, f"{text!r} is not allowed; {self.allowed()}")
        return text

    def _number(self, value: Any) -> int | float:
        """An int or float field's value as its type (True is not 1; "3.0" is a valid int; NaN and ∞ are not)."""
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value.strip() if isinstance(value, str) else value)
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError
            if self.kind is int:
                if not number.is_integer():
                    raise ValueError
                return int(value.strip()) if isinstance(value, str) and value.strip().isdigit() else int(number)
            return number
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(
                self.title, f"{value!r} is not a valid {self.kind.__name__}; allowed: {self.allowed()}"
            ) from None

    def _int_item(self, text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(self.title, f"{text!r} is not an integer; allowed: {self.allowed()}") from None

    def _check_range(self, number: float) -> float:
        too_low = self.low is not None and (number <= self.low if self.low_open else number < self.low)
        too_high = self.high is not None and number > self.high
        if too_low or too_high:
            raise ConfigError(self.title, f"{self.show(number)} is out of range; allowed: {self.allowed()}")
        return number

    def _coerce_list(self, value: Any) -> list[Any]:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and self.item_kind is int:
            value = [value]
        if not isinstance(value, (str, list, tuple)):
            raise ConfigError(self.title, f"{value!r} is not a comma-separated list")
        items = value.split(",") if isinstance(value, str) else list(value)
        names = [str(item).strip() for item in items if str(item).strip()]
        if len(names) < self.min_items:
            raise ConfigError(self.title, "needs at least one name")
        if self.item_kind is int:
            return sorted({int(self._check_range(self._int_item(name))) for name in names})
        if self.choices is not None:
            for name in names:
                base = name.split(":", 1)[0]
                if base not in self.choice_list():
                    raise ConfigError(self.title, f"{name!r} is not allowed; {self.allowed()}")
                if ":" in name:
                    _check_model_width(self.title, name)
        return names


def _check_model_width(field: str, spec: str) -> None:
    """A `name:width` model spec names a model that takes a width, and a width the zoo allows."""
    from .models.catalogue import MAX_WIDTH, MODELS

    name, width = spec.split(":", 1)
    entry = MODELS.get(name.strip().lower())
    if entry is not None and entry.default_width is None:
        raise ConfigError(
            field, f"{name!r} takes no width; only {', '.join(n for n, e in MODELS.items() if e.default_width)} do"
        )
    width = width.strip()
    if not (width.isascii() and width.isdigit()) or not 1 <= int(width) <= MAX_WIDTH:
        raise ConfigError(field, f"width in {spec!r} must be an integer from 1 to {MAX_WIDTH}")
