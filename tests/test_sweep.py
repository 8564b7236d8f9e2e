"""Sweeps: spec checking, expansion to runs × seeds, the cost estimate, and the local and Ray engines."""

import importlib.util

import pytest
import yaml

from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.interactions import cell_stats, sweep_frame
from workbench.store import RunStore
from workbench.sweep import (
    CostEstimate,
    Probe,
    Range,
    estimate_cost,
    expand,
    list_sweeps,
    load_sweep,
    parse_sweep,
    probe_run,
    run_sweep,
    sweep_values,
)

TINY_BASE = {
    "dataset": "digits",
    "student": "lenet5_half",
    "teachers": ["cnn"],
    "epochs": 1,
    "batch_size": 64,
    "train_subset": 300,
    "device": "cpu",
}
GRID_2X2 = {"name": "tiny", "base": TINY_BASE, "grid": {"temperature": [2.0, 8.0], "alpha": [0.5, 0.9]}, "seeds": 2}


def write_sweep(tmp_path, data, name="sweep.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def test_grid_expands_to_every_point_times_every_seed(tmp_path):
    spec = load_sweep(write_sweep(tmp_path, {**GRID_2X2, "base": {**TINY_BASE, "seed": 5}}))
    points = expand(spec)
    assert len(points) == 8
    assert {(p.values["temperature"], p.values["alpha"], p.seed) for p in points} == {
        (t, a, s) for t in (2.0, 8.0) for a in (0.5, 0.9) for s in (5, 6)
    }
    first = points[0].config
    assert (first.temperature, first.alpha, first.seed, first.threads) == (2.0, 0.5, 5, 1)
    assert first.name == "tiny · T=2 · α=0.5 · seed 5"


def test_random_sweep_draws_the_same_points_for_the_same_sample_seed():
    data = {
        "base": {**TINY_BASE, "method": "tfkd"},
        "samples": 5,
        "random": {
            "temperature": {"low": 1, "high": 16, "log": True},
            "w_bits": ["32", "ternary"],
            "mp.correct_prob": {"low": 0.8, "high": 0.99},
        },
    }
    first, again = sweep_values(parse_sweep(data)), sweep_values(parse_sweep(data))
    other = sweep_values(parse_sweep({**data, "sample_seed": 1}))
    assert first == again and first != other and len(first) == 5
    assert all(1 <= v["temperature"] <= 16 and v["w_bits"] in ("32", "ternary") for v in first)
    point = expand(parse_sweep(data))[0]
    assert point.config.method_params["correct_prob"] == first[0]["mp.correct_prob"]
    assert isinstance(parse_sweep(data).random["temperature"], Range)


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"base": TINY_BASE, "grid": {"temprature": [1, 2]}}, "grid.temprature: unknown config field"),
        ({"base": TINY_BASE, "grid": {"seed": [1, 2]}}, "use seeds: N"),
        ({"base": TINY_BASE, "grid": {"alpha": [0.5]}, "random": {"temperature": [1]}, "samples": 2}, "either grid"),
        ({"base": TINY_BASE, "grid": {"temperature": [4, 0]}}, "at T=0: temperature: 0 is out of range"),
        ({"base": TINY_BASE, "random": {"temperature": {"low": 4, "high": 2}}, "samples": 3}, "needs low < high"),
        ({"base": TINY_BASE, "random": {"temperature": [1, 2]}}, "samples: a random sweep needs"),
        ({"base": TINY_BASE, "grid": {"alpha": [0.5]}, "seeds": 0}, "seeds: 0 is not allowed"),
        ({"base": {**TINY_BASE, "alpha": 0.5}, "grid": {"alpha": [0.5, 0.9]}}, "alpha is both in base and swept"),
        ({"base": TINY_BASE, "grid": {"alpha": [0.5]}, "gird": {}}, "unknown key 'gird'"),
    ],
)
def test_bad_sweep_files_name_what_is_wrong(data, expected):
    with pytest.raises(WorkbenchError, match=expected):
        parse_sweep(data)


def test_estimate_multiplies_probe_time_over_the_grid_and_warns_over_budget():
    calls = []

    def fake_probe(config, steps):
        calls.append((config.student, steps))
        return Probe(setup_seconds=1.0 if steps > 1 else 7.0, step_seconds=0.5, steps_per_epoch=4, eval_seconds=0.0)

    points = expand(parse_sweep({"base": {**TINY_BASE, "epochs": 3}, "grid": {"temperature": [2, 4, 8]}, "seeds": 2}))
    estimate = estimate_cost(points, concurrency=2, budget_minutes=0.4, probe=fake_probe)
    assert calls == [("lenet5_half", 1), ("lenet5_half", 20)]  # one cold start-up probe, one setup (T is cost-neutral)
    assert estimate.run_seconds == [1.0 + 3 * 2.0] * 6
    assert estimate.wall_seconds == pytest.approx(7.0 + 6 * 7.0 / 2)
    assert estimate.over_budget and "more than the budget of 24 s" in estimate.warning()
    assert CostEstimate([10.0], 1, {}, 0.0, budget_seconds=60.0).warning() is None


