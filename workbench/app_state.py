"""The app's state as plain data: its settings, the setup a user builds across the pages, the setup's
URL form, and the ranges the widgets offer. No Streamlit here: the pages bind widgets to these."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Mapping

from .classroom import ServerLimits, env_number
from .concurrency import default_max_workers
from .config import FIELD_BY_NAME, RunConfig, config_from_query, query_text
from .describe import run_name
from .errors import WorkbenchError
from .fields import parse_bool
from .paths import default_runs_dir
from .sweep.inputs import SweepInputs, sweep_inputs_from_query
from .text import ECHO_LIMIT, clip

if TYPE_CHECKING:
    from .methods import HyperParam

DEFAULT_UPLOAD_LIMIT_MB = 50.0
MAX_SEEDS = 10
DEFAULT_METHODS = ("kd",)
# Query keys Streamlit itself may put in a URL; they are not part of the setup.
STREAMLIT_KEYS = ("embed", "embed_options")


LOCAL_ADDRESSES = ("", "localhost", "::1")


def _methods() -> ModuleType:
    """The method registry, imported on first use: it imports torch, which a setup without method parameters and
    the first page's widgets do not need (the page draws them first)."""
    from . import methods

    return methods


def listens_beyond_this_machine(address: str | None) -> bool:
    """Whether a server address (Streamlit's server.address, $KDW_ADDRESS) accepts connections from other
    machines: anything but a loopback address (127.x, ::1, localhost); unset or empty counts as this machine."""
    text = (address or "").strip().lower().strip("[]")
    return not (text in LOCAL_ADDRESSES or text.startswith("127."))


@dataclass
class Settings:
    """Where runs go and how the app runs them; read from the environment. `max_workers` is the server's
    concurrency when it starts: the executor holds the live value, one for every session (see app.py)."""

    runs_dir: Path
    max_workers: int
    upload_limit_mb: float
    inline: bool  # run jobs in the page's own process, synchronously (tests)
    classroom: bool = False  # a server shared by a class: the settings are the server's, not a browser's to change
    limits: ServerLimits = field(default_factory=ServerLimits)  # time budget, queue cap, admin token, upload quota

    @property
    def uploads_dir(self) -> Path:
        """Where validated teacher uploads are kept."""
        return self.runs_dir / "uploads"

    @classmethod
    def from_env(cls, address: str | None = None) -> tuple["Settings", list[str]]:
        """Settings from $KDW_RUNS_DIR, $KDW_MAX_WORKERS, $KDW_UPLOAD_LIMIT_MB, $KDW_EXECUTOR (process or
        inline) and $KDW_CLASSROOM (1: the sidebar cannot change them); a bad value falls back to the default
        with a notice. Without KDW_CLASSROOM=0 or 1, a server listening beyond this machine ($KDW_ADDRESS or
        `address`, the address it listens on) is a classroom server. The server's limits (`classroom.ServerLimits`:
        run time budget, queue cap per owner, admin token, upload quota and expiry) have classroom defaults."""
        notices: list[str] = []
        workers = env_number("KDW_MAX_WORKERS", default_max_workers(), 1, 64, int, notices)
        limit = env_number("KDW_UPLOAD_LIMIT_MB", DEFAULT_UPLOAD_LIMIT_MB, 0.001, 10_000.0, float, notices)
        mode = os.environ.get("KDW_EXECUTOR", "process").strip().lower() or "process"
        if mode not in ("process", "inline"):
            notices.append(f"KDW_EXECUTOR: {mode!r} is not allowed; allowed: process or inline (using process)")
            mode = "process"
        shared = any(listens_beyond_this_machine(where) for where in (os.environ.get("KDW_ADDRESS"), address))
        classroom = os.environ.get("KDW_CLASSROOM", "").strip().lower()
        if classroom not in ("", "0", "1"):
            notices.append(
                f"KDW_CLASSROOM: {classroom!r} is not allowed; allowed: 0 or 1 (using {int(shared)}: "
                f"{'listening beyond' if shared else 'only reachable from'} this machine)"
            )
        classroom = classroom == "1" or (classroom != "0" and shared)
        limits = ServerLimits.from_env(classroom, notices)
        return cls(default_runs_dir(), int(workers), float(limit), mode == "inline", classroom, limits), notices


