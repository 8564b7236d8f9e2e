"""Seed-noise verdicts say holds, within seed noise, contradicted, or that one seed is not evidence."""

import pytest

from workbench.evidence import (
    CONTRADICTED,
    HOLDS,
    NOISE,
    ONE_SEED,
    combine,
    format_effect,
    measure_effect,
    verdict,
    verdict_sentence,
)


def test_paired_effect_is_the_mean_of_per_seed_differences_with_its_standard_error():
    effect = measure_effect([0.80, 0.82, 0.84], [0.77, 0.78, 0.79])
    assert effect.paired and effect.difference == pytest.approx(0.04)
    assert effect.se == pytest.approx(0.01 / 3**0.5)
    assert effect.per_seed == pytest.approx((0.03, 0.04, 0.05))


def test_unpaired_effect_uses_welch_standard_error():
    effect = measure_effect([0.8, 0.9], [0.5, 0.6, 0.7], paired=False)
    assert not effect.paired and effect.difference == pytest.approx(0.25)
    assert effect.se == pytest.approx((0.005 / 2 + 0.01 / 3) ** 0.5)


def test_a_consistent_gain_holds_and_a_consistent_loss_is_contradicted():
    assert verdict(measure_effect([0.8, 0.82, 0.84], [0.7, 0.71, 0.72])) == HOLDS
    assert verdict(measure_effect([0.7, 0.71, 0.72], [0.8, 0.82, 0.84])) == CONTRADICTED


def test_a_gain_smaller_than_two_standard_errors_is_within_seed_noise():
    assert verdict(measure_effect([0.80, 0.70, 0.90], [0.78, 0.80, 0.79])) == NOISE


def test_one_seed_is_not_evidence():
    assert verdict(measure_effect([0.9], [0.1])) == ONE_SEED
    assert "one seed is not evidence" in verdict_sentence("KD", "baseline", measure_effect([0.9], [0.1]))


def test_a_claim_can_ask_for_a_smallest_effect_and_a_gain_on_every_seed():
    effect = measure_effect([0.80, 0.81, 0.82, 0.83], [0.79, 0.80, 0.81, 0.82])
    assert verdict(effect) == HOLDS and verdict(effect, min_effect=0.02) == NOISE
    mixed = measure_effect([0.9, 0.9, 0.9, 0.9, 0.79], [0.8, 0.8, 0.8, 0.8, 0.8])
    assert verdict(mixed) == HOLDS and verdict(mixed, every_seed=True) == NOISE


def test_combined_verdicts_take_the_worst():
    assert combine([HOLDS, HOLDS]) == HOLDS
    assert combine([HOLDS, NOISE]) == NOISE
    assert combine([HOLDS, CONTRADICTED, NOISE]) == CONTRADICTED
    assert combine([HOLDS, ONE_SEED]) == ONE_SEED


def test_sentences_name_the_gain_its_error_and_the_seed_count():
    effect = measure_effect([0.80, 0.82, 0.84], [0.77, 0.78, 0.79])
    assert format_effect(effect) == "+4.00 ± 0.58 pts (s.e., 3 seeds)"
    assert "KD is better" in verdict_sentence("KD", "baseline", effect)
    noisy = verdict_sentence("KD", "baseline", measure_effect([0.80, 0.70, 0.90], [0.78, 0.80, 0.79]))
    assert "within seed noise" in noisy
