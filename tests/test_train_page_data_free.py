"""The Train page of a data-free run shows what the generator does: the teacher's class histogram of the generated
images and the generator's loss terms (issue 16 item 3)."""

from __future__ import annotations

import json

import pytest
from test_app import TINY_RUN, open_page


@pytest.fixture(autouse=True)
def inline_executor(monkeypatch):
    """Runs started from the page train in the test's process, before the click returns."""
    monkeypatch.setenv("KDW_EXECUTOR", "inline")


def chart_titles(app):
    """The title of every plotly chart on the page."""
    specs = [json.loads(element.proto.spec) for element in app.get("plotly_chart")]
    return [spec["layout"].get("title", {}).get("text", "") for spec in specs]


def test_a_dafl_run_shows_the_teachers_class_histogram_and_the_generators_terms():
    query = {**TINY_RUN, "methods": "dafl", "baseline": "false", "dafl.iterations": "3", "dafl.gen_width": "8"}
    app = open_page("train", query)
    assert "What the teacher sees in the generated images" not in chart_titles(app)
    app.button(key="start").click().run()
    assert not app.exception
    titles = chart_titles(app)
    assert "What the teacher sees in the generated images" in titles
    assert "The generator's loss terms" in titles


def test_a_run_on_real_data_shows_neither():
    app = open_page("train", {**TINY_RUN, "methods": "kd", "baseline": "false"})
    app.button(key="start").click().run()
    titles = chart_titles(app)
    assert "Loss terms" in titles
    assert "What the teacher sees in the generated images" not in titles
    assert "The generator's loss terms" not in titles