@dataclass
class Setup:
    """Everything the pages set up: the run config (dataset, teachers, student, hyperparameters), the
    methods picked to run side by side with their own hyperparameters, the number of seeds, and
    whether a baseline student trains beside them."""

    config: RunConfig = field(default_factory=RunConfig)
    methods: list[str] = field(default_factory=lambda: list(DEFAULT_METHODS))
    method_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    seeds: int = 1
    baseline: bool = True
    compare: list[str] = field(default_factory=list)  # run ids picked on the Compare page
    sweep: SweepInputs = field(default_factory=SweepInputs)  # the Sweep page's grid: fields, values, seeds

    def params_of(self, method: str) -> dict[str, Any]:
        """A method's hyperparameters: its defaults overlaid with what was set."""
        return _methods().get_method(method).validate_params(self.method_params.get(method, {}))

    def availability(self) -> dict[str, str | None]:
        """Per registered method, why it cannot run with this setup (None when it can)."""
        config = self.config
        return {
            method.name: method.unavailable_reason(
                teacher_count=len(config.teachers),
                dataset=config.dataset,
                student=config.student,
                w_bits=config.w_bits,
                a_bits=config.a_bits,
            )
            for method in _methods().list_methods()
        }

    def runnable_methods(self) -> list[str]:
        """The picked methods that can run with this setup (the baseline is added by `run_configs`)."""
        available = self.availability()
        return [name for name in self.methods if name in available and available[name] is None and name != "baseline"]

    def run_configs(self) -> list[RunConfig]:
        """The runs Start submits: each runnable picked method × each seed, plus the baseline per seed."""
        methods = self.runnable_methods()
        if self.baseline or "baseline" in self.methods:
            methods.append("baseline")
        configs = []
        for method in methods:
            params = self.params_of(method)
            for offset in range(self.seeds):
                seed = self.config.seed + offset
                configs.append(
                    self.config.replace(
                        method=method, method_params=params, seed=seed, name=run_name(method, self.config, seed)
                    )
                )
        return configs

    def query_params(self) -> dict[str, str]:
        """The setup as flat URL query parameters (only what differs from the defaults)."""
        params = {
            key: value
            for key, value in self.config.query_params().items()
            if key != "method" and not key.startswith(f"{self.config.method}.")
        }
        if self.methods != list(DEFAULT_METHODS):
            params["methods"] = ",".join(self.methods)
        if self.seeds != 1:
            params["seeds"] = str(self.seeds)
        if not self.baseline:
            params["baseline"] = "false"
        if self.compare:
            params["compare"] = ",".join(self.compare)
        if "teacher_checkpoint" in params:  # an upload is named by its file name, never by a path on the server
            params["teacher_checkpoint"] = Path(params["teacher_checkpoint"]).name
        for method, values in sorted(self.method_params.items()):
            defaults = {hp.name: hp.default for hp in _methods().get_method(method).hyperparams}
            for name, value in sorted(values.items()):
                if value != defaults.get(name):
                    params[f"{method}.{name}"] = query_text(value)
        params.update(self.sweep.query_params(self.config))
        return params


def setup_from_query(params: Mapping[str, str], uploads_dir: Path | None = None) -> tuple[Setup, list[str]]:
    """A setup from URL query parameters; every invalid or unknown entry is left out with a notice (a link
    naming only unknown methods keeps the setup's methods).

    A `teacher_checkpoint` names an upload by its file name; it is only taken when that file is in `uploads_dir`
    (uploaded to this server), and then holds the file's path."""
    notices: list[str] = []
    config_params: dict[str, str] = {}
    setup = Setup()
    raw_params: dict[str, dict[str, str]] = {}
    sweep_params: dict[str, str] = {}
    for key, value in params.items():
        head, _, tail = key.partition(".")
        if key in STREAMLIT_KEYS:
            continue
        if key in ("methods", "method"):
            picked = _parse_methods(value, _method_names(), notices)
            if picked or not str(value).strip(" ,"):  # only unknown names: the setup keeps its methods
                setup.methods = picked
        elif key == "seeds":
            setup.seeds = _parse_int(key, value, 1, MAX_SEEDS, setup.seeds, notices)
        elif key == "baseline":
            setup.baseline = _parse_bool(key, value, setup.baseline, notices)
        elif key == "compare":
            setup.compare = [part.strip() for part in str(value).split(",") if part.strip()]
        elif tail and head == "sweep":  # the Sweep page's inputs
            sweep_params[key] = value
        elif tail and head in _method_names():
            raw_params.setdefault(head, {})[tail] = value
        elif key in FIELD_BY_NAME or key == "teacher":
            config_params[key] = value
        else:
            notices.append(f"ignored {key!r}: not a setting of this app")
    try:  # no config in the URL: the default config, without reading the method registry (and importing torch)
        config, config_notices = config_from_query(config_params) if config_params else (RunConfig(), [])
    except WorkbenchError as error:
        config, config_notices = RunConfig(), [f"ignored the configuration: {error}"]
    notices.extend(config_notices)
    if config.teacher_checkpoint:
        upload = find_upload(config.teacher_checkpoint, uploads_dir)
        if upload is None:
            notices.append(
                f"ignored teacher_checkpoint: {Path(config.teacher_checkpoint).name!r} is not a teacher "
                "uploaded to this server (upload it on the Teacher page)"
            )
        config.teacher_checkpoint = str(upload) if upload else ""
    setup.config = config
    setup.sweep, sweep_notices = sweep_inputs_from_query(sweep_params)
    notices.extend(sweep_notices)
    for method, values in raw_params.items():
        valid = {}
        for name, value in values.items():
            try:
                _methods().get_method(method).validate_params({name: value})
                valid[name] = value
            except WorkbenchError as error:
                notices.append(f"ignored {error}")
        setup.method_params[method] = _methods().get_method(method).validate_params(valid)
    return setup, notices


