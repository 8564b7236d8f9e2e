"""Grids trained together (issue 17 item 3): each student's numbers equal its own run's, the plan says which runs
join a grid and why the others train alone, and one student's cancel stops that student only."""

from __future__ import annotations

import pytest
import torch

from workbench.config import RunConfig
from workbench.engine import Callback, fit
from workbench.engine.grid import fit_grid
from workbench.engine.grid_plan import plan_grids
from workbench.errors import WorkbenchError
from workbench.teachers import resolve_for


class Recorder(Callback):
    """Keeps a run's step losses and epoch metrics."""

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.epochs: list[dict[str, float]] = []

    def on_step(self, event) -> None:
        self.losses.append(event.metrics["loss"])

    def on_epoch(self, event) -> None:
        self.epochs.append(event.metrics)


BASE = RunConfig(dataset="digits", train_subset=400, epochs=2, batch_size=32, device="cpu", threads=1)


def grid_configs() -> list[RunConfig]:
    """Three students: two seeds, two temperatures and α schedules, KD and the baseline side by side."""
    return [
        BASE.replace(seed=0),
        BASE.replace(seed=1, temperature=2.0, alpha=0.5, alpha_schedule="linear"),
        BASE.replace(seed=0, method="baseline"),
    ]


def test_each_grid_student_matches_its_run_alone() -> None:
    configs = grid_configs()
    given = resolve_for(configs[0])
    recorders = [Recorder() for _ in configs]
    results = fit_grid(
        configs, [[r] for r in recorders], teachers=given["teachers"], teacher_logit_files=given["teacher_logit_files"]
    )
    for config, recorder, result in zip(configs, recorders, results):
        alone = Recorder()
        single = fit(config, [alone], **resolve_for(config))
        assert result.status == single.status == "done"
        assert [e["test_acc"] for e in recorder.epochs] == [e["test_acc"] for e in alone.epochs]
        assert len(recorder.losses) == len(alone.losses)
        for grid_loss, own_loss in zip(recorder.losses, alone.losses):
            assert grid_loss == pytest.approx(own_loss, rel=1e-4)
        assert set(result.final_metrics) == set(single.final_metrics)
        assert set(recorder.epochs[-1]) == set(alone.epochs[-1])
        for name, value in single.student.state_dict().items():
            torch.testing.assert_close(result.student.state_dict()[name], value, rtol=1e-3, atol=1e-4)


class ProbeRecorder(Callback):
    """Takes the live probe of test accuracy after some steps, as the run store's recorder does."""

    def __init__(self, at_steps: tuple[int, ...]) -> None:
        self.at_steps, self.probes, self.probe = at_steps, [], None

    def on_start(self, info) -> None:
        self.probe = info.test_probe

    def on_step(self, event) -> None:
        if event.step in self.at_steps:
            self.probes.append(self.probe())


def test_each_grid_student_gets_a_live_probe_that_matches_its_run_alone() -> None:
    configs = grid_configs()
    given = resolve_for(configs[0])
    recorders = [ProbeRecorder((1, 7, 13)) for _ in configs]
    fit_grid(
        configs, [[r] for r in recorders], teachers=given["teachers"], teacher_logit_files=given["teacher_logit_files"]
    )
    for config, recorder in zip(configs, recorders):
        alone = ProbeRecorder((1, 7, 13))
        fit(config, [alone], **resolve_for(config))
        assert len(recorder.probes) == 3
        assert recorder.probes == pytest.approx(alone.probes, abs=2 / 512)  # an image's argmax may flip by rounding


def test_cancelling_one_student_stops_only_it() -> None:
    configs = grid_configs()
    given = resolve_for(configs[0])
    steps = {"n": 0}

    def cancel_second() -> bool:
        steps["n"] += 1
        return steps["n"] > 5

    results = fit_grid(
        configs,
        teachers=given["teachers"],
        teacher_logit_files=given["teacher_logit_files"],
        cancels=[None, cancel_second, None],
    )
    assert [r.status for r in results] == ["done", "cancelled", "done"]
    assert results[1].message == "cancelled during epoch 1"
    assert len(results[0].history) == 2 and not results[1].history


def test_plan_groups_runs_sharing_a_setup_and_says_why_others_train_alone() -> None:
    configs = [
        *(BASE.replace(seed=s, temperature=t) for s in (0, 1) for t in (1.0, 4.0)),
        BASE.replace(method="baseline", seed=3),
        BASE.replace(method="fitnets"),
        BASE.replace(w_bits="2"),
        BASE.replace(lr=0.01),
    ]
    plan = plan_grids(configs, workers=2)
    assert plan.grids == [[0, 1, 2], [3, 4]]
    assert plan.singles == [5, 6, 7]
    assert "fitnets" in plan.reasons[5]
    assert "quantised" in plan.reasons[6]
    assert plan.reasons[7] == "no other run shares its setup"


def test_grid_refuses_runs_that_differ_in_their_recipe() -> None:
    with pytest.raises(WorkbenchError, match="differ"):
        fit_grid([BASE, BASE.replace(lr=0.01)])


def test_a_large_group_trains_as_grids_of_at_most_sixteen() -> None:
    configs = [BASE.replace(seed=seed) for seed in range(40)]
    plan = plan_grids(configs, workers=2)
    assert [len(grid) for grid in plan.grids] == [14, 13, 13]
    assert sorted(p for grid in plan.grids for p in grid) == list(range(40))


def test_the_train_pages_caption_says_which_runs_train_together_and_why_others_do_not() -> None:
    from workbench.sweep.grid_runs import grid_caption

    seeds = [BASE.replace(seed=seed, method=method) for seed in (0, 1) for method in ("kd", "baseline")]
    assert "4 runs train together as 1 grid(s) of 4." in grid_caption(seeds, 1)
    assert "2 grid(s) of 2 + 2" in grid_caption(seeds, 2)
    alone = grid_caption([BASE.replace(method="dafl"), BASE.replace(method="baseline")], 1)
    assert alone.startswith("Each run trains on its own: ")
    assert "method dafl (grids train kd and baseline)" in alone and "no other run shares its setup" in alone
