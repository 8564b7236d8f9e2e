"""viz: soft targets and entropy, the schedule drawing, live curves, and the comparison tables and figures."""

import io
import math

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_config

from workbench.config import RunConfig
from workbench.previews import load_soft_target_preview
from workbench.store import RunRecord
from workbench.viz import (
    MAX_POINTS,
    accuracy_figure,
    agreement_kl_figure,
    baseline_gains,
    compare_figure,
    comparison_table,
    enlarged_png,
    entropy,
    gain_figure,
    loss_terms_figure,
    schedule_figure,
    seed_groups,
    soft_target_figure,
    soften,
)


def record(run_id, method="kd", seed=0, test_acc=0.9, **config_changes):
    """A finished run as the store returns it."""
    config = RunConfig(method=method, seed=seed, **config_changes).to_dict()
    return RunRecord(
        run_id,
        f"{method} · seed {seed}",
        config,
        "done",
        "",
        0.0,
        10.0,
        25.0,
        {"test_acc": test_acc, "best_test_acc": test_acc + 0.01, "params": 5658.0},
        {},
        None,
        "g",
        "",
    )


def metric_rows(run_id, scope, name, values, start=1):
    """Metric rows of one series, as RunStore.metrics_frame returns them."""
    return pd.DataFrame(
        {
            "run_id": run_id,
            "step": range(start, start + len(values)),
            "epoch": range(start, start + len(values)),
            "scope": scope,
            "name": name,
            "value": values,
        }
    )


def test_soften_gives_distributions_that_flatten_as_temperature_grows():
    logits = np.array([[4.0, 1.0, -2.0], [0.5, 0.2, 3.0]])
    low, high = soften(logits, 1.0), soften(logits, 10.0)
    assert np.allclose(low.sum(axis=1), 1.0) and np.allclose(high.sum(axis=1), 1.0)
    assert np.allclose(low[0], np.exp(logits[0]) / np.exp(logits[0]).sum())
    assert (entropy(high) > entropy(low)).all()
    assert entropy(soften(logits, 1e6)) == pytest.approx([math.log(3)] * 2, abs=1e-4)


def test_schedule_figure_follows_the_configured_schedules():
    config = RunConfig(
        epochs=10,
        alpha=0.9,
        alpha_schedule="linear",
        alpha_end=0.1,
        temperature=8.0,
        temperature_schedule="step",
        temperature_end=2.0,
        schedule_steps=3,
    )
    alpha, temperature = schedule_figure(config).data
    assert alpha.y[0] == pytest.approx(0.9) and alpha.y[-1] == pytest.approx(0.1)
    assert list(alpha.y) == sorted(alpha.y, reverse=True)
    assert temperature.y[0] == pytest.approx(8.0) and temperature.y[-1] == pytest.approx(2.0)
    assert len(set(np.round(temperature.y, 6))) == 4  # start and three drops
    assert alpha.x[-1] == pytest.approx(10.0)


def test_loss_terms_figure_draws_each_term_per_run_and_thins_long_series():
    long = 3 * MAX_POINTS
    steps = pd.concat(
        [
            metric_rows("a", "step", "ce", np.linspace(2, 1, long)),
            metric_rows("a", "step", "kd", np.linspace(5, 1, long)),
            metric_rows("a", "step", "loss", np.linspace(7, 2, long)),
            metric_rows("a", "step", "alpha", [0.9] * long),
            metric_rows("b", "step", "ce", [2.0, 1.5]),
        ]
    )
    figure = loss_terms_figure(steps, {"a": "kd run", "b": "baseline run"})
    names = [trace.name for trace in figure.data]
    assert names == ["kd run: ce", "kd run: kd", "kd run: loss", "baseline run: ce"]
    longest = figure.data[0]
    assert len(longest.x) <= MAX_POINTS + 1 and longest.x[-1] == long and longest.y[-1] == pytest.approx(1.0)


def test_epoch_figures_show_accuracy_agreement_and_kl_per_run():
    epochs = pd.concat(
        [
            metric_rows("a", "epoch", "test_acc", [0.5, 0.7]),
            metric_rows("a", "epoch", "train_acc", [0.6, 0.8]),
            metric_rows("a", "epoch", "agreement", [0.7, 0.9]),
            metric_rows("a", "epoch", "kl", [0.4, 0.2]),
        ]
    )
    accuracy = accuracy_figure(epochs, {"a": "run"})
    assert [list(trace.y) for trace in accuracy.data] == [[0.5, 0.7], [0.6, 0.8]]
    agreement = agreement_kl_figure(epochs, {"a": "run"})
    assert [list(trace.y) for trace in agreement.data] == [[0.7, 0.9], [0.4, 0.2]]
    assert len(accuracy_figure(epochs.iloc[:0], {"a": "run"}).data) == 0


def test_seed_groups_put_runs_that_differ_only_in_seed_together():
    runs = [
        record("1", seed=0),
        record("2", seed=1),
        record("3", seed=0, temperature=8.0),
        record("4", method="baseline"),
    ]
    groups = seed_groups(runs)
    assert sorted(len(group) for group in groups.values()) == [1, 1, 2]
    assert {"kd · temperature=4.0", "kd · temperature=8.0", "baseline · temperature=4.0"} == set(groups)


