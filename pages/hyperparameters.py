"""Hyperparameters page: temperature, α and their schedules (drawn as they change), training settings, each
picked method's own hyperparameters, quantisation bits, and a live soft-target preview."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

import _shared as shared
from workbench.app_state import SLIDERS, STEP_CHOICES, choices_with, hyperparam_step
from workbench.config import FIELD_BY_NAME, RunConfig
from workbench.data import dataset_info
from workbench.errors import WorkbenchError
from workbench.methods import HyperParam, get_method
from workbench.previews import SoftTargetPreview, entropy, load_soft_target_preview, soften
from workbench.schedules import SCHEDULE_HELP, SCHEDULE_KINDS
from workbench.teachers import find_teacher
from workbench.viz import schedule_figure, soft_target_figure

setup = shared.setup()
config = setup.config


def config_slider(name: str, label: str) -> Any:
    """A slider bound to config field `name` over its usual range (widened to hold the current value)."""
    span = SLIDERS[name]
    current = shared.bound_value(name, getattr(config, name))
    low, high = span.around(current)
    value = st.slider(label, low, high, step=span.step, key=shared.widget_key(name), help=shared.field_help(name))
    setattr(config, name, value)
    return value


def config_steps(name: str, label: str) -> Any:
    """A select-slider bound to config field `name` over its usual values (plus the current one)."""
    current = shared.bound_value(name, getattr(config, name))
    value = st.select_slider(
        label, choices_with(STEP_CHOICES[name], current), key=shared.widget_key(name), help=shared.field_help(name)
    )
    setattr(config, name, value)
    return value


def field_choices(name: str, label: str, slider: bool = False) -> Any:
    """A selectbox (or select-slider) over a config field's declared choices."""
    if not slider:
        return shared.config_select(name, label, list(FIELD_BY_NAME[name].choice_list()))
    shared.bound_value(name, getattr(config, name))
    value = st.select_slider(
        label, list(FIELD_BY_NAME[name].choice_list()), key=shared.widget_key(name), help=shared.field_help(name)
    )
    setattr(config, name, value)
    return value


def hyperparam_widget(method: str, hp: HyperParam) -> None:
    """A widget for one of a method's own hyperparameters, from its declaration."""
    key = f"{method}.{hp.name}"
    current = shared.bound_value(key, setup.params_of(method)[hp.name])
    label = hp.name
    if hp.choices is not None:
        value = st.selectbox(label, choices_with(hp.choices, current), key=shared.widget_key(key), help=hp.help)
    elif isinstance(hp.default, bool):
        value = st.checkbox(label, key=shared.widget_key(key), help=hp.help)
    elif hp.low is not None and hp.high is not None:
        kind = int if isinstance(hp.default, int) else float
        low, high = kind(min(hp.low, current)), kind(max(hp.high, current))
        value = st.slider(label, low, high, step=kind(hyperparam_step(hp)), key=shared.widget_key(key), help=hp.help)
    else:
        value = st.number_input(label, key=shared.widget_key(key), help=hp.help)
    setup.method_params.setdefault(method, {})[hp.name] = value


@st.cache_resource(show_spinner="Asking the teacher…", max_entries=8)
def cached_preview(dataset: str, teacher: str, teacher_seed: int, checkpoint: str) -> SoftTargetPreview:
    """The teacher's logits for a few test images (computed once per teacher)."""
    return load_soft_target_preview(
        RunConfig(dataset=dataset, teachers=[teacher], teacher_seed=teacher_seed, teacher_checkpoint=checkpoint)
    )