def test_probe_run_times_steps_of_a_real_run():
    probe = probe_run(expand(parse_sweep(GRID_2X2))[0].config, steps=4)
    assert probe.steps_per_epoch == 5  # 300 images / 64 per batch, rounded up
    assert 0 < probe.step_seconds < 5 and probe.setup_seconds >= 0


def check_sweep_landed(store, result, spec_points=8):
    runs = store.list_runs(group_id=result.sweep_id)
    assert len(runs) == spec_points and result.counts() == {"done": spec_points}
    assert {(r.config["temperature"], r.config["alpha"], r.config["seed"]) for r in runs} == {
        (t, a, s) for t in (2.0, 8.0) for a in (0.5, 0.9) for s in (0, 1)
    }
    frame = sweep_frame(runs)
    stats = cell_stats(frame, "temperature", "alpha")
    assert len(stats) == 4 and set(stats["n"]) == {2}
    by_cell = {(r.config["temperature"], r.config["alpha"]): [] for r in runs}
    for record in runs:
        by_cell[(record.config["temperature"], record.config["alpha"])].append(record.final_metrics["test_acc"])
    for cell in stats.itertuples():
        assert cell.mean == pytest.approx(sum(by_cell[(cell.x, cell.y)]) / 2)
    epochs = store.metrics_frame([r.id for r in runs], scope="epoch")
    assert set(epochs.query("name == 'test_acc'")["run_id"]) == {r.id for r in runs}


def test_local_sweep_lands_every_run_in_the_store_with_the_sweep_id(tmp_path):
    ended = []
    result = run_sweep(
        parse_sweep(GRID_2X2),
        tmp_path / "runs",
        max_concurrent=2,
        on_run_end=lambda record, done, total: ended.append((done, total)),
    )
    check_sweep_landed(RunStore(tmp_path / "runs"), result)
    assert ended[-1] == (8, 8) and len(ended) == 8
    assert (tmp_path / "runs" / "sweeps" / f"{result.sweep_id}.yaml").exists()


def test_list_sweeps_counts_each_sweeps_runs_newest_first_and_only_for_the_owners_asked(tmp_path):
    store = RunStore(tmp_path / "runs")
    runs = [
        ("sweep-a", "alice", "done"),
        ("sweep-a", "alice", "failed"),
        ("chain-x", "alice", "done"),
        (None, "alice", "done"),
        ("sweep-b", "bob", "running"),
        ("sweep-b", "bob", "queued"),
        ("sweep-c", "", "done"),
        ("sweep-a", "bob", "done"),
    ]  # in order of creation: sweep-a holds the newest run
    for group, owner, status in runs:
        run_id = store.create_run({}, group_id=group, owner=owner, status="queued" if status == "queued" else "running")
        if status in ("done", "failed"):
            store.finish(run_id, status)
    (store.root / "sweeps").mkdir()
    (store.root / "sweeps" / "sweep-b.yaml").write_text("name: T x alpha\n")
    assert list_sweeps(store) == [
        {"id": "sweep-a", "name": "sweep-a", "runs": 3, "finished": 3, "done": 2},
        {"id": "sweep-c", "name": "sweep-c", "runs": 1, "finished": 1, "done": 1},
        {"id": "sweep-b", "name": "T x alpha", "runs": 2, "finished": 0, "done": 0},
    ]
    assert list_sweeps(store, owners=("alice", "")) == [
        {"id": "sweep-c", "name": "sweep-c", "runs": 1, "finished": 1, "done": 1},
        {"id": "sweep-a", "name": "sweep-a", "runs": 2, "finished": 2, "done": 1},
    ]
    assert list_sweeps(store, owners=()) == []


def start_local_ray(ray, attempts=3):
    """ray.init with 2 CPUs; on a heavily loaded machine Ray's node can miss its fixed 30 s start-up limit,
    so try again, and skip (naming the reason) only when every attempt timed out that way."""
    for attempt in range(attempts):
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            return
        except Exception as error:  # Ray raises a plain Exception for the start-up timeout
            if "timed out during startup" not in str(error):
                raise
            ray.shutdown()
    pytest.skip(f"Ray's local node did not start within its 30 s limit in {attempts} attempts (machine overloaded)")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed (pip install '.[ray]')")
