"""What every page shares: the settings, the executor and run store, the setup held in the session
(restored from the URL on a session's first run), and binding widgets to that setup. The executor (and so torch)
is imported when a page first needs it, not with this module: the first page draws its widgets before."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from workbench.app_state import Settings, Setup, clip_echoes, setup_from_query
from workbench.classroom import ServerLimits, is_admin_token, new_owner_id, owner_cookie_script, owner_from_cookies
from workbench.config import FIELD_BY_NAME
from workbench.errors import WorkbenchError
from workbench.store import RunRecord, RunStore
from workbench.text import escape_markdown

if TYPE_CHECKING:
    from workbench.executor import Executor

STATUS_ICONS = {
    "queued": ":material/schedule:",
    "running": ":material/play_circle:",
    "done": ":material/check_circle:",
    "failed": ":material/error:",
    "diverged": ":material/warning:",
    "collapsed": ":material/warning:",
    "cancelled": ":material/cancel:",
    "interrupted": ":material/pause_circle:",
}


def settings() -> Settings:
    """This session's settings (from the environment and the address the server listens on)."""
    if "settings" not in st.session_state:
        st.session_state.settings, st.session_state.settings_notices = Settings.from_env(
            st.get_option("server.address")
        )
    return st.session_state.settings


@st.cache_resource(show_spinner=False)
def _executor(runs_dir: str, inline: bool, _max_workers: int, limits: ServerLimits, uploads_dir: str) -> Executor:
    """One executor (and, once started, dispatcher thread) per runs folder in this server process, made with the
    environment's concurrency and the server's limits (time budget, queue cap per owner); uploads past their
    days are removed as it starts."""
    from workbench.executor import Executor
    from workbench.uploads import expire_uploads

    executor = Executor(
        runs_dir,
        max_workers=_max_workers,
        inline=inline,
        time_limit_s=limits.run_time_limit_s,
        max_queued_per_owner=limits.max_queued_per_owner,
    )
    if limits.upload_ttl_days:
        expire_uploads(Path(uploads_dir), limits.upload_ttl_days, executor.store)
    return executor  # its worker pool starts after the first page is drawn (pages/app.py), or at the first submit


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Once per server process, in a background thread: what a first Start would otherwise wait for. Pricing a model
    on the meta device (the memory check of every submitted run) first imports torch's reference operators, about
    2.5 s of a loaded 2-core machine."""

    def work() -> None:
        from workbench.config import RunConfig
        from workbench.models.estimate import check_config_memory

        try:
            check_config_memory(RunConfig())
        except WorkbenchError:
            pass  # a budget refusing the default setup says so at Start

    thread = threading.Thread(target=work, name="kdw-warm-up", daemon=True)
    thread.start()
    return thread


def executor() -> Executor:
    """The executor for the configured runs folder. Its concurrency limit is the server's, one value for every
    session: only the sidebar's setting changes it (`change_max_workers`), never a session's page run."""
    current = settings()
    return _executor(
        str(current.runs_dir), current.inline, current.max_workers, current.limits, str(current.uploads_dir)
    )


def max_workers() -> int:
    """Runs training at once on this server: the executor's live value, one for every session. Before any session
    made the executor (its module, and torch, not imported yet: a fresh server's first page), the settings' value,
    the one it will be made with."""
    if "workbench.executor" not in sys.modules:
        return settings().max_workers
    return executor().max_workers


def upload_limit_mb() -> float:
    """The largest teacher upload accepted: the app's limit, within Streamlit's own (server.maxUploadSize, which
    run.sh sets from $KDW_UPLOAD_LIMIT_MB)."""
    return min(settings().upload_limit_mb, float(st.get_option("server.maxUploadSize")))


def change_max_workers() -> None:
    """Sidebar callback: set the server's concurrency to the value this browser typed (running jobs go on)."""
    executor().set_max_workers(int(st.session_state[widget_key("settings.max_workers")]))


def store() -> RunStore:
    """The run store the pages read."""
    return executor().store


def owner() -> str:
    """This browser's owner id, recorded on the runs it starts: the one its cookie holds, so a reload or another
    tab of the same browser is the same owner; a browser without one gets a new id (see `remember_owner`)."""
    if "owner" not in st.session_state:
        known = owner_from_cookies(st.context.cookies)
        st.session_state.owner = known or new_owner_id()
        st.session_state.owner_unsaved = known is None
    return st.session_state.owner


def is_admin() -> bool:
    """Whether this session gave the server's admin token (KDW_ADMIN_TOKEN) in the sidebar: it may cancel any run."""
    return is_admin_token(str(st.session_state.get("admin.token", "")), settings().limits.admin_token)


def remember_owner() -> None:
    """Store a newly made owner id in the browser's cookie (once per session; drawn as an invisible element)."""
    owner()
    if st.session_state.pop("owner_unsaved", False):
        with st.sidebar:
            st.html(owner_cookie_script(owner()), unsafe_allow_javascript=True)


def setup() -> Setup:
    """The setup being built; on a session's first run it is read from the URL, with notices for what was
    ignored."""
    if "setup" not in st.session_state:
        params = {key: st.query_params[key] for key in st.query_params}
        st.session_state.setup, st.session_state.url_notices = setup_from_query(params, settings().uploads_dir)
    return st.session_state.setup


def show_notices() -> None:
    """Show (once) what the URL or the environment held that was ignored; the values they echo are cut short
    and shown as plain text."""
    params = {key: st.query_params[key] for key in st.query_params}
    for notice in clip_echoes(st.session_state.pop("url_notices", []), params):
        st.warning(f"Link: {escape_markdown(notice)}", icon=":material/warning:")
    environment = {key: value for key, value in os.environ.items() if key.startswith("KDW_")}
    for notice in clip_echoes(st.session_state.pop("settings_notices", []), environment):
        st.warning(f"Settings: {escape_markdown(notice)}", icon=":material/warning:")


def sync_url() -> None:
    """Write the setup into the URL's query parameters (only when it changed)."""
    from _lessons import link_params  # a lesson link's lesson and hidden controls stay in the URL

    wanted = {**setup().query_params(), **link_params()}
    current = {key: st.query_params[key] for key in st.query_params}
    if current != wanted:
        st.query_params.from_dict(wanted)


def widget_key(name: str) -> str:
    """The session-state key of the widget bound to setup item `name`."""
    return f"w.{name}"


def bound_value(name: str, value: Any) -> Any:
    """The current value of the widget for `name`: the widget's own state, or `value` (the setup's) when
    the widget has none yet (first visit, or Streamlit dropped it while another page was shown)."""
    key = widget_key(name)
    if key not in st.session_state:
        st.session_state[key] = value
    return st.session_state[key]


def config_int(name: str, label: str, value: int, step: int = 1) -> int:
    """A number input bound to an integer field of the setup's config, its range and help read from the field's
    declaration; returns the value shown."""
    spec = FIELD_BY_NAME[name]
    bound_value(name, value)
    return int(
        st.number_input(
            label,
            min_value=int(spec.low),
            max_value=int(spec.high),
            step=step,
            key=widget_key(name),
            help=field_help(name),
        )
    )


def set_bound(name: str, value: Any) -> None:
    """Change a bound widget's value from a callback (before the widgets are drawn)."""
    st.session_state[widget_key(name)] = value


def field_help(name: str) -> str:
    """The help sentence of a config field, with what it allows."""
    spec = FIELD_BY_NAME[name]
    return f"{spec.help} ({spec.allowed()})" if spec.choices is None else spec.help


def config_select(name: str, label: str, options: list[Any], **kwargs: Any) -> Any:
    """A selectbox bound to config field `name`; a value outside `options` is added so nothing breaks."""
    config = setup().config
    current = bound_value(name, getattr(config, name))
    choices = options if current in options else [*options, current]
    value = st.selectbox(label, choices, key=widget_key(name), help=field_help(name), **kwargs)
    setattr(config, name, value)
    return value


def run_label(record: RunRecord) -> str:
    """A short label for a run: its name and the end of its id."""
    return f"{record.name} [{record.id[-6:]}]"


def status_text(record: RunRecord) -> str:
    """The run's status with an icon, and its message when it has one (escaped: shown through markdown)."""
    text = f"{STATUS_ICONS.get(record.status, '')} {record.status}"
    return f"{text}: {escape_markdown(record.message)}" if record.message else text
