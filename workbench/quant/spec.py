"""Bit-width vocabulary: allowed values, parsing, validation and the per-layer ``QuantSpec``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

from ..errors import ConfigError

TERNARY: Literal["ternary"] = "ternary"
FULL_PRECISION = 32
WeightBits = Union[int, Literal["ternary"]]
ActClip = Union[Literal["pact"], float]

WEIGHT_BITS: tuple[WeightBits, ...] = (32, 8, 7, 6, 5, 4, 3, 2, TERNARY, 1)
ACTIVATION_BITS: tuple[int, ...] = (32, 8, 7, 6, 5, 4, 3, 2)
# The same as the words a setting holds (config's w_bits / a_bits, a method's teacher bit widths).
WEIGHT_BIT_CHOICES: tuple[str, ...] = tuple(str(bits) for bits in WEIGHT_BITS)
ACTIVATION_BIT_CHOICES: tuple[str, ...] = tuple(str(bits) for bits in ACTIVATION_BITS)

_ALIASES: dict[str, WeightBits] = {
    "t": TERNARY,
    "ternary": TERNARY,
    "b": 1,
    "binary": 1,
    "fp32": FULL_PRECISION,
}


def _one_of(values: tuple[WeightBits, ...]) -> str:
    return "must be one of " + ", ".join(str(v) for v in values)


def check_w_bits(value: object, field: str = "w_bits") -> WeightBits:
    """Return ``value`` if it is an allowed weight bit width (32, 8..2, "ternary", 1), else raise ConfigError."""
    if value == TERNARY or (isinstance(value, int) and not isinstance(value, bool) and value in WEIGHT_BITS):
        return value  # type: ignore[return-value]
    raise ConfigError(field, _one_of(WEIGHT_BITS))


def check_a_bits(value: object, field: str = "a_bits") -> int:
    """Return ``value`` if it is an allowed activation bit width (32, 8..2), else raise ConfigError."""
    if isinstance(value, int) and not isinstance(value, bool) and value in ACTIVATION_BITS:
        return value
    raise ConfigError(field, _one_of(ACTIVATION_BITS))


def check_act_clip(value: object) -> ActClip:
    """Return "pact" or the fixed clipping range as a positive float, else raise ConfigError."""
    if value == "pact":
        return "pact"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    raise ConfigError("act_clip", "must be 'pact' or a positive number")


def parse_bits(value: str | int, field: str = "w_bits") -> WeightBits:
    """Parse a CLI/slider bit width: "32", "4", "ternary"/"t", "binary"/"b" (=1), "fp32" (=32).

    The result is checked against the weight bit widths (the widest set); activation
    bit widths are checked again where they are used.
    """
    if isinstance(value, str):
        text = value.strip().lower()
        parsed: object = int(text) if text.isdigit() else _ALIASES.get(text, text)
        return check_w_bits(parsed, field)
    return check_w_bits(value, field)


@dataclass(frozen=True)
class QuantSpec:
    """How one layer is fake-quantised.

    ``w_bits``: 32 (full precision), 8..2 (symmetric uniform), ``"ternary"`` (TWN) or 1 (binary).
    ``a_bits``: 32 (full precision) or 8..2 (unsigned, for the layer's input activation).
    ``per_channel``: one weight scale per output channel instead of one per layer.
    ``act_clip``: ``"pact"`` (learned clipping range) or a fixed positive range such as 6.0.
    Values are validated on construction (ConfigError).
    """

    w_bits: WeightBits = FULL_PRECISION
    a_bits: int = FULL_PRECISION
    per_channel: bool = False
    act_clip: ActClip = "pact"

    def __post_init__(self) -> None:
        check_w_bits(self.w_bits)
        check_a_bits(self.a_bits)
        object.__setattr__(self, "act_clip", check_act_clip(self.act_clip))