def test_seed_group_labels_name_only_the_hyperparameters_that_differ_within_a_method_and_short_paths():
    runs = [
        record("1", method="feed-sequential", method_params={"beta": 100.0, "generations": 2}),
        record(
            "2",
            method="feed-sequential",
            method_params={"beta": 10.0, "generations": 2},
            teachers=["lenet5_half"],
            teacher_checkpoint="/tmp/x/runs/20261122-054238-73e3b4/student.pt",
        ),
        record("3", method="dafl", method_params={"iterations": 50}),
    ]
    labels = set(seed_groups(runs))
    assert labels == {
        "feed-sequential · teachers=cnn · teacher_checkpoint=none · beta=100.0",
        "feed-sequential · teachers=lenet5_half · teacher_checkpoint=…/20261122-054238-73e3b4/student.pt · beta=10.0",
        "dafl · teachers=cnn · teacher_checkpoint=none",
    }


def test_comparison_table_flags_differing_fields_and_gains_over_the_same_seed_baseline():
    runs = [
        record("k0", seed=0, test_acc=0.92),
        record("k1", seed=1, test_acc=0.90),
        record("b0", method="baseline", seed=0, test_acc=0.88),
    ]
    table = comparison_table(runs)
    assert table.attrs["differing"] == ["method", "seed"]
    gains = dict(zip(table["id"], table["gain vs baseline (pts)"]))
    assert gains["k0"] == pytest.approx(4.0)
    assert pd.isna(gains["k1"]) and pd.isna(gains["b0"])  # no seed-1 baseline; a baseline has no gain
    assert list(table["params"]) == [5658] * 3 and list(table["wall s"]) == [15.0] * 3


def test_baseline_gains_average_over_seeds_with_a_standard_error_and_a_verdict():
    runs = [
        record("k0", seed=0, test_acc=0.92),
        record("k1", seed=1, test_acc=0.95),
        record("b0", method="baseline", seed=0, test_acc=0.88),
        record("b1", method="baseline", seed=1, test_acc=0.90),
    ]
    gains = baseline_gains(runs)
    assert list(gains["setup"]) == ["kd"] and gains["seeds"].iloc[0] == 2
    assert gains["gain (pts)"].iloc[0] == pytest.approx(4.5)
    paired_error = 100 * np.std([0.04, 0.05], ddof=1) / math.sqrt(2)  # same seeds: the per-seed gains' s.e.
    assert gains["± s.e. (pts)"].iloc[0] == pytest.approx(paired_error)
    assert gains["verdict"].iloc[0] == "holds" and "2 seeds" in gains["sentence"].iloc[0]
    unpaired = baseline_gains(
        [
            *runs[:2],
            record("b2", method="baseline", seed=2, test_acc=0.88),
            record("b3", method="baseline", seed=3, test_acc=0.90),
        ]
    )
    welch = 100 * math.sqrt(np.var([0.92, 0.95], ddof=1) / 2 + np.var([0.88, 0.90], ddof=1) / 2)
    assert unpaired["± s.e. (pts)"].iloc[0] == pytest.approx(welch)
    one_seed = baseline_gains([runs[0], runs[2]])
    assert pd.isna(one_seed["± s.e. (pts)"].iloc[0]) and "one seed is not evidence" in one_seed["sentence"].iloc[0]
    bars = gain_figure(gains).data[0]
    assert list(bars.y) == pytest.approx([4.5])
    assert baseline_gains(runs[:2]).empty


def test_compare_figure_draws_mean_and_band_for_seed_groups():
    epochs = pd.concat(
        [
            metric_rows("k0", "epoch", "test_acc", [0.5, 0.7]),
            metric_rows("k1", "epoch", "test_acc", [0.7, 0.9]),
            metric_rows("b0", "epoch", "test_acc", [0.4, 0.6]),
        ]
    )
    figure = compare_figure(epochs, {"kd": ["k0", "k1"], "baseline": ["b0"]}, label="test accuracy")
    assert figure.layout.yaxis.title.text == "test accuracy"
    band, mean, single = figure.data
    assert band.fill == "toself" and max(band.y) == pytest.approx(0.8 + np.std([0.7, 0.9], ddof=1))
    assert list(mean.y) == pytest.approx([0.6, 0.8]) and "mean of 2" in mean.name
    assert list(single.y) == pytest.approx([0.4, 0.6])


def test_soft_target_preview_shows_real_test_images_and_changes_with_temperature():
    preview = load_soft_target_preview(tiny_config(), count=4)
    assert preview.images.shape == (4, 8, 8) and preview.labels == [0, 1, 2, 3]
    assert 0.0 <= preview.images.min() and preview.images.max() <= 1.0
    cool, warm = soft_target_figure(preview, 1.0), soft_target_figure(preview, 10.0)
    cool_bars = [trace for trace in cool.data if trace.type == "bar"]
    warm_bars = [trace for trace in warm.data if trace.type == "bar"]
    assert len(cool_bars) == 4 and all(sum(bar.y) == pytest.approx(1.0) for bar in cool_bars)
    assert max(cool_bars[0].y) > max(warm_bars[0].y)
    assert "H " in cool.layout.annotations[-1].text