def test_ray_sweep_lands_every_run_in_the_same_store(tmp_path):
    import ray

    start_local_ray(ray)
    try:
        result = run_sweep(parse_sweep(GRID_2X2), tmp_path / "runs", engine="ray", max_concurrent=2)
    finally:
        ray.shutdown()
    store = RunStore(tmp_path / "runs")
    check_sweep_landed(store, result)
    assert all(
        r.final_metrics["epochs_done"] == 1 and r.final_metrics["params"] > 0
        for r in store.list_runs(group_id=result.sweep_id)
    )


def test_cli_sweep_estimate_only_prints_the_estimate_and_starts_nothing(tmp_path, capsys):
    path = write_sweep(tmp_path, {**GRID_2X2, "grid": {"temperature": [2.0, 8.0]}, "seeds": 1})
    code = main(["sweep", str(path), "--estimate-only", "--budget-minutes", "0.001", "--runs-dir", str(tmp_path / "r")])
    out = capsys.readouterr()
    assert code == 0 and "2 runs (2 points × 1 seeds) over temperature" in out.out and "estimate: 2 runs" in out.out
    assert "warning: the sweep would take about" in out.err
    assert RunStore(tmp_path / "r").list_runs() == []


def test_cli_sweep_reports_a_bad_file_in_one_line(tmp_path, capsys):
    path = write_sweep(tmp_path, {"base": TINY_BASE, "grid": {"alpha": [0.5, 2.0]}})
    assert main(["sweep", str(path), "--estimate-only"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "at α=2: alpha: 2 is out of range" in err
    assert main(["sweep", str(path), "--asha"]) == 2
    assert "--asha need --engine ray" in capsys.readouterr().err


def test_ray_results_are_recorded_by_the_driver_with_early_stops_cancels_and_failures(tmp_path):
    from types import SimpleNamespace

    from workbench.sweep.ray import METRIC_PREFIX, StoreRecording

    store = RunStore(tmp_path / "runs")
    config = expand(parse_sweep({**GRID_2X2, "base": {**TINY_BASE, "epochs": 3}}))[0].config
    ids = [store.create_run(config.to_dict(), group_id="sweep-r") for _ in range(4)]
    ended = []
    recording = StoreRecording(
        store,
        {run_id: config for run_id in ids},
        lambda record, done, total: ended.append((record.status, done, total)),
    )
    trials = [SimpleNamespace(trial_id=f"t{i}", config={"trial": {"run_id": run_id}}) for i, run_id in enumerate(ids)]
    for trial in trials:
        recording.started(trial)

    def epoch(trial, number, accuracy):
        recording.result(
            trial,
            {
                "epoch": number,
                "step": 5 * number,
                "test_acc": accuracy,
                "student_params": 99.0,
                **{METRIC_PREFIX + name: accuracy for name in ("test_acc", "best_test_acc")},
                METRIC_PREFIX + "throughput": 10.0,
                METRIC_PREFIX + "epoch_seconds": 2.0,
                "time_this_iter_s": 1.0,
            },
        )

    for number in (1, 2, 3):
        epoch(trials[0], number, 0.5 + number / 10)
    epoch(trials[1], 1, 0.3)
    epoch(trials[2], 1, 0.4)
    store.request_cancel(ids[2])
    assert recording.should_stop("t2", {}) and not recording.should_stop("t0", {})
    recording.result(trials[3], {"run_status": "diverged", "run_message": "loss became nan"})
    for trial in trials:
        recording.completed(trial)
    full, stopped, cancelled, diverged = (store.get_run(run_id) for run_id in ids)
    assert full.status == "done" and full.final_metrics["test_acc"] == pytest.approx(0.8)
    assert full.final_metrics["epochs_done"] == 3 and full.final_metrics["params"] == 99.0
    assert full.final_metrics["train_seconds"] == pytest.approx(6.0) and "early_stopped" not in full.final_metrics
    assert stopped.status == "done" and stopped.final_metrics["early_stopped"] == 1.0
    assert "stopped early by ASHA after epoch 1 of 3" in stopped.message
    assert cancelled.status == "cancelled" and (diverged.status, diverged.message) == ("diverged", "loss became nan")
    rows = store.metrics_frame(ids[0], scope="epoch")
    assert sorted(rows.query("name == 'test_acc'")["epoch"]) == [1, 2, 3]
    assert "time_this_iter_s" not in set(rows["name"])
    assert ended[-1] == ("diverged", 4, 4)
