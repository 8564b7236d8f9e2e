"""The tutorials: percent scripts (the sources) paired with notebooks committed without outputs, each runs top to
bottom in quick mode, and the widget panels' callbacks do their job when called directly (no browser in CI)."""

import time
from pathlib import Path

import ipywidgets as ipw
import jupytext
import nbformat
import numpy as np
import pytest
import torch
from conftest import tiny_config
from nbclient import NotebookClient

from workbench.engine import EpochEvent
from workbench.viz import SoftTargetPreview, soften, tile_images
from workbench.widgets import LivePlot, LiveSamples, RunPanel, SoftTargetPanel

FOLDER = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("[0-9][0-9]_*.ipynb"))
NOTEBOOK_SECONDS = 180  # the budget for one notebook in quick mode on 2 CPU cores


def parameters_cell(notebook):
    """The cell tagged `parameters`."""
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must be tagged 'parameters'"
    return tagged[0]


def test_all_seven_tutorials_are_committed_as_a_script_and_a_notebook():
    assert len(NOTEBOOKS) == 7
    assert [path.with_suffix(".py").name for path in NOTEBOOKS] == sorted(
        p.name for p in FOLDER.glob("[0-9][0-9]_*.py")
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_committed_notebook_carries_no_outputs_or_execution_counts(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip the outputs"


def cells(notebook):
    """What a notebook teaches, cell by cell: type, source and tags (not ids, outputs or other metadata)."""
    return [(cell.cell_type, cell.source.strip(), cell.metadata.get("tags", [])) for cell in notebook.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_committed_notebook_matches_its_percent_script(path):
    script = jupytext.read(path.with_suffix(".py"))
    assert cells(nbformat.read(path, as_version=4)) == cells(script), (
        f"{path.name} differs from {path.with_suffix('.py').name}: run jupytext --sync notebooks/[0-9]*.py"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_defaults_to_quick_mode_and_frames_the_lesson(path):
    notebook = nbformat.read(path, as_version=4)
    assert parameters_cell(notebook).source.strip().endswith("QUICK = True")
    assert "What you will see" in notebook.cells[0].source
    assert "Questions to try" in notebook.cells[-1].source


@pytest.mark.slow
@pytest.mark.timeout(NOTEBOOK_SECONDS + 60)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_top_to_bottom_in_quick_mode(path):
    notebook = nbformat.read(path, as_version=4)
    parameters_cell(notebook).source = "QUICK = True"  # as papermill / nbmake would inject it
    start = time.monotonic()
    NotebookClient(
        notebook, timeout=NOTEBOOK_SECONDS, kernel_name="python3", resources={"metadata": {"path": str(FOLDER)}}
    ).execute()
    assert time.monotonic() - start < NOTEBOOK_SECONDS
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors


# -- the widget panels, driven by their callbacks ---------------------------------------------------------


def toy_preview():
    """Two 8×8 images and hand-made teacher logits over four classes."""
    logits = np.array([[6.0, 2.0, 0.0, -1.0], [-2.0, 5.0, 3.0, 0.0]])
    return SoftTargetPreview(np.zeros((2, 8, 8)), [0, 1], logits, ("a", "b", "c", "d"), "toy")


def test_moving_the_temperature_slider_redraws_the_soft_targets():
    panel = SoftTargetPanel(toy_preview(), temperature=1.0)
    bars = [trace for trace in panel.figure.data if trace.type == "bar"]
    assert np.allclose(bars[0].y, soften(toy_preview().logits, 1.0)[0])
    panel.slider.value = 8.0
    assert np.allclose(bars[0].y, soften(toy_preview().logits, 8.0)[0])
    assert np.allclose(bars[1].y, soften(toy_preview().logits, 8.0)[1])
    assert "T = 8" in panel.figure.layout.title.text
    assert any("H " in annotation.text for annotation in panel.figure.layout.annotations)


def test_run_button_trains_with_the_sliders_and_the_live_figure_gains_a_point_per_epoch():
    panel = RunPanel(
        tiny_config(method="kd", epochs=2),
        {"alpha": ipw.FloatSlider(value=0.7, min=0.0, max=1.0), "temperature": ipw.FloatSlider(value=3.0, min=1.0)},
    )
    panel.on_click(panel.button)
    ((label, result),) = panel.results
    assert result.status == "done" and result.history[-1]["alpha"] == pytest.approx(0.7)
    assert result.history[-1]["temperature"] == pytest.approx(3.0)
    (trace,) = panel.live.figure.data
    assert trace.name == label == "kd alpha=0.7 temperature=3.0"
    assert list(trace.x) == [1, 2] and list(trace.y) == [row["test_acc"] for row in result.history]
    assert "test accuracy" in panel.message.value and not panel.button.disabled


def test_run_button_reports_a_bad_value_as_its_one_line_message():
    panel = RunPanel(tiny_config(method="kd"), {"epochs": ipw.IntText(value=0)})
    panel.on_click(panel.button)
    assert panel.results == [] and "epochs" in panel.message.value
    assert len(panel.live.figure.data) == 0 and not panel.button.disabled


def test_live_plot_callback_adds_one_trace_per_run_and_skips_events_without_the_metric():
    live = LivePlot("test_acc")
    first, second = live.callback("a"), live.callback("b")
    first.on_epoch(EpochEvent(1, 10, {"test_acc": 0.5}))
    first.on_epoch(EpochEvent(2, 20, {"train_acc": 0.9}))
    second.on_epoch(EpochEvent(1, 10, {"test_acc": 0.25}))
    assert [(list(t.x), list(t.y)) for t in live.figure.data] == [([1], [0.5]), ([1], [0.25])]


def test_live_samples_redraw_each_epochs_grid_and_keep_the_snapshots():
    samples = LiveSamples("generated", count=4)
    callback = samples.callback()
    callback.on_epoch(EpochEvent(1, 10, {}, {"other": torch.rand(4, 1, 8, 8)}))
    assert samples.figure is None and samples.snapshots == {}
    first, second = torch.rand(6, 1, 8, 8), torch.rand(6, 1, 8, 8)
    callback.on_epoch(EpochEvent(1, 10, {}, {"generated": first}))
    callback.on_epoch(EpochEvent(2, 20, {}, {"generated": second}))
    assert sorted(samples.snapshots) == [1, 2] and samples.snapshots[2].shape == (4, 1, 8, 8)
    assert np.allclose(samples.figure.data[0].z, tile_images(second[:4].numpy()))
    assert "epoch 2" in samples.figure.layout.title.text and samples.view.children == (samples.figure,)
