"""engine.fit: determinism, the teacher-logit cache, checkpoints and resume, cancel, divergence guard."""

import ast
import threading
from pathlib import Path

import pytest
import torch
from conftest import tiny_config

from workbench.engine import Callback, fit
from workbench.errors import WorkbenchError
from workbench.runner import run_recorded
from workbench.store import RunStore


class Recorder(Callback):
    def __init__(self):
        self.steps, self.epochs, self.info = [], [], None

    def on_start(self, info):
        self.info = info

    def on_step(self, event):
        self.steps.append(event.metrics)

    def on_epoch(self, event):
        self.epochs.append(event.metrics)


def test_same_seed_same_numbers(digits_teacher):
    runs = []
    for _ in range(2):
        recorder = Recorder()
        fit(tiny_config(), [recorder], teachers=[digits_teacher])
        runs.append([step["loss"] for step in recorder.steps])
    assert runs[0] == runs[1]


def test_other_seed_other_numbers(digits_teacher):
    a, b = Recorder(), Recorder()
    fit(tiny_config(seed=0, epochs=1), [a], teachers=[digits_teacher])
    fit(tiny_config(seed=1, epochs=1), [b], teachers=[digits_teacher])
    assert [s["loss"] for s in a.steps] != [s["loss"] for s in b.steps]


def test_teacher_logit_cache_gives_the_same_losses(digits_teacher):
    cached, fresh = Recorder(), Recorder()
    fit(tiny_config(epochs=3, cache_teacher_logits=True), [cached], teachers=[digits_teacher])
    fit(tiny_config(epochs=3, cache_teacher_logits=False), [fresh], teachers=[digits_teacher])
    assert [s["kd"] for s in cached.steps] == pytest.approx([s["kd"] for s in fresh.steps], rel=1e-6, abs=1e-7)
    assert cached.epochs[-1]["test_acc"] == pytest.approx(fresh.epochs[-1]["test_acc"], abs=1e-9)


@pytest.fixture
def teacher_rows(monkeypatch):
    """The batch sizes the teacher bank runs its teachers on, in order."""
    from workbench.engine.teacher_bank import TeacherBank

    rows, forward = [], TeacherBank._forward

    def counting(self, which, x):
        rows.append(x.shape[0])
        return forward(self, which, x)

    monkeypatch.setattr(TeacherBank, "_forward", counting)
    return rows


def test_the_cache_is_filled_by_the_first_epochs_batches_without_a_pass_of_its_own(digits_teacher, teacher_rows):
    fit(tiny_config(epochs=3), teachers=[digits_teacher])
    # the first epoch's 7 batches, then the test split once at its evaluation (agreement/KL: not before the first
    # step); epochs 2 and 3 read the cache
    assert teacher_rows == [64, 64, 64, 64, 64, 64, 16, 360]


def test_the_teachers_inference_copy_gives_its_logits_and_leaves_it_untouched(digits_teacher):
    from workbench.engine.teacher_bank import inference_copy

    x = torch.randn(32, 1, 8, 8)
    fast = inference_copy(digits_teacher)
    assert fast is not digits_teacher
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())  # folded into the convolutions
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in digits_teacher.modules())
    with torch.no_grad():
        assert torch.allclose(fast(x), digits_teacher(x), rtol=1e-4, atol=1e-5)
    assert all(p.is_contiguous() for p in digits_teacher.parameters())


def test_cached_logits_persist_on_disk_and_are_reused(tmp_path):
    from workbench.teachers import find_teacher, logits_cache_file, resolve_for

    config = tiny_config(epochs=1)
    weights = Path(find_teacher("cnn", "digits", 0).path)
    files = [logits_cache_file(weights, "digits", split) for split in ("train-400", "test")]
    teachers = resolve_for(config)
    assert [teachers["teacher_logit_files"].train[0], teachers["teacher_logit_files"].test[0]] == files
    assert not any(file.exists() for file in files)
    first = fit(config, **teachers)
    assert all(file.exists() for file in files)
    second = fit(config, **resolve_for(config))
    assert first.history[-1]["train_loss"] == second.history[-1]["train_loss"]
    assert first.history[-1]["agreement"] == second.history[-1]["agreement"]