def test_enlarged_png_keeps_pixels_sharp(tmp_path):
    from PIL import Image

    path = tmp_path / "grid.png"
    Image.fromarray(np.array([[0, 255], [255, 0]], dtype=np.uint8)).save(path)
    enlarged = Image.open(io.BytesIO(enlarged_png(path, width=100)))
    assert enlarged.size == (100, 100)
    assert set(np.unique(np.asarray(enlarged))) == {0, 255}  # no blended grey from smoothing


def test_class_accuracy_table_averages_each_class_over_seeds_and_marks_omitted_classes():
    from workbench.viz import class_accuracy_figure, class_accuracy_table

    runs = [record(f"k{seed}", seed=seed, omit_classes=[3]) for seed in (0, 1)] + [record("b0", method="baseline")]
    for run, value in zip(runs, (0.2, 0.4, 0.0)):
        run.final_metrics.update({"class_acc_0": 0.9, "class_acc_3": value})
    table = class_accuracy_table(runs)
    kd = table[table["setup"].str.startswith("kd")]
    assert kd[kd["class"] == 3]["accuracy"].iloc[0] == pytest.approx(0.3)
    assert kd[kd["class"] == 3]["omitted"].iloc[0] and not kd[kd["class"] == 0]["omitted"].iloc[0]
    figure = class_accuracy_figure(table, ("zero", "one", "two", "three"))
    assert len(figure.data) == 2 and list(figure.data[0].x) == ["zero", "three"]


def test_epoch_axes_tick_every_epoch_for_short_runs_and_about_ten_upright_ticks_for_long_ones():
    from workbench.viz import accuracy_figure

    short = accuracy_figure(metric_rows("r", "epoch", "test_acc", [0.5] * 10), {"r": "run"})
    assert short.layout.xaxis.dtick == 1
    long = accuracy_figure(metric_rows("r", "epoch", "test_acc", [0.5] * 60), {"r": "run"})
    assert long.layout.xaxis.dtick is None and long.layout.xaxis.nticks == 10 and long.layout.xaxis.tickangle == 0


def diagram_texts(figure):
    return " | ".join([figure.layout.title.text, *(note.text or "" for note in figure.layout.annotations)])


def test_response_flow_diagrams_follow_each_methods_declaration():
    from workbench.methods import get_method
    from workbench.viz import response_flow_figure

    config = RunConfig(temperature=3.0, alpha=0.7)
    kd = diagram_texts(response_flow_figure(get_method("kd").card(), config))
    assert "teacher (frozen)" in kd and "T = 3" in kd and "match<br>weight α = 0.7" in kd and "weight 1 − α" in kd
    tfkd = diagram_texts(response_flow_figure(get_method("tfkd").card(), config))
    assert "no teacher network" in tfkd and "a distribution" in tfkd and "logits z" not in tfkd
    dml = diagram_texts(response_flow_figure(get_method("dml").card(), config))
    assert "peer students" in dml and "T = 1" in dml and "α" not in dml  # DML declares neither T nor α
    baseline = diagram_texts(response_flow_figure(get_method("baseline").card(), config))
    assert "labels alone" in baseline and "soft targets" not in baseline


def test_the_data_free_diagram_shows_the_generator_feeding_teacher_and_student():
    from workbench.methods import get_method
    from workbench.viz import data_free_flow_figure

    text = diagram_texts(data_free_flow_figure(get_method("dafl").card()))
    for part in (
        "noise z",
        "generator",
        "generated<br>images",
        "teacher (frozen)",
        "student",
        "the generator learns from the teacher's outputs",
        "no training image is read",
    ):
        assert part in text


def test_notebook_figures_stay_readable_in_a_narrow_output_area():
    from workbench.previews import SoftTargetPreview
    from workbench.viz import grid_heatmap_figure, temperature_effects_figure

    names = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
    preview = SoftTargetPreview(np.zeros((6, 8, 8)), [0, 1, 2, 3, 9, 6], np.eye(6, 10) * 3, names, "cnn")
    soft = soft_target_figure(preview, 1.0)
    assert soft.layout.xaxis8.tickangle == 0  # class indices under each small chart stay upright
    assert max(len(annotation.text) for annotation in soft.layout.annotations) <= 12  # titles never run together
    effects = temperature_effects_figure(preview, [0.5, 1, 2, 4, 8, 16])
    assert effects.layout.yaxis2.type == "log" and effects.layout.yaxis2.dtick == 1  # a label per decade only
    assert effects.layout.legend.orientation == "h"  # below the charts, not squeezing them
    results = pd.DataFrame(
        [
            {"temperature": t, "alpha": a, "seed": s, "test_acc": 0.8}
            for t in (1.0, 4.0)
            for a in (0.5, 0.9)
            for s in (0, 1)
        ]
    )
    heatmap = grid_heatmap_figure(results, "temperature", "alpha")
    assert heatmap.layout.yaxis2.showticklabels is False or heatmap.layout.yaxis2.matches == "y"  # one row axis
