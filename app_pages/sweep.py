"""Sweep page: a grid over chosen fields × seeds around the current setup, its cost estimate against a time
budget, start (through the server's shared queue), and the interaction views of a sweep read from the store."""
from __future__ import annotations

import streamlit as st

from app_pages import _shared as shared
from workbench.classroom import GALLERY_OWNERS
from workbench.config import FIELD_BY_NAME
from workbench.errors import WorkbenchError
from workbench.store import FINISHED
from workbench.interactions import (axis_values, cell_stats, default_heatmap_axes, learning_curves, noise_pairs,
                                    sweep_frame)
from workbench.sweep import estimate_cost, expand, list_sweeps, parse_axis_values, spec_from_config, submit_sweep
from workbench.viz import interaction_heatmap_figure, parallel_figure, slice_figure, sweep_curves_figure

SWEEPABLE = ("temperature", "alpha", "w_bits", "a_bits", "method", "student", "lr", "epochs", "alpha_schedule",
             "temperature_schedule")
DEFAULT_VALUES = {"temperature": "1, 4, 8", "alpha": "0.5, 0.9", "lr": "0.01, 0.05", "epochs": "5, 10"}
CLASS_PERIOD_MINUTES = 45.0

setup = shared.setup()
config = setup.config

st.subheader("Define the grid")
st.caption(f"Around the current setup ({config.method}, teacher {'+'.join(config.teachers)}, student "
           f"{config.student}, {config.dataset}); each point runs once per seed, one CPU thread each.")
fields = st.multiselect("Fields to sweep", SWEEPABLE, default=["temperature", "alpha"], key="sweep.fields")
grid_text: dict[str, str] = {}
columns = st.columns(max(1, len(fields)))
for column, field in zip(columns, fields):
    spec = FIELD_BY_NAME[field]
    if spec.choices is not None:
        current = str(getattr(config, field))
        picked = column.multiselect(field, spec.choice_list(), default=[current], key=f"sweep.values.{field}",
                                    help=spec.help)
        grid_text[field] = ",".join(picked)
    else:
        grid_text[field] = column.text_input(f"{field} values", DEFAULT_VALUES.get(field, str(getattr(config, field))),
                                             key=f"sweep.values.{field}", help=f"comma-separated; {spec.help}")
left, middle, right = st.columns(3)
seeds = int(left.number_input("Seeds", min_value=1, max_value=10, value=2, key="sweep.seeds"))
budget = float(middle.number_input("Time budget (minutes)", min_value=1.0, max_value=600.0,
                                   value=CLASS_PERIOD_MINUTES, key="sweep.budget", help="a class period, say"))
name = right.text_input("Sweep name", "sweep", key="sweep.name")

sweep_spec = None
try:
    grid = {field: parse_axis_values(field, text) for field, text in grid_text.items()}
    sweep_spec = spec_from_config(config, grid, seeds, name=name or "sweep") if grid else None
except WorkbenchError as error:
    st.error(str(error), icon=":material/error:")
if sweep_spec is not None:
    points = expand(sweep_spec)
    st.write(f"**{len(points)} runs**: {len(points) // seeds} points × {seeds} seeds.")
    estimate_column, start_column = st.columns(2)
    if estimate_column.button("Estimate the cost", key="sweep.estimate",
                              help="times a few training steps of each distinct setup, then multiplies out"):
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
        st.session_state["sweep.shown"] = sweep_id
        st.success(f"Queued {len(run_ids)} runs as {sweep_id}; the server trains "
                   f"{shared.executor().max_workers} at a time.")

st.subheader("Interactions")
store = shared.store()
sweeps = list_sweeps(store, owners=(shared.owner(), *GALLERY_OWNERS))  # this browser's and the gallery's
if not sweeps:
    st.info("No sweeps yet: start one above, or with `kdw sweep FILE.yaml`.")
    st.stop()
ids = [entry["id"] for entry in sweeps]
labels = {entry["id"]: f"{entry['name']} · {entry['finished']}/{entry['runs']} finished [{entry['id']}]"
          for entry in sweeps}
shown = st.session_state.get("sweep.shown")
chosen = st.selectbox("Sweep", ids, index=ids.index(shown) if shown in ids else 0, format_func=labels.get,
                      key="sweep.view")
records = store.list_runs(group_id=chosen)
frame = sweep_frame(records)
swept = frame.attrs["fields"]
done = int(frame["test_acc"].notna().sum())
st.progress(sum(r.status in FINISHED for r in records) / max(1, len(records)),
            text=f"{done} of {len(records)} runs done")
if not done or not swept:
    st.caption("The views appear when runs that differ in a swept field have finished.")
    st.stop()
axes = default_heatmap_axes(swept)
if axes:
    x, y, panel = axes
    x_order, y_order = axis_values(frame, x), axis_values(frame, y)
    stats = cell_stats(frame, x, y, panel)
    st.plotly_chart(interaction_heatmap_figure(stats, noise_pairs(stats, x_order, y_order), x, y, panel,
                                               x_order, y_order), key="sweep.heatmap")
    pooled = [field for field in swept if field not in (x, y, panel)]
    if pooled:
        st.caption(f"Pooled within each cell (not on an axis): {', '.join(pooled)}.")
st.plotly_chart(slice_figure(frame, swept), key="sweep.slices")
if len(swept) > 1:
    st.plotly_chart(parallel_figure(frame, swept), key="sweep.parallel")
curves = learning_curves(store.metrics_frame(list(frame["run_id"]), scope="epoch"), frame)
st.plotly_chart(sweep_curves_figure(curves, colour_by=swept[0]), key="sweep.curves")
