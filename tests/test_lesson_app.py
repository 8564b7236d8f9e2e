"""Lessons in a Streamlit session (AppTest): a lesson link restores the setup and hides its controls, and the
sidebar loader replaces the setup by a lesson's."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def importable_pages(monkeypatch):
    monkeypatch.setenv("KDW_EXECUTOR", "inline")
    monkeypatch.syspath_prepend(str(ROOT / "pages"))  # the helpers _shared and _lessons live there


def lesson_script():
    """What pages/app.py does around the pages: apply the link, the sidebar loader, the hiding; then show the state."""
    import streamlit as st

    import _lessons
    import _shared as shared

    _lessons.apply_link()
    setup = shared.setup()
    _lessons.sidebar()
    _lessons.hide_controls()
    st.write(f"T={setup.config.temperature} alpha={setup.config.alpha} method={','.join(setup.methods)}")
    st.write(f"link={sorted(_lessons.link_params().items())}")


def open_session(query):
    app = AppTest.from_function(lesson_script, default_timeout=60)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def texts(app):
    return [m.value for m in app.markdown]


def test_lesson_link_restores_the_setup_and_hides_the_chosen_controls():
    app = open_session({"lesson": "temperature-too-high", "hide": "temperature,alpha"})
    assert "T=20.0 alpha=0.9 method=kd" in texts(app)
    assert "link=[('hide', 'alpha,temperature'), ('lesson', 'temperature-too-high')]" in texts(app)
    styles = " ".join(element.proto.body for element in app.get("html"))
    assert ".st-key-w-temperature { display: none" in styles and ".st-key-w-alpha { display: none" in styles
    assert ".st-key-w-epochs" not in styles


def test_sidebar_loads_a_lesson_into_the_session():
    app = open_session({})
    assert "T=4.0 alpha=0.9 method=kd" in texts(app) and not app.get("html")
    app.sidebar.selectbox(key="lesson.pick").set_value("ternary-student-without-teacher")
    app.sidebar.button(key="lesson.load").click().run()
    assert "T=4.0 alpha=0.9 method=baseline" in texts(app)
    styles = " ".join(element.proto.body for element in app.get("html"))
    assert ".st-key-w-temperature" in styles and ".st-key-w-baseline" in styles
    app.sidebar.button(key="lesson.show_all").click().run()
    assert not app.get("html")


def test_the_app_opens_a_lesson_link_and_keeps_it_in_the_url():
    app = AppTest.from_file(str(ROOT / "pages" / "app.py"), default_timeout=120)
    app.query_params["lesson"] = "temperature-too-low"
    app.switch_page("hyperparameters.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.sidebar.selectbox(key="lesson.pick").value == "temperature-too-low"
    styles = " ".join(element.proto.body for element in app.get("html"))
    assert ".st-key-w-alpha { display: none" in styles and ".st-key-w-temperature" not in styles
    assert app.slider(key="w.temperature").value == 1.0
    assert app.query_params["lesson"] == "temperature-too-low"
    assert app.query_params["hide"] == "alpha,alpha_schedule,method,student,teachers"


def test_the_app_has_the_sweep_page():
    app = AppTest.from_file(str(ROOT / "pages" / "app.py"), default_timeout=120)
    app.switch_page("sweep.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.multiselect(key="w.sweep.fields").value == ["temperature", "alpha"]


def test_the_lesson_list_shows_each_lessons_claim_and_last_verdict(tmp_path, monkeypatch):
    import json
    import os

    from workbench.lessons import get_lesson

    lesson = get_lesson("temperature-too-low")
    folder = Path(os.environ["KDW_RUNS_DIR"]) / "lessons"
    folder.mkdir(parents=True)
    (folder / "verdicts.json").write_text(
        json.dumps(
            {lesson.name: {"verdict": "contradicted", "version": lesson.version, "seeds": 5, "checked": "2026-11-30"}}
        )
    )
    app = open_session({"lesson": lesson.name})
    captions = " ".join(caption.value for caption in app.sidebar.caption)
    assert lesson.claim.says in captions and "5 seeds" in captions and "contradicted" in captions
    assert app.sidebar.selectbox(key="lesson.pick").format_func(lesson.name).startswith("✗")
