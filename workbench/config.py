"""The run configuration: typed fields, their allowed ranges, validation and (de)serialisation.

Every field is declared once in FIELDS; the CLI flags, the app's widgets, URL query parameters and
YAML/JSON files all read that declaration, so a value is checked the same way wherever it comes from.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from .errors import ConfigError, WorkbenchError
from .schedules import SCHEDULE_KINDS

MAX_YAML_ALIASES = 8  # a config file with more YAML aliases (*name) is refused unread: an alias bomb expands to GBs


@dataclass(frozen=True)
class FieldSpec:
    """How one configuration field is typed, bounded and explained."""

    name: str
    kind: type  # float, int, str, bool or list
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: the value must be strictly greater than `low`
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] | None = None
    group: str = "training"
    model_spec: bool = False  # the value may carry a width suffix, `name:width`, checked by the model zoo
    item_kind: type = str  # a list field's item type (str names or int indices)
    min_items: int = 1  # a list field's fewest items (0: may be empty)

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
            return self._coerce_bool(value)
        try:
            if isinstance(value, bool) and self.kind in (int, float):  # True would pass as 1
                raise ValueError
            if self.kind is int:
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                number = int(value) if not isinstance(value, str) else int(value.strip())
                return self._check_range(number)
            if self.kind is float:
                number = float(value)
                if number != number or number in (float("inf"), float("-inf")):
                    raise ValueError
                return self._check_range(number)
        except (TypeError, ValueError):
            raise ConfigError(
                self.name, f"{value!r} is not a valid {self.kind.__name__}; allowed: {self.allowed()}"
            ) from None
        text = str(value).strip()
        base = text.split(":", 1)[0] if self.model_spec else text
        if self.model_spec and ":" in text:
            _check_model_width(self.name, text)
        if self.choices is not None and base not in self.choice_list():
            raise ConfigError(self.name, f"{text!r} is not allowed; {self.allowed()}")
        return text

    def _int_item(self, text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(self.name, f"{text!r} is not an integer; allowed: {self.allowed()}") from None

    def _check_range(self, number: float) -> float:
        too_low = self.low is not None and (number <= self.low if self.low_open else number < self.low)
        too_high = self.high is not None and number > self.high
        if too_low or too_high:
            raise ConfigError(self.name, f"{self.show(number)} is out of range; allowed: {self.allowed()}")
        return number

    def _coerce_bool(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(self.name, f"{value!r} is not true or false")

    def _coerce_list(self, value: Any) -> list[Any]:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and self.item_kind is int:
            value = [value]
        if not isinstance(value, (str, list, tuple)):
            raise ConfigError(self.name, f"{value!r} is not a comma-separated list")
        items = value.split(",") if isinstance(value, str) else list(value)
        names = [str(item).strip() for item in items if str(item).strip()]
        if len(names) < self.min_items:
            raise ConfigError(self.name, "needs at least one name")
        if self.item_kind is int:
            return sorted({int(self._check_range(self._int_item(name))) for name in names})
        if self.choices is not None:
            for name in names:
                base = name.split(":", 1)[0]
                if base not in self.choice_list():
                    raise ConfigError(self.name, f"{name!r} is not allowed; {self.allowed()}")
                if ":" in name:
                    _check_model_width(self.name, name)
        return names


def _check_model_width(field: str, spec: str) -> None:
    """A `name:width` model spec names a model that takes a width, and a width the zoo allows."""
    from .models.registry import MAX_WIDTH, MODELS

    name, width = spec.split(":", 1)
    entry = MODELS.get(name.strip().lower())
    if entry is not None and entry.default_width is None:
        raise ConfigError(
            field, f"{name!r} takes no width; only {', '.join(n for n, e in MODELS.items() if e.default_width)} do"
        )
    width = width.strip()
    if not (width.isascii() and width.isdigit()) or not 1 <= int(width) <= MAX_WIDTH:
        raise ConfigError(field, f"width in {spec!r} must be an integer from 1 to {MAX_WIDTH}")


def _dataset_names() -> tuple[str, ...]:
    from .data import list_datasets

    return tuple(info.name for info in list_datasets())


def _model_names() -> tuple[str, ...]:
    from .models import list_models

    return tuple(list_models())


def _method_names() -> tuple[str, ...]:
    from .methods import list_methods

    return tuple(method.name for method in list_methods())


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("name", str, "a label for the run (shown in tables)", group="run"),
    FieldSpec("dataset", str, "the dataset to distil on", choices=_dataset_names, group="data"),
    FieldSpec(
        "train_subset",
        int,
        "train on at most this many images (class-balanced); 0 = the whole training split",
        low=0,
        high=10_000_000,
        group="data",
    ),
    FieldSpec(
        "omit_classes",
        list,
        "leave every training image of these classes (indices, comma-separated) out of the "
        "student's training set; the teacher still knows them (Hinton et al.'s dark-knowledge experiment)",
        low=0,
        high=99,
        item_kind=int,
        min_items=0,
        group="data",
    ),
    FieldSpec(
        "augment",
        str,
        "batch augmentation: auto (the dataset's default), none, crop, flip or crop,flip",
        choices=("auto", "none", "crop", "flip", "crop,flip"),
        group="data",
    ),
    FieldSpec(
        "teachers",
        list,
        "teacher architecture(s), comma-separated (name or name:width)",
        choices=_model_names,
        group="models",
    ),
    FieldSpec(
        "teacher_checkpoint",
        str,
        "a state_dict (.pt) to load into the first teacher instead of the cache",
        group="models",
    ),
    FieldSpec("teacher_seed", int, "seed of the cached teacher to use or train", low=0, high=2**31 - 1, group="models"),
    FieldSpec(
        "student",
        str,
        "student architecture (name or name:width)",
        choices=_model_names,
        group="models",
        model_spec=True,
    ),
    FieldSpec("method", str, "the distillation method", choices=_method_names, group="method"),
    FieldSpec(
        "temperature",
        float,
        "softmax temperature T for soft targets",
        low=0.0,
        high=100.0,
        low_open=True,
        group="method",
    ),
    FieldSpec("temperature_schedule", str, "how T changes over training", choices=SCHEDULE_KINDS, group="method"),
    FieldSpec(
        "temperature_end",
        float,
        "T at the end of a decaying temperature schedule",
        low=0.0,
        high=100.0,
        low_open=True,
        group="method",
    ),
    FieldSpec(
        "alpha",
        float,
        "weight α of the soft (distillation) loss; 1 − α weighs the hard-label loss",
        low=0.0,
        high=1.0,
        group="method",
    ),
    FieldSpec(
        "alpha_schedule",
        str,
        "how α changes over training (linear = gradual soft-loss reduction)",
        choices=SCHEDULE_KINDS,
        group="method",
    ),
    FieldSpec(
        "alpha_end", float, "α at the end of a decaying α schedule (its floor)", low=0.0, high=1.0, group="method"
    ),
    FieldSpec(
        "schedule_fraction",
        float,
        "fraction of training over which decaying schedules reach their end",
        low=0.0,
        high=1.0,
        low_open=True,
        group="method",
    ),
    FieldSpec("schedule_steps", int, "number of drops of a step schedule", low=1, high=100, group="method"),
    FieldSpec(
        "w_bits",
        str,
        "student weight precision in bits (32 = full precision, ternary = {-s, 0, +s})",
        choices=("32", "8", "6", "4", "3", "2", "ternary", "1"),
        group="quantisation",
    ),
    FieldSpec(
        "a_bits",
        str,
        "student activation precision in bits (32 = full precision)",
        choices=("32", "8", "6", "4", "3", "2"),
        group="quantisation",
    ),
    FieldSpec("epochs", int, "training epochs", low=1, high=1000),
    FieldSpec("batch_size", int, "images per optimiser step", low=1, high=8192),
    FieldSpec("lr", float, "learning rate", low=0.0, high=10.0, low_open=True),
    FieldSpec("optimizer", str, "optimiser", choices=("sgd", "adam")),
    FieldSpec("momentum", float, "SGD momentum", low=0.0, high=0.999),
    FieldSpec("weight_decay", float, "L2 weight decay", low=0.0, high=1.0),
    FieldSpec("lr_schedule", str, "learning-rate schedule over the epochs", choices=("cosine", "step", "constant")),
    FieldSpec(
        "grad_clip",
        float,
        "clip the gradient norm of everything the optimiser steps to this value before each "
        "step (0 = no clipping); 5 keeps KD from collapsing a small student at lr 0.05 (docs/defaults.md)",
        low=0.0,
        high=1000.0,
    ),
    FieldSpec(
        "warmup_epochs",
        float,
        "epochs over which the learning rate rises linearly from 0 to its value "
        "(measured in docs/defaults.md: it did not stop KD's collapse at lr 0.05; clipping did)",
        low=0.0,
        high=100.0,
    ),
    FieldSpec("seed", int, "random seed (same seed and device: same numbers)", low=0, high=2**31 - 1),
    FieldSpec(
        "device",
        str,
        "where to train: auto picks cuda, then mps, then cpu",
        choices=("auto", "cpu", "cuda", "mps"),
        group="system",
    ),
    FieldSpec(
        "precision",
        str,
        "auto uses bf16 autocast on CUDA and fp32 elsewhere",
        choices=("auto", "fp32", "bf16"),
        group="system",
    ),
    FieldSpec(
        "threads",
        int,
        "CPU threads for training; 0 = auto (half the cores: oversubscribed threads on a "
        "busy machine slow small models far more than one idle core does)",
        low=0,
        high=1024,
        group="system",
    ),
    FieldSpec("compile", bool, "compile the student with torch.compile", group="system"),
    FieldSpec("cache_teacher_logits", bool, "reuse a frozen teacher's logits on unaugmented batches", group="system"),
)
FIELD_BY_NAME = {spec.name: spec for spec in FIELDS}


@dataclass
class RunConfig:
    """One training run, fully described; build it with `from_dict` to have every field checked."""

    name: str = ""
    # The default setup was chosen by measurement (docs/defaults.md): Fashion-MNIST, 2,000 training images, the
    # packaged cnn teacher -> lenet5_half, T 4, α 0.9, SGD lr 0.05 with gradient norms clipped to 5, batch 64,
    # 10 epochs.
    dataset: str = "fashion-mnist"
    train_subset: int = 2000
    omit_classes: list[int] = field(default_factory=list)
    augment: str = "auto"
    teachers: list[str] = field(default_factory=lambda: ["cnn"])
    teacher_checkpoint: str = ""
    teacher_seed: int = 0
    student: str = "lenet5_half"
    method: str = "kd"
    method_params: dict[str, Any] = field(default_factory=dict)
    temperature: float = 4.0
    temperature_schedule: str = "constant"
    temperature_end: float = 1.0
    alpha: float = 0.9
    alpha_schedule: str = "constant"
    alpha_end: float = 0.0
    schedule_fraction: float = 1.0
    schedule_steps: int = 3
    w_bits: str = "32"
    a_bits: str = "32"
    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.05
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_schedule: str = "cosine"
    warmup_epochs: float = 0.0
    grad_clip: float = 5.0
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    threads: int = 0
    compile: bool = False
    cache_teacher_logits: bool = True

    @property
    def teacher(self) -> str:
        """The first (or only) teacher's architecture."""
        return self.teachers[0]

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-serialisable dict of every field."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """The configuration as sorted JSON."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def replace(self, **changes: Any) -> "RunConfig":
        """A validated copy with some fields changed."""
        return RunConfig.from_dict({**self.to_dict(), **changes})

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, strict: bool = True) -> "RunConfig":
        """Build and validate a config; raises ConfigErrors listing every bad field (one line each).

        With strict=False unknown keys are ignored instead of reported."""
        errors: list[ConfigError] = []
        clean: dict[str, Any] = {}
        for key, value in values.items():
            if key == "teacher":  # a single-teacher alias
                key = "teachers"
            if key == "method_params":
                try:
                    clean[key] = params_mapping(value)
                except ConfigError as error:
                    errors.append(error)
                continue
            spec = FIELD_BY_NAME.get(key)
            if spec is None:
                if strict:
                    errors.append(ConfigError(key, f"unknown field; known fields: {', '.join(FIELD_BY_NAME)}"))
                continue
            try:
                clean[key] = spec.coerce(value)
            except ConfigError as error:
                errors.append(error)
        if errors:
            raise ConfigErrors(errors)
        config = cls(**clean)
        _check_omitted_classes(config)
        config.method_params = _validate_method_params(config)
        return config

    def query_params(self) -> dict[str, str]:
        """The fields that differ from the defaults, as flat strings for a URL's query."""
        default = RunConfig().to_dict()
        params: dict[str, str] = {}
        for key, value in self.to_dict().items():
            if key == "method_params" or value == default[key]:
                continue
            params[key] = (
                ",".join(map(str, value))
                if isinstance(value, list)
                else str(value).lower()
                if isinstance(value, bool)
                else str(value)
            )
        for key, value in self.method_params.items():
            params[f"mp.{key}"] = str(value)
        return params


