"""The Sweep page's inputs as plain data: the swept fields, the values typed or picked for each, and the seed
count, with their URL form (`sweep.fields`, `sweep.<field>`, `sweep.seeds`: only what differs from the
defaults) and their reading back from a link, where a bad entry is left out with a short notice. The app keeps
them in its `Setup`, so a reload or a shared link restores the grid like the rest of the setup."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

from ..config import FIELD_BY_NAME
from ..errors import WorkbenchError
from .spec import parse_axis_values

if TYPE_CHECKING:
    from ..config import RunConfig

SWEEPABLE = (
    "temperature",
    "alpha",
    "w_bits",
    "a_bits",
    "method",
    "student",
    "lr",
    "epochs",
    "alpha_schedule",
    "temperature_schedule",
)
DEFAULT_FIELDS = ("temperature", "alpha")
DEFAULT_VALUES = {"temperature": "1, 4, 8", "alpha": "0.5, 0.9", "lr": "0.01, 0.05", "epochs": "5, 10"}
DEFAULT_SEEDS = 2
PAGE_MAX_SEEDS = 10  # what the page's seed box allows
URL_PREFIX = "sweep."


def is_choice_field(name: str) -> bool:
    """Whether a sweepable field is picked from a list (a multiselect) rather than typed."""
    return FIELD_BY_NAME[name].choices is not None


def default_value_text(name: str, config: "RunConfig") -> str:
    """What the page offers for a field before anything is typed: a typical grid for T, α, lr and epochs, else
    the setup's own value."""
    if is_choice_field(name):
        return str(getattr(config, name))
    return DEFAULT_VALUES.get(name, str(getattr(config, name)))


@dataclass
class SweepInputs:
    """The swept fields, the text of each field's values (comma-separated; a picked list joined with commas; a
    field without an entry shows its default) and the seeds."""

    fields: list[str] = field(default_factory=lambda: list(DEFAULT_FIELDS))
    values: dict[str, str] = field(default_factory=dict)
    seeds: int = DEFAULT_SEEDS

    def value_text(self, name: str, config: "RunConfig") -> str:
        """A field's values as text: what was set, or the default."""
        return self.values.get(name, default_value_text(name, config))

    def picked(self, name: str, config: "RunConfig") -> list[str]:
        """A choice field's picked values, as the multiselect holds them."""
        return [part.strip() for part in self.value_text(name, config).split(",") if part.strip()]

    def query_params(self, config: "RunConfig") -> dict[str, str]:
        """The inputs as URL query parameters, only where they differ from the defaults (values of swept fields
        only)."""
        params: dict[str, str] = {}
        if tuple(self.fields) != DEFAULT_FIELDS:
            params[f"{URL_PREFIX}fields"] = ",".join(self.fields) or "none"
        for name in self.fields:
            text = self.values.get(name)
            if text is not None and text != default_value_text(name, config):
                params[f"{URL_PREFIX}{name}"] = text
        if self.seeds != DEFAULT_SEEDS:
            params[f"{URL_PREFIX}seeds"] = str(self.seeds)
        return params


def sweep_inputs_from_query(params: Mapping[str, str]) -> tuple[SweepInputs, list[str]]:
    """Sweep inputs from a link's `sweep.*` parameters (other keys are not looked at); each bad entry is left out
    with a short notice, keeping the default."""
    inputs, notices = SweepInputs(), []
    for key, value in params.items():
        if not key.startswith(URL_PREFIX):
            continue
        name, text = key[len(URL_PREFIX) :], str(value)
        if name == "fields":
            fields = _parse_fields(text, notices)
            if fields or text.strip().lower() in ("", "none"):  # only unknown names: the default fields stay
                inputs.fields = fields
        elif name == "seeds":
            try:
                seeds = int(text.strip())
            except ValueError:
                seeds = None
            if seeds is None or not 1 <= seeds <= PAGE_MAX_SEEDS:
                notices.append(f"ignored {key}: {text!r} is not allowed; allowed: 1 to {PAGE_MAX_SEEDS}")
            else:
                inputs.seeds = seeds
        elif name in SWEEPABLE:
            try:
                parsed = parse_axis_values(name, text)
            except WorkbenchError as error:
                notices.append(f"ignored {key}: {error}")
                continue
            inputs.values[name] = ",".join(str(v) for v in parsed) if is_choice_field(name) else text.strip()
        else:
            notices.append(f"ignored {key!r}: not a field the Sweep page sweeps")
    return inputs, notices


def _parse_fields(text: str, notices: list[str]) -> list[str]:
    if text.strip().lower() == "none":
        return []
    fields: list[str] = []
    for name in (part.strip() for part in text.split(",")):
        if not name:
            continue
        if name not in SWEEPABLE:
            notices.append(f"ignored sweep field {name!r}: the Sweep page does not sweep it")
        elif name not in fields:
            fields.append(name)
    return fields
