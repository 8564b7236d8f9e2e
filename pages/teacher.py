"""Teacher page: the dataset, the teacher(s) and the student; train a teacher now or upload one.

Its widgets are drawn from registries that import no torch; the rest of the page (`_teacher_panels`: the teacher
table, the memory check, training, glyphs, upload) imports torch after them, so a fresh server's first page can be
used while torch loads."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import _shared as shared
from workbench.data import dataset_info, list_datasets
from workbench.models import list_models, model_description

setup = shared.setup()
config = setup.config
models = list_models()


def upload_matches(path: str) -> bool:
    """Whether an uploaded file (named dataset__arch__digest.pt) fits the current dataset and first teacher."""
    return Path(path).name.startswith(f"{config.dataset}__{config.teacher.replace(':', '-w')}__")


def stop_using_upload() -> None:
    """Button callback: go back to the cached teacher."""
    config.teacher_checkpoint = ""


left, right = st.columns(2)
with left:
    shared.config_select(
        "dataset", "Dataset", [info.name for info in list_datasets()], format_func=lambda name: dataset_info(name).title
    )
    st.caption(dataset_info(config.dataset).source)
with right:
    shared.config_select("student", "Student", models)
    st.caption(model_description(config.student))

current_teachers = shared.bound_value("teachers", list(config.teachers))
picked = st.multiselect(
    "Teacher(s)",
    models + [arch for arch in current_teachers if arch not in models],
    key=shared.widget_key("teachers"),
    help="The first teacher is the one single-teacher methods use; ensemble methods use all.",
)
if picked:
    config.teachers = list(picked)
else:
    st.warning(f"Pick at least one teacher; the runs keep using {', '.join(config.teachers)}.")
config.teacher_seed = shared.config_int("teacher_seed", "Teacher seed", config.teacher_seed)

if config.teacher_checkpoint and not upload_matches(config.teacher_checkpoint):
    st.info("The uploaded teacher was for another dataset or architecture; using the cached teacher instead.")
    config.teacher_checkpoint = ""
if config.teacher_checkpoint:
    st.info(f"Teacher 1 uses the uploaded weights `{Path(config.teacher_checkpoint).name}`.")
    st.button("Use the cached teacher instead", on_click=stop_using_upload)

import _teacher_panels  # noqa: E402 (imports torch: after the widgets are on screen)

_teacher_panels.draw(setup, models)
