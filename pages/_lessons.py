"""Lessons in the app: a lesson link (`?lesson=NAME&hide=temperature,alpha`) restores a setup and hides
chosen controls; the sidebar loads a lesson. The rules are in workbench.lessons; this binds them to a session."""

from __future__ import annotations

import streamlit as st

import _shared as shared
from workbench.app_state import setup_from_query
from workbench.lessons import (
    HIDE_PARAM,
    LESSON_PARAM,
    get_lesson,
    hidden_css,
    hidden_widget_keys,
    lesson_summaries,
    read_link,
)
from workbench.lessons.verdicts import VERDICT_MARKS, last_verdicts


def apply_link() -> None:
    """On a session's first run, read the URL's lesson and hidden controls into the session (before
    `shared.setup()`, which then keeps the setup made here)."""
    if "setup" in st.session_state:
        return
    link = read_link({key: st.query_params[key] for key in st.query_params})
    setup, notices = setup_from_query(link.params, shared.settings().uploads_dir)
    st.session_state.setup = setup
    st.session_state.url_notices = [*link.notices, *notices]
    st.session_state.hidden = link.hidden
    st.session_state.lesson = link.lesson.name if link.lesson else ""


def link_params() -> dict[str, str]:
    """The lesson and hidden controls as URL query parameters, to keep beside the setup's (with a lesson,
    `hide` is always written, empty when all is shown, so a reload does not fall back to the lesson's list)."""
    params = {}
    hidden = st.session_state.get("hidden") or frozenset()
    if st.session_state.get("lesson"):
        params[LESSON_PARAM] = st.session_state.lesson
    if hidden or params:
        params[HIDE_PARAM] = ",".join(sorted(hidden))
    return params


def load_lesson() -> None:
    """Replace the session's setup by the picked lesson's and hide its controls (a button callback)."""
    name = st.session_state["lesson.pick"]
    lesson = get_lesson(name)
    link = read_link({LESSON_PARAM: name})
    st.session_state.setup, _ = setup_from_query(link.params)
    st.session_state.hidden, st.session_state.lesson = link.hidden, lesson.name
    for key in [key for key in st.session_state if str(key).startswith(shared.widget_key(""))]:
        del st.session_state[key]  # the widgets take the lesson's values on the next run


def show_all_controls() -> None:
    """Bring back the hidden controls (a button callback)."""
    st.session_state.hidden = frozenset()


def sidebar() -> None:
    """The sidebar's lesson loader: pick a lesson, read its commentary, load it."""
    lessons = {lesson.name: lesson for lesson in lesson_summaries()}
    verdicts = last_verdicts(shared.settings().runs_dir)
    with st.sidebar.expander("Lessons", expanded=bool(st.session_state.get("lesson"))):
        current = st.session_state.get("lesson") or next(iter(lessons))
        name = st.selectbox(
            "Lesson",
            list(lessons),
            index=list(lessons).index(current) if current in lessons else 0,
            format_func=lambda key: (
                f"{VERDICT_MARKS.get(verdicts.get(key, {}).get('verdict'), '·')} {lessons[key].title}"
            ),
            key="lesson.pick",
        )
        st.caption(f"{lessons[name].commentary} (v{lessons[name].version})")
        st.caption(verdict_caption(lessons[name].says, verdicts.get(name)))
        st.button("Load this lesson", key="lesson.load", on_click=load_lesson)
        if st.session_state.get("hidden"):
            st.caption(f"Hidden by the lesson link: {', '.join(sorted(st.session_state.hidden))}.")
            st.button("Show all controls", key="lesson.show_all", on_click=show_all_controls)


def verdict_caption(says: str, checked: dict | None) -> str:
    """What the lesson claims and its last checked verdict (or that it has not been checked)."""
    if not checked:
        return f"Claim: {says} Not checked yet (`kdw lessons check`)."
    where = "on this server" if checked.get("where") == "here" else "before release"
    return (
        f"Claim: {says} Last check ({checked['seeds']} seeds, {checked['checked']}, {where}): **{checked['verdict']}**."
    )


def hide_controls() -> None:
    """Hide the widgets of the session's hidden controls (a style sheet; their values stay in the setup)."""
    hidden = st.session_state.get("hidden") or frozenset()
    if not hidden:
        return
    from workbench.methods import list_methods  # imports torch: only a link hiding controls needs the method names

    css = hidden_css(hidden_widget_keys(hidden, [method.name for method in list_methods()], shared.widget_key("")))
    if css:
        st.html(css)
