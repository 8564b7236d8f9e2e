"""Sweep page: a grid over chosen fields × seeds around the current setup, its cost estimate against a time
budget, start (through the server's shared queue), and the interaction views of a sweep read from the store.

The grid's inputs (fields, their values, seeds) are the setup's `sweep`, so the URL keeps them and a reload or a
link restores them. While the shown sweep has unfinished runs its progress and views are a fragment redrawn
every few seconds; the redraw that finds every run finished reruns the page, which then stops refreshing."""

from __future__ import annotations

import streamlit as st

import _shared as shared
from workbench.classroom import GALLERY_OWNERS
from workbench.config import FIELD_BY_NAME
from workbench.errors import WorkbenchError
from workbench.interactions import (
    axis_values,
    cell_stats,
    default_heatmap_axes,
    learning_curves,
    noise_pairs,
    sweep_frame,
)
from workbench.store import FINISHED
from workbench.sweep import (
    SWEEPABLE,
    estimate_cost,
    expand,
    list_sweeps,
    parse_axis_values,
    spec_from_config,
    submit_sweep,
)
from workbench.sweep.inputs import PAGE_MAX_SEEDS, is_choice_field
from workbench.text import escape_markdown
from workbench.viz import interaction_heatmap_figure, parallel_figure, slice_figure, sweep_curves_figure

CLASS_PERIOD_MINUTES = 45.0
REFRESH_SECONDS = 2.0  # how often the views of a sweep still training are redrawn

setup = shared.setup()
config = setup.config
inputs = setup.sweep


def grid_inputs() -> dict[str, str]:
    """The fields to sweep and each one's values (typed, or picked for fields with choices), bound to the setup's
    sweep inputs; the values' text per field."""
    shared.bound_value("sweep.fields", list(inputs.fields))
    inputs.fields = list(st.multiselect("Fields to sweep", SWEEPABLE, key=shared.widget_key("sweep.fields")))
    grid_text: dict[str, str] = {}
    for column, field in zip(st.columns(max(1, len(inputs.fields))), inputs.fields):
        spec, name = FIELD_BY_NAME[field], f"sweep.values.{field}"
        if is_choice_field(field):
            picked = shared.bound_value(name, inputs.picked(field, config))
            options = [*spec.choice_list(), *(value for value in picked if value not in spec.choice_list())]
            text = ",".join(column.multiselect(field, options, key=shared.widget_key(name), help=spec.help))
        else:
            shared.bound_value(name, inputs.value_text(field, config))
            text = column.text_input(
                f"{field} values", key=shared.widget_key(name), help=f"comma-separated; {spec.help}"
            )
        if text.strip():
            inputs.values[field] = text
        else:  # nothing to keep: a reload offers the default again
            inputs.values.pop(field, None)
        grid_text[field] = text
    return grid_text


def sweep_views(sweep_id: str, live: bool) -> None:
    """A sweep's progress and interaction views, read from the store. `live`: drawn as a fragment refreshed every
    REFRESH_SECONDS because runs were unfinished; once none is, the whole page reruns (and stops refreshing)."""
    store = shared.store()
    records = store.list_runs(group_id=sweep_id)
    finished = sum(r.status in FINISHED for r in records)
    if live and finished == len(records):
        st.rerun()  # the sweep list's counts and this fragment's timer are the whole page's to update
    frame = sweep_frame(records)
    swept = frame.attrs["fields"]
    done = int(frame["test_acc"].notna().sum())
    text = f"{done} of {len(records)} runs done"
    if finished > done:
        text += f" ({finished - done} ended otherwise)"
    st.progress(finished / max(1, len(records)), text=text)
    if live:
        st.caption(f"Training: redrawn every {REFRESH_SECONDS:g} s until the last run ends.")
    if not done or not swept:
        st.caption("The views appear when runs that differ in a swept field have finished.")
        return
    axes = default_heatmap_axes(swept)
    if axes:
        x, y, panel = axes
        x_order, y_order = axis_values(frame, x), axis_values(frame, y)
        stats = cell_stats(frame, x, y, panel)
        st.plotly_chart(
            interaction_heatmap_figure(stats, noise_pairs(stats, x_order, y_order), x, y, panel, x_order, y_order),
            key="sweep.heatmap",
        )
        pooled = [field for field in swept if field not in (x, y, panel)]
        if pooled:
            st.caption(f"Pooled within each cell (not on an axis): {', '.join(pooled)}.")
    st.plotly_chart(slice_figure(frame, swept), key="sweep.slices")
    if len(swept) > 1:
        st.plotly_chart(parallel_figure(frame, swept), key="sweep.parallel")
    curves = learning_curves(store.metrics_frame(list(frame["run_id"]), scope="epoch"), frame)
    st.plotly_chart(sweep_curves_figure(curves, colour_by=swept[0]), key="sweep.curves")


