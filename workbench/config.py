"""The run configuration: every field of a run declared once, on `RunConfig`, with its default, type, range or
choices, help and group; validation and (de)serialisation.

`FIELDS` is read from that declaration (a `FieldSpec` per field); the CLI flags, the app's widgets, URL query
parameters, sweep files and YAML/JSON files all convert values through `FieldSpec.coerce`, so a value is checked
the same way wherever it comes from. A method's hyperparameters are FieldSpecs too (`methods.base.HyperParam`).

Layers: config sits above the registries it names (datasets, models, methods, bit widths in quant), imported when
a choice list or a method's hyperparameters are needed; none of them imports config.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, WorkbenchError
from .fields import FieldSpec
from .schedules import SCHEDULE_KINDS

MAX_YAML_ALIASES = 8  # a config file with more YAML aliases (*name) is refused unread: an alias bomb expands to GBs


def setting(default: Any, help: str, **spec: Any) -> Any:
    """A RunConfig field: its default, one sentence of help and its FieldSpec options (range, choices, group…);
    the type is the field's annotation."""
    metadata = {"help": help, **spec}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def _dataset_names() -> tuple[str, ...]:
    from .data import list_datasets

    return tuple(info.name for info in list_datasets())


def _model_names() -> tuple[str, ...]:
    from .models import list_models

    return tuple(list_models())


def _method_names() -> tuple[str, ...]:
    from .methods import list_methods

    return tuple(method.name for method in list_methods())


def _weight_bit_choices() -> tuple[str, ...]:
    from .quant.spec import WEIGHT_BIT_CHOICES

    return WEIGHT_BIT_CHOICES


def _activation_bit_choices() -> tuple[str, ...]:
    from .quant.spec import ACTIVATION_BIT_CHOICES

    return ACTIVATION_BIT_CHOICES


@dataclass
class RunConfig:
    """One training run, fully described; build it with `from_dict` to have every field checked.

    The default setup was chosen by measurement (docs/defaults.md): Fashion-MNIST, 2,000 training images, the
    packaged cnn teacher -> lenet5_half, T 4, α 0.9, SGD lr 0.05 with gradient norms clipped to 5, batch 64,
    10 epochs."""

    name: str = setting("", "a label for the run (shown in tables)", group="run")
    dataset: str = setting("fashion-mnist", "the dataset to distil on", choices=_dataset_names, group="data")
    train_subset: int = setting(
        2000,
        "train on at most this many images (class-balanced); 0 = the whole training split",
        low=0,
        high=10_000_000,
        group="data",
    )
    omit_classes: list[int] = setting(
        [],
        "leave every training image of these classes (indices, comma-separated) out of the "
        "student's training set; the teacher still knows them (Hinton et al.'s dark-knowledge experiment)",
        low=0,
        high=99,
        min_items=0,
        group="data",
    )
    augment: str = setting(
        "auto",
        "batch augmentation: auto (the dataset's default), none, crop, flip or crop,flip",
        choices=("auto", "none", "crop", "flip", "crop,flip"),
        group="data",
    )
    teachers: list[str] = setting(
        ["cnn"], "teacher architecture(s), comma-separated (name or name:width)", choices=_model_names, group="models"
    )
    teacher_checkpoint: str = setting(
        "", "a state_dict (.pt) to load into the first teacher instead of the cache", group="models"
    )
    teacher_seed: int = setting(0, "seed of the cached teacher to use or train", low=0, high=2**31 - 1, group="models")
    student: str = setting(
        "lenet5_half",
        "student architecture (name or name:width)",
        choices=_model_names,
        group="models",
        model_spec=True,
    )
    method: str = setting("kd", "the distillation method", choices=_method_names, group="method")
    method_params: dict[str, Any] = field(default_factory=dict)  # checked by the method's own declarations
    temperature: float = setting(
        4.0, "softmax temperature T for soft targets", low=0.0, high=100.0, low_open=True, group="method"
    )
    temperature_schedule: str = setting(
        "constant", "how T changes over training", choices=SCHEDULE_KINDS, group="method"
    )
    temperature_end: float = setting(
        1.0, "T at the end of a decaying temperature schedule", low=0.0, high=100.0, low_open=True, group="method"
    )
    alpha: float = setting(
        0.9,
        "weight α of the soft (distillation) loss; 1 − α weighs the hard-label loss",
        low=0.0,
        high=1.0,
        group="method",
    )
    alpha_schedule: str = setting(
        "constant",
        "how α changes over training (linear = gradual soft-loss reduction)",
        choices=SCHEDULE_KINDS,
        group="method",
    )
    alpha_end: float = setting(
        0.0, "α at the end of a decaying α schedule (its floor)", low=0.0, high=1.0, group="method"
    )
    schedule_fraction: float = setting(
        1.0,
        "fraction of training over which decaying schedules reach their end",
        low=0.0,
        high=1.0,
        low_open=True,
        group="method",
    )
    schedule_steps: int = setting(3, "number of drops of a step schedule", low=1, high=100, group="method")
    w_bits: str = setting(
        "32",
        "student weight precision in bits (32 = full precision, ternary = {-s, 0, +s})",
        choices=_weight_bit_choices,
        group="quantisation",
    )
    a_bits: str = setting(
        "32",
        "student activation precision in bits (32 = full precision)",
        choices=_activation_bit_choices,
        group="quantisation",
    )
    epochs: int = setting(10, "training epochs", low=1, high=1000)
    batch_size: int = setting(64, "images per optimiser step", low=1, high=8192)
    lr: float = setting(0.05, "learning rate", low=0.0, high=10.0, low_open=True)
    optimizer: str = setting("sgd", "optimiser", choices=("sgd", "adam"))
    momentum: float = setting(0.9, "SGD momentum", low=0.0, high=0.999)
    weight_decay: float = setting(5e-4, "L2 weight decay", low=0.0, high=1.0)
    lr_schedule: str = setting(
        "cosine", "learning-rate schedule over the epochs", choices=("cosine", "step", "constant")
    )
    warmup_epochs: float = setting(
        0.0,
        "epochs over which the learning rate rises linearly from 0 to its value "
        "(measured in docs/defaults.md: it did not stop KD's collapse at lr 0.05; clipping did)",
        low=0.0,
        high=100.0,
    )
    grad_clip: float = setting(
        5.0,
        "clip the gradient norm of everything the optimiser steps to this value before each "
        "step (0 = no clipping); 5 keeps KD from collapsing a small student at lr 0.05 (docs/defaults.md)",
        low=0.0,
        high=1000.0,
    )
    seed: int = setting(0, "random seed (same seed and device: same numbers)", low=0, high=2**31 - 1)
    device: str = setting(
        "auto",
        "where to train: auto picks cuda, then mps, then cpu",
        choices=("auto", "cpu", "cuda", "mps"),
        group="system",
    )
    precision: str = setting(
        "auto", "auto uses bf16 autocast on CUDA and fp32 elsewhere", choices=("auto", "fp32", "bf16"), group="system"
    )
    threads: int = setting(
        0,
        "CPU threads for training; 0 = auto (half the cores: oversubscribed threads on a "
        "busy machine slow small models far more than one idle core does)",
        low=0,
        high=1024,
        group="system",
    )
    compile: bool = setting(False, "compile the student with torch.compile", group="system")
    cache_teacher_logits: bool = setting(True, "reuse a frozen teacher's logits on unaugmented batches", group="system")

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
        config.method_params = _method(config.method).validate_params(config.method_params)
        return config

    def query_params(self) -> dict[str, str]:
        """The fields that differ from the defaults, as flat strings for a URL's query; the method's
        hyperparameters that differ from theirs as `<method>.<name>` (the app's form for every method)."""
        default = RunConfig().to_dict()
        params: dict[str, str] = {}
        for key, value in self.to_dict().items():
            if key == "method_params" or value == default[key]:
                continue
            params[key] = query_text(value)
        defaults = {hp.name: hp.default for hp in _method(self.method).hyperparams}
        for key, value in self.method_params.items():
            if value != defaults.get(key):
                params[f"{self.method}.{key}"] = query_text(value)
        return params


