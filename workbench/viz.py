"""Every plotly figure of the workbench, shared by the app and the notebooks, and the small tables they show.

Figures take plain data: metric frames as `RunStore.metrics_frame` returns them (run_id, step, epoch,
scope, name, value), run records, a run config, or a `SoftTargetPreview`."""
from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .config import RunConfig
from .schedules import schedule_value
from .store import RunRecord

if TYPE_CHECKING:
    from .methods.base import FeatureMatch

MAX_POINTS = 1500  # per trace; longer series are thinned evenly
NOT_LOSS_TERMS = ("alpha", "temperature", "lr")
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
# Config fields that do not change what is trained, and those a baseline student ignores.
NOT_SETUP_FIELDS = ("seed", "name")
TEACHER_ONLY_FIELDS = ("method", "method_params", "teachers", "teacher_checkpoint", "teacher_seed", "temperature",
                       "temperature_schedule", "temperature_end", "alpha", "alpha_schedule", "alpha_end",
                       "schedule_fraction", "schedule_steps", "cache_teacher_logits")


def colour(index: int) -> str:
    """The index-th colour of the workbench palette (cycling)."""
    return COLOURS[index % len(COLOURS)]


def _thin(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame) <= MAX_POINTS:
        return frame
    stride = math.ceil(len(frame) / MAX_POINTS)
    return pd.concat([frame.iloc[::stride], frame.iloc[[-1]]]).drop_duplicates()


def _layout(figure: go.Figure, title: str, height: int = 340) -> go.Figure:
    """Title, size and margins, the same for every figure (the legend stays at plotly's place, on the right)."""
    figure.update_layout(title=title, height=height, margin=dict(l=50, r=20, t=60, b=40))
    return figure


# -- live training curves ------------------------------------------------------------------------------