class CountingTeacher(torch.nn.Module):
    def __init__(self, inner, calls):
        super().__init__()
        self.inner, self.calls = inner, calls

    def forward(self, x):
        self.calls.append(x.shape[0])
        return self.inner(x)


def test_epoch_events_carry_every_metric(digits_teacher):
    recorder = Recorder()
    fit(tiny_config(), [recorder], teachers=[digits_teacher])
    epoch = recorder.epochs[-1]
    for key in (
        "train_ce",
        "train_kd",
        "train_acc",
        "test_acc",
        "agreement",
        "kl",
        "throughput",
        "lr",
        "alpha",
        "temperature",
        "best_test_acc",
    ):
        assert key in epoch
    assert {"ce", "kd", "loss", "alpha", "temperature", "lr"} <= set(recorder.steps[0])
    assert 0.0 <= epoch["agreement"] <= 1.0 and epoch["kl"] >= 0.0


def test_alpha_schedule_reaches_its_floor(digits_teacher):
    recorder = Recorder()
    fit(tiny_config(alpha=0.9, alpha_schedule="linear", alpha_end=0.1, epochs=2), [recorder], teachers=[digits_teacher])
    alphas = [s["alpha"] for s in recorder.steps]
    assert alphas[0] == pytest.approx(0.9) and alphas[-1] < 0.2 and alphas == sorted(alphas, reverse=True)


