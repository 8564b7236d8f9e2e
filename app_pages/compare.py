"""Compare page: pick runs; a table with the differing config fields highlighted, overlaid curves with
mean ± std bands across seeds, and the gain over the baseline."""
from __future__ import annotations

import streamlit as st

from app_pages import _shared as shared
from workbench.errors import WorkbenchError
from workbench.quant.report import weight_histograms
from workbench.trained_students import load_trained_student
from workbench.viz import (accuracy_size_figure, baseline_gains, compare_figure, comparison_table, gain_figure,
                           seed_groups, size_points, weight_histogram_figure)

CURVES = {"test_acc": "test accuracy", "train_acc": "train accuracy", "test_loss": "test loss",
          "train_loss": "train loss", "agreement": "agreement with the teacher", "kl": "KL(teacher ‖ student)"}
HIGHLIGHT = "background-color: rgba(255, 196, 0, 0.25)"

setup = shared.setup()
store = shared.store()

records = {record.id: record for record in store.recent_runs(limit=500)}
if not records:
    st.info("No runs yet: start some on the Train page.")
    st.stop()

unknown = [run_id for run_id in setup.compare if run_id not in records]
if unknown:
    st.warning(f"Link: ignored unknown run id(s) {', '.join(unknown)}.")
    setup.compare = [run_id for run_id in setup.compare if run_id in records]
if not setup.compare:
    newest_group = next((r.group_id for r in records.values() if r.group_id), None)
    setup.compare = [run_id for run_id, r in records.items() if newest_group and r.group_id == newest_group][::-1]
shared.bound_value("compare", list(setup.compare))
setup.compare = st.multiselect("Runs", list(records), key=shared.widget_key("compare"),
                               format_func=lambda run_id: f"{shared.run_label(records[run_id])} · "
                                                          f"{records[run_id].status}")
chosen = [records[run_id] for run_id in setup.compare]
if not chosen:
    st.info("Pick runs to compare.")
    st.stop()

table = comparison_table(chosen)
differing = table.attrs["differing"]
styled = table.style.map(lambda _: HIGHLIGHT, subset=differing) if differing else table
if differing:
    st.caption("Highlighted: the config fields that differ between the picked runs.")
st.dataframe(styled, hide_index=True, column_config={
    "final test acc": st.column_config.NumberColumn(format="percent"),
    "best test acc": st.column_config.NumberColumn(format="percent"),
    "gain vs baseline (pts)": st.column_config.NumberColumn(format="%+.2f"),
    "params": st.column_config.NumberColumn(format="localized"),
    "wall s": st.column_config.NumberColumn(format="%.1f")})

metric = st.selectbox("Curve", list(CURVES), format_func=CURVES.get, key="compare.metric")
groups = {label: [r.id for r in group] for label, group in seed_groups(chosen).items()}
st.plotly_chart(compare_figure(store.metrics_frame(list(setup.compare), scope="epoch"), groups, metric,
                               CURVES[metric]), key="compare_curves")
if any(len(ids) > 1 for ids in groups.values()):
    st.caption("Runs that differ only in their seed are drawn as their mean with a ± std band.")

st.subheader("Gain over the baseline")
gains = baseline_gains(chosen)
if gains.empty:
    st.caption("No finished baseline run among the picked runs with the same student setup.")
else:
    left, right = st.columns([1, 1])
    left.dataframe(gains, hide_index=True, column_config={
        "test acc": st.column_config.NumberColumn(format="percent"),
        "baseline": st.column_config.NumberColumn(format="percent"),
        "gain (pts)": st.column_config.NumberColumn(format="%+.2f"),
        "± s.e. (pts)": st.column_config.NumberColumn(format="%.2f")})
    right.plotly_chart(gain_figure(gains), key="compare_gains")

st.subheader("Accuracy versus model size")
points = size_points(chosen)
if points.empty:
    st.caption("No finished run with a recorded size among the picked runs.")
else:
    st.plotly_chart(accuracy_size_figure(points), key="compare_size")
quantised = [r for r in chosen if r.status == "done" and (str(r.config.get("w_bits", "32")) != "32")]
if quantised:
    st.subheader("Weight levels of a quantised student")
    pick = st.selectbox("Run", [r.id for r in quantised], key="compare.histogram_run",
                        format_func=lambda run_id: shared.run_label(records[run_id]))
    try:
        histograms = weight_histograms(load_trained_student(records[pick]))
    except WorkbenchError as error:
        st.warning(str(error))
    else:
        st.plotly_chart(weight_histogram_figure(histograms), key="compare_histograms")