def interactions() -> None:
    """Pick one of this browser's (or the gallery's) sweeps and show its views, live while it trains."""
    st.subheader("Interactions")
    sweeps = list_sweeps(shared.store(), owners=(shared.owner(), *GALLERY_OWNERS))
    if not sweeps:
        st.info("No sweeps yet: start one above, or with `kdw sweep FILE.yaml`.")
        return
    ids = [entry["id"] for entry in sweeps]
    # no counts that change while it trains: the browser keeps showing a picked option's first label
    labels = {entry["id"]: f"{entry['name']} · {entry['runs']} runs [{entry['id']}]" for entry in sweeps}
    if st.session_state.get("sweep.view") not in ids:
        st.session_state["sweep.view"] = ids[0]  # the newest
    chosen = st.selectbox("Sweep", ids, format_func=labels.get, key="sweep.view")
    live = any(r.status not in FINISHED for r in shared.store().list_runs(group_id=chosen))
    st.fragment(sweep_views, run_every=REFRESH_SECONDS if live else None)(chosen, live)


st.subheader("Define the grid")
st.caption(
    f"Around the current setup ({config.method}, teacher {'+'.join(config.teachers)}, student "
    f"{config.student}, {config.dataset}); each point runs once per seed, one CPU thread each. The grid is "
    "kept in the address bar with the rest of the setup."
)
grid_text = grid_inputs()
left, middle, right = st.columns(3)
shared.bound_value("sweep.seeds", inputs.seeds)
inputs.seeds = seeds = int(
    left.number_input("Seeds", min_value=1, max_value=PAGE_MAX_SEEDS, key=shared.widget_key("sweep.seeds"))
)
budget = float(
    middle.number_input(
        "Time budget (minutes)",
        min_value=1.0,
        max_value=600.0,
        value=CLASS_PERIOD_MINUTES,
        key="sweep.budget",
        help="a class period, say",
    )
)
name = right.text_input("Sweep name", "sweep", key="sweep.name")

sweep_spec = None
try:
    grid = {field: parse_axis_values(field, text) for field, text in grid_text.items()}
    sweep_spec = spec_from_config(config, grid, seeds, name=name or "sweep") if grid else None
except WorkbenchError as error:
    st.error(escape_markdown(error), icon=":material/error:")
if sweep_spec is not None:
    points = expand(sweep_spec)
    st.write(f"**{len(points)} runs**: {len(points) // seeds} points × {seeds} seeds.")
    estimate_column, start_column = st.columns(2)
    if estimate_column.button(
        "Estimate the cost",
        key="sweep.estimate",
        help="times a few training steps of each distinct setup, then multiplies out",
    ):
        with st.spinner("Probe runs…"):
            estimate = estimate_cost(points, concurrency=shared.executor().max_workers, budget_minutes=budget)
        st.session_state["sweep.estimate_text"] = (estimate.summary(), estimate.warning())
    summary, warning = st.session_state.get("sweep.estimate_text", (None, None))
    if summary:
        st.caption(f"Estimate: {summary}")
    if warning:
        st.warning(warning, icon=":material/schedule:")
    if start_column.button("Start the sweep", key="sweep.start", type="primary"):
        sweep_id, run_ids = submit_sweep(sweep_spec, shared.executor(), owner=shared.owner())
        st.session_state["sweep.view"] = sweep_id  # show the new sweep below
        st.success(
            f"Queued {len(run_ids)} runs as {escape_markdown(sweep_id)}; the server trains "
            f"{shared.executor().max_workers} at a time."
        )

interactions()
