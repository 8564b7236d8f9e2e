"""The Teacher page below its widgets: the teacher table, the memory check, and the expanders to train a teacher,
see LW-KD's glyph teacher and upload a teacher. Imported by pages/teacher.py after its widgets are drawn: this
imports torch, which takes seconds on a fresh server."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

import _shared as shared
from workbench.app_state import Setup
from workbench.classroom import can_cancel
from workbench.config import RunConfig
from workbench.data import dataset_info
from workbench.errors import WorkbenchError
from workbench.glyph_teacher import find_glyph_teacher, get_glyph_teacher
from workbench.glyphs import glyph_info, glyph_preview
from workbench.models.estimate import check_config_memory, estimate
from workbench.store import FINISHED
from workbench.teachers import RECIPES, find_teacher, list_teachers
from workbench.text import escape_markdown
from workbench.uploads import accept_teacher_upload
from workbench.viz import accuracy_figure, image_grid_figure, loss_terms_figure


@st.cache_data(show_spinner=False)
def model_cost(arch: str, dataset: str) -> tuple[int | None, int | None]:
    """Parameters and MACs of one image's forward pass for `arch` on `dataset` (None when it does not build),
    estimated on the meta device: no model is built in the server's memory."""
    info = dataset_info(dataset)
    try:
        found = estimate(arch, info.num_classes, info.in_channels, info.image_size)
    except (WorkbenchError, RuntimeError):
        return None, None
    return found.params, found.macs


def accept_upload() -> None:
    """Button callback: check the uploaded file; on success it becomes the first teacher."""
    config = shared.setup().config
    file = st.session_state.get("upload.file")
    arch = st.session_state.get("upload.arch", config.teacher)
    if file is None:
        st.session_state["upload.message"] = ("error", "upload: choose a .pt file first")
        return
    try:
        uploaded = accept_teacher_upload(
            file.getvalue(),
            file.name,
            arch,
            config.dataset,
            uploads_dir=shared.settings().uploads_dir,
            limit_mb=shared.upload_limit_mb(),
            owner=shared.owner(),
            limits=shared.settings().limits.uploads,
            store=shared.store(),
        )
    except WorkbenchError as error:
        st.session_state["upload.message"] = ("error", str(error))
        return
    config.teachers = [uploaded.arch, *config.teachers[1:]]
    config.teacher_checkpoint = str(uploaded.path)
    shared.set_bound("teachers", list(config.teachers))
    st.session_state["upload.message"] = (
        "success",
        f"{file.name} fits {uploaded.arch}: {uploaded.params:,} parameters, test accuracy "
        f"{uploaded.test_acc:.2%} on {config.dataset}. It is now the first teacher.",
    )


TABLE_FORMATS = {"parameters": "{:,.0f}", "MACs": "{:,.0f}"}
TABLE_COLUMNS = {
    "role": st.column_config.TextColumn(width="small"),
    "architecture": st.column_config.TextColumn(width="small"),
    "weights": st.column_config.TextColumn(
        width="medium", help="Where a teacher's weights come from: packaged, cached, uploaded, or trained on first use"
    ),
}


def teacher_rows(config: RunConfig) -> pd.DataFrame:
    """The picked teachers, the student and the other teachers ready for this dataset, with their cost and
    (for teachers) cached accuracy and training time as text ("–" when missing)."""
    cached = [record.arch for record in list_teachers() if record.dataset == config.dataset]
    entries = [(f"teacher {i + 1}", arch) for i, arch in enumerate(config.teachers)]
    entries += [("student", config.student)]
    entries += [("available", arch) for arch in cached if arch not in config.teachers]
    rows = []
    for role, arch in entries:
        params, macs = model_cost(arch, config.dataset)
        row = {
            "role": role,
            "architecture": arch,
            "weights": "–",  # what a projector shows first, at 1024 px the last columns scroll
            "test accuracy": "–",  # text: the browser draws a missing number as "None", whatever the Styler says
            "parameters": params,
            "MACs": macs,
            "training time (s)": "–",
        }
        if role == "teacher 1" and config.teacher_checkpoint:
            row["weights"] = "uploaded"
        elif role != "student":
            record = find_teacher(arch, config.dataset, config.teacher_seed)
            if record is None:
                epochs = RECIPES.get(config.dataset, {}).get("epochs", "?")
                row["weights"] = f"none yet: trained on first use ({epochs} epochs)"
            else:
                row.update(
                    {
                        "test accuracy": f"{record.test_acc:.1%}",
                        "training time (s)": f"{record.train_seconds:,.1f}",
                        "weights": "packaged" if record.packaged else "cached",
                    }
                )
        rows.append(row)
    return pd.DataFrame(rows)


