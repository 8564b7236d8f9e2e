"""Hyperparameter interactions as tables: a sweep's runs from the store reduced to what the interaction
views plot (heatmap cells as mean ± std over seeds, neighbouring cells closer than the seed noise, slices,
parallel-coordinate axes, learning curves). Pure functions of run records and metric frames; the figures
are in `viz` (`interaction_heatmap_figure`, `slice_figure`, `parallel_figure`, `sweep_curves_figure`)."""

from __future__ import annotations

import json
import math
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .config import FIELD_BY_NAME
from .store import RunRecord

NOT_SWEPT = ("seed", "name", "threads")
PANEL_PREFERENCE = ("w_bits", "method", "a_bits", "student", "teachers", "dataset")
FRAME_COLUMNS = ("run_id", "name", "status", "seed", "epochs", "epochs_done", "early_stopped")


def _flat_config(config: dict[str, Any]) -> dict[str, Any]:
    """A config with method hyperparameters as `mp.NAME` and lists joined by '+', for comparing and showing."""
    flat = {}
    for key, value in config.items():
        if key == "method_params":
            flat.update({f"mp.{name}": item for name, item in (value or {}).items()})
        else:
            flat[key] = "+".join(map(str, value)) if isinstance(value, list) else value
    return flat


def swept_fields(records: Sequence[RunRecord]) -> list[str]:
    """The config fields (in `FIELDS` order, then `mp.` hyperparameters) whose values differ between the runs,
    seed and name aside."""
    flats = [_flat_config(record.config) for record in records]
    order = {name: index for index, name in enumerate(FIELD_BY_NAME)}
    names = sorted(
        dict.fromkeys(name for flat in flats for name in flat), key=lambda name: (order.get(name, len(order)), name)
    )
    return [
        name
        for name in names
        if name not in NOT_SWEPT and len({json.dumps(flat.get(name), default=str) for flat in flats}) > 1
    ]


def sweep_frame(records: Sequence[RunRecord], metric: str = "test_acc") -> pd.DataFrame:
    """One row per run: id, name, status, seed, epochs (asked and done), whether it was stopped early, each
    swept field's value and the final `metric` (NaN unless the run is done). `attrs['fields']` lists the
    swept fields, `attrs['metric']` the metric."""
    fields = swept_fields(records)
    rows = []
    for record in records:
        flat = _flat_config(record.config)
        final = record.final_metrics
        rows.append(
            {
                "run_id": record.id,
                "name": record.name,
                "status": record.status,
                "seed": flat.get("seed"),
                "epochs": flat.get("epochs"),
                "epochs_done": final.get("epochs_done"),
                "early_stopped": bool(final.get("early_stopped", 0.0)),
                **{field: flat.get(field) for field in fields},
                metric: final.get(metric, math.nan) if record.status == "done" else math.nan,
            }
        )
    frame = pd.DataFrame(rows, columns=[*FRAME_COLUMNS, *fields, metric])
    frame.attrs.update(fields=fields, metric=metric)
    return frame


def axis_values(frame: pd.DataFrame, field: str) -> list[Any]:
    """A field's distinct values in axis order: numbers ascending (numeric strings such as bit widths too),
    then the other values in order of appearance."""
    values = list(dict.fromkeys(frame[field].tolist()))

    def number(value: Any) -> float | None:
        try:
            return float(value)
        except (TypeError, ValueError):
            return None

    numeric = sorted((v for v in values if number(v) is not None), key=lambda v: number(v))
    return numeric + [v for v in values if number(v) is None]


def default_heatmap_axes(fields: Sequence[str]) -> tuple[str, str, str | None] | None:
    """(x, y, panel) for the interaction heatmap: temperature across and α up when swept, the panel a bit
    width or method when swept (else the next field); None with fewer than two swept fields."""
    if len(fields) < 2:
        return None
    rest = list(fields)
    x = "temperature" if "temperature" in rest else rest[0]
    rest.remove(x)
    y = "alpha" if "alpha" in rest else rest[0]
    rest.remove(y)
    panel = next((name for name in PANEL_PREFERENCE if name in rest), rest[0] if rest else None)
    return x, y, panel