def loss_terms_figure(steps: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Each weighted loss term and the total per optimisation step, one colour per term, one dash per run."""
    figure = go.Figure()
    rows = steps[(steps["scope"] == "step") & ~steps["name"].isin(NOT_LOSS_TERMS)] if len(steps) else steps
    terms = sorted(set(rows["name"]) - {"loss"}) + (["loss"] if "loss" in set(rows["name"]) else [])
    dashes = ("solid", "dash", "dot", "dashdot")
    for run_index, (run_id, label) in enumerate(labels.items()):
        for term_index, term in enumerate(terms):
            series = _thin(rows[(rows["run_id"] == run_id) & (rows["name"] == term)].sort_values("step"))
            if series.empty:
                continue
            figure.add_trace(go.Scatter(
                x=series["step"], y=series["value"], mode="lines", name=f"{label}: {term}",
                legendgroup=label, line=dict(color=colour(term_index), dash=dashes[run_index % len(dashes)],
                                             width=2.5 if term == "loss" else 1.5)))
    figure.update_xaxes(title="step")
    figure.update_yaxes(title="loss (weighted)")
    return _layout(figure, "Loss terms")


def accuracy_figure(epochs: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Train (dashed) and test (solid) accuracy per epoch, one colour per run."""
    figure = go.Figure()
    for index, (run_id, label) in enumerate(labels.items()):
        for name, dash in (("test_acc", "solid"), ("train_acc", "dash")):
            series = _epoch_series(epochs, run_id, name)
            if not series.empty:
                figure.add_trace(go.Scatter(x=series["epoch"], y=series["value"], mode="lines+markers",
                                            name=f"{label}: {name.replace('_acc', '')}",
                                            line=dict(color=colour(index), dash=dash)))
    figure.update_xaxes(title="epoch", dtick=1)
    figure.update_yaxes(title="accuracy", rangemode="tozero")
    return _layout(figure, "Accuracy")


def agreement_kl_figure(epochs: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Top-1 agreement with the first teacher and KL(teacher ‖ student) on the test split, per epoch."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("agreement", "KL(teacher ‖ student)"))
    for index, (run_id, label) in enumerate(labels.items()):
        for column, name in ((1, "agreement"), (2, "kl")):
            series = _epoch_series(epochs, run_id, name)
            if not series.empty:
                figure.add_trace(go.Scatter(x=series["epoch"], y=series["value"], mode="lines+markers", name=label,
                                            legendgroup=label, showlegend=column == 1,
                                            line=dict(color=colour(index))), row=1, col=column)
    figure.update_xaxes(title="epoch", dtick=1)
    return _layout(figure, "Agreement and KL with the teacher")


def _epoch_series(epochs: pd.DataFrame, run_id: str, name: str) -> pd.DataFrame:
    if epochs.empty:
        return epochs
    rows = epochs[(epochs["run_id"] == run_id) & (epochs["scope"] == "epoch") & (epochs["name"] == name)]
    return rows.sort_values("epoch").drop_duplicates("epoch", keep="last")


# -- schedules -----------------------------------------------------------------------------------------

def schedule_figure(config: RunConfig, points: int = 201) -> go.Figure:
    """α (left axis) and the temperature T (right axis) over the epochs of `config`, as the engine sets them."""
    progress = np.linspace(0.0, 1.0, points)
    epochs = progress * config.epochs
    alpha = [schedule_value(config.alpha_schedule, config.alpha, config.alpha_end, p, config.schedule_fraction,
                            config.schedule_steps) for p in progress]
    temperature = [schedule_value(config.temperature_schedule, config.temperature, config.temperature_end, p,
                                  config.schedule_fraction, config.schedule_steps) for p in progress]
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(go.Scatter(x=epochs, y=alpha, name=f"α ({config.alpha_schedule})", line=dict(color=colour(0))),
                     secondary_y=False)
    figure.add_trace(go.Scatter(x=epochs, y=temperature, name=f"T ({config.temperature_schedule})",
                                line=dict(color=colour(1), dash="dash")), secondary_y=True)
    figure.update_xaxes(title="epoch", range=[0, config.epochs])
    figure.update_yaxes(title="α (soft-loss weight)", range=[-0.02, 1.02], secondary_y=False)
    figure.update_yaxes(title="temperature T", range=[0, 1.05 * max(temperature)], tickmode="auto", secondary_y=True)
    return _layout(figure, "Schedule over training", height=300)


# -- soft targets ---------------------------------------------------------------------------------------

@dataclass
class SoftTargetPreview:
    """A few test images (pixels in [0, 1], (N, H, W) or (N, H, W, 3)), their labels and a teacher's logits."""

    images: np.ndarray
    labels: list[int]
    logits: np.ndarray
    class_names: tuple[str, ...]
    teacher: str


def soften(logits: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / T) per row."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def entropy(probs: np.ndarray) -> np.ndarray:
    """Entropy in nats of each row of probabilities."""
    p = np.clip(np.asarray(probs, dtype=np.float64), 1e-12, 1.0)
    return -(p * np.log(p)).sum(axis=1)


def load_soft_target_preview(config: RunConfig, count: int = 6) -> SoftTargetPreview:
    """The first test image of each of the first `count` classes and the first teacher's logits for them.

    The teacher comes from `config.teacher_checkpoint` when set, else from the teacher cache (never trained
    here: WorkbenchError when it is missing)."""
    import torch

    from .data import load_dataset
    from .teachers import get_teacher, load_teacher_weights

    data = load_dataset(config.dataset, device="cpu")
    labels = data.test.y
    picks = [int((labels == c).nonzero()[0]) for c in range(min(count, data.info.num_classes)) if (labels == c).any()]
    x = data.test.x[picks]
    if config.teacher_checkpoint:
        teacher = load_teacher_weights(config.teacher, config.dataset, config.teacher_checkpoint)
    else:
        teacher, _ = get_teacher(config.teacher, config.dataset, config.teacher_seed, train_if_missing=False)
    with torch.no_grad():
        logits = teacher.eval()(x).float().numpy()
    images = data.denormalise(x).numpy()
    images = images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)
    return SoftTargetPreview(images, [int(labels[i]) for i in picks], logits, data.info.class_names, config.teacher)


def soft_target_figure(preview: SoftTargetPreview, temperature: float) -> go.Figure:
    """Each image above the teacher's softened output at `temperature`; the hard label's bar stands out and
    each title gives the label and the entropy of the soft target."""
    probs = soften(preview.logits, temperature)
    spread = entropy(probs)
    count = len(preview.labels)
    titles = [f"label {preview.class_names[label]}" for label in preview.labels] + [
        f"H = {h:.2f} nats" for h in spread]
    figure = make_subplots(rows=2, cols=count, subplot_titles=titles, row_heights=[0.45, 0.55],
                           vertical_spacing=0.12, horizontal_spacing=0.03)
    classes = list(range(probs.shape[1]))
    for column, label in enumerate(preview.labels, start=1):
        image = preview.images[column - 1]
        if image.ndim == 2:
            figure.add_trace(go.Heatmap(z=image, colorscale="gray", showscale=False,
                                        hoverinfo="skip"), row=1, col=column)
            figure.update_yaxes(autorange="reversed", row=1, col=column)
        else:
            figure.add_trace(go.Image(z=(image * 255).astype(np.uint8), hoverinfo="skip"), row=1, col=column)
        figure.add_trace(go.Bar(x=classes, y=probs[column - 1], showlegend=False,
                                marker_color=[colour(3) if c == label else colour(0) for c in classes],
                                hovertemplate="class %{x}: %{y:.3f}<extra></extra>"), row=2, col=column)
        figure.update_yaxes(range=[0, 1], row=2, col=column, showticklabels=column == 1)
    figure.update_xaxes(showticklabels=False, row=1)
    figure.update_yaxes(showticklabels=False, row=1)
    figure.update_xaxes(dtick=1 if probs.shape[1] <= 10 else None, row=2)
    figure.update_layout(title=f"Teacher {preview.teacher}: soft targets at T = {temperature:g} "
                               f"(red: the hard label)", height=420, margin=dict(l=30, r=10, t=80, b=30),
                         showlegend=False)
    return figure


# -- comparing runs -------------------------------------------------------------------------------------

def setup_key(config: dict, ignore: Iterable[str] = NOT_SETUP_FIELDS) -> str:
    """A run's setup as a string, without the ignored fields (by default: seed and name)."""
    skipped = set(ignore)
    return json.dumps({k: v for k, v in config.items() if k not in skipped}, sort_keys=True, default=str)


def differing_fields(configs: Sequence[dict]) -> list[str]:
    """The config fields whose values are not the same in all `configs` (in field order)."""
    if len(configs) < 2:
        return []
    names = list(dict.fromkeys(name for config in configs for name in config))
    return [name for name in names
            if len({json.dumps(config.get(name), sort_keys=True, default=str) for config in configs}) > 1]


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
    return setup_key(config, (*NOT_SETUP_FIELDS, *TEACHER_ONLY_FIELDS))


def comparison_table(records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per run: its name and status, the config fields that differ between the runs, final and
    best test accuracy, student parameters, wall time and the gain over a matching baseline (same student
    setup and seed). `attrs['differing']` lists the differing config columns."""
    differing = [name for name in differing_fields([r.config for r in records]) if name != "name"]
    baselines = {(_baseline_key(r.config), r.config.get("seed")): r.final_metrics.get("test_acc")
                 for r in records if r.config.get("method") == "baseline" and r.status == "done"}
    rows = []
    for record in records:
        final = record.final_metrics
        base = baselines.get((_baseline_key(record.config), record.config.get("seed")))
        accuracy = final.get("test_acc")
        gain = (accuracy - base) * 100 if accuracy is not None and base is not None and \
            record.config.get("method") != "baseline" else None
        rows.append({"run": record.name, "id": record.id, "status": record.status,
                     **{name: _short(record.config.get(name)) for name in differing},
                     "final test acc": accuracy, "best test acc": final.get("best_test_acc"),
                     "params": int(final["params"]) if "params" in final else None,
                     "wall s": round(record.wall_seconds, 1) if record.wall_seconds is not None else None,
                     "gain vs baseline (pts)": gain})
    table = pd.DataFrame(rows)
    table.attrs["differing"] = differing
    return table


def baseline_gains(records: Sequence[RunRecord]) -> pd.DataFrame:
    """Per group of seeds (non-baseline), the mean final test accuracy, the mean of the matching baseline
    runs (same student setup), the gain in percentage points and its standard error across seeds."""
    done = [r for r in records if r.status == "done" and "test_acc" in r.final_metrics]
    baseline_accs: dict[str, list[float]] = {}
    for record in done:
        if record.config.get("method") == "baseline":
            baseline_accs.setdefault(_baseline_key(record.config), []).append(record.final_metrics["test_acc"])
    rows = []
    for label, group in seed_groups(done).items():
        if group[0].config.get("method") == "baseline":
            continue
        base = baseline_accs.get(_baseline_key(group[0].config))
        if not base:
            continue
        accs = np.array([r.final_metrics["test_acc"] for r in group])
        base_accs = np.array(base)
        error = math.sqrt(accs.var(ddof=1) / len(accs) + base_accs.var(ddof=1) / len(base_accs)) \
            if len(accs) > 1 and len(base_accs) > 1 else float("nan")
        rows.append({"setup": label, "seeds": len(accs), "test acc": accs.mean(), "baseline": base_accs.mean(),
                     "gain (pts)": 100 * (accs.mean() - base_accs.mean()), "± s.e. (pts)": 100 * error})
    return pd.DataFrame(rows, columns=["setup", "seeds", "test acc", "baseline", "gain (pts)", "± s.e. (pts)"])


def compare_figure(epochs: pd.DataFrame, groups: dict[str, list[str]], metric: str = "test_acc",
                   label: str | None = None) -> go.Figure:
    """`metric` (called `label` on the axis) per epoch overlaid for each group of runs: the run itself when
    alone, else the mean across its seeds with a shaded mean ± std band."""
    figure = go.Figure()
    rows = epochs[(epochs["scope"] == "epoch") & (epochs["name"] == metric)] if len(epochs) else epochs
    for index, (group, run_ids) in enumerate(groups.items()):
        series = rows[rows["run_id"].isin(run_ids)] if len(rows) else rows
        if series.empty:
            continue
        stats = series.groupby("epoch")["value"].agg(["mean", "std", "count"]).reset_index()
        line = colour(index)
        if len(run_ids) > 1:
            upper = stats["mean"] + stats["std"].fillna(0.0)
            lower = stats["mean"] - stats["std"].fillna(0.0)
            figure.add_trace(go.Scatter(x=list(stats["epoch"]) + list(stats["epoch"][::-1]),
                                        y=list(upper) + list(lower[::-1]), fill="toself", fillcolor=line,
                                        opacity=0.2, line=dict(width=0), hoverinfo="skip", legendgroup=group,
                                        showlegend=False, name=f"{group} ± std"))
        name = f"{group} (mean of {len(run_ids)})" if len(run_ids) > 1 else group
        figure.add_trace(go.Scatter(x=stats["epoch"], y=stats["mean"], mode="lines+markers", name=name,
                                    legendgroup=group, line=dict(color=line)))
    figure.update_xaxes(title="epoch", dtick=1 if rows.empty or rows["epoch"].max() <= 20 else None)
    name = label or metric.replace("_", " ")
    figure.update_yaxes(title=name)
    return _layout(figure, f"{name[:1].upper()}{name[1:]} per epoch", height=380)


def gain_figure(gains: pd.DataFrame) -> go.Figure:
    """Bars of each setup's gain over its baseline in percentage points, with standard-error whiskers."""
    figure = go.Figure()
    if not gains.empty:
        errors = gains["± s.e. (pts)"].fillna(0.0)
        figure.add_trace(go.Bar(x=gains["setup"], y=gains["gain (pts)"],
                                error_y=dict(type="data", array=errors, visible=bool((errors > 0).any())),
                                marker_color=[colour(2) if g >= 0 else colour(3) for g in gains["gain (pts)"]],
                                hovertemplate="%{x}: %{y:+.2f} pts<extra></extra>"))
    figure.add_hline(y=0, line=dict(color="grey", width=1))
    figure.update_yaxes(title="gain over baseline (pts)")
    return _layout(figure, "Gain over the baseline student", height=320)


# -- tutorial figures (notebooks/) ------------------------------------------------------------------------

def soft_gradient_scale(logits: np.ndarray, temperature: float, times_t_squared: bool) -> float:
    """Mean norm of the soft-loss gradient at an untrained student (uniform output) for a teacher's `logits`:
    d KL(p_T ‖ q_T) / d z = (q_T − p_T) / T, times T² when `times_t_squared` (the Hinton loss's factor)."""
    teacher = soften(logits, temperature)
    student = np.full_like(teacher, 1.0 / teacher.shape[1])
    norms = np.linalg.norm(student - teacher, axis=1) / temperature
    return float(norms.mean() * (temperature ** 2 if times_t_squared else 1.0))


def temperature_effects_figure(preview: SoftTargetPreview, temperatures: Sequence[float]) -> go.Figure:
    """Over a range of temperatures: the soft targets' mean entropy and the probability mass on the wrong
    classes (the "dark knowledge"), and the soft-loss gradient's size with and without the T² factor."""
    temps = [float(t) for t in temperatures]
    wrong_mass = []
    for t in temps:
        probs = soften(preview.logits, t)
        wrong_mass.append(float(np.mean([1.0 - probs[i, label] for i, label in enumerate(preview.labels)])))
    figure = make_subplots(rows=1, cols=2, subplot_titles=("What the soft targets carry",
                                                           "Soft-loss gradient size (log scale)"))
    figure.add_trace(go.Scatter(x=temps, y=[float(entropy(soften(preview.logits, t)).mean()) for t in temps],
                                name="mean entropy (nats)", line=dict(color=colour(0))), row=1, col=1)
    figure.add_trace(go.Scatter(x=temps, y=wrong_mass, name="mass on wrong classes",
                                line=dict(color=colour(3), dash="dash")), row=1, col=1)
    for index, (scaled, name) in enumerate(((False, "KL alone"), (True, "T² · KL"))):
        figure.add_trace(go.Scatter(x=temps, y=[soft_gradient_scale(preview.logits, t, scaled) for t in temps],
                                    name=name, line=dict(color=colour(4 + index))), row=1, col=2)
    figure.update_xaxes(title="temperature T")
    figure.update_yaxes(type="log", row=1, col=2)
    return _layout(figure, "Temperature: more dark knowledge, smaller gradients unless scaled by T²", height=360)


def live_metric_figure(metric: str = "test_acc", title: str | None = None) -> go.Figure:
    """An empty per-epoch chart of `metric` for a live plot (FigureWidget) that gains one trace per run."""
    figure = go.Figure()
    figure.update_xaxes(title="epoch", rangemode="tozero")
    figure.update_yaxes(title=metric.replace("_", " "))
    return _layout(figure, title or f"{metric.replace('_', ' ')} per epoch (live)")


def run_trace(label: str, index: int) -> go.Scatter:
    """An empty line-and-markers trace for one run of a live plot, in the palette's index-th colour."""
    return go.Scatter(x=[], y=[], mode="lines+markers", name=label, line=dict(color=colour(index)))


def tile_images(batch: np.ndarray, columns: int = 8) -> np.ndarray:
    """A batch (N, C, H, W) as one image grid, rescaled to [0, 1] by the batch's minimum and maximum:
    (rows·H, columns·W) for one channel, (rows·H, columns·W, 3) for three."""
    images = np.asarray(batch, dtype=np.float64)
    low, high = images.min(), images.max()
    images = (images - low) / (high - low) if high > low else np.zeros_like(images)
    count, channels, height, width = images.shape
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    grid = np.ones((rows * height, columns * width, channels))
    for index in range(count):
        row, column = divmod(index, columns)
        grid[row * height:(row + 1) * height, column * width:(column + 1) * width] = images[index].transpose(1, 2, 0)
    return grid[:, :, 0] if channels == 1 else grid


def enlarged_png(path: str | Path, width: int = 480) -> bytes:
    """A PNG image enlarged by a whole factor to at least `width` pixels, each pixel a sharp block (a browser
    would blur small images such as 8×8 digits when it scales them up)."""
    from PIL import Image

    with Image.open(path) as image:
        factor = max(1, -(-width // image.width))
        enlarged = image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    enlarged.save(buffer, format="PNG")
    return buffer.getvalue()


def _add_grid(figure: go.Figure, grid: np.ndarray, row: int, col: int) -> None:
    if grid.ndim == 2:
        figure.add_trace(go.Heatmap(z=grid, colorscale="gray", showscale=False, hoverinfo="skip"), row=row, col=col)
        figure.update_yaxes(autorange="reversed", row=row, col=col)
    else:
        figure.add_trace(go.Image(z=(grid * 255).astype(np.uint8), hoverinfo="skip"), row=row, col=col)
    figure.update_xaxes(showticklabels=False, row=row, col=col)
    figure.update_yaxes(showticklabels=False, row=row, col=col)


def image_grid_figure(batch: np.ndarray, title: str, columns: int = 8) -> go.Figure:
    """A batch of images (N, C, H, W), any value range, shown as one grid."""
    figure = make_subplots(rows=1, cols=1)
    _add_grid(figure, tile_images(batch, columns), 1, 1)
    rows = -(-len(batch) // max(1, min(columns, len(batch))))
    return _layout(figure, title, height=120 + 60 * rows)


def sample_evolution_figure(snapshots: dict[int, np.ndarray], title: str, columns: int = 4) -> go.Figure:
    """Image batches (N, C, H, W) taken at several epochs (keys), one grid per epoch side by side."""
    epochs = sorted(snapshots)
    figure = make_subplots(rows=1, cols=max(1, len(epochs)), subplot_titles=[f"epoch {e}" for e in epochs],
                           horizontal_spacing=0.02)
    for column, epoch in enumerate(epochs, start=1):
        _add_grid(figure, tile_images(snapshots[epoch], columns), 1, column)
    return _layout(figure, title, height=300)


def attention_maps(model, x, power: float = 2.0) -> np.ndarray:
    """A model's spatial attention (channel mean of |F|^p, as AT matches it) at its last feature map for
    images `x` (N, C, H, W): (N, h, w), each map scaled to a maximum of 1."""
    import torch

    from .methods.at import attention_map

    with torch.no_grad():
        _, features = model.eval().forward_features(x)
    maps = [feature for feature in features.values() if feature.dim() == 4]
    if not maps:
        raise ValueError(f"{type(model).__name__} has no spatial feature maps to draw")
    attention = attention_map(maps[-1].float(), power).cpu().numpy()
    return attention / np.maximum(attention.reshape(len(attention), -1).max(axis=1), 1e-12)[:, None, None]


def attention_maps_figure(images: np.ndarray, maps: dict[str, np.ndarray]) -> go.Figure:
    """Input images (N, H, W) in the first row, then one row of attention maps (N, h, w) per model (keys)."""
    count = len(images)
    rows = 1 + len(maps)
    figure = make_subplots(rows=rows, cols=count, vertical_spacing=0.04, horizontal_spacing=0.02,
                           row_titles=["input", *maps])
    for column in range(1, count + 1):
        figure.add_trace(go.Heatmap(z=images[column - 1], colorscale="gray", showscale=False, hoverinfo="skip"),
                         row=1, col=column)
        for row, attention in enumerate(maps.values(), start=2):
            figure.add_trace(go.Heatmap(z=attention[column - 1], colorscale="Viridis", zmin=0, zmax=1,
                                        showscale=False, hovertemplate="%{z:.2f}<extra></extra>"),
                             row=row, col=column)
    figure.update_xaxes(showticklabels=False)
    figure.update_yaxes(showticklabels=False, autorange="reversed")
    return _layout(figure, "Where each network looks: spatial attention at its last feature map",
                   height=110 + 110 * rows)


def accuracy_size_figure(points: pd.DataFrame) -> go.Figure:
    """Test accuracy against model size (columns `label`, `size_kb`, `test_acc`), the Pareto front joined."""
    from .quant.report import pareto_front

    figure = go.Figure()
    if not points.empty:
        on_front = pareto_front(list(zip(points["size_kb"], points["test_acc"])))
        figure.add_trace(go.Scatter(x=points["size_kb"], y=points["test_acc"], mode="markers+text",
                                    text=points["label"], textposition="top center", name="runs",
                                    marker=dict(size=10, color=[colour(3) if f else colour(0) for f in on_front])))
        front = points[on_front].sort_values("size_kb")
        figure.add_trace(go.Scatter(x=front["size_kb"], y=front["test_acc"], mode="lines", name="Pareto front",
                                    line=dict(color=colour(3), dash="dot")))
    figure.update_xaxes(title="student size (KB)", type="log")
    figure.update_yaxes(title="test accuracy")
    return _layout(figure, "Accuracy versus size (red: Pareto front)", height=380)


def grid_heatmap_figure(results: pd.DataFrame, rows: str, columns: str, value: str = "test_acc") -> go.Figure:
    """The mean of `value` over seeds for each (`rows`, `columns`) cell, annotated with mean ± std, beside a
    heatmap of the standard deviation across seeds (the seed noise any difference must beat)."""
    stats = results.groupby([rows, columns])[value].agg(["mean", "std", "count"]).reset_index()
    row_values = sorted(stats[rows].unique())
    column_values = sorted(stats[columns].unique())
    mean = stats.pivot(index=rows, columns=columns, values="mean").reindex(index=row_values, columns=column_values)
    std = stats.pivot(index=rows, columns=columns, values="std").reindex(index=row_values, columns=column_values)
    text = [[f"{m:.3f}<br>± {s:.3f}" if s == s else f"{m:.3f}" for m, s in zip(mean_row, std_row)]
            for mean_row, std_row in zip(mean.values, std.values)]
    seeds = int(stats["count"].max()) if len(stats) else 0
    figure = make_subplots(rows=1, cols=2, subplot_titles=(f"mean {value} over {seeds} seed(s)",
                                                           "std across seeds"), horizontal_spacing=0.12)
    labels_x = [str(c) for c in column_values]
    labels_y = [str(r) for r in row_values]
    figure.add_trace(go.Heatmap(z=mean.values, x=labels_x, y=labels_y, text=text, texttemplate="%{text}",
                                colorscale="Viridis", colorbar=dict(x=0.44, len=0.9)), row=1, col=1)
    figure.add_trace(go.Heatmap(z=std.values, x=labels_x, y=labels_y, colorscale="Reds",
                                texttemplate="%{z:.3f}", colorbar=dict(len=0.9)), row=1, col=2)
    figure.update_xaxes(title=columns, type="category")
    figure.update_yaxes(title=rows, type="category", row=1, col=1)
    figure.update_yaxes(type="category", row=1, col=2)
    return _layout(figure, f"{value} over {rows} × {columns}", height=400)


# -- sweep interactions (tables from workbench.interactions) --------------------------------------------

def _value_text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def interaction_heatmap_figure(stats: pd.DataFrame, pairs: pd.DataFrame, x: str, y: str, panel: str | None,
                               x_order: list, y_order: list, metric: str = "test_acc") -> go.Figure:
    """One heatmap panel per value of `panel` (one panel when None) of the mean metric over seeds, `x`
    across and `y` up; each cell is annotated mean ± std (n). A "≈" sits between two neighbouring cells
    that differ by less than the seed noise (`interactions.noise_pairs`). One shared colour scale."""
    from .interactions import axis_values

    panels = axis_values(stats, "panel") if len(stats) else [""]
    titles = [f"{panel} = {value}" if panel else "" for value in panels]
    figure = make_subplots(rows=1, cols=len(panels), subplot_titles=titles, shared_yaxes=True,
                           horizontal_spacing=0.04)
    low, high = (stats["mean"].min(), stats["mean"].max()) if len(stats) else (0.0, 1.0)
    for column, value in enumerate(panels, start=1):
        cells = stats[stats["panel"] == value]
        z = np.full((len(y_order), len(x_order)), np.nan)
        text = np.full(z.shape, "", dtype=object)
        for cell in cells.itertuples(index=False):
            i, j = y_order.index(cell.y), x_order.index(cell.x)
            z[i, j] = cell.mean
            spread = f" ± {cell.std:.3f}" if np.isfinite(cell.std) else ""
            text[i, j] = f"{cell.mean:.3f}{spread}<br>n={cell.n}"
        figure.add_trace(go.Heatmap(z=z, x=list(range(len(x_order))), y=list(range(len(y_order))), text=text,
                                    texttemplate="%{text}", zmin=low, zmax=high, colorscale="Viridis",
                                    showscale=column == len(panels), name=str(value),
                                    colorbar=dict(title=metric.replace("_", " ")),
                                    hovertemplate=f"{x}=%{{customdata[0]}}<br>{y}=%{{customdata[1]}}<br>"
                                                  "%{text}<extra></extra>",
                                    customdata=[[[_value_text(xv), _value_text(yv)] for xv in x_order]
                                                for yv in y_order]), row=1, col=column)
        marks = pairs[pairs["panel"] == value] if len(pairs) else pairs
        if len(marks):
            figure.add_trace(go.Scatter(
                x=[(x_order.index(p.x1) + x_order.index(p.x2)) / 2 for p in marks.itertuples()],
                y=[(y_order.index(p.y1) + y_order.index(p.y2)) / 2 for p in marks.itertuples()],
                mode="text", text=["≈"] * len(marks), textfont=dict(size=22, color="white"),
                name="within seed noise", showlegend=column == 1,
                hovertemplate=[f"differ by {p.difference:.4f} < noise {p.noise:.4f}<extra></extra>"
                               for p in marks.itertuples()]), row=1, col=column)
        figure.update_xaxes(title=x, tickmode="array", tickvals=list(range(len(x_order))),
                            ticktext=[_value_text(v) for v in x_order], row=1, col=column)
    figure.update_yaxes(title=y, tickmode="array", tickvals=list(range(len(y_order))),
                        ticktext=[_value_text(v) for v in y_order], row=1, col=1)
    figure.update_layout(legend=dict(orientation="h", y=-0.2))
    return _layout(figure, f"{metric.replace('_', ' ')}: mean ± std over seeds (≈: neighbours within seed noise)",
                   height=420)


def slice_figure(frame: pd.DataFrame, fields: Sequence[str], metric: str = "test_acc") -> go.Figure:
    """One panel per swept field: the metric against that field's values, every other field marginalised
    (mean ± std of all runs at the value, each run as a faint dot)."""
    from .interactions import axis_values, slice_stats

    figure = make_subplots(rows=1, cols=max(1, len(fields)), subplot_titles=list(fields), shared_yaxes=True)
    done = frame.dropna(subset=[metric]) if len(frame) else frame
    for column, field in enumerate(fields, start=1):
        stats = slice_stats(frame, field, metric)
        order = [_value_text(v) for v in axis_values(frame, field)]
        figure.add_trace(go.Scatter(x=[_value_text(v) for v in done[field]], y=done[metric], mode="markers",
                                    marker=dict(color=colour(0), opacity=0.3, size=6), showlegend=False,
                                    hoverinfo="skip"), row=1, col=column)
        figure.add_trace(go.Scatter(x=[_value_text(v) for v in stats["value"]], y=stats["mean"], mode="lines+markers",
                                    error_y=dict(type="data", array=stats["std"].fillna(0.0)), showlegend=False,
                                    line=dict(color=colour(1)), name=field), row=1, col=column)
        figure.update_xaxes(type="category", categoryorder="array", categoryarray=order, row=1, col=column)
    figure.update_yaxes(title=metric.replace("_", " "), row=1, col=1)
    return _layout(figure, "Slices: one field against accuracy, the others marginalised", height=340)


def parallel_figure(frame: pd.DataFrame, fields: Sequence[str], metric: str = "test_acc") -> go.Figure:
    """Parallel coordinates over the swept fields and the metric, one line per done run, coloured by the metric
    (categorical fields get one tick per value)."""
    from .interactions import encode_axis

    done = frame.dropna(subset=[metric]) if len(frame) else frame
    dimensions = []
    for field in fields:
        codes, ticks, labels = encode_axis(done[field].tolist())
        dimensions.append(dict(label=field, values=codes, tickvals=ticks, ticktext=labels))
    dimensions.append(dict(label=metric.replace("_", " "), values=done[metric].tolist()))
    figure = go.Figure(go.Parcoords(line=dict(color=done[metric].tolist(), colorscale="Viridis", showscale=True),
                                    dimensions=dimensions))
    return _layout(figure, "Parallel coordinates over the swept fields", height=380)


def sweep_curves_figure(curves: pd.DataFrame, colour_by: str | None = None, metric: str = "test_acc") -> go.Figure:
    """Learning curves of a sweep's runs overlaid, coloured by one swept field; a run stopped early (ASHA)
    ends in an ✕ at its last epoch."""
    figure = go.Figure()
    values = list(dict.fromkeys(curves[colour_by])) if colour_by and len(curves) else [None]
    shown: set[str] = set()
    for run_id, run in curves.groupby("run_id", sort=False):
        value = run[colour_by].iloc[0] if colour_by else None
        label = f"{colour_by}={_value_text(value)}" if colour_by else "run"
        line = colour(values.index(value))
        figure.add_trace(go.Scatter(x=run["epoch"], y=run["value"], mode="lines", name=label, legendgroup=label,
                                    showlegend=label not in shown, line=dict(color=line, width=1.2), opacity=0.8,
                                    hovertemplate=f"{run_id}<br>epoch %{{x}}: %{{y:.3f}}<extra></extra>"))
        shown.add(label)
        if bool(run["early_stopped"].iloc[0]):
            last = run.iloc[-1]
            figure.add_trace(go.Scatter(x=[last["epoch"]], y=[last["value"]], mode="markers", name="stopped early",
                                        legendgroup="stopped", showlegend="stopped" not in shown,
                                        marker=dict(symbol="x", size=10, color=line)))
            shown.add("stopped")
    figure.update_xaxes(title="epoch")
    figure.update_yaxes(title=metric.replace("_", " "))
    return _layout(figure, "Learning curves (✕: stopped early)", height=360)


def weight_histogram_figure(histograms: dict[str, tuple[list[float], list[int]]]) -> go.Figure:
    """One bar chart per quantised layer: the weight values the layer uses and how many weights take each."""
    names = list(histograms) or ["(no quantised layer)"]
    columns = min(3, len(names))
    rows = -(-len(names) // columns)
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=names)
    for position, name in enumerate(histograms):
        levels, counts = histograms[name]
        figure.add_trace(go.Bar(x=levels, y=counts, name=name, marker_color=colour(position), showlegend=False),
                         row=position // columns + 1, col=position % columns + 1)
    return _layout(figure, "Weight levels per quantised layer (value → count)", height=120 + 200 * rows)


def size_points(records: Sequence[RunRecord]) -> pd.DataFrame:
    """Finished runs as (label, size_kb, test_acc) points for the accuracy-versus-size chart."""
    rows = [{"label": f"{r.config.get('method')} W{r.config.get('w_bits', '32')}A{r.config.get('a_bits', '32')}",
             "size_kb": r.final_metrics["size_kb"], "test_acc": r.final_metrics["test_acc"]}
            for r in records if "size_kb" in r.final_metrics and "test_acc" in r.final_metrics]
    return pd.DataFrame(rows, columns=["label", "size_kb", "test_acc"])


# -- what feature methods match, and sequential generations ------------------------------------------------

def feature_match_figure(matches: Sequence["FeatureMatch"], student: str) -> go.Figure:
    """The student's features (left) and the teachers' (right) that a method compares, one box per feature
    labelled with its per-image shape (C×H×W or D) and sized by its number of values, each matched pair joined
    by a line that says how the two are brought together."""
    from .methods.features import shape_text

    students = list(dict.fromkeys((m.student_layer, tuple(m.student_shape)) for m in matches))
    teachers = list(dict.fromkeys((m.teacher, m.teacher_layer, tuple(m.teacher_shape)) for m in matches))
    rows = max(len(students), len(teachers), 1)
    sizes = [math.prod(shape) for _, shape in students] + [math.prod(shape) for *_, shape in teachers]
    largest = max(sizes, default=1)

    def row_y(index: int, count: int) -> float:
        return rows - 1 - index * (rows - 1) / max(count - 1, 1) if count > 1 else (rows - 1) / 2

    def box(figure: go.Figure, x: float, y: float, values: int, text: str, fill: str) -> None:
        half = 0.12 + 0.28 * math.sqrt(values / largest)  # box area grows with the feature's size
        figure.add_shape(type="rect", x0=x - half, x1=x + half, y0=y - 0.3, y1=y + 0.3, fillcolor=fill,
                         opacity=0.35, line=dict(color=fill))
        figure.add_annotation(x=x, y=y, text=text, showarrow=False, font=dict(size=12))

    figure = go.Figure()
    student_y = {layer: row_y(i, len(students)) for i, (layer, _) in enumerate(students)}
    teacher_y = {(name, layer): row_y(i, len(teachers)) for i, (name, layer, _) in enumerate(teachers)}
    for match in matches:
        y0, y1 = student_y[match.student_layer], teacher_y[(match.teacher, match.teacher_layer)]
        figure.add_trace(go.Scatter(x=[0.45, 2.55], y=[y0, y1], mode="lines", line=dict(color="#888", width=2),
                                    hoverinfo="text", text=match.link, showlegend=False))
        figure.add_annotation(x=1.5, y=(y0 + y1) / 2, text=match.link, showarrow=False, yshift=10,
                              font=dict(size=11, color="#444"), bgcolor="rgba(255,255,255,0.8)")
    for layer, shape in students:
        box(figure, 0.0, student_y[layer], math.prod(shape), f"<b>{layer}</b><br>{shape_text(shape)}", colour(0))
    for name, layer, shape in teachers:
        box(figure, 3.0, teacher_y[(name, layer)], math.prod(shape), f"{name}<br><b>{layer}</b><br>"
            f"{shape_text(shape)}", colour(1))
    figure.update_xaxes(range=[-0.6, 3.6], tickvals=[0, 3], ticktext=[f"student {student}", "teacher(s)"],
                        showgrid=False, zeroline=False)
    figure.update_yaxes(range=[-0.6, rows - 0.4], visible=False)
    return _layout(figure, "Features compared (student → teacher; box area ∝ values per image)",
                   height=140 + 90 * rows)


def generation_chain_figure(chains: pd.DataFrame, teacher_accs: dict[str, float] | None = None) -> go.Figure:
    """Final test accuracy per generation of each chain (a `generations.chain_table`), with each chain's first
    teacher as a dashed line where its accuracy is known (`teacher_accs`: chain label → accuracy)."""
    figure = go.Figure()
    for index, (label, rows) in enumerate(chains.groupby("chain", sort=False)):
        figure.add_trace(go.Scatter(x=rows["generation"], y=rows["test acc"], mode="lines+markers", name=label,
                                    line=dict(color=colour(index)), text=rows["run"],
                                    hovertemplate="%{text}<br>generation %{x}: %{y:.2%}<extra></extra>"))
        teacher = (teacher_accs or {}).get(label)
        if teacher is not None:
            figure.add_hline(y=teacher, line=dict(color=colour(index), dash="dash"),
                             annotation_text=f"teacher of generation 1 ({teacher:.1%})")
    figure.update_xaxes(title="generation (each taught by the one before)", dtick=1)
    figure.update_yaxes(title="final test accuracy", tickformat=".0%")
    return _layout(figure, "Sequential FEED: accuracy along the generation chain", height=360)