@st.cache_data(show_spinner=False, max_entries=16)
def glyph_grid(dataset: str, seed: int) -> np.ndarray:
    """Forty rendered glyphs shaped like `dataset`'s images (classes in turn), as an array (N, C, H, W)."""
    return glyph_preview(dataset, 40, seed).numpy()


def train_glyph_teacher_now(dataset: str, arch: str, per_class: int, seed: int) -> None:
    """Button callback: train (or find) LW-KD's glyph teacher for `dataset`."""
    try:
        get_glyph_teacher(dataset, arch, per_class, seed)
    except WorkbenchError as error:
        st.session_state["glyphs.message"] = str(error)


def glyph_panel(setup: Setup) -> None:
    """LW-KD's synthesised dataset for the current target: a preview, and its lightweight teacher beside the
    conventional one (accuracy and training time)."""
    config = setup.config
    params = setup.params_of("lwkd")
    arch, per_class, seed = str(params["glyph_arch"]), int(params["glyphs_per_class"]), int(params["glyph_seed"])
    info = glyph_info(config.dataset)
    st.plotly_chart(
        image_grid_figure(
            glyph_grid(config.dataset, seed),
            f"{info.title}: classes in turn ({', '.join(info.class_names[:4])}, …)",
            columns=10,
        ),
        key="glyphs.preview",
    )
    st.caption(
        f"{info.num_classes} classes like {config.dataset}'s, at its size and channels, {info.source}. "
        "Glyph class k stands for target class k by index; the pictures do not resemble the target's."
    )
    record = find_glyph_teacher(arch, config.dataset, per_class, seed)
    conventional = find_teacher(config.teacher, config.dataset, config.teacher_seed)
    against = (
        f" The conventional teacher {config.teacher} on {config.dataset}: {conventional.test_acc:.1%} after "
        f"{conventional.train_seconds:.0f} s of training."
        if conventional
        else ""
    )
    if record is None:
        st.write(
            f"Glyph teacher {arch} ({per_class} glyphs per class, seed {seed}): not trained yet; LW-KD trains it "
            f"on first use, in seconds.{against}"
        )
        st.button(
            "Train the glyph teacher now",
            key="glyphs.train",
            on_click=train_glyph_teacher_now,
            args=(config.dataset, arch, per_class, seed),
        )
    else:
        st.write(
            f"Glyph teacher {arch} ({per_class} glyphs per class, seed {seed}): {record.test_acc:.1%} on "
            f"held-out glyphs, trained in {record.train_seconds:.1f} s.{against}"
        )
    if "glyphs.message" in st.session_state:
        st.error(escape_markdown(st.session_state.pop("glyphs.message")))


