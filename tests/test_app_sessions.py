"""Many browsers on one server: who a browser is (its cookie), which runs its pages list, and that only the
browser that started a run can cancel it (AppTest for the pages; the browser test covers the cookie)."""

import io

import pytest
import torch
from conftest import tiny_config
from streamlit.testing.v1 import AppTest
from test_app import APP, packaged_state_dict, store, upload

from workbench.app_state import Settings
from workbench.classroom import (
    OWNER_COOKIE,
    can_cancel,
    is_admin_token,
    new_owner_id,
    owner_cookie_script,
    owner_from_cookies,
    queue_positions,
)

ME, OTHER = "a" * 16, "b" * 16


@pytest.fixture(autouse=True)
def inline_executor(monkeypatch):
    """Runs started from a page train in the test's process, before the click returns."""
    monkeypatch.setenv("KDW_EXECUTOR", "inline")


def open_as(owner, page, query=None):
    """A session of the browser `owner` on `page`, opened from a link with `query`."""
    app = AppTest.from_file(APP, default_timeout=120)
    app.session_state["owner"] = owner
    for key, value in (query or {}).items():
        app.query_params[key] = value
    app.switch_page(f"{page}.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def running_run(owner, name):
    """A run in the store that looks as if a worker were training it."""
    return store().create_run(
        tiny_config(name=name).to_dict(), name=name, status="running", owner=owner, group_id=f"group-{owner or 'cli'}"
    )


def test_owner_ids_are_read_only_from_a_well_formed_cookie():
    fresh = new_owner_id()
    assert owner_from_cookies({OWNER_COOKIE: fresh}) == fresh and fresh != new_owner_id()
    assert owner_from_cookies({}) is None
    assert owner_from_cookies({OWNER_COOKIE: "'; drop table runs"}) is None
    script = owner_cookie_script(fresh)
    assert f"{OWNER_COOKIE}={fresh}" in script and "max-age=" in script and "path=/" in script
    with pytest.raises(ValueError):
        owner_cookie_script('x"; alert(1)')


def test_train_page_lists_own_and_gallery_runs_and_offers_cancel_only_for_own():
    mine, theirs, gallery = running_run(ME, "my run"), running_run(OTHER, "their run"), running_run("", "cli run")
    app = open_as(ME, "train")
    listed = " ".join(markdown.value for markdown in app.markdown)
    assert "my run" in listed and "cli run" in listed and "shared gallery" in listed
    assert "their run" not in listed
    buttons = {button.key for button in app.button}
    assert f"cancel_{mine}" in buttons
    assert f"cancel_{theirs}" not in buttons and f"cancel_{gallery}" not in buttons
    app.button(key=f"cancel_{mine}").click().run()
    assert store().cancel_requested(mine)
    assert not store().cancel_requested(theirs) and not store().cancel_requested(gallery)


def test_compare_page_lists_other_browsers_runs_only_on_request():
    mine, theirs = running_run(ME, "my run"), running_run(OTHER, "their run")
    app = open_as(ME, "compare")
    assert any(mine[-6:] in option for option in app.multiselect[0].options)
    assert not any(theirs[-6:] in option for option in app.multiselect[0].options)
    app.toggle(key="compare.everyone").set_value(True).run()
    assert any(theirs[-6:] in option for option in app.multiselect[0].options)


def test_queued_runs_are_told_how_many_runs_are_ahead():
    first = store().create_run(tiny_config().to_dict(), owner=OTHER)
    second = store().create_run(tiny_config().to_dict(), owner=ME)
    running = running_run(ME, "busy")
    assert queue_positions([store().get_run(i) for i in (second, running, first)]) == {first: 0, second: 1}


def test_sweep_page_lists_this_browsers_and_the_gallerys_sweeps_only():
    for owner, sweep in ((ME, "sweep-mine"), (OTHER, "sweep-theirs"), ("", "sweep-cli")):
        store().create_run(tiny_config().to_dict(), status="running", owner=owner, group_id=sweep)
    app = open_as(ME, "sweep")
    listed = " ".join(app.selectbox(key="sweep.view").options)
    assert "sweep-mine" in listed and "sweep-cli" in listed and "sweep-theirs" not in listed


def test_compare_links_picked_sweep_runs_to_their_interaction_views():
    run_id = store().create_run(tiny_config().to_dict(), status="running", owner=ME, group_id="sweep-abc")
    app = AppTest.from_file(APP, default_timeout=120)
    app.session_state["owner"] = ME
    app.query_params["compare"] = run_id
    app.switch_page("compare.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    links = [element.proto.label for element in app.get("page_link")]
    assert any("sweep-abc" in label for label in links)


def test_a_classroom_server_shows_its_limits_but_no_browser_can_change_them(monkeypatch):
    monkeypatch.setenv("KDW_CLASSROOM", "1")
    monkeypatch.setenv("KDW_MAX_WORKERS", "2")
    app = open_as(ME, "train")
    assert not [field for field in app.number_input if field.key == "w.settings.max_workers"]
    assert any("trains 2 run(s) at once" in caption.value for caption in app.sidebar.caption)
    monkeypatch.setenv("KDW_CLASSROOM", "yes")
    settings, notices = Settings.from_env()
    assert not settings.classroom and "KDW_CLASSROOM" in notices[0]


def test_outside_a_classroom_the_sidebar_changes_the_concurrency():
    app = open_as(ME, "train")
    assert [field for field in app.number_input if field.key == "w.settings.max_workers"]


def test_the_concurrency_is_one_server_wide_value_that_two_browsers_never_flip(monkeypatch):
    monkeypatch.setenv("KDW_MAX_WORKERS", "2")
    mine, theirs = open_as(ME, "train"), open_as(OTHER, "train")
    field = "w.settings.max_workers"
    assert mine.number_input(key=field).value == theirs.number_input(key=field).value == 2
    mine.number_input(key=field).set_value(3).run()
    theirs.run()  # the other browser's next rerun shows the server's new value and does not set its old one back
    assert theirs.number_input(key=field).value == 3
    mine.run()
    assert mine.number_input(key=field).value == 3
    assert open_as("c" * 16, "train").number_input(key=field).value == 3
    theirs.number_input(key=field).set_value(1).run()
    mine.run()
    assert mine.number_input(key=field).value == theirs.number_input(key=field).value == 1


@pytest.mark.parametrize(
    "address, classroom_env, classroom",
    [
        ("0.0.0.0", None, True),
        ("192.168.1.20", None, True),
        ("::", None, True),
        ("0.0.0.0", "0", False),
        ("127.0.0.1", None, False),
        ("localhost", None, False),
        ("", None, False),
        ("127.0.0.1", "1", True),
    ],
)
def test_listening_beyond_this_machine_means_a_classroom_server_unless_told_otherwise(
    monkeypatch, address, classroom_env, classroom
):
    monkeypatch.setenv("KDW_ADDRESS", address)
    if classroom_env is None:
        monkeypatch.delenv("KDW_CLASSROOM", raising=False)
    else:
        monkeypatch.setenv("KDW_CLASSROOM", classroom_env)
    settings, notices = Settings.from_env()
    assert settings.classroom is classroom and notices == []


def test_a_server_listening_on_every_interface_hides_the_concurrency_setting(monkeypatch):
    monkeypatch.setenv("KDW_ADDRESS", "0.0.0.0")
    monkeypatch.setenv("KDW_MAX_WORKERS", "2")
    app = open_as(ME, "train")
    assert not [field for field in app.number_input if field.key == "w.settings.max_workers"]
    assert any("trains 2 run(s) at once" in caption.value for caption in app.sidebar.caption)


def test_a_classroom_server_has_limits_by_default_and_each_is_a_setting(monkeypatch):
    monkeypatch.setenv("KDW_CLASSROOM", "1")
    limits = Settings.from_env()[0].limits
    assert (limits.run_time_limit_s, limits.max_queued_per_owner) == (900, 12)
    assert (limits.upload_quota_count, limits.upload_quota_mb, limits.upload_ttl_days) == (10, 200, 7)
    assert limits.admin_token == ""
    monkeypatch.setenv("KDW_RUN_TIME_LIMIT_S", "60")
    monkeypatch.setenv("KDW_MAX_QUEUED_PER_OWNER", "lots")
    monkeypatch.setenv("KDW_ADMIN_TOKEN", "s3cret-token")
    settings, notices = Settings.from_env()
    assert settings.limits.run_time_limit_s == 60 and settings.limits.max_queued_per_owner == 12
    assert notices == ["KDW_MAX_QUEUED_PER_OWNER: 'lots' is not allowed; allowed: 0 to 100000 (using 12)"]
    assert settings.limits.admin_token == "s3cret-token" and "s3cret" not in repr(settings)
    monkeypatch.setenv("KDW_CLASSROOM", "0")
    monkeypatch.delenv("KDW_RUN_TIME_LIMIT_S")
    monkeypatch.delenv("KDW_MAX_QUEUED_PER_OWNER")
    assert Settings.from_env()[0].limits.describe() == "No limits on run time, queued runs or uploads."


def test_the_admin_token_is_compared_whole_and_never_matches_when_unset():
    assert is_admin_token("s3cret-token", "s3cret-token")
    assert not is_admin_token("s3cret", "s3cret-token") and not is_admin_token("", "")
    assert not is_admin_token("anything", "")
    record = store().get_run(running_run(OTHER, "their run"))
    assert not can_cancel(record, ME) and can_cancel(record, ME, admin=True)


def test_a_browser_with_the_admin_token_cancels_another_browsers_run(monkeypatch):
    theirs = running_run(OTHER, "their run")
    assert not [field for field in open_as(ME, "train").text_input if field.key == "admin.token"]  # no token set
    monkeypatch.setenv("KDW_ADMIN_TOKEN", "s3cret-token")
    app = open_as(ME, "train")
    app.text_input(key="admin.token").set_value("wrong").run()
    assert not [field for field in app.multiselect if field.key == "admin.picked"]
    assert any("not this server's admin token" in caption.value for caption in app.sidebar.caption)
    app.text_input(key="admin.token").set_value("s3cret-token").run()
    app.multiselect(key="admin.picked").set_value([theirs]).run()
    app.button(key="admin.cancel").click().run()
    assert store().cancel_requested(theirs)


def test_a_browser_at_the_queue_cap_is_told_so_when_it_starts_runs(monkeypatch):
    monkeypatch.setenv("KDW_MAX_QUEUED_PER_OWNER", "1")
    running_run(ME, "my run")
    app = open_as(ME, "train")
    app.button(key="start").click().run()
    assert any("KDW\\_MAX\\_QUEUED\\_PER\\_OWNER" in error.value for error in app.error), [e.value for e in app.error]
    assert len([record for record in store().list_runs() if record.owner == ME]) == 1


def test_a_browser_over_its_upload_quota_is_told_so_and_keeps_its_teacher(monkeypatch):
    monkeypatch.setenv("KDW_UPLOAD_QUOTA_COUNT", "1")
    state = torch.load(io.BytesIO(packaged_state_dict("mlp")), weights_only=True)
    state["classifier.bias"] = state["classifier.bias"] + 1e-6
    other = io.BytesIO()
    torch.save(state, other)
    app = upload(open_as(ME, "teacher", {"dataset": "digits"}), packaged_state_dict("mlp"), arch="mlp")
    kept = app.query_params["teacher_checkpoint"]
    upload(app, other.getvalue(), arch="mlp", name="second.pt")
    assert "KDW\\_UPLOAD\\_QUOTA\\_COUNT" in app.error[0].value
    assert app.query_params["teacher_checkpoint"] == kept
    theirs = upload(open_as(OTHER, "teacher", {"dataset": "digits"}), other.getvalue(), arch="mlp")
    assert "fits mlp" in theirs.success[0].value  # another browser has room