def _field_specs() -> tuple[FieldSpec, ...]:
    """A FieldSpec per declared RunConfig field (method_params, checked by each method, is not one)."""
    hints = typing.get_type_hints(RunConfig)
    specs = []
    for declared in dataclasses.fields(RunConfig):
        if "help" not in declared.metadata:
            continue
        hint = hints[declared.name]
        kind = typing.get_origin(hint) or hint
        item_kind = typing.get_args(hint)[0] if kind is list else str
        default = declared.default_factory() if declared.default is dataclasses.MISSING else declared.default
        specs.append(FieldSpec(declared.name, kind, default=default, item_kind=item_kind, **declared.metadata))
    return tuple(specs)


FIELDS: tuple[FieldSpec, ...] = _field_specs()
FIELD_BY_NAME = {spec.name: spec for spec in FIELDS}
# T, α and their schedules (the method group's fields besides the method itself): what a grid's students, a cost
# probe's points and a baseline's comparisons tell apart or ignore.
COEFFICIENT_FIELDS = tuple(spec.name for spec in FIELDS if spec.group == "method" and spec.name != "method")


def query_text(value: Any) -> str:
    """A field's or hyperparameter's value as a URL query's text (lists comma-joined, booleans lower-case)."""
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value).lower() if isinstance(value, bool) else str(value)


def _method(name: str) -> Any:
    """The method class registered as `name` (ConfigError naming the choices otherwise)."""
    from .methods import get_method

    return get_method(name)


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


def config_from_query(params: Mapping[str, str]) -> tuple[RunConfig, list[str]]:
    """A config from URL query parameters (fields, and `<method>.<name>` for the config's method's
    hyperparameters); invalid entries are dropped and reported as notices."""
    values: dict[str, Any] = {}
    notices: list[str] = []
    for key, value in params.items():
        if key in FIELD_BY_NAME or key == "teacher":
            try:
                spec = FIELD_BY_NAME["teachers" if key == "teacher" else key]
                values[spec.name] = spec.coerce(value)
            except ConfigError as error:
                notices.append(f"ignored {error}")
    config = RunConfig.from_dict(values)
    method = _method(config.method)
    prefix, given = f"{config.method}.", {}
    for key, value in params.items():
        if key.startswith(prefix):
            try:
                method.validate_params({key[len(prefix) :]: value})
                given[key[len(prefix) :]] = value
            except WorkbenchError as error:
                notices.append(f"ignored {error}")
    config.method_params = method.validate_params(given)
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
