"""The Sweep page through AppTest (runs train in-process): grid from widgets, estimate, start, interaction views."""
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench.store import RunStore

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "sweep.py")
TINY_RUN = {"epochs": "1", "train_subset": "300", "batch_size": "64", "device": "cpu"}


@pytest.fixture(autouse=True)
def inline_executor(monkeypatch):
    """Runs started from the page train in the test's process, before the click returns."""
    monkeypatch.setenv("KDW_EXECUTOR", "inline")
    monkeypatch.syspath_prepend(str(ROOT))  # the page imports app_pages._shared


def open_sweep_page():
    app = AppTest.from_file(PAGE, default_timeout=120)
    for key, value in TINY_RUN.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_sweep_page_starts_a_grid_and_draws_the_interaction_views():
    app = open_sweep_page()
    assert "No sweeps yet" in app.info[0].value
    app.text_input(key="sweep.values.temperature").set_value("2, 8")
    app.number_input(key="sweep.seeds").set_value(1).run()
    assert any("**4 runs**: 4 points × 1 seeds." in m.value for m in app.markdown)
    app.number_input(key="sweep.budget").set_value(1.0)
    app.button(key="sweep.estimate").click().run()
    assert any(c.value.startswith("Estimate: 4 runs, 1 at a time") for c in app.caption)
    app.button(key="sweep.start").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert "Queued 4 runs as sweep-" in app.success[0].value
    runs = RunStore(os.environ["KDW_RUNS_DIR"]).list_runs()
    assert len(runs) == 4 and len({r.group_id for r in runs}) == 1 and {r.status for r in runs} == {"done"}
    assert len({r.owner for r in runs}) == 1 and runs[0].owner  # the session that started them
    assert {(r.config["temperature"], r.config["alpha"]) for r in runs} == {(2.0, 0.5), (2.0, 0.9), (8.0, 0.5),
                                                                            (8.0, 0.9)}
    assert len(app.get("plotly_chart")) == 4  # heatmap, slices, parallel coordinates, learning curves


def test_sweep_page_names_a_bad_value_instead_of_starting():
    app = open_sweep_page()
    app.text_input(key="sweep.values.alpha").set_value("0.5, 1.5").run()
    assert "alpha: 1.5 is out of range" in app.error[0].value
    assert not [b for b in app.button if b.key == "sweep.start"]
