"""Sweeps: a grid (or a random sample) over config fields, times a number of seeds, as runs in the store
tagged with one sweep id (their `group_id`), trained by the local executor or by Ray Tune (`sweep_ray`).

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
import os
import random
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Collection, Sequence

import yaml

from .config import FIELD_BY_NAME, RunConfig, load_config_file
from .errors import WorkbenchError
from .store import FINISHED, RunRecord, RunStore

if TYPE_CHECKING:
    from .executor import Executor

SWEEP_KEYS = ("name", "description", "base", "grid", "random", "samples", "seeds", "sample_seed")
ENGINES = ("local", "ray")
MAX_RUNS = 5000
MAX_SEEDS = 100
SWEEP_PREFIX = "sweep-"
METHOD_PARAM_PREFIX = "mp."
# Fields that do not change how long a run takes (a probe of one setup stands for all their values).
COST_NEUTRAL_FIELDS = ("name", "seed", "temperature", "temperature_schedule", "temperature_end", "alpha",
                       "alpha_schedule", "alpha_end", "schedule_fraction", "schedule_steps", "lr", "momentum",
                       "weight_decay", "lr_schedule", "optimizer", "epochs", "threads")
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
            data["random"] = {key: (dict(low=axis.low, high=axis.high, log=axis.log, integer=axis.integer)
                                    if isinstance(axis, Range) else list(axis)) for key, axis in self.random.items()}
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
        name = SHORT_NAMES.get(key, key[len(METHOD_PARAM_PREFIX):] if key.startswith(METHOD_PARAM_PREFIX) else key)
        parts.append(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}")
    return " · ".join(parts)


# -- reading and checking a sweep file ---------------------------------------------------------------

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
        raise WorkbenchError(f"{source}: give either grid (every combination) or random (sampled points), "
                             "and at least one field to sweep")
    spec = SweepSpec(name=str(data.get("name") or "sweep"), base=dict(base),
                     seeds=_count(data, "seeds", 1, MAX_SEEDS, source),
                     description=str(data.get("description") or ""))
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
            raise WorkbenchError(f"{source}: {kind}.{key}: unknown config field; known fields: "
                                 f"{', '.join(FIELD_BY_NAME)} (or mp.NAME for a method hyperparameter)")
    return [(str(key), value) for key, value in axes.items()]


def _field_name(key: str) -> str:
    if key.startswith(METHOD_PARAM_PREFIX):
        return key[len(METHOD_PARAM_PREFIX):]
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


# -- expansion -------------------------------------------------------------------------------------------

def sweep_values(spec: SweepSpec) -> list[dict[str, Any]]:
    """The swept values of each point: every grid combination, or `samples` random draws (seeded)."""
    if spec.grid:
        keys = list(spec.grid)
        return [dict(zip(keys, combo)) for combo in itertools.product(*spec.grid.values())]
    rng = random.Random(spec.sample_seed)
    return [{key: axis.draw(rng) if isinstance(axis, Range) else rng.choice(axis) for key, axis in spec.random.items()}
            for _ in range(spec.samples)]


def expand(spec: SweepSpec, source: str = "sweep") -> list[SweepPoint]:
    """Every run of the sweep: each point × each seed, as validated configs named after their values."""
    base = dict(spec.base)
    base.setdefault("threads", 1)
    first_seed = int(base.pop("seed", 0))
    points = []
    for values in sweep_values(spec):
        fields = {key: value for key, value in values.items() if not key.startswith(METHOD_PARAM_PREFIX)}
        params = {**(base.get("method_params") or {}),
                  **{_field_name(key): value for key, value in values.items() if key.startswith(METHOD_PARAM_PREFIX)}}
        for offset in range(spec.seeds):
            seed = first_seed + offset
            try:
                config = RunConfig.from_dict({**base, **fields, "method_params": params, "seed": seed,
                                              "name": f"{spec.name} · {point_label(values)} · seed {seed}"})
            except WorkbenchError as error:
                raise WorkbenchError(f"{source}: at {point_label(values)}: {error}") from None
            _check_runnable(config, values, source)
            points.append(SweepPoint(values, seed, config))
    return points


def _check_runnable(config: RunConfig, values: dict[str, Any], source: str) -> None:
    from .methods import get_method

    reason = get_method(config.method).unavailable_reason(
        teacher_count=len(config.teachers), dataset=config.dataset, student=config.student,
        w_bits=config.w_bits, a_bits=config.a_bits)
    if reason:
        raise WorkbenchError(f"{source}: at {point_label(values)}: method {config.method} cannot run: {reason}")


def new_sweep_id() -> str:
    """A fresh sweep id (the runs' group id): `sweep-<date>-<time>-<hex>`."""
    return f"{SWEEP_PREFIX}{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"


def default_concurrency() -> int:
    """Runs trained at once by default: one per CPU core (each run single-threaded)."""
    return max(1, os.cpu_count() or 1)


# -- cost estimate ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Probe:
    """What a short probe run measured: set-up seconds (data, models, teacher logits), seconds per step,
    steps per epoch, and the epoch's evaluation seconds when the probe got that far (else None)."""

    setup_seconds: float
    step_seconds: float
    steps_per_epoch: int
    eval_seconds: float | None

    @property
    def epoch_seconds(self) -> float:
        """An epoch's training time (plus its evaluation when measured)."""
        return self.step_seconds * self.steps_per_epoch + (self.eval_seconds or 0.0)

    def run_seconds(self, epochs: int) -> float:
        """A whole run of `epochs` epochs."""
        return self.setup_seconds + epochs * self.epoch_seconds


@dataclass
class CostEstimate:
    """A sweep's expected wall time: per-run seconds (from probes), how many train at once, the one-off
    start-up (a fresh process loading the data and teachers, measured by the first, cold probe) and the budget."""

    run_seconds: list[float]
    concurrency: int
    probes: dict[str, Probe]
    startup_seconds: float = 0.0
    budget_seconds: float | None = None

    @property
    def total_run_seconds(self) -> float:
        """The runs' seconds added up (one after another)."""
        return sum(self.run_seconds)

    @property
    def wall_seconds(self) -> float:
        """Expected wall time: start-up, then `concurrency` runs at once (never below the longest run)."""
        if not self.run_seconds:
            return 0.0
        return self.startup_seconds + max(self.total_run_seconds / self.concurrency, max(self.run_seconds))

    @property
    def over_budget(self) -> bool:
        """Whether the expected wall time exceeds the budget."""
        return self.budget_seconds is not None and self.wall_seconds > self.budget_seconds

    def summary(self) -> str:
        """One line: runs, at once, expected wall time, from how many probes."""
        return (f"{len(self.run_seconds)} runs, {self.concurrency} at a time: about {_minutes(self.wall_seconds)} "
                f"({_minutes(self.startup_seconds)} start-up, {_minutes(self.total_run_seconds)} of training one "
                f"after another; {len(self.probes)} probe run{'s' if len(self.probes) != 1 else ''})")

    def warning(self) -> str | None:
        """A warning naming the overrun, or None within budget."""
        if not self.over_budget:
            return None
        return (f"the sweep would take about {_minutes(self.wall_seconds)}, more than the budget of "
                f"{_minutes(self.budget_seconds or 0)}: use fewer values, seeds or epochs, or more runs at a time")


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def cost_key(config: RunConfig) -> str:
    """What decides a run's time per epoch: the config without the cost-neutral fields."""
    import json

    return json.dumps({k: v for k, v in config.to_dict().items() if k not in COST_NEUTRAL_FIELDS}, sort_keys=True)


def probe_run(config: RunConfig, steps: int = 20) -> Probe:
    """Time a short run of `config` (at most `steps` optimisation steps of one epoch, no store)."""
    from .engine import Callback, EpochEvent, RunInfo, StepEvent, fit

    class Timer(Callback):
        """Stamps the start, every step and the epoch's end."""

        def __init__(self) -> None:
            self.started = self.epoch_end = 0.0
            self.step_times: list[float] = []
            self.steps_per_epoch = 0

        def on_start(self, info: RunInfo) -> None:
            self.started, self.steps_per_epoch = time.perf_counter(), info.steps_per_epoch

        def on_step(self, event: StepEvent) -> None:
            self.step_times.append(time.perf_counter())

        def on_epoch(self, event: EpochEvent) -> None:
            self.epoch_end = time.perf_counter()

    timer = Timer()
    begun = time.perf_counter()
    fit(config.replace(epochs=1, name="probe"), [timer], cancel=lambda: len(timer.step_times) >= steps)
    if not timer.step_times:
        raise WorkbenchError(f"estimate: the probe run of {config.name or config.method} made no training step")
    stamps = timer.step_times
    # the first step carries one-off warm-up: time the steady steps after it when there are any
    if len(stamps) > 1:
        step_seconds = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
    else:
        step_seconds = stamps[0] - timer.started
    warm_up = max(0.0, stamps[0] - timer.started - step_seconds)
    eval_seconds = timer.epoch_end - stamps[-1] if timer.epoch_end else None
    return Probe(timer.started - begun + warm_up, step_seconds, timer.steps_per_epoch, eval_seconds)


def estimate_cost(points: Sequence[SweepPoint], *, concurrency: int, budget_minutes: float | None = None,
                  probe_steps: int = 20, max_probes: int = 3,
                  probe: Callable[[RunConfig, int], Probe] = probe_run) -> CostEstimate:
    """Probe up to `max_probes` distinct setups (by `cost_key`), then price every run from its setup's probe
    (setups not probed take the slowest probe's epoch time); warn against `budget_minutes`.

    A one-step cold probe comes first: its set-up time (data, teacher logits, first use of the model code)
    is the sweep's start-up; the probes after it measure what each run pays on a warm worker."""
    probes: dict[str, Probe] = {}
    startup = probe(points[0].config, 1).setup_seconds if points else 0.0
    for point in points:
        key = cost_key(point.config)
        if key not in probes and len(probes) < max_probes:
            probes[key] = probe(point.config, probe_steps)
    slowest = max(probes.values(), key=lambda p: p.epoch_seconds, default=None)
    seconds = []
    for point in points:
        measured = probes.get(cost_key(point.config), slowest)
        seconds.append(measured.run_seconds(point.config.epochs) if measured else 0.0)
    budget = budget_minutes * 60 if budget_minutes is not None else None
    return CostEstimate(seconds, max(1, concurrency), probes, startup, budget)


# -- running ---------------------------------------------------------------------------------------------

@dataclass
class SweepResult:
    """How a sweep went: its id, run ids in point order, and their final statuses."""

    sweep_id: str
    run_ids: list[str]
    statuses: dict[str, str]
    wall_seconds: float

    def counts(self) -> dict[str, int]:
        """How many runs ended with each status."""
        counts: dict[str, int] = {}
        for status in self.statuses.values():
            counts[status] = counts.get(status, 0) + 1
        return counts


RunEnded = Callable[[RunRecord, int, int], None]  # (record, finished so far, total)


def save_spec(store: RunStore, sweep_id: str, spec: SweepSpec, engine: str) -> Path:
    """Keep the sweep's spec beside the runs (`<runs>/sweeps/<id>.yaml`) so views can name the sweep."""
    folder = store.root / "sweeps"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sweep_id}.yaml"
    path.write_text(yaml.safe_dump({**spec.to_dict(), "engine": engine, "id": sweep_id}, sort_keys=False,
                                   allow_unicode=True))
    return path