knobs, schedule = st.columns([1, 1])
with knobs:
    temperature = config_slider("temperature", "Temperature T")
    field_choices("temperature_schedule", "Temperature schedule")
    if config.temperature_schedule != "constant":
        config_slider("temperature_end", "Temperature at the end")
    config_slider("alpha", "α (weight of the soft loss)")
    field_choices("alpha_schedule", "α schedule")
    if config.alpha_schedule != "constant":
        config_slider("alpha_end", "α at the end")
    kinds = (config.alpha_schedule, config.temperature_schedule)
    if any(kind != "constant" for kind in kinds):
        config_slider("schedule_fraction", "Decay over this fraction of training")
    if "step" in kinds:
        config_slider("schedule_steps", "Number of steps")
    st.caption(" · ".join(f"**{kind}**: {SCHEDULE_HELP[kind]}" for kind in SCHEDULE_KINDS if kind in kinds))
with schedule:
    st.plotly_chart(schedule_figure(config), key="schedule")

st.subheader("Soft targets at this temperature")
try:
    preview = cached_preview(config.dataset, config.teacher, config.teacher_seed, config.teacher_checkpoint)
except WorkbenchError as error:
    if config.teacher_checkpoint or find_teacher(config.teacher, config.dataset, config.teacher_seed):
        st.info(f"No preview: {error}")
    else:  # not trained yet: the Teacher page trains it with one click
        st.info(
            f"No preview: no {config.teacher} teacher for {config.dataset} (teacher seed {config.teacher_seed}) is "
            "trained yet. Train it on the Teacher page under **Train a teacher now** (or the first run trains it "
            "before it starts)."
        )
        st.page_link("teacher.py", label="Teacher page: Train a teacher now", icon=":material/school:")
else:
    spread = entropy(soften(preview.logits, temperature))
    st.metric(
        "Mean entropy of the teacher's soft targets",
        f"{spread.mean():.3f} nats",
        help=f"At most ln({preview.logits.shape[1]}) = {math.log(preview.logits.shape[1]):.3f} nats "
        "(the uniform distribution).",
    )
    st.plotly_chart(soft_target_figure(preview, temperature), key="preview")

st.subheader("Training")
first, second = st.columns(2)
with first:
    config_steps("lr", "Learning rate")
    config_slider("epochs", "Epochs")
    config_slider("warmup_epochs", "Warm-up epochs")
    config_steps("grad_clip", "Clip gradient norm at (0 = off)")
    config_steps("batch_size", "Batch size")
    shared.bound_value("seeds", setup.seeds)
    seeds_span = SLIDERS["seeds"]
    setup.seeds = st.slider(
        "Seeds (runs per method)",
        seeds_span.low,
        seeds_span.high,
        key=shared.widget_key("seeds"),
        help="Each method (and the baseline) trains once per seed; Compare shows mean ± std.",
    )
with second:
    field_choices("optimizer", "Optimiser")
    field_choices("lr_schedule", "Learning-rate schedule")
    config.seed = shared.config_int("seed", "First seed", config.seed)
    config.train_subset = shared.config_int("train_subset", "Training images (0 = all)", config.train_subset, 100)
    class_names = dataset_info(config.dataset).class_names
    current_omitted = shared.bound_value("omit_classes", list(config.omit_classes))
    shared.set_bound("omit_classes", [c for c in current_omitted if c < len(class_names)])  # after a dataset change
    omitted = st.multiselect(
        "Classes the student never sees",
        list(range(len(class_names))),
        format_func=lambda c: f"{c}: {class_names[c]}",
        key=shared.widget_key("omit_classes"),
        help=shared.field_help("omit_classes"),
        max_selections=len(class_names) - 2,
    )
    config.omit_classes = sorted(int(c) for c in omitted)

picked = [name for name in setup.methods if get_method(name).hyperparams]
if picked:
    st.subheader("Method hyperparameters")
    for column, name in zip(st.columns(len(picked)), picked):
        with column:
            st.markdown(f"**{get_method(name).title}**")
            for hp in get_method(name).hyperparams:
                hyperparam_widget(name, hp)

with st.expander("Quantisation (student bit widths)"):
    field_choices("w_bits", "Weight bits", slider=True)
    field_choices("a_bits", "Activation bits", slider=True)
    st.caption("32 = full precision. Lower widths train a fake-quantised student with straight-through gradients.")
