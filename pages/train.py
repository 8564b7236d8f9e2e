"""Train page: start runs (each picked method × seed, plus a baseline), queue and cancel them, and watch
their curves live. Everything shown is read from the run store, so leaving or reloading re-attaches."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import streamlit as st

import _shared as shared
from workbench.classroom import can_cancel, queue_positions, session_view
from workbench.data import dataset_info
from workbench.describe import setup_summary
from workbench.errors import WorkbenchError
from workbench.store import FINISHED, RunRecord
from workbench.sweep.grid_runs import grid_caption
from workbench.text import escape_markdown
from workbench.viz import (
    accuracy_figure,
    agreement_kl_figure,
    class_histogram_figure,
    enlarged_png,
    generator_terms_figure,
    loss_terms_figure,
)

SAMPLE_KINDS = {"samples_generated": "generated images", "samples_replayed": "replayed from the memory VAE"}

setup = shared.setup()
config = setup.config


def start_runs() -> None:
    """Queue every run of the setup as one group and watch that group."""
    group = uuid.uuid4().hex[:8]
    st.session_state["train.group"] = group
    try:
        shared.executor().submit_many(setup.run_configs(), owner=shared.owner(), group_id=group)
    except WorkbenchError as error:
        st.session_state["train.error"] = str(error)


def cancel_runs(run_ids: list[str]) -> None:
    """Cancel these runs of this session (the executor refuses another session's, with a message)."""
    for run_id in run_ids:
        try:
            shared.executor().cancel(run_id, owner=shared.owner())
        except WorkbenchError as error:
            st.session_state["train.cancel_error"] = str(error)


def progress_text(record: RunRecord, done: int, total: int, seconds_left: float | None, ahead: int = 0) -> str:
    """What a run's progress bar says."""
    if record.status == "queued":
        return "waiting for a free worker" + (f" ({ahead} run(s) ahead in the queue)" if ahead else "")
    if record.status == "running" and not total:
        return "setting up (data, teacher logits)"
    text = f"step {done} of {total or '?'}"
    return text + (
        f" · about {seconds_left:.0f} s left" if seconds_left is not None and record.status == "running" else ""
    )


@st.cache_data(show_spinner=False, max_entries=64)
def sample_grid_png(path: str, modified: float) -> bytes:
    """A saved sample grid, enlarged for display; re-read only when the file changed (`modified`: its mtime),
    so the live panel's refresh every second does not decode and resize the same image again."""
    return enlarged_png(path)


def sample_grids(records: list[RunRecord]) -> None:
    """The newest grid of generated (and replayed) images of each run that makes its own training images."""
    grids = [
        (record, name, path)
        for record in records
        for name, path in sorted(record.artifacts.items())
        if name.startswith("samples_") and Path(path).exists()
    ]
    if not grids:
        return
    st.subheader("Current training images")
    st.caption(
        "The images the student is trained on now, as the generator (and, for PRE-DFKD, the memory VAE) "
        "makes them; updated at the end of every epoch."
    )
    for column, (record, name, path) in zip(st.columns(min(len(grids), 3)) * len(grids), grids):
        column.image(
            sample_grid_png(path, Path(path).stat().st_mtime),
            caption=f"{record.name}: {SAMPLE_KINDS.get(name, name)}",
            width="stretch",
        )


@st.fragment(run_every=1.0)
def live_panel() -> None:
    """This session's watched runs (its newest group, and whatever of its own or the gallery's is still queued or
    running): status, progress, cancel (own runs only), and their loss terms, accuracy, agreement and KL and
    sample grids, re-read from the store every second."""
    runner = shared.executor()
    me = shared.owner()
    recent = shared.store().recent_runs(limit=200)
    view = session_view(recent, me)
    group = st.session_state.get("train.group") or next((r.group_id for r in view.own if r.group_id), None)
    watched = [r for r in view.own if group is not None and r.group_id == group]
    active = [r for r in view.own + view.gallery if r.status not in FINISHED and r not in watched]
    rows = sorted(watched + active, key=lambda r: r.created)
    if not rows:
        busy = sum(r.status not in FINISHED for r in recent)
        st.info(
            "No runs yet: press Start."
            + (
                f" The server is busy with {busy} run(s) of other browsers; yours will wait for a free worker."
                if busy
                else ""
            )
        )
        return
    if "train.cancel_error" in st.session_state:
        st.error(escape_markdown(st.session_state.pop("train.cancel_error")))
    progress = runner.progress([r.id for r in rows])
    ahead = queue_positions(recent)
    cancellable = [r.id for r in rows if r.status not in FINISHED and can_cancel(r, me)]
    for record in rows:
        name, bar, action = st.columns([3, 4, 1.5], vertical_alignment="center")
        gallery = "" if record.owner == me else " · shared gallery"
        name.markdown(f"**{escape_markdown(record.name)}**{gallery} · {shared.status_text(record)}")
        step = progress[record.id]
        elapsed = time.time() - record.started if record.started else 0.0
        bar.progress(
            step.fraction,
            text=progress_text(record, step.done, step.total, step.seconds_left(elapsed), ahead.get(record.id, 0)),
        )
        if record.id in cancellable:
            action.button("Cancel", key=f"cancel_{record.id}", on_click=cancel_runs, args=([record.id],))
    if len(cancellable) > 1:
        st.button("Cancel all mine", key="cancel_all", on_click=cancel_runs, args=(cancellable,))
    st.caption(
        "Listed: your runs and the shared gallery (runs started from the command line or a notebook); "
        "other browsers' runs are not shown. Only the browser that started a run can cancel it."
    )
    charted = sorted(watched or active, key=lambda r: r.created)
    labels = {r.id: r.name for r in charted}
    metrics = shared.store().metrics_frame(list(labels))
    st.plotly_chart(loss_terms_figure(metrics, labels), key="live_loss")
    st.plotly_chart(accuracy_figure(metrics, labels), key="live_accuracy")  # full width: readable on a projector
    st.plotly_chart(agreement_kl_figure(metrics, labels), key="live_agreement")
    sample_grids(charted)
    names = set(metrics["name"]) if len(metrics) else set()
    if any(name.startswith("teacher_class_share_") for name in names):  # a data-free run has finished an epoch
        classes = dataset_info(str(charted[0].config.get("dataset"))).class_names
        st.plotly_chart(class_histogram_figure(metrics, labels, classes), key="live_classes")
    if "g_onehot" in names:
        st.plotly_chart(generator_terms_figure(metrics, labels), key="live_generator")


st.markdown(setup_summary(config, setup.seeds))  # names escaped there
availability = setup.availability()
for name in setup.methods:
    if availability.get(name):
        st.warning(f"{name} is left out: {availability[name]} (see the Method page).")

shared.bound_value("baseline", setup.baseline)
setup.baseline = st.toggle("Train a baseline student beside (no teacher)", key=shared.widget_key("baseline"))
try:
    planned = setup.run_configs()
except WorkbenchError as error:
    planned = []
    st.error(escape_markdown(error))
st.caption(
    f"Start queues {len(planned)} run(s): " + escape_markdown(", ".join(c.name for c in planned))
    if planned
    else "Nothing to run: pick a method on the Method page or switch the baseline on."
)
if len(planned) > 1 and shared.executor().grids and not shared.executor().inline:
    st.caption(grid_caption(planned, shared.executor().max_workers))
st.button("Start", type="primary", disabled=not planned, on_click=start_runs, key="start")
if "train.error" in st.session_state:
    st.error(escape_markdown(st.session_state.pop("train.error")))
st.caption("The address bar holds this whole setup: share it to restore the setup elsewhere.")
live_panel()
