"""Comparing runs as tables: which runs share a setup (seed groups), the config fields that tell runs apart,
the gain of each run over a matching baseline student, and accuracy-versus-size points. Pure functions of run
records; the figures that draw them are in `viz`."""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .config import COEFFICIENT_FIELDS
from .evidence import measure_effect, verdict, verdict_sentence
from .store import RunRecord

# Config fields that do not change what is trained, and those a baseline student ignores.
NOT_SETUP_FIELDS = ("seed", "name")
TEACHER_ONLY_FIELDS = (
    "method",
    "method_params",
    "teachers",
    "teacher_checkpoint",
    "teacher_seed",
    *COEFFICIENT_FIELDS,
    "cache_teacher_logits",
)


def setup_key(config: dict, ignore: Iterable[str] = NOT_SETUP_FIELDS) -> str:
    """A run's setup as a string, without the ignored fields (by default: seed and name)."""
    skipped = set(ignore)
    return json.dumps({k: v for k, v in config.items() if k not in skipped}, sort_keys=True, default=str)


def differing_fields(configs: Sequence[dict]) -> list[str]:
    """The config fields whose values are not the same in all `configs` (in field order)."""
    if len(configs) < 2:
        return []
    names = list(dict.fromkeys(name for config in configs for name in config))
    return [
        name
        for name in names
        if len({json.dumps(config.get(name), sort_keys=True, default=str) for config in configs}) > 1
    ]


def seed_groups(records: Sequence[RunRecord]) -> dict[str, list[RunRecord]]:
    """Runs grouped by setup (config without seed and name), labelled by method and the fields that tell
    the groups apart (of `method_params`, only the hyperparameters that differ between groups of one method)."""
    grouped: dict[str, list[RunRecord]] = {}
    for record in records:
        grouped.setdefault(setup_key(record.config), []).append(record)
    firsts = [group[0].config for group in grouped.values()]
    telling = [name for name in differing_fields(firsts) if name not in ("method", "method_params", *NOT_SETUP_FIELDS)]
    params_by_method: dict[str, list[dict]] = {}
    for config in firsts:
        params_by_method.setdefault(str(config.get("method")), []).append(config.get("method_params") or {})
    telling_params = {method: differing_fields(params) for method, params in params_by_method.items()}
    labelled: dict[str, list[RunRecord]] = {}
    for group in grouped.values():
        config = group[0].config
        params = config.get("method_params") or {}
        parts = [str(config.get("method", "?"))] + [f"{name}={_short(config.get(name))}" for name in telling]
        parts += [f"{name}={_short(params.get(name))}" for name in telling_params[str(config.get("method"))]]
        label = " · ".join(parts)
        while label in labelled:
            label += "'"
        labelled[label] = group
    return labelled


def _short(value: object) -> str:
    """A config value as short text: lists joined by +, dicts as k=v pairs, a file path as its folder and name,
    an empty text as "none"."""
    if value == "":
        return "none"
    if isinstance(value, list):
        return "+".join(map(str, value))
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "{}"
    if isinstance(value, str) and "/" in value:
        path = PurePath(value)
        return f"…/{path.parent.name}/{path.name}"
    return str(value)


def _baseline_key(config: dict) -> str:
    """The student setup a baseline run shares with the runs it is the baseline of (no teacher or KD fields)."""
    return setup_key(config, (*NOT_SETUP_FIELDS, *TEACHER_ONLY_FIELDS))


