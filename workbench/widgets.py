"""ipywidgets panels the tutorials share: a temperature slider over soft targets, live per-epoch curves, live
sample grids and a run panel (sliders and a Run button, interact_manual style).

Figures come from `workbench.viz` wrapped in plotly FigureWidgets. Each panel keeps its work in plain methods
(`redraw`, `add_point`, `show`, `run`) that the widget events call, so they can be tested without a browser.
Display a panel in a notebook by leaving its `view` as a cell's last expression."""

from __future__ import annotations

from typing import Any, Sequence

import ipywidgets as widgets
import plotly.graph_objects as go
from torch import Tensor, nn

from . import viz
from .config import RunConfig
from .engine import EpochEvent, FitResult, FunctionCallback, fit
from .errors import WorkbenchError
from .runner import resolve_teachers


class SoftTargetPanel:
    """A temperature slider above the teacher's soft targets (`viz.soft_target_figure`), redrawn on change."""

    def __init__(
        self, preview: viz.SoftTargetPreview, temperature: float = 1.0, low: float = 0.5, high: float = 20.0
    ) -> None:
        self.preview = preview
        self.figure = go.FigureWidget(viz.soft_target_figure(preview, temperature))
        self.slider = widgets.FloatSlider(
            value=temperature,
            min=low,
            max=high,
            step=0.5,
            description="T",
            readout_format=".1f",
            continuous_update=False,
            layout=widgets.Layout(width="460px"),  # about 11 px per step: each half-degree is a distinct position
        )
        self.slider.observe(self._on_change, names="value")
        self.view = widgets.VBox([self.slider, self.figure])

    def redraw(self, temperature: float) -> None:
        """Show the soft targets at `temperature`: new bar heights, entropies in the titles and the title."""
        fresh = viz.soft_target_figure(self.preview, temperature)
        with self.figure.batch_update():
            for shown, new in zip(self.figure.data, fresh.data):
                if new.type == "bar":
                    shown.y = new.y
            self.figure.layout.annotations = fresh.layout.annotations
            self.figure.layout.title = fresh.layout.title

    def _on_change(self, change: dict[str, Any]) -> None:
        self.redraw(float(change["new"]))


class LivePlot:
    """A FigureWidget of one per-epoch metric (`viz.live_metric_figure`): one trace per run, one point per epoch."""

    def __init__(self, metric: str = "test_acc", title: str | None = None) -> None:
        self.metric = metric
        self.figure = go.FigureWidget(viz.live_metric_figure(metric, title))

    def add_run(self, label: str) -> int:
        """Add an empty trace for a run; returns its index."""
        index = len(self.figure.data)
        self.figure.add_trace(viz.run_trace(label, index))
        return index

    def add_point(self, index: int, epoch: int, value: float) -> None:
        """Append (epoch, value) to the run's trace."""
        trace = self.figure.data[index]
        with self.figure.batch_update():
            trace.x = (*(trace.x or ()), epoch)
            trace.y = (*(trace.y or ()), value)

    def callback(self, label: str) -> FunctionCallback:
        """A new trace for a run and the engine callback that feeds it the metric after every epoch."""
        index = self.add_run(label)

        def on_epoch(event: EpochEvent) -> None:
            if self.metric in event.metrics:
                self.add_point(index, event.epoch, event.metrics[self.metric])

        return FunctionCallback(on_epoch=on_epoch)


class LiveSamples:
    """A FigureWidget of a method's latest sample grid (`viz.image_grid_figure`), refreshed every epoch; the
    grids seen are kept by epoch in `snapshots` for `viz.sample_evolution_figure`."""

    def __init__(self, name: str, title: str | None = None, count: int = 16) -> None:
        self.name = name
        self.count = count
        self.title = title or f"{name} samples"
        self.figure: go.FigureWidget | None = None
        self.view = widgets.Box()
        self.snapshots: dict[int, Any] = {}

    def show(self, epoch: int, images: Tensor) -> None:
        """Keep the first `count` images (N, C, H, W) of this epoch and draw them."""
        batch = images[: self.count].detach().float().cpu().numpy()
        self.snapshots[epoch] = batch
        fresh = viz.image_grid_figure(batch, f"{self.title} (epoch {epoch})")
        if self.figure is None:
            self.figure = go.FigureWidget(fresh)
            self.view.children = (self.figure,)
            return
        with self.figure.batch_update():
            self.figure.data[0].z = fresh.data[0].z
            self.figure.layout.title = fresh.layout.title

    def callback(self) -> FunctionCallback:
        """The engine callback that shows this sample grid whenever an epoch event carries it."""

        def on_epoch(event: EpochEvent) -> None:
            if self.name in event.images and event.images[self.name].numel():
                self.show(event.epoch, event.images[self.name])

        return FunctionCallback(on_epoch=on_epoch)


class RunPanel:
    """Controls for some config fields and a Run button (interact_manual style): each click trains the base
    config with the controls' values (`engine.fit`, its teachers resolved first: `teachers` when given, else the
    config's), drawing its test accuracy live; results are kept in order."""

    def __init__(
        self,
        base: RunConfig,
        controls: dict[str, widgets.ValueWidget],
        live: LivePlot | None = None,
        teachers: Sequence[nn.Module] | None = None,
    ) -> None:
        self.base = base
        self.controls = controls
        self.live = live or LivePlot()
        self.teachers = list(teachers) if teachers is not None else None
        self.results: list[tuple[str, FitResult]] = []
        self.button = widgets.Button(description="Run", button_style="primary", icon="play")
        self.message = widgets.HTML()
        self.button.on_click(self.on_click)
        self.view = widgets.VBox([*controls.values(), self.button, self.message, self.live.figure])

    def values(self) -> dict[str, Any]:
        """The controls' current values by config field."""
        return {name: control.value for name, control in self.controls.items()}

    def run(self, **changes: Any) -> FitResult:
        """Train the base config with `changes` (validated: ConfigError names a bad value) and report it."""
        config = self.base.replace(**changes)
        label = " ".join([config.method, *(f"{name}={value}" for name, value in changes.items())])
        given = resolve_teachers(config, teachers=self.teachers)  # a missing teacher trains first, as a recorded run
        result = fit(config, [self.live.callback(label)], **given)
        self.results.append((label, result))
        accuracy = result.final_metrics.get("test_acc", float("nan"))
        self.message.value = f"<b>{label}</b>: {result.status}, test accuracy {accuracy:.3f}"
        return result

    def on_click(self, _button: widgets.Button | None = None) -> None:
        """The Run button: train with the controls' values; a bad value is shown as its one-line message."""
        self.button.disabled = True
        self.message.value = "training…"
        try:
            self.run(**self.values())
        except WorkbenchError as error:
            self.message.value = f"<span style='color:#d62728'>{error}</span>"
        finally:
            self.button.disabled = False