def run_sweep(spec: SweepSpec, runs_dir: str | Path, *, engine: str = "local", max_concurrent: int | None = None,
              owner: str = "", on_run_end: RunEnded | None = None, **ray_options: Any) -> SweepResult:
    """Train every run of `spec` and wait for all of them; the runs carry the new sweep id as group id.

    `engine` is `local` (worker processes of the executor) or `ray` (`sweep_ray.run_ray`, which takes
    `address`, `cpus_per_trial`, `gpus_per_trial`, `asha`, `grace_period`)."""
    if engine not in ENGINES:
        raise WorkbenchError(f"engine: {engine!r} is not allowed; allowed: {', '.join(ENGINES)}")
    if max_concurrent is not None and max_concurrent < 1:
        raise WorkbenchError(f"max_concurrent: {max_concurrent} is out of range; allowed: at least 1")
    if engine == "local" and ray_options:
        raise WorkbenchError(f"{', '.join(ray_options)}: only used with --engine ray")
    points = expand(spec)
    store = RunStore(runs_dir)
    sweep_id = new_sweep_id()
    save_spec(store, sweep_id, spec, engine)
    begun = time.monotonic()
    if engine == "ray":
        from .sweep_ray import run_ray

        run_ids = run_ray(points, store, sweep_id, max_concurrent=max_concurrent, owner=owner,
                          on_run_end=on_run_end, **ray_options)
    else:
        run_ids = run_local(points, store, sweep_id, max_concurrent=max_concurrent or default_concurrency(),
                            owner=owner, on_run_end=on_run_end)
    statuses = {record.id: record.status for record in store.recent_runs(len(run_ids), ids=run_ids)}
    return SweepResult(sweep_id, run_ids, statuses, time.monotonic() - begun)