@st.fragment(run_every=1.0)
def teacher_job_panel() -> None:
    """The newest teacher-training job: status, progress and its live curves."""
    runner = shared.executor()
    run_id = runner.jobs.latest("teacher")
    if run_id is None:
        st.caption("No teacher trained here yet.")
        return
    record = shared.store().get_run(run_id)
    progress = runner.progress([run_id])[run_id]
    st.write(f"**{escape_markdown(record.name)}** — {shared.status_text(record)}")
    st.progress(progress.fraction, text=f"step {progress.done} of {progress.total or '?'}")
    if record.status not in FINISHED and can_cancel(record, shared.owner()):
        st.button(
            "Cancel teacher training",
            key="teacher_job.cancel",
            on_click=runner.cancel,
            args=(run_id,),
            kwargs={"owner": shared.owner()},
        )
    elif record.status not in FINISHED:
        st.caption("Started by another browser: only it can cancel this training.")
    metrics = shared.store().metrics_frame(run_id)
    labels = {run_id: record.name}
    left, right = st.columns(2)
    left.plotly_chart(loss_terms_figure(metrics, labels), key="teacher_job.loss")
    right.plotly_chart(accuracy_figure(metrics, labels), key="teacher_job.acc")


def train_panel(config: RunConfig, models: list[str]) -> None:
    """Train a teacher for the current dataset now (the dataset's recipe, chosen epochs), and the newest such job."""
    recipe = RECIPES.get(config.dataset, {})
    arch_col, epochs_col = st.columns(2)
    arch = arch_col.selectbox(
        "Architecture",
        models,
        index=models.index(config.teacher) if config.teacher in models else 0,
        key="teacher_job.arch",
    )
    epochs = epochs_col.number_input(
        "Epochs", min_value=1, max_value=500, value=int(recipe.get("epochs", 10)), key="teacher_job.epochs"
    )
    st.caption(
        f"Recipe for {config.dataset}: "
        + ", ".join(f"{key} {value}" for key, value in recipe.items() if key != "epochs")
        + ". Saved to the teacher cache."
    )
    if st.button("Train this teacher", key="teacher_job.start"):
        try:
            shared.executor().submit_teacher(
                arch, config.dataset, seed=config.teacher_seed, epochs=int(epochs), owner=shared.owner()
            )
        except WorkbenchError as error:
            st.error(escape_markdown(error))
    teacher_job_panel()


def upload_panel(config: RunConfig, models: list[str]) -> None:
    """Upload a teacher's state_dict for the current dataset; once checked it becomes the first teacher."""
    st.file_uploader(
        "state_dict saved with torch.save(model.state_dict(), ...)",
        type=["pt", "pth"],
        key="upload.file",
        max_upload_size=max(1, math.ceil(shared.upload_limit_mb())),
    )
    st.selectbox(
        "Architecture it was trained as",
        models,
        index=models.index(config.teacher) if config.teacher in models else 0,
        key="upload.arch",
    )
    st.caption(
        f"Limit {shared.upload_limit_mb():g} MB. The weights must fit this architecture and "
        f"{config.dataset}'s {dataset_info(config.dataset).num_classes} classes."
    )
    st.button("Check and use as teacher 1", on_click=accept_upload, key="upload.accept")
    kind, text = st.session_state.pop("upload.message", (None, ""))
    if kind == "error":
        st.error(escape_markdown(text))
    elif kind == "success":
        st.success(escape_markdown(text))


def draw(setup: Setup, models: list[str]) -> None:
    """The page below its widgets, for `setup` (its config as the widgets left it) and the zoo's `models`."""
    config = setup.config
    st.dataframe(
        teacher_rows(config).style.format(TABLE_FORMATS, na_rep="–"), hide_index=True, column_config=TABLE_COLUMNS
    )
    st.caption("Test accuracy: on the test split, when the teacher was trained; training time: the seconds it took.")
    try:
        check_config_memory(config)
    except WorkbenchError as error:
        st.error(f"Too big for this server: {escape_markdown(error)}")
    with st.expander("Train a teacher now", expanded=False):
        train_panel(config, models)
    with st.expander("LW-KD's synthesised glyph dataset and lightweight teacher", expanded="lwkd" in setup.methods):
        glyph_panel(setup)
    with st.expander("Upload a teacher (state_dict .pt)", expanded=False):
        upload_panel(config, models)