def cell_stats(
    frame: pd.DataFrame, x: str, y: str, panel: str | None = None, metric: str | None = None
) -> pd.DataFrame:
    """Per (panel, x, y) cell: the mean, standard deviation (ddof 1; NaN for one run) and count of the
    metric over the done runs in it (seeds, and any field not on an axis, pooled)."""
    metric = metric or frame.attrs.get("metric", "test_acc")
    done = frame.dropna(subset=[metric])
    keys = [panel, x, y] if panel else [x, y]
    columns = ["panel", "x", "y", "mean", "std", "n"]
    if done.empty:
        return pd.DataFrame(columns=columns)
    grouped = done.groupby(keys, sort=False, dropna=False)[metric].agg(["mean", "std", "count"]).reset_index()
    grouped = grouped.rename(columns={x: "x", y: "y", "count": "n", **({panel: "panel"} if panel else {})})
    if not panel:
        grouped.insert(0, "panel", "")
    return grouped[columns].reset_index(drop=True)


def noise_pairs(stats: pd.DataFrame, x_order: list[Any], y_order: list[Any]) -> pd.DataFrame:
    """Neighbouring cells (next x or next y value, same panel) whose means differ by less than the seed
    noise: the pooled standard deviation of the two cells, sqrt((s1² + s2²) / 2). Cells with one run
    have no noise estimate and are never marked."""
    cells = {(row.panel, row.x, row.y): row for row in stats.itertuples(index=False)}
    pairs = []
    for (panel, x_value, y_value), cell in cells.items():
        i, j = x_order.index(x_value), y_order.index(y_value)
        neighbours = []
        if i + 1 < len(x_order):
            neighbours.append(cells.get((panel, x_order[i + 1], y_value)))
        if j + 1 < len(y_order):
            neighbours.append(cells.get((panel, x_value, y_order[j + 1])))
        for other in neighbours:
            if other is None or not (np.isfinite(cell.std) and np.isfinite(other.std)):
                continue
            noise = math.sqrt((cell.std**2 + other.std**2) / 2)
            difference = abs(cell.mean - other.mean)
            if difference < noise:
                pairs.append(
                    {
                        "panel": panel,
                        "x1": cell.x,
                        "y1": cell.y,
                        "x2": other.x,
                        "y2": other.y,
                        "difference": difference,
                        "noise": noise,
                    }
                )
    return pd.DataFrame(pairs, columns=["panel", "x1", "y1", "x2", "y2", "difference", "noise"])


def slice_stats(frame: pd.DataFrame, field: str, metric: str | None = None) -> pd.DataFrame:
    """The metric against one field, every other field marginalised: per value, mean, std and count of the
    done runs (in axis order)."""
    metric = metric or frame.attrs.get("metric", "test_acc")
    done = frame.dropna(subset=[metric])
    stats = done.groupby(field, sort=False)[metric].agg(["mean", "std", "count"]).rename(columns={"count": "n"})
    order = [value for value in axis_values(frame, field) if value in stats.index]
    return stats.reindex(order).rename_axis("value").reset_index()


def encode_axis(values: Sequence[Any]) -> tuple[list[float], list[float], list[str]]:
    """Values as numbers for a parallel-coordinates axis: numbers stay; other values become their position
    in axis order, with tick labels. Returns (codes, tick values, tick labels)."""
    frame = pd.DataFrame({"v": list(values)})
    order = axis_values(frame, "v")
    try:
        codes = [float(value) for value in values]
        ticks = [float(value) for value in order]
        return codes, ticks, [str(value) for value in order]
    except (TypeError, ValueError):
        position = {value: float(index) for index, value in enumerate(order)}
        return [position[value] for value in values], list(position.values()), [str(value) for value in order]


def learning_curves(metrics: pd.DataFrame, frame: pd.DataFrame, metric: str = "test_acc") -> pd.DataFrame:
    """Per run and epoch the `metric` (from a metrics frame of the sweep's runs), with the run's swept values
    and whether it was stopped early."""
    columns = ["run_id", "epoch", "value", "early_stopped", *frame.attrs.get("fields", [])]
    if metrics.empty:
        return pd.DataFrame(columns=columns)
    rows = metrics[(metrics["scope"] == "epoch") & (metrics["name"] == metric)]
    rows = rows.drop_duplicates(["run_id", "epoch"], keep="last")[["run_id", "epoch", "value"]]
    info = frame[["run_id", "early_stopped", *frame.attrs.get("fields", [])]]
    return rows.merge(info, on="run_id").sort_values(["run_id", "epoch"]).reset_index(drop=True)[columns]
