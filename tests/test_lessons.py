"""Classroom lessons (presets shipped in the package), lesson links that hide controls, and the shared server:
what a session sees and that it cannot cancel another session's run."""

from urllib.parse import parse_qsl, urlparse

import pytest
from conftest import tiny_config

from workbench.app_state import setup_from_query
from workbench.classroom import can_cancel, session_view
from workbench.cli import build_parser, config_from_args, main
from workbench.errors import WorkbenchError
from workbench.executor import Executor, JobTable
from workbench.lessons import (
    HIDEABLE,
    get_lesson,
    hidden_css,
    hidden_widget_keys,
    lesson_link,
    lesson_query,
    list_lessons,
    read_link,
    setup_link_query,
)
from workbench.methods import get_method
from workbench.store import RunStore


def test_every_shipped_lesson_validates_and_can_run():
    lessons = list_lessons()
    assert {
        "temperature-too-low",
        "temperature-too-high",
        "alpha-one-soft-targets-only",
        "ternary-student-without-teacher",
    } <= {lesson.name for lesson in lessons}
    for lesson in lessons:
        config = lesson.run_config()
        assert lesson.version >= 1 and lesson.title and lesson.commentary.endswith(".")
        assert set(lesson.hide) <= set(HIDEABLE)
        assert (
            get_method(config.method).unavailable_reason(
                teacher_count=len(config.teachers),
                dataset=config.dataset,
                student=config.student,
                w_bits=config.w_bits,
                a_bits=config.a_bits,
            )
            is None
        ), lesson.name
    low, high = get_lesson("temperature-too-low").run_config(), get_lesson("temperature-too-high").run_config()
    assert low.temperature < high.temperature
    assert get_lesson("alpha-one-soft-targets-only").run_config().alpha == 1.0


def test_unknown_or_broken_lessons_are_named(tmp_path):
    with pytest.raises(WorkbenchError, match="no lesson called 'nope'; lessons: alpha-one"):
        get_lesson("nope")
    claim = "claim: {says: s, arms: {a: {}, b: {method: baseline}}, expect: [{better: a, worse: b}]}\n"
    (tmp_path / "bad.yaml").write_text("version: 1\ntitle: x\ncommentary: y\nconfig: {temperature: -1}\n" + claim)
    with pytest.raises(WorkbenchError, match="lesson bad: arm 'a': temperature: -1 is out of range"):
        get_lesson("bad", folder=tmp_path)
    (tmp_path / "bad.yaml").write_text("version: 1\ntitle: x\ncommentary: y\nconfig: {}\n")
    with pytest.raises(WorkbenchError, match="lesson bad: a lesson file holds .*claim"):
        get_lesson("bad", folder=tmp_path)
    (tmp_path / "bad.yaml").write_text("version: 1\ntitle: x\ncommentary: y\nhide: [colour]\nconfig: {}\n" + claim)
    with pytest.raises(WorkbenchError, match="hide: 'colour' is not a control"):
        list_lessons(tmp_path)


def test_train_lesson_flag_starts_from_the_lesson_and_flags_override_it():
    parser = build_parser()
    config = config_from_args(parser.parse_args(["train", "--lesson", "temperature-too-high", "--epochs", "2"]))
    assert (config.temperature, config.epochs, config.name) == (20.0, 2, "lesson: temperature too high")


def test_cli_lists_and_shows_lessons(capsys):
    assert main(["lessons", "list"]) == 0
    assert "temperature-too-low (v2)  Temperature too low  [" in capsys.readouterr().out
    assert main(["lessons", "show", "temperature-too-low"]) == 0
    out = capsys.readouterr().out
    assert "kdw train --lesson temperature-too-low" in out and "hide=alpha%2Calpha_schedule" in out
    assert "claim:" in out and "expects (T 4) > (T 1) on test_acc" in out
    assert main(["lessons", "show", "nope"]) == 2


def test_lesson_link_restores_the_setup_and_hides_what_it_says():
    lesson = get_lesson("temperature-too-low")
    query = dict(parse_qsl(urlparse(lesson_link(lesson, hide=["temperature", "alpha"])).query))
    link = read_link(query)
    assert link.lesson == lesson and link.hidden == {"temperature", "alpha"} and not link.notices
    assert link.is_hidden("alpha") and not link.is_hidden("epochs")
    setup, notices = setup_from_query(link.params)
    assert not notices and setup.config.temperature == 1.0 and setup.config.epochs == 10


def test_link_without_hide_uses_the_lessons_own_list_and_url_fields_override_the_lesson():
    link = read_link({"lesson": "alpha-one-soft-targets-only", "alpha": "0.5"})
    assert link.hidden == set(get_lesson("alpha-one-soft-targets-only").hide)
    setup, _ = setup_from_query(link.params)
    assert setup.config.alpha == 0.5 and setup.config.temperature == 4.0
    assert read_link({**lesson_query(get_lesson("good-starting-point")), "hide": ""}).hidden == frozenset()


def test_hidden_controls_become_a_style_sheet_for_their_widgets():
    keys = hidden_widget_keys(frozenset({"temperature", "methods"}), ["kd", "tfkd"])
    assert keys == ["w.kd", "w.tfkd", "w.temperature"]
    css = hidden_css(keys)
    assert ".st-key-w-temperature { display: none !important; }" in css and ".st-key-w-kd " in css
    assert ".st-key-w-alpha" not in css and hidden_css([]) == ""


def test_bad_lesson_or_control_in_a_link_is_ignored_with_a_notice():
    link = read_link({"lesson": "nope", "hide": "temperature,colour", "epochs": "3"})
    assert link.lesson is None and link.hidden == {"temperature"} and link.params == {"epochs": "3"}
    assert len(link.notices) == 2 and "no lesson called 'nope'" in link.notices[0] and "'colour'" in link.notices[1]


def test_any_setup_can_be_linked_with_hidden_controls():
    query = setup_link_query(tiny_config(temperature=6.0), ["alpha", "methods"])
    assert query["temperature"] == "6.0" and read_link(query).hidden == {"alpha", "methods"}
    with pytest.raises(WorkbenchError, match="'colour' is not a control"):
        setup_link_query(tiny_config(), ["colour"])


def test_a_session_cannot_cancel_another_sessions_run(tmp_path):
    executor = Executor(tmp_path / "runs")  # never started: the queued jobs stay queued
    store = executor.store
    jobs = JobTable(store)
    mine = store.create_run(tiny_config().to_dict(), owner="alice")
    jobs.add(mine, "run")
    with pytest.raises(WorkbenchError, match="belongs to another session"):
        executor.cancel(mine, owner="bob")
    assert store.get_run(mine).status == "queued" and not store.cancel_requested(mine)
    assert executor.cancel(mine, owner="alice") == "cancelled"


def test_a_session_sees_its_own_runs_and_the_gallery_not_other_sessions(tmp_path):
    store = RunStore(tmp_path / "runs")
    ids = {owner: store.create_run(tiny_config().to_dict(), owner=owner) for owner in ("alice", "bob", "")}
    view = session_view(store.list_runs(), "alice")
    assert [r.id for r in view.own] == [ids["alice"]] and [r.id for r in view.gallery] == [ids[""]]
    assert can_cancel(store.get_run(ids["alice"]), "alice") and not can_cancel(store.get_run(ids["bob"]), "alice")


def test_an_over_long_or_path_like_lesson_name_is_one_clear_error():
    for name in ("x" * 300, "../secrets", "good-starting-point/../x"):
        with pytest.raises(WorkbenchError, match="no lesson called"):
            get_lesson(name)
    assert "no lesson called" in read_link({"lesson": "y" * 300}).notices[0]
