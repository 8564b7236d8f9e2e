"""Compare page: pick runs (this browser's, the shared gallery's, those a link names, or every browser's on
request); a table with the differing config fields highlighted, overlaid curves with mean ± std bands across
seeds, the gain over the baseline, accuracy over training (mean, variance, best), sequential FEED's generation
chain, and accuracy against size."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import _shared as shared
from workbench.classroom import session_view
from workbench.comparison import baseline_gains, class_accuracy_table, comparison_table, seed_groups, size_points
from workbench.data import dataset_info
from workbench.errors import WorkbenchError
from workbench.generations import chain_table
from workbench.methods import get_method
from workbench.quant.report import weight_histograms
from workbench.stability import stability_table
from workbench.store import RunRecord
from workbench.sweep import SWEEP_PREFIX
from workbench.teachers import find_teacher
from workbench.text import clip, escape_markdown
from workbench.trained_students import load_trained_student
from workbench.viz import (
    accuracy_size_figure,
    class_accuracy_figure,
    compare_figure,
    gain_figure,
    generation_chain_figure,
    weight_histogram_figure,
)

CURVES = {
    "test_acc": "test accuracy",
    "train_acc": "train accuracy",
    "test_loss": "test loss",
    "train_loss": "train loss",
    "agreement": "agreement with the teacher",
    "kl": "KL(teacher ‖ student)",
}
HIGHLIGHT = "background-color: rgba(255, 196, 0, 0.25)"
WIDE_VALUE = 16  # characters: a differing field with longer values is shown in its own table


def is_data_free(record: RunRecord) -> bool:
    """Whether a run's method never reads the real training split."""
    try:
        return not get_method(str(record.config.get("method"))).reads_training_data
    except WorkbenchError:
        return False


def first_teacher_accuracy(record: RunRecord) -> float | None:
    """The cached test accuracy of a run's first teacher, when it is a cached (not uploaded) teacher."""
    teachers = record.config.get("teachers") or []
    if not teachers or record.config.get("teacher_checkpoint"):
        return None
    found = find_teacher(teachers[0], record.config.get("dataset", ""), int(record.config.get("teacher_seed", 0)))
    return found.test_acc if found else None


setup = shared.setup()
store = shared.store()

recent = store.recent_runs(limit=500)
everyone = st.toggle(
    "List every browser's runs",
    key="compare.everyone",
    help="By default the list holds this browser's runs, the shared gallery (runs started from the "
    "command line or a notebook) and runs a link names. Other browsers' runs can be looked "
    "at, never cancelled.",
)
view = session_view(recent, shared.owner())
visible = {r.id for r in view.own + view.gallery} | set(setup.compare)
records = {record.id: record for record in recent if everyone or record.id in visible}
if not records:
    st.info("No runs yet: start some on the Train page.")
    st.stop()

unknown = [run_id for run_id in setup.compare if run_id not in records]
if unknown:
    st.warning(f"Link: ignored unknown run id(s) {escape_markdown(', '.join(clip(run_id) for run_id in unknown))}.")
    setup.compare = [run_id for run_id in setup.compare if run_id in records]
if not setup.compare:
    newest_group = next((r.group_id for r in records.values() if r.group_id), None)
    setup.compare = [run_id for run_id, r in records.items() if newest_group and r.group_id == newest_group][::-1]
shared.bound_value("compare", list(setup.compare))
setup.compare = st.multiselect(
    "Runs",
    list(records),
    key=shared.widget_key("compare"),
    format_func=lambda run_id: f"{shared.run_label(records[run_id])} · {records[run_id].status}",
)
chosen = [records[run_id] for run_id in setup.compare]
if not chosen:
    st.info("Pick runs to compare.")
    st.stop()

table = comparison_table(chosen)
differing = table.attrs["differing"]
# Results first; a differing field with long values (method_params, paths) goes to its own table below, so the
# accuracy and gain columns stay on screen at projector widths.
wide = [name for name in differing if table[name].astype(str).str.len().max() > WIDE_VALUE]
narrow = [name for name in differing if name not in wide]
leading = ["run", "final test acc", "gain vs baseline (pts)", "best test acc", *narrow]
shown = table[leading + [name for name in table.columns if name not in leading and name not in wide]]
styled = shown.style.map(lambda _: HIGHLIGHT, subset=narrow) if narrow else shown
if differing:
    st.caption("Highlighted: the config fields that differ between the picked runs.")
st.dataframe(
    styled,
    hide_index=True,
    column_config={
        "final test acc": st.column_config.NumberColumn(format="percent"),
        "best test acc": st.column_config.NumberColumn(format="percent"),
        "gain vs baseline (pts)": st.column_config.NumberColumn("gain (pts)", format="%+.2f"),
        "params": st.column_config.NumberColumn(format="localized"),
        "wall s": st.column_config.NumberColumn(format="%.1f"),
    },
)
if wide:
    with st.expander(f"Differing, with long values: {', '.join(wide)}"):
        st.dataframe(table[["run", *wide]], hide_index=True)

swept = sorted({r.group_id for r in chosen if r.group_id and r.group_id.startswith(SWEEP_PREFIX)})
if swept:
    st.page_link(
        "sweep.py",
        icon=":material/grid_on:",
        label=f"Some picked runs belong to {', '.join(swept)}: its interaction views (heatmap with the seed "
        "noise, slices, parallel coordinates) are on the Sweep page",
    )

