"""Train page: start runs (each picked method × seed, plus a baseline), queue and cancel them, and watch
their curves live. Everything shown is read from the run store, so leaving or reloading re-attaches."""
from __future__ import annotations

import time
import uuid

import streamlit as st

from app_pages import _shared as shared
from workbench.errors import WorkbenchError
from workbench.store import FINISHED, RunRecord
from workbench.viz import accuracy_figure, agreement_kl_figure, loss_terms_figure

setup = shared.setup()
config = setup.config


def start_runs() -> None:
    """Queue every run of the setup as one group and watch that group."""
    group = uuid.uuid4().hex[:8]
    st.session_state["train.group"] = group
    try:
        for run_config in setup.run_configs():
            shared.executor().submit(run_config, owner=shared.owner(), group_id=group)
    except WorkbenchError as error:
        st.session_state["train.error"] = str(error)


def cancel_all(run_ids: list[str]) -> None:
    """Cancel each of these runs."""
    for run_id in run_ids:
        shared.executor().cancel(run_id)


def progress_text(record: RunRecord, done: int, total: int, seconds_left: float | None) -> str:
    """What a run's progress bar says."""
    if record.status == "queued":
        return "waiting for a free worker"
    if record.status == "running" and not total:
        return "setting up (data, teacher logits)"
    text = f"step {done} of {total or '?'}"
    return text + (f" · about {seconds_left:.0f} s left" if seconds_left is not None and record.status == "running"
                   else "")


@st.fragment(run_every=1.0)
def live_panel() -> None:
    """The watched runs (the newest group, and whatever is still queued or running): status, progress,
    cancel, and their loss terms, accuracy, agreement and KL, re-read from the store every second."""
    runner = shared.executor()
    recent = shared.store().recent_runs(limit=200)
    group = st.session_state.get("train.group") or next((r.group_id for r in recent if r.group_id), None)
    watched = [r for r in recent if group is not None and r.group_id == group]
    active = [r for r in recent if r.status not in FINISHED and r not in watched]
    rows = list(reversed(watched + active))
    if not rows:
        st.info("No runs yet: press Start.")
        return
    progress = runner.progress([r.id for r in rows])
    unfinished = [r.id for r in rows if r.status not in FINISHED]
    for record in rows:
        name, bar, action = st.columns([3, 5, 1], vertical_alignment="center")
        name.markdown(f"**{record.name}** · {shared.status_text(record)}")
        step = progress[record.id]
        elapsed = time.time() - record.started if record.started else 0.0
        bar.progress(step.fraction, text=progress_text(record, step.done, step.total, step.seconds_left(elapsed)))
        if record.id in unfinished:
            action.button("Cancel", key=f"cancel_{record.id}", on_click=runner.cancel, args=(record.id,))
    if len(unfinished) > 1:
        st.button("Cancel all", key="cancel_all", on_click=cancel_all, args=(unfinished,))
    charted = watched or active
    labels = {r.id: r.name for r in reversed(charted)}
    metrics = shared.store().metrics_frame(list(labels))
    st.plotly_chart(loss_terms_figure(metrics, labels), key="live_loss")
    left, right = st.columns(2)
    left.plotly_chart(accuracy_figure(metrics, labels), key="live_accuracy")
    right.plotly_chart(agreement_kl_figure(metrics, labels), key="live_agreement")


teachers = ", ".join(config.teachers) + (" (uploaded)" if config.teacher_checkpoint else "")
st.markdown(f"**{config.dataset}** · teacher **{teachers}** → student **{config.student}** · T = {config.temperature:g}, "
            f"α = {config.alpha:g} · {config.epochs} epoch(s), batch {config.batch_size}, lr {config.lr:g} · "
            f"{setup.seeds} seed(s)" + (f" · {config.train_subset} training images" if config.train_subset else ""))
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
    st.error(str(error))
st.caption(f"Start queues {len(planned)} run(s): " + ", ".join(c.name for c in planned) if planned
           else "Nothing to run: pick a method on the Method page or switch the baseline on.")
st.button("Start", type="primary", disabled=not planned, on_click=start_runs, key="start")
if "train.error" in st.session_state:
    st.error(st.session_state.pop("train.error"))
st.caption("The address bar holds this whole setup: share it to restore the setup elsewhere.")
live_panel()