class ConfigErrors(WorkbenchError):
    """Several bad fields at once; the message has one line per field."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(error) for error in errors))


def _check_omitted_classes(config: RunConfig) -> None:
    """Omitted classes must exist in the dataset, and at least two classes must remain to train on."""
    if not config.omit_classes:
        return
    from .data import dataset_info

    classes = dataset_info(config.dataset).num_classes
    bad = [c for c in config.omit_classes if c >= classes]
    if bad:
        raise ConfigError(
            "omit_classes", f"class {bad[0]} does not exist in {config.dataset} (classes 0 to {classes - 1})"
        )
    if classes - len(config.omit_classes) < 2:
        raise ConfigError(
            "omit_classes", f"omitting {len(config.omit_classes)} of {classes} classes leaves fewer than two"
        )


def params_mapping(value: Any) -> dict[str, Any]:
    """`method_params` as a dict (None: empty); ConfigError when it is not a mapping of names to values."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError("method_params", f"{str(value)[:60]!r} is not a mapping of hyperparameter names to values")
    return dict(value)


def _validate_method_params(config: RunConfig) -> dict[str, Any]:
    from .methods import get_method

    method = get_method(config.method)
    return method.validate_params(config.method_params)


def config_from_query(params: dict[str, str]) -> tuple[RunConfig, list[str]]:
    """A config from URL query parameters; invalid entries are dropped and reported as notices."""
    values: dict[str, Any] = {}
    method_params: dict[str, str] = {}
    notices: list[str] = []
    for key, value in params.items():
        if key.startswith("mp."):
            method_params[key[3:]] = value
        elif key in FIELD_BY_NAME or key == "teacher":
            try:
                spec = FIELD_BY_NAME["teachers" if key == "teacher" else key]
                values[spec.name] = spec.coerce(value)
            except ConfigError as error:
                notices.append(f"ignored {error}")
    config = RunConfig.from_dict(values)
    from .methods import get_method

    method = get_method(config.method)
    for key, value in method_params.items():
        try:
            config.method_params.update(method.validate_params({key: value}))
        except WorkbenchError as error:
            notices.append(f"ignored {error}")
    return config, notices


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a config file into a dict (validated later with RunConfig.from_dict): JSON when it ends in .json,
    YAML otherwise (YAML also reads JSON)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise WorkbenchError(f"config: cannot read {file}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise WorkbenchError(f"config: {file} is not a text file (not UTF-8); give a YAML or JSON file") from None
    is_json = file.suffix.lower() == ".json"
    try:
        data = json.loads(text) if is_json else load_yaml_text(text, file)
    except (yaml.YAMLError, json.JSONDecodeError) as error:
        raise WorkbenchError(
            f"config: {file} is not valid {'JSON' if is_json else 'YAML'}: {str(error).splitlines()[0]}"
        ) from None
    if not isinstance(data, dict):
        raise WorkbenchError(f"config: {file} must hold a mapping of field names to values")
    return data


def load_yaml_text(text: str, source: str | Path) -> Any:
    """YAML text as Python data, refused before it is built when it uses more than MAX_YAML_ALIASES aliases."""
    aliases = sum(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.SafeLoader))
    if aliases > MAX_YAML_ALIASES:
        raise WorkbenchError(
            f"config: {source} uses {aliases} YAML aliases (*name); at most {MAX_YAML_ALIASES} are allowed"
        )
    return yaml.safe_load(text)
