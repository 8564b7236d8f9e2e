"""Method page: every registered method as a card, in tabs by the survey's groups (read from each method's declared
category and scheme: `describe.method_groups`); pick one or several to run side by side. Every tab is drawn on
each run, so a tick made in one tab stays when another is shown."""

from __future__ import annotations

import json

import streamlit as st

import _shared as shared
from workbench.config import RunConfig
from workbench.describe import GROUP_HELP, method_groups
from workbench.errors import WorkbenchError
from workbench.formulas import formula_lines
from workbench.methods import list_methods
from workbench.methods.base import FeatureMatch
from workbench.previews import preview_feature_matches
from workbench.viz import data_free_flow_figure, feature_match_figure, response_flow_figure

setup = shared.setup()
availability = setup.availability()


@st.cache_data(show_spinner=False, max_entries=128)
def feature_preview(config_json: str) -> tuple[list[FeatureMatch], str | None]:
    """The feature pairs a config's method would compare (from untrained models), or the reason it cannot."""
    try:
        return preview_feature_matches(RunConfig.from_dict(json.loads(config_json))), None
    except WorkbenchError as error:
        return [], str(error)


def feature_picture(method: str) -> None:
    """A picture of the student and teacher features the method compares with the current setup."""
    config = setup.config.replace(method=method, method_params=setup.params_of(method))
    matches, problem = feature_preview(json.dumps(config.to_dict(), sort_keys=True))
    with st.expander(f"Features matched with this setup ({config.student} ← {', '.join(config.teachers)})"):
        if problem:
            st.caption(f"No picture for this setup: {problem}")
        else:
            st.plotly_chart(feature_match_figure(matches, config.student), key=f"features.{method}")


def flow_picture(card: dict) -> None:
    """How a response-based or data-free method's knowledge reaches the student, with this setup's T and α."""
    if card["scheme"] == "data-free":
        figure = data_free_flow_figure(card)
    elif card["category"] == "response":
        figure = response_flow_figure(card, setup.config)
    else:
        return
    with st.expander("How the knowledge flows"):
        st.plotly_chart(figure, key=f"flow.{card['name']}")


def pick_widget(card: dict, reason: str | None, picked_before: list[str]) -> None:
    """The card's checkbox: the baseline's switches the baseline student; the others pick the method."""
    if card["name"] == "baseline":
        shared.bound_value("method.baseline", setup.baseline)  # not the Train page's key: widgets of two kinds
        setup.baseline = st.checkbox(
            "Train the baseline beside the picked methods",
            key=shared.widget_key("method.baseline"),
            help="The student alone on hard labels: the reference for the gain.",
        )
        return
    name = f"method.{card['name']}"
    shared.bound_value(name, card["name"] in picked_before)
    chosen = st.checkbox("Run this method", key=shared.widget_key(name), disabled=reason is not None, help=reason)
    if reason is not None:
        st.warning(f"Unavailable: {reason}")
    elif chosen and card["name"] not in setup.methods:
        setup.methods.append(card["name"])
    elif not chosen and card["name"] in setup.methods:
        setup.methods.remove(card["name"])


def method_card(card: dict, reason: str | None, picked_before: list[str], compares_features: bool) -> None:
    """One method's card: what it is, its loss, its hyperparameters, the features it matches, and whether
    to run it."""
    with st.container(border=True):
        st.subheader(card["title"])
        pick_widget(card, reason, picked_before)
        st.caption(
            f"**{card['category']}** knowledge · **{card['scheme']}** distillation · teachers: "
            f"{card['teachers']} · reads: {card['reads_features']}"
        )
        st.write(card["summary"])
        for line in formula_lines(card["loss_latex"]):  # one equation a line, long ones broken: fits at 1024 px
            st.latex(line)
        for hp in card["hyperparams"]:
            st.markdown(f"- `{hp['name']}` (default {hp['default']}, {hp['allowed']}): {hp['help']}")
        if compares_features:
            feature_picture(card["name"])
        else:
            flow_picture(card)
        if card.get("extra_modules"):
            st.caption(f"Trains besides the student: {card['extra_modules']}")
        if card["reference"]:
            st.caption(card["reference"])


picked_before = list(setup.methods)
picked_now = st.empty()  # filled after the cards: what the ticks in every tab add up to
groups = method_groups(list_methods())
tabs = st.tabs([f"{group} ({len(members)})" for group, members in groups.items()])
for tab, (group, members) in zip(tabs, groups.items()):
    with tab:
        st.caption(GROUP_HELP.get(group, ""))
        for method in members:
            method_card(method.card(), availability.get(method.name), picked_before, method.compares_features())

runnable = setup.runnable_methods()
if runnable:
    picked_now.success("Will run: " + ", ".join(runnable) + (" and the baseline" if setup.baseline else ""))
else:
    picked_now.info("No method picked" + (": only the baseline will train." if setup.baseline else "."))