def run_local(points: Sequence[SweepPoint], store: RunStore, sweep_id: str, *, max_concurrent: int,
              owner: str = "", on_run_end: RunEnded | None = None, poll_seconds: float = 0.2) -> list[str]:
    """Queue every point on a private executor with `max_concurrent` workers and wait for all to finish
    (Ctrl-C cancels the sweep's runs)."""
    from .executor import Executor

    executor = Executor(store.root, max_workers=max_concurrent, poll_seconds=0.1)
    run_ids: list[str] = []
    try:
        run_ids.extend(submit_points(executor, points, sweep_id, owner))
        wait_for_runs(store, run_ids, on_run_end, poll_seconds)
    except KeyboardInterrupt:
        for run_id in run_ids:
            executor.cancel(run_id)
        wait_for_runs(store, run_ids, None, poll_seconds, timeout=executor.grace_seconds + 5.0)
        raise
    finally:
        executor.shutdown()
    return run_ids


def submit_points(executor: "Executor", points: Sequence[SweepPoint], sweep_id: str, owner: str = "") -> list[str]:
    """Queue every point on an executor (its concurrency limit applies) under the sweep id; returns run ids."""
    return [executor.submit(point.config, owner=owner, group_id=sweep_id) for point in points]


def submit_sweep(spec: SweepSpec, executor: "Executor", owner: str = "") -> tuple[str, list[str]]:
    """Start a sweep on a running executor without waiting (the app): (sweep id, run ids)."""
    points = expand(spec)
    sweep_id = new_sweep_id()
    save_spec(executor.store, sweep_id, spec, "local")
    return sweep_id, submit_points(executor, points, sweep_id, owner)


