"""Sweep files: reading and checking them (`load_sweep`, `parse_sweep`), a sweep built around the app's setup
(`spec_from_config`), and the expansion of a spec into validated run configs, one per point × seed (`expand`).

A sweep file (YAML):

    name: T x alpha on digits          # optional label
    base: {dataset: digits, epochs: 5}  # config fields shared by every run
    grid: {temperature: [1, 4, 8], alpha: [0.5, 0.9]}
    # or: random: {temperature: {low: 1, high: 10, log: true}, w_bits: ["32", "ternary"]}
    #     samples: 12                   # how many random points
    seeds: 3                            # each point is run with seeds base.seed, base.seed + 1, ...

A swept key is a config field name or `mp.NAME` for a method hyperparameter. Each run trains with one
CPU thread unless `base` sets `threads` (small models on CPU train fastest single-threaded, one run per core).
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import FIELD_BY_NAME, RunConfig, load_config_file
from ..errors import WorkbenchError

SWEEP_KEYS = ("name", "description", "base", "grid", "random", "samples", "seeds", "sample_seed")
MAX_RUNS = 5000
MAX_SEEDS = 100
METHOD_PARAM_PREFIX = "mp."
SHORT_NAMES = {"temperature": "T", "alpha": "α", "w_bits": "w", "a_bits": "a"}


@dataclass(frozen=True)
class Range:
    """A numeric interval a random sweep draws from uniformly (or log-uniformly), as floats or integers."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def draw(self, rng: random.Random) -> float | int:
        """One value from the interval."""
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        return int(round(value)) if self.integer else round(value, 6)


@dataclass
class SweepSpec:
    """A validated sweep: shared fields, the grid or random axes, sample count and seeds."""

    name: str = "sweep"
    base: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    random: dict[str, list[Any] | Range] = field(default_factory=dict)
    samples: int = 0
    seeds: int = 1
    sample_seed: int = 0
    description: str = ""

    @property
    def swept_fields(self) -> list[str]:
        """The keys that vary between points (grid or random), in file order."""
        return list(self.grid or self.random)

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data (a YAML file with the same content parses back to an equal spec)."""
        data: dict[str, Any] = {"name": self.name, "base": dict(self.base), "seeds": self.seeds}
        if self.description:
            data["description"] = self.description
        if self.grid:
            data["grid"] = {key: list(values) for key, values in self.grid.items()}
        if self.random:
            data["random"] = {
                key: (
                    dict(low=axis.low, high=axis.high, log=axis.log, integer=axis.integer)
                    if isinstance(axis, Range)
                    else list(axis)
                )
                for key, axis in self.random.items()
            }
            data["samples"], data["sample_seed"] = self.samples, self.sample_seed
        return data


@dataclass(frozen=True)
class SweepPoint:
    """One run of a sweep: the swept values at this point, its seed and the full validated config."""

    values: dict[str, Any]
    seed: int
    config: RunConfig

    @property
    def label(self) -> str:
        """The point's values, short (`T=4 · α=0.5`), without the seed."""
        return point_label(self.values)


