"""Compare page figures and method formulas at projector widths: short bar names with the setups in the legend,
accuracy-versus-size labels once per size on alternating sides, explicit log ticks, formulas broken into lines."""

import pandas as pd

from workbench.formulas import CARD_WIDTH, formula_lines, visible_length
from workbench.methods import list_methods
from workbench.viz import accuracy_size_figure, gain_figure
from workbench.viz.comparison import size_ticks


def gains(*setups):
    return pd.DataFrame(
        {
            "setup": list(setups),
            "gain (pts)": [2.0, -1.0][: len(setups)],
            "± s.e. (pts)": [0.5, float("nan")][: len(setups)],
        }
    )


def test_long_setup_labels_become_upright_letters_spelled_out_in_the_legend():
    figure = gain_figure(gains("kd · temperature=4 · alpha=0.9", "kd · temperature=8 · alpha=0.5"))
    assert [list(trace.x) for trace in figure.data] == [["A"], ["B"]]
    assert [trace.name for trace in figure.data] == [
        "A: kd · temperature=4 · alpha=0.9",
        "B: kd · temperature=8 · alpha=0.5",
    ]
    assert figure.layout.xaxis.tickangle == 0 and all(trace.showlegend for trace in figure.data)


def test_short_setup_labels_name_their_bars():
    figure = gain_figure(gains("kd", "fitnets"))
    assert [list(trace.x) for trace in figure.data] == [["kd"], ["fitnets"]]
    assert not any(trace.showlegend for trace in figure.data)


def test_size_labels_are_written_once_per_size_and_alternate_sides():
    points = pd.DataFrame(
        {
            "label": ["kd W32A32"] * 3 + ["baseline W32A32"] * 2 + ["qkd W2A32"],
            "size_kb": [22.0] * 5 + [1.6],
            "test_acc": [0.80, 0.82, 0.81, 0.78, 0.79, 0.70],
        }
    )
    runs = accuracy_size_figure(points).data[0]
    assert list(runs.text) == ["", "kd W32A32", "", "", "baseline W32A32", "qkd W2A32"]
    assert runs.textposition[1] != runs.textposition[4]  # the two labels at 22 KB on opposite sides


def test_log_size_ticks_are_explicit_values_not_every_integer():
    assert size_ticks(2.5, 30) == [2.0, 5.0, 10.0, 20.0]
    assert size_ticks(0.7, 1200) == [1.0, 10.0, 100.0, 1000.0]
    assert size_ticks(20, 25) == [20.0, 25.0]
    figure = accuracy_size_figure(pd.DataFrame({"label": ["a", "b"], "size_kb": [2.5, 30.0], "test_acc": [0.8, 0.9]}))
    assert list(figure.layout.xaxis.tickvals) == [2.0, 5.0, 10.0, 20.0] and list(figure.layout.xaxis.ticktext)[0] == "2"


def test_every_method_formula_is_broken_into_lines_that_fit_a_card():
    for method in list_methods():
        for line in formula_lines(method.card()["loss_latex"]):
            rows = line.removeprefix(r"\begin{aligned}").removesuffix(r"\end{aligned}").split(r"\\")
            assert all(visible_length(row) <= CARD_WIDTH + 8 for row in rows), (method.name, rows)


def test_a_long_equation_is_split_at_its_top_level_signs_under_its_equals_sign():
    lines = formula_lines(r"L = a_1 + b_2\big(x + y\big) + c_3 + d_4, \quad M = e", width=8)
    assert lines[1] == "M = e"
    assert lines[0].startswith(r"\begin{aligned}L &= a_1") and r"b_2\big(x + y\big)" in lines[0]
    assert lines[0].count(r"\\") >= 2  # three rows or more: never inside the bracket