metric = st.selectbox("Curve", list(CURVES), format_func=CURVES.get, key="compare.metric")
groups = {label: [r.id for r in group] for label, group in seed_groups(chosen).items()}
st.plotly_chart(
    compare_figure(store.metrics_frame(list(setup.compare), scope="epoch"), groups, metric, CURVES[metric]),
    key="compare_curves",
)
if any(len(ids) > 1 for ids in groups.values()):
    st.caption("Runs that differ only in their seed are drawn as their mean with a ± std band.")

st.subheader("Gain over the baseline")
gains = baseline_gains(chosen)
if gains.empty:
    st.caption("No finished baseline run among the picked runs with the same student setup.")
else:
    for sentence in gains["sentence"]:
        st.markdown(f"- {escape_markdown(sentence)}")
    shown = gains.drop(columns=["sentence"]).assign(
        **{"± s.e. (pts)": ["–" if pd.isna(error) else f"{error:.2f}" for error in gains["± s.e. (pts)"]]}
    )  # one seed: no s.e.
    shown = shown[["setup", "gain (pts)", "± s.e. (pts)", "verdict", "seeds", "test acc", "baseline"]]  # gain first
    st.dataframe(
        shown,
        hide_index=True,
        column_config={
            "setup": st.column_config.TextColumn(width="medium"),  # the verdict stays on screen at 1024 px
            "test acc": st.column_config.NumberColumn(format="percent"),
            "baseline": st.column_config.NumberColumn(format="percent"),
            "gain (pts)": st.column_config.NumberColumn(format="%+.2f"),
        },
    )
    st.plotly_chart(gain_figure(gains), key="compare_gains")

per_class = class_accuracy_table(chosen)
if not per_class.empty:
    st.subheader("Accuracy per class")
    datasets = {record.config.get("dataset", "") for record in chosen}
    names = dataset_info(datasets.pop()).class_names if len(datasets) == 1 else ()
    st.plotly_chart(class_accuracy_figure(per_class, names), key="compare_classes")
    if per_class["omitted"].any():
        st.caption(
            "Outlined bars are classes the student never saw in training (`omit_classes`): a baseline "
            "cannot name them, and a KD student rarely does until its bias for them is raised (Hinton et al.); "
            "`omitted_acc_corrected` in a run's final metrics is its accuracy there after that correction."
        )

st.subheader("Accuracy over training")
stats = stability_table(store.metrics_frame(list(setup.compare), scope="epoch"))
if stats.empty:
    st.caption("No epoch has finished among the picked runs.")
else:
    stats.insert(0, "run", [shared.run_label(records[run_id]) for run_id in stats["run_id"]])
    stats.insert(1, "data-free", [is_data_free(records[run_id]) for run_id in stats["run_id"]])
    st.dataframe(
        stats.drop(columns="run_id"),
        hide_index=True,
        column_config={
            "mean": st.column_config.NumberColumn("mean acc", format="percent"),
            "var": st.column_config.NumberColumn("variance", format="%.5f"),
            "best": st.column_config.NumberColumn("best acc", format="percent"),
            "final": st.column_config.NumberColumn("final acc", format="percent"),
            "epochs": st.column_config.NumberColumn(format="%d"),
        },
    )
    st.caption(
        "Test accuracy over every epoch of each run. A data-free method has no validation set to pick its "
        "best epoch by, so what it delivers is the final epoch: a high mean and low variance (accuracy "
        "that rises steadily) matter more than the best."
    )

picked_groups = {record.group_id for record in chosen if record.group_id}
chains = chain_table([r for r in records.values() if r.group_id in picked_groups or r.id in setup.compare])
chains = chains[chains["chain"].isin(set(chains.loc[chains["id"].isin(setup.compare), "chain"]))]
if not chains.empty:
    st.subheader("Generation chain (sequential FEED)")
    first = {label: rows.iloc[0]["id"] for label, rows in chains.groupby("chain", sort=False)}
    teacher_accs = {
        label: acc for label, run_id in first.items() if (acc := first_teacher_accuracy(records[run_id])) is not None
    }
    st.dataframe(
        chains.drop(columns=["id", "chain"]),
        hide_index=True,
        column_config={
            "test acc": st.column_config.NumberColumn(format="percent"),
            "gain vs previous (pts)": st.column_config.NumberColumn(format="%+.2f"),
        },
    )
    st.plotly_chart(generation_chain_figure(chains, teacher_accs), key="compare_chain")
    st.caption("Each generation is a run of its own, taught by the generation before it (linked as its parent).")

st.subheader("Accuracy versus model size")
points = size_points(chosen)
if points.empty:
    st.caption("No finished run with a recorded size among the picked runs.")
else:
    st.plotly_chart(accuracy_size_figure(points), key="compare_size")
quantised = [r for r in chosen if r.status == "done" and (str(r.config.get("w_bits", "32")) != "32")]
if quantised:
    st.subheader("Weight levels of a quantised student")
    pick = st.selectbox(
        "Run",
        [r.id for r in quantised],
        key="compare.histogram_run",
        format_func=lambda run_id: shared.run_label(records[run_id]),
    )
    try:
        histograms = weight_histograms(load_trained_student(records[pick]))
    except WorkbenchError as error:
        st.warning(escape_markdown(error))
    else:
        st.plotly_chart(weight_histogram_figure(histograms), key="compare_histograms")