def point_label(values: dict[str, Any]) -> str:
    """Swept values as a short label: `T=4 · α=0.5 · w=ternary`."""
    parts = []
    for key, value in values.items():
        name = SHORT_NAMES.get(key, key[len(METHOD_PARAM_PREFIX) :] if key.startswith(METHOD_PARAM_PREFIX) else key)
        parts.append(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}")
    return " · ".join(parts)


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file (YAML or JSON); WorkbenchError naming what is wrong."""
    data = load_config_file(path)
    spec = parse_sweep(data, source=str(path))
    if "name" not in data:
        spec.name = Path(path).stem
    return spec


def parse_sweep(data: dict[str, Any], source: str = "sweep") -> SweepSpec:
    """A SweepSpec from plain data, with every point checked as a RunConfig."""
    unknown = [key for key in data if key not in SWEEP_KEYS]
    if unknown:
        raise WorkbenchError(f"{source}: unknown key {unknown[0]!r}; a sweep file has: {', '.join(SWEEP_KEYS)}")
    base = data.get("base") or {}
    if not isinstance(base, dict):
        raise WorkbenchError(f"{source}: base must be a mapping of config fields to values")
    grid, sampled = data.get("grid") or {}, data.get("random") or {}
    if bool(grid) == bool(sampled):
        raise WorkbenchError(
            f"{source}: give either grid (every combination) or random (sampled points), "
            "and at least one field to sweep"
        )
    spec = SweepSpec(
        name=str(data.get("name") or "sweep"),
        base=dict(base),
        seeds=_count(data, "seeds", 1, MAX_SEEDS, source),
        description=str(data.get("description") or ""),
    )
    if grid:
        spec.grid = {key: _grid_axis(key, values, source) for key, values in _axes(grid, "grid", source)}
    else:
        spec.random = {key: _random_axis(key, axis, source) for key, axis in _axes(sampled, "random", source)}
        if "samples" not in data:
            raise WorkbenchError(f"{source}: samples: a random sweep needs the number of points to draw")
        spec.samples = _count(data, "samples", 1, MAX_RUNS, source)
        spec.sample_seed = _count(data, "sample_seed", 0, 2**31 - 1, source, default=0)
    overlap = [key for key in spec.swept_fields if _field_name(key) in base or key in base]
    if overlap:
        raise WorkbenchError(f"{source}: {overlap[0]} is both in base and swept; keep it in one place")
    runs = _point_count(spec) * spec.seeds
    if runs > MAX_RUNS:
        raise WorkbenchError(f"{source}: {runs} runs is too many; allowed: at most {MAX_RUNS} (fewer values or seeds)")
    expand(spec, source=source)  # checks every point's config now
    return spec


def _axes(axes: Any, kind: str, source: str) -> list[tuple[str, Any]]:
    if not isinstance(axes, dict):
        raise WorkbenchError(f"{source}: {kind} must be a mapping of field names to values")
    for key in axes:
        name = _field_name(str(key))
        if str(key).startswith(METHOD_PARAM_PREFIX) and name:
            continue
        if name in ("seed", "name"):
            raise WorkbenchError(f"{source}: {kind}.{key}: not sweepable; use seeds: N for seeds")
        if name not in FIELD_BY_NAME:
            raise WorkbenchError(
                f"{source}: {kind}.{key}: unknown config field; known fields: "
                f"{', '.join(FIELD_BY_NAME)} (or mp.NAME for a method hyperparameter)"
            )
    return [(str(key), value) for key, value in axes.items()]


def _field_name(key: str) -> str:
    if key.startswith(METHOD_PARAM_PREFIX):
        return key[len(METHOD_PARAM_PREFIX) :]
    return "teachers" if key == "teacher" else key


def _grid_axis(key: str, values: Any, source: str) -> list[Any]:
    if not isinstance(values, list) or not values:
        raise WorkbenchError(f"{source}: grid.{key}: needs a non-empty list of values")
    if len({repr(value) for value in values}) != len(values):
        raise WorkbenchError(f"{source}: grid.{key}: a value is listed twice")
    return list(values)


def _random_axis(key: str, axis: Any, source: str) -> list[Any] | Range:
    if isinstance(axis, list):
        return _grid_axis(key, axis, source)
    if not isinstance(axis, dict) or set(axis) - {"low", "high", "log", "integer"} or not {"low", "high"} <= set(axis):
        raise WorkbenchError(f"{source}: random.{key}: give a list of values or {{low, high}} (optional log, integer)")
    try:
        low, high = float(axis["low"]), float(axis["high"])
    except (TypeError, ValueError):
        raise WorkbenchError(f"{source}: random.{key}: low and high must be numbers") from None
    log = bool(axis.get("log", False))
    if not low < high or (log and low <= 0):
        raise WorkbenchError(f"{source}: random.{key}: needs low < high" + (" and low > 0 for log" if log else ""))
    spec = FIELD_BY_NAME.get(_field_name(key))
    integer = bool(axis.get("integer", spec is not None and spec.kind is int))
    return Range(low, high, log, integer)


def _count(data: dict[str, Any], key: str, low: int, high: int, source: str, default: int = 1) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise WorkbenchError(f"{source}: {key}: {value!r} is not allowed; allowed: an integer from {low} to {high}")
    return value


def _point_count(spec: SweepSpec) -> int:
    if spec.grid:
        return math.prod(len(values) for values in spec.grid.values())
    return spec.samples


def sweep_values(spec: SweepSpec) -> list[dict[str, Any]]:
    """The swept values of each point: every grid combination, or `samples` random draws (seeded)."""
    if spec.grid:
        keys = list(spec.grid)
        return [dict(zip(keys, combo)) for combo in itertools.product(*spec.grid.values())]
    rng = random.Random(spec.sample_seed)
    return [
        {key: axis.draw(rng) if isinstance(axis, Range) else rng.choice(axis) for key, axis in spec.random.items()}
        for _ in range(spec.samples)
    ]


def expand(spec: SweepSpec, source: str = "sweep") -> list[SweepPoint]:
    """Every run of the sweep: each point × each seed, as validated configs named after their values."""
    base = dict(spec.base)
    base.setdefault("threads", 1)
    first_seed = int(base.pop("seed", 0))
    points = []
    for values in sweep_values(spec):
        fields = {key: value for key, value in values.items() if not key.startswith(METHOD_PARAM_PREFIX)}
        params = {
            **(base.get("method_params") or {}),
            **{_field_name(key): value for key, value in values.items() if key.startswith(METHOD_PARAM_PREFIX)},
        }
        for offset in range(spec.seeds):
            seed = first_seed + offset
            try:
                config = RunConfig.from_dict(
                    {
                        **base,
                        **fields,
                        "method_params": params,
                        "seed": seed,
                        "name": f"{spec.name} · {point_label(values)} · seed {seed}",
                    }
                )
            except WorkbenchError as error:
                raise WorkbenchError(f"{source}: at {point_label(values)}: {error}") from None
            _check_runnable(config, values, source)
            points.append(SweepPoint(values, seed, config))
    return points


def _check_runnable(config: RunConfig, values: dict[str, Any], source: str) -> None:
    from ..methods import get_method

    reason = get_method(config.method).unavailable_reason(
        teacher_count=len(config.teachers),
        dataset=config.dataset,
        student=config.student,
        w_bits=config.w_bits,
        a_bits=config.a_bits,
    )
    if reason:
        raise WorkbenchError(f"{source}: at {point_label(values)}: method {config.method} cannot run: {reason}")


def spec_from_config(config: RunConfig, grid: dict[str, list[Any]], seeds: int, name: str = "sweep") -> SweepSpec:
    """A grid sweep around `config` (the app's setup): its fields are the base, less the swept ones, the run
    name and the thread count (sweep runs take one thread each)."""
    base = {
        key: value
        for key, value in config.to_dict().items()
        if key not in grid and key not in ("name", "threads") and not (key == "method_params" and not value)
    }
    return parse_sweep({"name": name, "base": base, "grid": grid, "seeds": seeds}, source="sweep")


def parse_axis_values(key: str, text: str) -> list[Any]:
    """Comma-separated values typed for one swept field, each checked against the field: WorkbenchError
    naming the bad one."""
    spec = FIELD_BY_NAME.get(_field_name(key))
    if spec is None:
        raise WorkbenchError(f"{key}: unknown config field")
    values = [part.strip() for part in str(text).split(",") if part.strip()]
    if not values:
        raise WorkbenchError(f"{key}: give at least one value (comma-separated)")
    parsed = [spec.coerce(value) for value in values]
    return list(dict.fromkeys(parsed))
