"""The coefficient/temperature schedules reach the values their definitions promise."""

import pytest

from workbench.schedules import schedule_curve, schedule_value


def test_constant_schedule_never_changes():
    assert {schedule_value("constant", 0.9, 0.1, p) for p in (0, 0.5, 1)} == {0.9}


def test_linear_decay_reaches_floor_at_fraction_and_stays():
    assert schedule_value("linear", 0.9, 0.1, 0.25, fraction=0.5) == pytest.approx(0.5)
    assert schedule_value("linear", 0.9, 0.1, 0.5, fraction=0.5) == pytest.approx(0.1)
    assert schedule_value("linear", 0.9, 0.1, 0.9, fraction=0.5) == pytest.approx(0.1)


def test_cosine_is_halfway_at_half_the_fraction():
    assert schedule_value("cosine", 1.0, 0.0, 0.5) == pytest.approx(0.5)
    assert schedule_value("cosine", 1.0, 0.0, 0.0) == pytest.approx(1.0)
    assert schedule_value("cosine", 1.0, 0.0, 1.0) == pytest.approx(0.0)


def test_step_schedule_drops_in_equal_steps():
    values = [schedule_value("step", 0.9, 0.0, p, steps=3) for p in (0.0, 0.34, 0.67, 1.0)]
    assert values == pytest.approx([0.9, 0.6, 0.3, 0.0])


def test_curve_samples_the_whole_run():
    xs, ys = schedule_curve("linear", 1.0, 0.0, points=11)
    assert xs[0] == 0 and xs[-1] == 1 and ys[0] == 1 and ys[-1] == pytest.approx(0.0)