@cache
def _method_names() -> frozenset[str]:
    """The registered methods' names (read once: the registry does not change while the app runs)."""
    return frozenset(method.name for method in _methods().list_methods())


def _parse_methods(value: str, known: frozenset[str], notices: list[str]) -> list[str]:
    picked = []
    for name in (part.strip() for part in str(value).split(",")):
        if not name:
            continue
        if name not in known:
            notices.append(f"ignored method {name!r}: no such method (known: {', '.join(sorted(known))})")
        elif name not in picked:
            picked.append(name)
    return picked


def _parse_int(key: str, value: str, low: int, high: int, default: int, notices: list[str]) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        notices.append(f"ignored {key}: {value!r} is not allowed; allowed: {low} to {high}")
        return default
    return number


def _parse_bool(key: str, value: str, default: bool, notices: list[str]) -> bool:
    parsed = parse_bool(value)
    if parsed is None:
        notices.append(f"ignored {key}: {value!r} is not true or false")
        return default
    return parsed


def find_upload(name: str, uploads_dir: Path | None) -> Path | None:
    """The file an upload name (or, from an older link, a path ending in it) stands for in `uploads_dir`, or
    None when this server holds no such upload."""
    if uploads_dir is None or not name.strip():
        return None
    file = uploads_dir / Path(name.strip()).name
    try:
        found = file.suffix == ".pt" and file.is_file() and file.resolve().parent == uploads_dir.resolve()
    except OSError:
        return None
    return file if found else None


def clip_echoes(notices: list[str] | tuple[str, ...], params: Mapping[str, str], limit: int = ECHO_LIMIT) -> list[str]:
    """The notices with every long key or value of `params` they echo (as given, stripped, lower-cased, one item
    of a list, or quoted) cut to `limit` characters and an ellipsis."""
    echoes: set[str] = set()
    for text in (str(part) for pair in params.items() for part in pair):
        for piece in (text, *text.split(",")):
            echoes.update(form for form in (piece, piece.strip(), piece.strip().lower()) if len(form) > limit)
    clipped = []
    for notice in notices:
        for echo in sorted(echoes, key=len, reverse=True):
            notice = notice.replace(repr(echo), repr(clip(echo, limit))).replace(echo, clip(echo, limit))
        clipped.append(notice)
    return clipped


# -- what the widgets offer ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SliderRange:
    """A slider's usual bounds and step; `around` widens them to hold a value set elsewhere (a URL)."""

    low: float
    high: float
    step: float

    def around(self, value: float) -> tuple[float, float]:
        """Bounds that hold `value` as well as the usual range."""
        return min(self.low, value), max(self.high, value)


SLIDERS: dict[str, SliderRange] = {
    "temperature": SliderRange(0.5, 20.0, 0.5),
    "temperature_end": SliderRange(0.5, 20.0, 0.5),
    "alpha": SliderRange(0.0, 1.0, 0.05),
    "alpha_end": SliderRange(0.0, 1.0, 0.05),
    "schedule_fraction": SliderRange(0.05, 1.0, 0.05),
    "schedule_steps": SliderRange(1, 10, 1),
    "epochs": SliderRange(1, 50, 1),
    "warmup_epochs": SliderRange(0.0, 5.0, 0.5),
    "seeds": SliderRange(1, MAX_SEEDS, 1),
}
STEP_CHOICES: dict[str, tuple[float, ...]] = {
    "lr": (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
    "batch_size": (16, 32, 64, 128, 256, 512, 1024),
    "grad_clip": (0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0),
}


def choices_with(options: tuple[Any, ...] | list[Any], value: Any) -> list[Any]:
    """The options, with `value` added in order when it is not one of them."""
    if value in options:
        return list(options)
    return sorted([*options, value])


def hyperparam_step(hp: HyperParam) -> float | int:
    """A slider step for a method's numeric hyperparameter: 1 for integers, about 1/100 of the range otherwise."""
    if isinstance(hp.default, int) and not isinstance(hp.default, bool):
        return 1
    if hp.low is None or hp.high is None or hp.high <= hp.low:
        return 0.01
    return 10.0 ** math.floor(math.log10((hp.high - hp.low) / 100))
