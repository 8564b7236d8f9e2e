"""The Sweep page through AppTest (runs train in-process): grid from widgets, estimate, start, interaction views."""

import os
from pathlib import Path

import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from workbench.config import RunConfig
from workbench.store import RunStore
from workbench.sweep import SweepInputs, save_spec, spec_from_config, sweep_inputs_from_query
from workbench.text import escape_markdown

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "sweep.py")
TINY_RUN = {"epochs": "1", "train_subset": "300", "batch_size": "64", "device": "cpu"}


@pytest.fixture(autouse=True)
def inline_executor(monkeypatch):
    """Runs started from the page train in the test's process, before the click returns."""
    monkeypatch.setenv("KDW_EXECUTOR", "inline")
    monkeypatch.syspath_prepend(str(ROOT / "pages"))  # the page imports _shared from its folder


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
    app.text_input(key="w.sweep.values.temperature").set_value("2, 8")
    app.number_input(key="w.sweep.seeds").set_value(1).run()
    assert any("**4 runs**: 4 points × 1 seeds." in m.value for m in app.markdown)
    app.number_input(key="sweep.budget").set_value(1.0)
    app.button(key="sweep.estimate").click().run()
    assert any(c.value.startswith("Estimate: 4 runs, 1 at a time") for c in app.caption)
    app.button(key="sweep.start").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert "Queued 4 runs as sweep\\-" in app.success[0].value  # the sweep's name is escaped
    runs = RunStore(os.environ["KDW_RUNS_DIR"]).list_runs()
    assert len(runs) == 4 and len({r.group_id for r in runs}) == 1 and {r.status for r in runs} == {"done"}
    assert len({r.owner for r in runs}) == 1 and runs[0].owner  # the session that started them
    assert {(r.config["temperature"], r.config["alpha"]) for r in runs} == {
        (2.0, 0.5),
        (2.0, 0.9),
        (8.0, 0.5),
        (8.0, 0.9),
    }
    assert len(app.get("plotly_chart")) == 4  # heatmap, slices, parallel coordinates, learning curves


def test_sweep_page_names_a_bad_value_instead_of_starting():
    app = open_sweep_page()
    app.text_input(key="w.sweep.values.alpha").set_value("0.5, 1.5").run()
    assert escape_markdown("alpha: 1.5 is out of range") in app.error[0].value
    assert not [b for b in app.button if b.key == "sweep.start"]


def test_the_grid_inputs_go_into_the_url_and_a_reload_restores_them():
    from test_app import open_page

    app = open_page("sweep", TINY_RUN)
    assert not [key for key in app.query_params if key.startswith("sweep.")]  # defaults: nothing added
    app.multiselect(key="w.sweep.fields").set_value(["temperature", "w_bits"]).run()
    app.text_input(key="w.sweep.values.temperature").set_value("2, 8")
    app.multiselect(key="w.sweep.values.w_bits").set_value(["2", "ternary"])
    app.number_input(key="w.sweep.seeds").set_value(3).run()
    assert not app.exception, [e.value for e in app.exception]
    link = {key: app.query_params[key] for key in app.query_params}
    assert {key: link[key] for key in link if key.startswith("sweep.")} == {
        "sweep.fields": "temperature,w_bits",
        "sweep.temperature": "2, 8",
        "sweep.w_bits": "2,ternary",
        "sweep.seeds": "3",
    }
    reloaded = open_page("sweep", link)
    assert reloaded.multiselect(key="w.sweep.fields").value == ["temperature", "w_bits"]
    assert reloaded.text_input(key="w.sweep.values.temperature").value == "2, 8"
    assert reloaded.multiselect(key="w.sweep.values.w_bits").value == ["2", "ternary"]
    assert reloaded.number_input(key="w.sweep.seeds").value == 3
    assert any("**12 runs**: 4 points × 3 seeds." in m.value for m in reloaded.markdown)


def test_a_links_bad_grid_values_are_ignored_with_a_short_notice():
    from test_app import open_page

    app = open_page(
        "sweep",
        {
            **TINY_RUN,
            "sweep.fields": "alpha,bogus",
            "sweep.alpha": "0.5, 1.5",
            "sweep.seeds": "99",
            "sweep.lr": "0.1, 0.2",
        },
    )
    warnings = " | ".join(w.value for w in app.warning).replace("\\", "")  # shown escaped
    assert "ignored sweep field 'bogus': the Sweep page does not sweep it" in warnings
    assert "ignored sweep.alpha: alpha: 1.5 is out of range" in warnings
    assert "ignored sweep.seeds: '99' is not allowed; allowed: 1 to 10" in warnings
    assert "sweep.lr" not in warnings  # a good value of a field not swept is kept quietly
    assert app.multiselect(key="w.sweep.fields").value == ["alpha"]
    assert app.text_input(key="w.sweep.values.alpha").value == "0.5, 0.9"  # the default again
    assert app.number_input(key="w.sweep.seeds").value == 2


def test_sweep_inputs_survive_their_url_form_and_only_differences_are_written():
    config = RunConfig()
    assert SweepInputs().query_params(config) == {}
    inputs = SweepInputs(
        fields=["method", "lr"], values={"method": "kd,tfkd", "lr": "0.01, 0.05", "alpha": "0.1"}, seeds=4
    )
    params = inputs.query_params(config)
    assert params == {"sweep.fields": "method,lr", "sweep.method": "kd,tfkd", "sweep.seeds": "4"}  # lr: default
    restored, notices = sweep_inputs_from_query(params)
    assert notices == [] and restored.fields == ["method", "lr"] and restored.seeds == 4
    assert restored.value_text("method", config) == "kd,tfkd" and restored.value_text("lr", config) == "0.01, 0.05"
    assert sweep_inputs_from_query({"sweep.fields": "none"})[0].fields == []
    kept, notices = sweep_inputs_from_query({"sweep.fields": "nonsense"})
    assert kept.fields == ["temperature", "alpha"] and len(notices) == 1


def test_the_views_of_a_training_sweep_refresh_until_its_last_run_ends(monkeypatch):
    refreshes = []
    real_fragment = streamlit.fragment

    def recording_fragment(func=None, *, run_every=None, **kwargs):
        refreshes.append(run_every)
        return real_fragment(func, run_every=run_every, **kwargs)

    monkeypatch.setattr(streamlit, "fragment", recording_fragment)
    store = RunStore(os.environ["KDW_RUNS_DIR"])
    spec = spec_from_config(RunConfig(), {"temperature": [2.0, 8.0]}, 1, name="live")
    save_spec(store, "sweep-live", spec, "local")
    ids = [store.create_run(RunConfig(temperature=t).to_dict(), group_id="sweep-live") for t in (2.0, 8.0)]
    app = open_sweep_page()
    assert app.progress[0].proto.text == "0 of 2 runs done"
    assert refreshes[-1] is not None and refreshes[-1] > 0  # redrawn on a timer while runs are unfinished
    for run_id, accuracy in zip(ids, (0.5, 0.7)):
        store.finish(run_id, "done", final_metrics={"test_acc": accuracy})
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.progress[0].proto.text == "2 of 2 runs done"
    assert refreshes[-1] is None  # every run ended: no more timer
    assert len(app.get("plotly_chart")) >= 2
