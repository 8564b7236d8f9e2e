"""Lessons carry their claim as data, and `kdw lessons check` runs the arms over seeds and judges the claim."""

import json

import pytest

from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.evidence import CONTRADICTED, HOLDS, NOISE
from workbench.lessons import get_lesson, list_lessons
from workbench.lessons.check import check_lessons, judge, record_verdicts, report_text
from workbench.lessons.verdicts import last_verdicts
from workbench.store import RunRecord, RunStore

TINY_LESSON = """version: 1
title: Tiny
commentary: "A tiny lesson."
config:
  dataset: digits
  train_subset: 300
  teachers: [cnn]
  student: lenet5_half
  optimizer: adam
  lr: 0.02
  batch_size: 64
  epochs: 1
  method: kd
claim:
  says: "KD at T 4 is no worse than at T 2."
  arms:
    T 4: {temperature: 4.0}
    T 2: {temperature: 2.0}
  expect:
    - {better: T 4, worse: T 2}
"""


def record(run_id, value, status="done", metric="test_acc"):
    return RunRecord(
        id=run_id,
        name=run_id,
        config={"dataset": "digits"},
        status=status,
        message="",
        created=0.0,
        started=0.0,
        finished=0.0,
        final_metrics={metric: value} if value is not None else {},
        artifacts={},
        parent_id=None,
        group_id=None,
        owner="",
    )


def fake_runs(values):
    return {
        (arm, seed): record(f"{arm}-{seed}", value) for arm, seeds in values.items() for seed, value in enumerate(seeds)
    }


def test_every_shipped_lesson_states_its_claim_with_arms_and_expected_direction():
    for lesson in list_lessons():
        claim = lesson.claim
        assert claim.says and len(claim.arms) >= 2 and claim.expect, lesson.name
        for expectation in claim.expect:
            assert expectation.arms() <= set(claim.arms)
        for arm in claim.arms:
            claim.arm_config(lesson.config_values(), arm, seed=0)  # every arm is a valid run


def test_a_claim_naming_an_unknown_arm_is_refused(tmp_path):
    text = TINY_LESSON.replace("worse: T 2", "worse: T 3")
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(WorkbenchError, match="arm 'T 3'"):
        get_lesson("bad", folder=tmp_path)


def test_judge_says_holds_within_noise_or_contradicted(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY_LESSON)
    lesson = get_lesson("tiny", folder=tmp_path)
    holds = judge(lesson, fake_runs({"T 4": [0.9, 0.91, 0.92], "T 2": [0.8, 0.8, 0.81]}), 3)
    assert holds.verdict == HOLDS and "+10.67" in holds.comparisons[0].effect_text
    noise = judge(lesson, fake_runs({"T 4": [0.9, 0.7, 0.8], "T 2": [0.8, 0.8, 0.81]}), 3)
    assert noise.verdict == NOISE
    worse = judge(lesson, fake_runs({"T 4": [0.7, 0.71, 0.72], "T 2": [0.8, 0.8, 0.81]}), 3)
    assert worse.verdict == CONTRADICTED
    text = report_text(worse, "test_acc")
    assert "KD at T 4 is no worse" in text and "T 4" in text and "verdict: contradicted" in text


def test_a_gain_side_compares_one_arms_gain_with_anothers(tmp_path):
    lesson = get_lesson("less-data-more-gain")
    runs = fake_runs(
        {
            "KD 1k": [0.70, 0.71, 0.72],
            "baseline 1k": [0.60, 0.60, 0.61],
            "KD 10k": [0.82, 0.83, 0.84],
            "baseline 10k": [0.80, 0.81, 0.81],
        }
    )
    result = judge(lesson, runs, 3)
    assert result.verdict == HOLDS  # a gain of ~10.7 points at 1k against ~2.3 at 10k


def test_a_run_that_diverged_before_measuring_counts_as_chance(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY_LESSON)
    lesson = get_lesson("tiny", folder=tmp_path)
    runs = fake_runs({"T 4": [0.9, 0.91, 0.92], "T 2": [0.8, 0.8, 0.81]})
    runs["T 4", 1] = record("x", None, status="diverged")
    result = judge(lesson, runs, 3)
    assert result.arms[0].values[1] == pytest.approx(0.1)
    assert "1 of 3 diverged" in result.arms[0].summary(100.0)


def test_check_trains_each_arm_over_seeds_and_records_the_verdict(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY_LESSON)
    lesson = get_lesson("tiny", folder=tmp_path)
    store = RunStore(tmp_path / "runs")
    [result] = check_lessons([lesson], store, seeds=2, workers=2)
    assert [arm.name for arm in result.arms] == ["T 4", "T 2"] and result.seeds == 2
    assert all(len(arm.values) == 2 and len(set(arm.run_ids)) == 2 for arm in result.arms)
    runs = store.list_runs()
    assert len(runs) == 4 and {run.config["temperature"] for run in runs} == {2.0, 4.0}
    assert {run.config["seed"] for run in runs} == {0, 1}
    record_verdicts([result], tmp_path / "runs" / "lessons" / "verdicts.json")
    saved = json.loads((tmp_path / "runs" / "lessons" / "verdicts.json").read_text())
    assert saved["tiny"]["verdict"] == result.verdict and saved["tiny"]["seeds"] == 2


def test_last_verdicts_prefer_this_servers_check_and_drop_other_versions(tmp_path):
    lesson = get_lesson("good-starting-point")
    path = tmp_path / "lessons" / "verdicts.json"
    path.parent.mkdir()
    path.write_text(
        json.dumps(
            {
                lesson.name: {
                    "verdict": "contradicted",
                    "version": lesson.version,
                    "seeds": 5,
                    "checked": "2026-01-01",
                },
                "teacher-size": {"verdict": "holds", "version": 999, "seeds": 5, "checked": "2026-01-01"},
            }
        )
    )
    verdicts = last_verdicts(tmp_path)
    assert verdicts[lesson.name]["verdict"] == "contradicted" and verdicts[lesson.name]["where"] == "here"
    assert verdicts.get("teacher-size", {}).get("version") != 999


def test_cli_check_rejects_bad_flags_with_one_line(capsys):
    assert main(["lessons", "check", "--seeds", "zero"]) == 2
    assert "seeds" in capsys.readouterr().err
    assert main(["lessons", "check", "no-such-lesson"]) == 2


def test_cli_check_exits_1_when_a_claim_is_contradicted_and_writes_the_docs(tmp_path, monkeypatch, capsys):
    lesson = get_lesson("temperature-too-low")
    runs = fake_runs({"T 1": [0.9, 0.91, 0.92], "T 4": [0.8, 0.8, 0.81]})  # T 4 worse: the claim is contradicted
    monkeypatch.setattr(
        "workbench.lessons.check.check_lessons",
        lambda lessons, store, seeds, workers, on_run_end: [judge(lesson, runs, 3)],
    )
    output = tmp_path / "lessons.md"
    code = main(
        ["lessons", "check", lesson.name, "--seeds", "3", "--runs-dir", str(tmp_path / "runs"), "--output", str(output)]
    )
    assert code == 1
    assert "verdict: contradicted" in capsys.readouterr().out
    assert "## temperature-too-low" in output.read_text() and "**Verdict: contradicted.**" in output.read_text()
    saved = json.loads((tmp_path / "runs" / "lessons" / "verdicts.json").read_text())
    assert saved[lesson.name]["verdict"] == CONTRADICTED
