"""User text is shown as the characters it holds (issue 15, a shared server, 3): a link's model specs are
validated (the teacher like the student), run names and messages are escaped in markdown, and plotly (which draws a
subset of HTML) gets run names HTML-escaped in legends, hover text and axis labels."""

from __future__ import annotations

import json
import os

import pytest
from test_app import open_page, warnings_text

from workbench.config import RunConfig
from workbench.store import RunStore
from workbench.text import escape_html, escape_markdown
from workbench.viz import accuracy_figure, compare_figure, gain_figure

HOSTILE_TEACHER = "cnn:![x](https://evil.example/p.png) [Log in](https://evil.example/login)"
HOSTILE_NAME = "**bold** <b>x</b> [Log in](https://evil.example/login) ![i](https://evil.example/p.png)"


@pytest.fixture(autouse=True)
def inline_executor(monkeypatch):
    monkeypatch.setenv("KDW_EXECUTOR", "inline")


def markdown_values(app):
    """Every text element that Streamlit renders as markdown."""
    kinds = ("markdown", "caption", "warning", "error", "info", "success", "subheader")
    return [element.value for kind in kinds for element in getattr(app, kind)]


def test_a_links_hostile_teacher_is_refused_with_an_escaped_notice():
    app = open_page("train", {"teacher": HOSTILE_TEACHER, "dataset": "digits"})
    shown = warnings_text(app)
    assert "ignored teachers" in shown and "must be an integer from 1 to 4096" in shown
    assert "](https://evil" not in shown and r"\]\(https" in shown
    assert not any("](https://evil" in value for value in markdown_values(app))
    assert app.query_params.get("teacher") in (None, "cnn") and "evil" not in json.dumps(dict(app.query_params))


@pytest.mark.parametrize("spec", ["cnn:²", "cnn:١٠", "mlp: 8x", "cnn:0"])
def test_every_model_spec_width_is_plain_ascii_digits_in_range(spec):
    for field in ("student", "teachers"):
        with pytest.raises(Exception, match=field):
            RunConfig.from_dict({field: spec})


def gallery_run():
    """A queued run started outside the app (the gallery) whose name and message hold markdown and HTML, with an
    epoch of metrics so the charts draw it."""
    store = RunStore(os.environ["KDW_RUNS_DIR"])
    config = RunConfig.from_dict({"dataset": "digits", "name": HOSTILE_NAME})
    run_id = store.create_run(config.to_dict(), name=HOSTILE_NAME)
    store.log_metrics(
        run_id,
        [
            (10, 1, "epoch", "test_acc", 0.5),
            (10, 1, "epoch", "train_acc", 0.6),
            (10, 1, "epoch", "agreement", 0.7),
            (10, 1, "epoch", "kl", 0.2),
            (10, 1, "step", "loss", 1.0),
        ],
    )
    return run_id


def trace_names(app):
    """The legend names of every trace of the page's plotly charts."""
    specs = [json.loads(element.proto.spec) for element in app.get("plotly_chart")]
    return [trace.get("name", "") for spec in specs for trace in spec["data"]]


def test_a_run_name_with_markdown_and_html_is_escaped_on_train_and_compare():
    run_id = gallery_run()
    train = open_page("train")
    values = markdown_values(train)
    assert any(escape_markdown(HOSTILE_NAME) in value for value in values), values
    assert not any("](https://evil" in value for value in values)
    names = trace_names(train)
    assert any(name.startswith(escape_html(HOSTILE_NAME)) for name in names), names
    assert not any("<b>" in name for name in names)

    compare = open_page("compare", {"compare": run_id})
    assert not any("](https://evil" in value for value in markdown_values(compare))
    names = trace_names(compare)  # Compare labels its curves by the setup (method, fields), not the run name
    assert names and not any("<b>" in name or "](https://evil" in name for name in names)


def test_figures_escape_run_names_in_legends_and_axis_labels():
    import pandas as pd

    epochs = pd.DataFrame([{"run_id": "r1", "step": 1, "epoch": 1, "scope": "epoch", "name": "test_acc", "value": 0.5}])
    figure = accuracy_figure(epochs, {"r1": HOSTILE_NAME})
    assert figure.data[0].name == f"{escape_html(HOSTILE_NAME)}: test" and "<b>" not in figure.data[0].name
    figure = compare_figure(epochs, {HOSTILE_NAME: ["r1"]})
    assert figure.data[0].name == escape_html(HOSTILE_NAME)
    gains = pd.DataFrame({"setup": [HOSTILE_NAME], "gain (pts)": [1.0], "± s.e. (pts)": [0.5]})
    assert gain_figure(gains).data[0].name == f"A: {escape_html(HOSTILE_NAME)}"  # long: lettered, named in the legend
    assert escape_html("<a href='x'>&</a>") == "&lt;a href='x'&gt;&amp;&lt;/a&gt;"
