"""Teachers are resolved before a run: a missing one is trained first as a recorded run of its own (announced on the
CLI, a follow-on teacher job in the executor), zoo and glyph teachers through the one function that writes them."""

import json
import os

import pytest
import torch
from conftest import tiny_config

from workbench.cli import main
from workbench.executor import Executor
from workbench.store import RunStore
from workbench.teachers import TeacherMissing, TeacherSpec, cache_dir, find_cached, resolve_for, train_and_cache

MISSING = ["--teacher", "mlp", "--teacher-seed", "5"]  # a digits teacher that is not packaged: 30 epochs, ~6 s


def run_kdw(*args, capsys):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_cli_run_trains_its_missing_teacher_first_as_a_recorded_run(tmp_path, capsys):
    runs = tmp_path / "runs"
    code, out, err = run_kdw(
        "train",
        "--dataset",
        "digits",
        *MISSING,
        "--student",
        "lenet5_half",
        "--epochs",
        "1",
        "--train-subset",
        "300",
        "--device",
        "cpu",
        "--runs-dir",
        str(runs),
        capsys=capsys,
    )
    assert code == 0 and "done" in out
    store = RunStore(runs)
    student_id = out.split()[1].rstrip(":")
    (teacher,) = [record for record in store.list_runs() if record.id != student_id]
    assert f"teacher mlp for digits (seed 5) is not cached: training it first (30 epochs) as run {teacher.id}" in err
    assert teacher.name == "teacher mlp (digits)" and teacher.status == "done"
    assert teacher.artifacts["teacher"] == find_cached(TeacherSpec("mlp", "digits", 5)).path
    epochs = store.metrics_frame(teacher.id, scope="epoch").query("name == 'test_acc'")
    assert sorted(epochs["epoch"]) == list(range(1, 31)) and not store.metrics_frame(teacher.id, scope="step").empty
    assert teacher.finished <= store.get_run(student_id).started  # the student starts once its teacher is cached


def test_an_app_run_trains_its_missing_teacher_as_a_follow_on_teacher_job(tmp_path):
    inline = Executor(tmp_path / "runs", inline=True)
    run_id = inline.submit(tiny_config(teachers=["mlp"], teacher_seed=6, epochs=1, train_subset=300), owner="me")
    assert inline.store.get_run(run_id).status == "done"
    (teacher,) = [record for record in inline.store.list_runs() if record.id != run_id]
    assert teacher.status == "done" and teacher.owner == "me"
    assert inline.jobs.latest("teacher") == teacher.id
    progress = inline.progress([teacher.id])[teacher.id]
    assert progress.total > 0 and progress.done == progress.total


def test_a_missing_teacher_is_named_when_nothing_may_train_it():
    with pytest.raises(TeacherMissing, match="teacher mlp for digits \\(seed 9\\) is not cached.*kdw teachers train"):
        resolve_for(tiny_config(teachers=["mlp"], teacher_seed=9))


@pytest.mark.parametrize(
    "spec",
    [TeacherSpec("mlp", "digits", 4, epochs=1), TeacherSpec("mlp", "digits", 4, glyphs_per_class=20)],
    ids=["zoo", "glyph"],
)
def test_zoo_and_glyph_teachers_are_written_alike_and_atomically(spec, monkeypatch):
    record = train_and_cache(spec, "cpu")
    folder = cache_dir()
    assert record.path == str(folder / f"{spec.key}.pt") and record.dataset == spec.cache_dataset
    assert json.loads((folder / f"{spec.key}.json").read_text())["recipe"] == spec.recipe
    assert sorted(os.listdir(folder)) == [f"{spec.key}.json", f"{spec.key}.pt"]  # no temporary file left behind

    def write_half_then_fail(obj, path, *args, **kwargs):
        open(path, "wb").write(b"half a file")
        raise OSError("disk full")

    other = TeacherSpec(spec.arch, spec.dataset, spec.seed + 1, spec.glyphs_per_class, spec.epochs)
    monkeypatch.setattr(torch, "save", write_half_then_fail)
    with pytest.raises(OSError):
        train_and_cache(other, "cpu")
    assert sorted(os.listdir(folder)) == [f"{spec.key}.json", f"{spec.key}.pt"] and find_cached(other) is None