def comparison_table(records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per run: its name and status, the config fields that differ between the runs, final and
    best test accuracy, student parameters, wall time and the gain over a matching baseline (same student
    setup and seed). `attrs['differing']` lists the differing config columns."""
    differing = [name for name in differing_fields([r.config for r in records]) if name != "name"]
    baselines = {
        (_baseline_key(r.config), r.config.get("seed")): r.final_metrics.get("test_acc")
        for r in records
        if r.config.get("method") == "baseline" and r.status == "done"
    }
    rows = []
    for record in records:
        final = record.final_metrics
        base = baselines.get((_baseline_key(record.config), record.config.get("seed")))
        accuracy = final.get("test_acc")
        gain = (
            (accuracy - base) * 100
            if accuracy is not None and base is not None and record.config.get("method") != "baseline"
            else None
        )
        rows.append(
            {
                "run": record.name,
                "id": record.id,
                "status": record.status,
                **{name: _short(record.config.get(name)) for name in differing},
                "final test acc": accuracy,
                "best test acc": final.get("best_test_acc"),
                "params": int(final["params"]) if "params" in final else None,
                "wall s": round(record.wall_seconds, 1) if record.wall_seconds is not None else None,
                "gain vs baseline (pts)": gain,
            }
        )
    table = pd.DataFrame(rows)
    table.attrs["differing"] = differing
    return table


def baseline_gains(records: Sequence[RunRecord]) -> pd.DataFrame:
    """Per group of seeds (non-baseline), the mean final test accuracy, the mean of the matching baseline runs
    (same student setup), the gain in percentage points with its standard error (paired by seed when every run
    has a baseline of its seed, Welch's otherwise; NaN with one seed), the verdict and the sentence saying it."""
    done = [r for r in records if r.status == "done" and "test_acc" in r.final_metrics]
    baselines: dict[str, dict[int, float]] = {}
    for record in done:
        if record.config.get("method") == "baseline":
            baselines.setdefault(_baseline_key(record.config), {})[record.config.get("seed")] = record.final_metrics[
                "test_acc"
            ]
    rows = []
    for label, group in seed_groups(done).items():
        if group[0].config.get("method") == "baseline":
            continue
        base = baselines.get(_baseline_key(group[0].config))
        if not base:
            continue
        accs = [r.final_metrics["test_acc"] for r in group]
        seeds = [r.config.get("seed") for r in group]
        paired = all(seed in base for seed in seeds)
        effect = measure_effect(accs, [base[seed] for seed in seeds] if paired else list(base.values()), paired=paired)
        rows.append(
            {
                "setup": label,
                "seeds": len(accs),
                "test acc": float(np.mean(accs)),
                "baseline": float(np.mean(list(base.values()))),
                "gain (pts)": 100 * effect.difference,
                "± s.e. (pts)": 100 * effect.se if effect.se is not None else float("nan"),
                "verdict": verdict(effect),
                "sentence": verdict_sentence(label, "baseline", effect),
            }
        )
    return pd.DataFrame(
        rows, columns=["setup", "seeds", "test acc", "baseline", "gain (pts)", "± s.e. (pts)", "verdict", "sentence"]
    )


def size_points(records: Sequence[RunRecord]) -> pd.DataFrame:
    """Finished runs as (label, size_kb, test_acc) points for the accuracy-versus-size chart."""
    rows = [
        {
            "label": f"{r.config.get('method')} W{r.config.get('w_bits', '32')}A{r.config.get('a_bits', '32')}",
            "size_kb": r.final_metrics["size_kb"],
            "test_acc": r.final_metrics["test_acc"],
        }
        for r in records
        if "size_kb" in r.final_metrics and "test_acc" in r.final_metrics
    ]
    return pd.DataFrame(rows, columns=["label", "size_kb", "test_acc"])


def class_accuracy_table(records: Sequence[RunRecord]) -> pd.DataFrame:
    """Per seed group of finished runs, the final test accuracy on each class (mean over its seeds): one row per
    group and class, with the class index, whether the group's runs never saw that class in training
    (`omit_classes`) and the accuracy."""
    rows = []
    for label, group in seed_groups([r for r in records if r.status in ("done", "collapsed")]).items():
        omitted = set(group[0].config.get("omit_classes") or [])
        per_class: dict[int, list[float]] = {}
        for record in group:
            for key, value in record.final_metrics.items():
                if key.startswith("class_acc_"):
                    per_class.setdefault(int(key[len("class_acc_") :]), []).append(value)
        rows += [
            {"setup": label, "class": index, "omitted": index in omitted, "accuracy": float(np.mean(values))}
            for index, values in sorted(per_class.items())
        ]
    return pd.DataFrame(rows, columns=["setup", "class", "omitted", "accuracy"])
