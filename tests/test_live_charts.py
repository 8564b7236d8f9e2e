"""Live charts within an epoch: the probe of test accuracy on a fixed subset (recorded as scope `probe`, leaving the
training unchanged) and the Train page's figures, which wait in words before their first point."""

import pandas as pd
import pytest
from conftest import tiny_config

from workbench import runner
from workbench.engine import Callback, fit
from workbench.engine.probe import ProbeClock
from workbench.store import RunStore
from workbench.teachers import resolve_for
from workbench.viz import accuracy_figure, agreement_kl_figure, loss_terms_figure


class ProbeEveryStep(Callback):
    """Calls the run's test probe after every step and keeps what it said."""

    def __init__(self):
        self.values = []

    def on_start(self, info):
        self.probe = info.test_probe

    def on_step(self, event):
        self.values.append(self.probe())


class StepLosses(Callback):
    def __init__(self):
        self.losses = []

    def on_step(self, event):
        self.losses.append(event.metrics["loss"])


def test_probing_test_accuracy_every_step_leaves_the_training_unchanged():
    config = tiny_config(epochs=1)
    plain, probed = StepLosses(), StepLosses()
    quiet = fit(config, [plain], **resolve_for(config))
    watcher = ProbeEveryStep()
    watched = fit(config, [probed, watcher], **resolve_for(config))
    assert probed.losses == plain.losses and len(watcher.values) == len(plain.losses)
    assert watched.final_metrics["test_acc"] == quiet.final_metrics["test_acc"]
    assert all(0.0 <= value <= 1.0 for value in watcher.values) and watcher.values[-1] > watcher.values[0]


def test_a_recorded_run_stores_probes_of_test_accuracy_at_fractional_epochs(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "ProbeClock", lambda: ProbeClock(seconds=0.0, share=1.0))  # a probe every step
    store = RunStore(tmp_path / "runs")
    run_id, result = runner.run_recorded(tiny_config(epochs=2), store)
    frame = store.metrics_frame(run_id, scope="probe")
    table = frame.pivot_table(index="step", columns="name", values="value")
    steps = len(store.metrics_frame(run_id, scope="step").query("name == 'loss'"))
    assert len(table) == steps  # one probe per step here
    assert list(table["epoch"]) == pytest.approx([step / (steps // 2) for step in table.index])
    assert table["test_acc"].between(0, 1).all()
    epochs = store.metrics_frame(run_id, scope="epoch")
    assert set(epochs["name"]) >= {"test_acc"} and "probe" not in set(epochs["scope"])  # epoch figures stay apart


def test_the_first_probe_is_due_at_once_and_the_next_after_its_interval():
    clock = ProbeClock(seconds=3600.0)
    assert clock.due()
    assert clock.measure(lambda: 0.5) == 0.5
    assert not clock.due()


def test_a_slow_probe_is_taken_less_often_than_every_interval():
    clock = ProbeClock(seconds=0.0, share=1e-9)  # any cost is far more than this share of the time
    clock.measure(lambda: sum(range(10_000)) * 0.0)
    assert not clock.due()


def rows(run_id, scope, name, steps, values, epochs=None):
    return pd.DataFrame(
        {
            "run_id": run_id,
            "step": steps,
            "epoch": epochs if epochs is not None else [1] * len(steps),
            "scope": scope,
            "name": name,
            "value": values,
        }
    )


def test_the_accuracy_chart_draws_probes_within_the_epoch_and_the_epoch_figure_solid():
    metrics = pd.concat(
        [
            rows("a", "probe", "test_acc", [1, 8, 16], [0.1, 0.4, 0.6]),
            rows("a", "probe", "epoch", [1, 8, 16], [1 / 32, 8 / 32, 0.5]),
            rows("a", "step", "loss", [1, 2], [2.0, 1.9]),
        ]
    )
    live = accuracy_figure(metrics, {"a": "kd · seed 0"})
    assert [trace.name for trace in live.data] == ["kd · seed 0: test (subset, live)"]
    assert list(live.data[0].x) == pytest.approx([1 / 32, 0.25, 0.5]) and list(live.data[0].y) == [0.1, 0.4, 0.6]
    finished = accuracy_figure(
        pd.concat([metrics, rows("a", "epoch", "test_acc", [32], [0.7], [1])]), {"a": "kd · seed 0"}
    )
    assert [trace.line.dash for trace in finished.data] == ["dot", "solid"] and list(finished.data[1].y) == [0.7]


def test_before_their_first_point_the_live_charts_say_what_they_wait_for_without_axes():
    empty = pd.DataFrame(columns=["run_id", "step", "epoch", "scope", "name", "value"])
    labels = {"a": "kd · seed 0"}
    for figure, words in (
        (loss_terms_figure(empty, labels), "first step"),
        (accuracy_figure(empty, labels), "first evaluation"),
        (agreement_kl_figure(empty, labels), "end of the first epoch"),
    ):
        assert not figure.data and words in figure.layout.annotations[0].text
        assert figure.layout.xaxis.visible is False and figure.layout.yaxis.visible is False


def test_agreement_and_kl_are_named_by_their_axes_not_by_subplot_titles():
    metrics = pd.concat(
        [rows("a", "epoch", "agreement", [10, 20], [0.7, 0.8], [1, 2]), rows("a", "epoch", "kl", [10, 20], [0.4, 0.3])]
    )
    figure = agreement_kl_figure(metrics, {"a": "run"})
    assert not figure.layout.annotations
    assert figure.layout.yaxis.title.text == "top-1 agreement" and "KL" in figure.layout.yaxis2.title.text