def test_kd_run_on_digits_learns_and_is_recorded(digits_teacher, tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id, result = run_recorded(tiny_config(epochs=4, train_subset=0), store, teachers=[digits_teacher])
    assert result.status == "done" and result.final_metrics["test_acc"] > 0.6
    record = store.get_run(run_id)
    assert record.status == "done" and record.final_metrics["test_acc"] == result.final_metrics["test_acc"]
    epochs = store.metrics_frame(run_id, scope="epoch")
    assert sorted(epochs.query("name == 'test_acc'")["epoch"]) == [1, 2, 3, 4]
    assert {"ce", "kd", "loss"} <= set(store.metrics_frame(run_id, scope="step")["name"])
    assert {"checkpoint", "student"} <= set(record.artifacts)


def test_resume_after_interruption_gives_the_same_result(digits_teacher, tmp_path):
    full = fit(tiny_config(epochs=3, cache_teacher_logits=False), teachers=[digits_teacher])
    checkpoint = tmp_path / "ckpt.pt"

    class StopAfterEpoch(Callback):
        def __init__(self):
            self.stop = False

        def on_epoch(self, event):
            self.stop = event.epoch >= 2

    stopper = StopAfterEpoch()
    interrupted = fit(
        tiny_config(epochs=3, cache_teacher_logits=False),
        [stopper],
        teachers=[digits_teacher],
        cancel=lambda: stopper.stop,
        checkpoint_path=checkpoint,
    )
    assert interrupted.status == "cancelled" and len(interrupted.history) == 2
    resumed = fit(
        tiny_config(epochs=3, cache_teacher_logits=False),
        teachers=[digits_teacher],
        checkpoint_path=checkpoint,
        resume=True,
    )
    assert resumed.status == "done" and len(resumed.history) == 3
    assert resumed.history[-1]["test_acc"] == full.history[-1]["test_acc"]
    assert resumed.history[-1]["train_loss"] == pytest.approx(full.history[-1]["train_loss"], rel=1e-6)


def test_cancel_from_another_thread_stops_the_run(digits_teacher, tmp_path):
    store = RunStore(tmp_path / "runs")
    event = threading.Event()

    class CancelAtStep3(Callback):
        def on_step(self, e):
            if e.step == 3:
                event.set()

    run_id, result = run_recorded(
        tiny_config(epochs=50), store, callbacks=[CancelAtStep3()], cancel_event=event, teachers=[digits_teacher]
    )
    assert result.status == "cancelled" and store.get_run(run_id).status == "cancelled"


def test_cancel_through_the_store_stops_the_run(digits_teacher, tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id = store.create_run({})

    class RequestCancel(Callback):
        def on_step(self, e):
            if e.step == 2:
                RunStore(tmp_path / "runs").request_cancel(run_id)

    _, result = run_recorded(
        tiny_config(epochs=50), store, run_id=run_id, callbacks=[RequestCancel()], teachers=[digits_teacher]
    )
    assert result.status == "cancelled"


class NaNTeacher(torch.nn.Module):
    def forward(self, x):
        return torch.full((x.shape[0], 10), float("nan"))


def test_divergence_stops_with_status_and_message(tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id, result = run_recorded(tiny_config(epochs=20), store, teachers=[NaNTeacher()])
    assert result.status == "diverged"
    record = store.get_run(run_id)
    assert record.status == "diverged" and "became" in record.message and "learning rate" in record.message


def test_baseline_needs_no_teacher(tmp_path):
    result = fit(tiny_config(method="baseline", epochs=1))
    assert result.status == "done" and "agreement" not in result.history[-1]


@pytest.mark.parametrize("method, missing", [("kd", "needs a teacher"), ("lwkd", "needs its glyph teacher")])
def test_a_method_that_needs_teachers_and_gets_none_is_a_clear_error(method, missing):
    with pytest.raises(WorkbenchError, match=missing) as raised:
        fit(tiny_config(method=method, epochs=1))
    assert "resolve_for(config)" in str(raised.value)


def test_the_engine_imports_no_teacher_lookup_runner_executor_store_or_cli():
    forbidden = {"teachers", "glyph_teacher", "runner", "executor", "store", "cli", "cli_commands"}
    for source in (Path(__file__).resolve().parents[1] / "workbench" / "engine").glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(alias.name for alias in node.names)]
            for name in names:
                assert not forbidden & set(name.split(".")), f"{source.name} imports {name}"


def test_augmented_batches_bypass_the_cache(digits_teacher, teacher_rows):
    fit(tiny_config(epochs=2, augment="crop"), teachers=[digits_teacher])
    assert len([c for c in teacher_rows if c <= 64]) == 14 and 400 not in teacher_rows  # every batch, both epochs


def test_quantised_student_trains_and_reports_its_real_size(digits_teacher):
    full = fit(tiny_config(epochs=1), teachers=[digits_teacher])
    ternary = fit(tiny_config(epochs=1, w_bits="ternary", a_bits="4"), teachers=[digits_teacher])
    from workbench.quant import QuantLayer

    assert any(isinstance(m, QuantLayer) for m in ternary.student.modules())
    assert ternary.status == "done" and ternary.final_metrics["size_kb"] < full.final_metrics["size_kb"]


def test_auto_threads_use_half_the_cores():
    import os

    from workbench.engine.device import apply_cpu_threads

    before = torch.get_num_threads()
    try:
        assert apply_cpu_threads(0) == max(1, (os.cpu_count() or 1) // 2) == torch.get_num_threads()
        assert apply_cpu_threads(1) == 1 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def test_a_recorded_run_beats_its_heartbeat_while_it_trains(digits_teacher, tmp_path):
    store = RunStore(tmp_path)
    run_id, _ = run_recorded(tiny_config(epochs=1), store, teachers=[digits_teacher])
    record = store.get_run(run_id)
    assert record.pid is not None and record.heartbeat > record.started


def test_a_nan_first_seen_in_the_epoch_evaluation_ends_the_run_diverged(digits_teacher, tmp_path, monkeypatch):
    from workbench.engine import loop

    evaluate = loop.evaluate

    def evaluate_to_nan(*args, **kwargs):
        return {**evaluate(*args, **kwargs), "test_loss": float("nan")}

    monkeypatch.setattr(loop, "evaluate", evaluate_to_nan)
    store, config = RunStore(tmp_path), tiny_config(epochs=1, train_subset=64, batch_size=64)  # one step per epoch
    run_id, _ = run_recorded(config, store, teachers=[digits_teacher])
    record = store.get_run(run_id)
    assert record.status == "diverged" and "test_loss" in record.message
    assert store.metrics_frame(run_id)["value"].notna().all()


class Killed(BaseException):
    """Stands for a SIGKILL: nothing after it runs, no handler catches it."""


@pytest.mark.parametrize("kill", ["before", "after"])
def test_a_kill_around_an_epoch_checkpoint_loses_and_duplicates_no_epoch_after_resume(
    digits_teacher, tmp_path, monkeypatch, kill
):
    from workbench.engine import loop

    save = loop.save_checkpoint

    def save_then_die(path, epoch, *args):
        if epoch == 2 and kill == "before":
            raise Killed
        save(path, epoch, *args)
        if epoch == 2:
            raise Killed

    monkeypatch.setattr(loop, "save_checkpoint", save_then_die)
    store, config = RunStore(tmp_path), tiny_config(epochs=3)
    run_id = store.create_run(config.to_dict())
    with pytest.raises(Killed):
        run_recorded(config, store, run_id=run_id, teachers=[digits_teacher])
    monkeypatch.setattr(loop, "save_checkpoint", save)
    _, result = run_recorded(config, store, run_id=run_id, resume=True, teachers=[digits_teacher])
    epochs = store.metrics_frame(run_id, scope="epoch")
    per_epoch = epochs[epochs.name == "test_acc"].groupby("epoch").size().to_dict()
    assert result.status == "done" and per_epoch == {1: 1, 2: 1, 3: 1}


class NaNAfter(torch.nn.Module):
    """A convolution-free teacher whose logits turn NaN from its fourth training batch on."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.linear, self.batches = torch.nn.Linear(64, 10), 0

    def forward(self, x):
        if x.shape[0] <= 64:
            self.batches += 1
        logits = self.linear(x.flatten(1))
        return logits * float("nan") if self.batches > 3 else logits


@pytest.mark.parametrize("read_every", [1, 5])
def test_a_nan_read_in_a_chunk_ends_the_run_diverged_with_the_steps_before_it(read_every):
    recorder = Recorder()
    result = fit(
        tiny_config(epochs=2, cache_teacher_logits=False), [recorder], teachers=[NaNAfter()], read_every=read_every
    )
    assert result.status == "diverged" and "loss term 'kd' became nan at epoch 1, step 3" in result.message
    assert len(recorder.steps) == 3 and all(torch.isfinite(torch.tensor(s["loss"])) for s in recorder.steps)


def test_reading_step_losses_in_chunks_reports_every_step_unchanged(digits_teacher):
    every, chunked = Recorder(), Recorder()
    fit(tiny_config(epochs=2), [every], teachers=[digits_teacher], read_every=1)
    fit(tiny_config(epochs=2), [chunked], teachers=[digits_teacher], read_every=4)
    assert chunked.steps == every.steps and len(every.steps) == 14
    assert chunked.epochs[-1]["train_loss"] == every.epochs[-1]["train_loss"]


def test_a_chunked_run_cancelled_mid_epoch_reports_the_steps_it_took(digits_teacher):
    recorder, polls = Recorder(), []

    def cancel():
        polls.append(1)
        return len(polls) > 3  # polled before each step: three steps are taken

    result = fit(tiny_config(epochs=2), [recorder], teachers=[digits_teacher], read_every=100, cancel=cancel)
    assert result.status == "cancelled" and len(recorder.steps) == 3


def test_a_chunked_run_reports_its_first_step_at_once(digits_teacher):
    recorder, seen_at_poll = Recorder(), []

    def cancel():
        seen_at_poll.append(len(recorder.steps))
        return False

    fit(tiny_config(epochs=1), [recorder], teachers=[digits_teacher], read_every=100, cancel=cancel)
    assert seen_at_poll[:2] == [0, 1]  # step 1 is read before step 2 is taken
