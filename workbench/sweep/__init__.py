"""Sweeps: a grid (or a random sample) over config fields, times a number of seeds, as runs in the store
tagged with one sweep id (their `group_id`): `spec` reads, checks and expands sweep files, `cost` estimates
the wall time from short probe runs, `run` trains the runs on an engine (local worker processes, or Ray Tune in
`ray`) or queues them on the app's executor, and lists the sweeps of a store; `inputs` holds the Sweep page's
inputs and their URL form."""
from .cost import COST_NEUTRAL_FIELDS, CostEstimate, Probe, cost_key, estimate_cost, probe_run
from .inputs import SWEEPABLE, SweepInputs, sweep_inputs_from_query
from .run import (ENGINES, SWEEP_PREFIX, RunEnded, SweepResult, default_concurrency, list_sweeps, new_sweep_id,
                  run_configs, run_local, run_sweep, save_spec, submit_points, submit_sweep, wait_for_runs)
from .spec import (MAX_RUNS, MAX_SEEDS, METHOD_PARAM_PREFIX, SHORT_NAMES, SWEEP_KEYS, Range, SweepPoint, SweepSpec,
                   expand, load_sweep, parse_axis_values, parse_sweep, point_label, spec_from_config, sweep_values)

__all__ = ["COST_NEUTRAL_FIELDS", "ENGINES", "MAX_RUNS", "MAX_SEEDS", "METHOD_PARAM_PREFIX", "SHORT_NAMES",
           "SWEEPABLE", "SWEEP_KEYS", "SWEEP_PREFIX", "CostEstimate", "Probe", "Range", "RunEnded", "SweepInputs",
           "SweepPoint", "SweepResult", "SweepSpec", "cost_key", "default_concurrency", "estimate_cost", "expand",
           "list_sweeps", "load_sweep", "new_sweep_id", "parse_axis_values", "parse_sweep", "point_label", "probe_run",
           "run_configs", "run_local", "run_sweep", "save_spec", "spec_from_config", "submit_points", "submit_sweep",
           "sweep_inputs_from_query", "sweep_values", "wait_for_runs"]