def spec_from_config(config: RunConfig, grid: dict[str, list[Any]], seeds: int, name: str = "sweep") -> SweepSpec:
    """A grid sweep around `config` (the app's setup): its fields are the base, less the swept ones, the run
    name and the thread count (sweep runs take one thread each)."""
    base = {key: value for key, value in config.to_dict().items()
            if key not in grid and key not in ("name", "threads") and not (key == "method_params" and not value)}
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


def wait_for_runs(store: RunStore, run_ids: list[str], on_run_end: RunEnded | None, poll_seconds: float = 0.2,
                  timeout: float | None = None) -> None:
    """Poll the store until every run has finished, calling `on_run_end` once per run as it ends."""
    reported: set[str] = set()
    deadline = None if timeout is None else time.monotonic() + timeout
    while len(reported) < len(run_ids):
        for record in store.recent_runs(len(run_ids), ids=run_ids):
            if record.status in FINISHED and record.id not in reported:
                reported.add(record.id)
                if on_run_end is not None:
                    on_run_end(record, len(reported), len(run_ids))
        if len(reported) < len(run_ids):
            if deadline is not None and time.monotonic() > deadline:
                return
            time.sleep(poll_seconds)


def list_sweeps(store: RunStore, owners: Collection[str] | None = None) -> list[dict[str, Any]]:
    """The sweeps in a store (only those started by `owners`, when given), newest first: id, name (from the
    saved spec), runs and how many are finished."""
    sweeps: dict[str, dict[str, Any]] = {}
    for record in store.recent_runs(1_000_000):
        if not (record.group_id or "").startswith(SWEEP_PREFIX) or (owners is not None and record.owner not in owners):
            continue
        entry = sweeps.setdefault(record.group_id, {"id": record.group_id, "name": record.group_id, "runs": 0,
                                                    "finished": 0, "done": 0})
        entry["runs"] += 1
        entry["finished"] += record.status in FINISHED
        entry["done"] += record.status == "done"
    for sweep_id, entry in sweeps.items():
        path = store.root / "sweeps" / f"{sweep_id}.yaml"
        if path.exists():
            saved = yaml.safe_load(path.read_text()) or {}
            entry["name"] = str(saved.get("name") or sweep_id)
    return list(sweeps.values())
