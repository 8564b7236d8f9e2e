"""Runs end with an honest status (collapsed, diverged) and schedules reach their end values in real runs."""

import pytest
import torch
from conftest import tiny_config

from workbench.config import RunConfig
from workbench.engine import FunctionCallback, fit
from workbench.engine.loop import collapse_message
from workbench.errors import WorkbenchError
from workbench.runner import run_recorded
from workbench.schedules import schedule_value
from workbench.store import RunStore


def test_step_schedule_with_one_drop_reaches_its_end_value_on_the_last_step(digits_teacher):
    alphas = []
    config = tiny_config(epochs=2, alpha=1.0, alpha_end=0.0, alpha_schedule="step", schedule_steps=1)
    fit(
        config,
        [FunctionCallback(on_step=lambda event: alphas.append(event.metrics["alpha"]))],
        teachers=[digits_teacher],
    )
    assert alphas[0] == 1.0 and alphas[-1] == 0.0 and set(alphas) == {0.0, 1.0}


def test_linear_schedule_runs_from_start_to_end_value_through_a_real_run(digits_teacher):
    alphas, temperatures = [], []

    def record(event):
        alphas.append(event.metrics["alpha"])
        temperatures.append(event.metrics["temperature"])

    config = tiny_config(
        epochs=2,
        alpha=0.9,
        alpha_end=0.1,
        alpha_schedule="linear",
        temperature=8.0,
        temperature_end=2.0,
        temperature_schedule="linear",
    )
    fit(config, [FunctionCallback(on_step=record)], teachers=[digits_teacher])
    assert alphas[0] == pytest.approx(0.9) and alphas[-1] == pytest.approx(0.1)
    assert temperatures[0] == pytest.approx(8.0) and temperatures[-1] == pytest.approx(2.0)
    assert all(a > b for a, b in zip(alphas, alphas[1:]))


def test_schedule_value_at_the_end_of_training_is_the_end_value():
    assert schedule_value("step", 1.0, 0.0, 1.0, 1.0, 1) == 0.0
    assert schedule_value("linear", 1.0, 0.0, 1.0) == 0.0


def test_a_loss_that_grows_by_orders_of_magnitude_ends_the_run_as_diverged(tmp_path):
    store = RunStore(tmp_path / "runs")
    config = tiny_config(method="baseline", optimizer="sgd", lr=10.0, momentum=0.99, epochs=5)
    run_id, result = run_recorded(config, store)
    record = store.get_run(run_id)
    assert result.status == record.status == "diverged"
    assert "learning rate" in record.message


def test_a_student_stuck_at_chance_with_constant_predictions_is_collapsed_not_done(tmp_path):
    store = RunStore(tmp_path / "runs")
    # 56 SGD steps at a tiny learning rate leave the student where it started: one class for nearly every image
    config = tiny_config(method="baseline", optimizer="sgd", lr=1e-5, epochs=8)
    run_id, result = run_recorded(config, store)
    record = store.get_run(run_id)
    assert result.status == record.status == "collapsed"
    assert "test images" in record.message and "chance" in record.message
    assert result.final_metrics["prediction_share"] >= 0.9


def test_a_run_too_short_to_judge_is_not_called_collapsed():
    result = fit(tiny_config(method="baseline", optimizer="sgd", lr=1e-5, epochs=1))  # 7 steps
    assert result.status == "done"


def test_collapse_needs_both_chance_accuracy_and_one_dominant_class():
    names = tuple(str(i) for i in range(10))
    assert collapse_message({"test_acc": 0.1, "prediction_share": 0.97, "prediction_top_class": 3}, 10, names)
    assert not collapse_message({"test_acc": 0.1, "prediction_share": 0.2, "prediction_top_class": 3}, 10, names)
    assert not collapse_message({"test_acc": 0.6, "prediction_share": 0.9, "prediction_top_class": 3}, 10, names)


def test_omitted_classes_never_reach_the_student_but_are_tested():
    seen_labels = set()
    config = tiny_config(method="baseline", epochs=1, omit_classes=[3])

    class Spy(torch.nn.Module):
        pass

    from workbench.methods import baseline as baseline_module

    original = baseline_module.Baseline.loss_terms

    def spy(self, batch, state):
        seen_labels.update(batch.y.tolist())
        return original(self, batch, state)

    baseline_module.Baseline.loss_terms = spy
    try:
        result = fit(config)
    finally:
        baseline_module.Baseline.loss_terms = original
    assert 3 not in seen_labels and len(seen_labels) == 9
    assert "omitted_acc" in result.final_metrics and "class_acc_3" in result.final_metrics
    assert result.final_metrics["omitted_acc"] == pytest.approx(result.final_metrics["class_acc_3"])


def test_omit_classes_is_checked_against_the_dataset():
    with pytest.raises(WorkbenchError, match="omit_classes"):
        RunConfig.from_dict({"dataset": "digits", "omit_classes": "10"})
    with pytest.raises(WorkbenchError, match="omit_classes"):
        RunConfig.from_dict({"omit_classes": "three"})
    assert RunConfig.from_dict({"omit_classes": "7, 3"}).omit_classes == [3, 7]
    assert RunConfig.from_dict({"omit_classes": "3"}).query_params()["omit_classes"] == "3"


def test_bias_correction_gives_omitted_classes_their_share_of_predictions_by_the_students_ranking():
    from workbench.engine.loop import bias_corrected_predictions

    logits = torch.zeros(10, 5)
    logits[:, 0] = 5.0  # class 0 always wins before the correction
    logits[:, 2] = torch.arange(10, dtype=torch.float32)  # the student's ranking for omitted class 2
    predicted = bias_corrected_predictions(logits, [2])
    assert predicted.tolist() == [0] * 8 + [2, 2]  # a share of 1/5: the two images ranked highest
