"""Model size and training memory estimated from a spec, without building the model in memory; the memory budget
refuses runs too big for the server in the CLI, the executor and the Teacher page (issue 15, a shared server, 1)."""

from __future__ import annotations

import resource

import pytest
from conftest import tiny_config

from workbench.cli import main
from workbench.errors import ConfigError
from workbench.executor import Executor
from workbench.models import count_macs, count_params, create_model, list_models
from workbench.models.estimate import GIB, check_memory, estimate, memory_budget_bytes
from workbench.text import escape_markdown

SMALL = [name for name in list_models() if name not in ("resnet110", "resnet32x4", "wrn_40_2")] + ["cnn:8", "mlp:64"]


@pytest.mark.parametrize("spec", SMALL)
@pytest.mark.parametrize("shape", [(1, 8), (3, 32)], ids=["digits", "cifar"])
def test_estimate_equals_the_built_models_counts(spec, shape):
    model = create_model(spec, 10, *shape)
    found = estimate(spec, 10, *shape)
    assert (found.params, found.macs) == (count_params(model), count_macs(model, *shape))
    assert found.train_bytes >= 16 * found.params  # weights, grads and Adam's two moments at least


def test_the_largest_width_is_estimated_without_allocating_it():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    found = estimate("cnn:4096", 10, 1, 28)
    assert found.params > 4.6e9 and found.train_bytes > 70 * GIB
    assert _grown_mib(before) < 200  # ru_maxrss is in KiB; the real model would take ~17 GiB


def test_budget_comes_from_the_setting_or_half_the_machine(monkeypatch):
    monkeypatch.setenv("KDW_MEMORY_BUDGET_GB", "2.5")
    assert memory_budget_bytes() == int(2.5 * GIB)
    monkeypatch.setenv("KDW_MEMORY_BUDGET_GB", "lots")
    with pytest.raises(ConfigError, match="KDW_MEMORY_BUDGET_GB"):
        memory_budget_bytes()
    monkeypatch.delenv("KDW_MEMORY_BUDGET_GB")
    assert 0 < memory_budget_bytes()


def test_check_memory_refuses_over_the_budget_in_one_line(monkeypatch):
    monkeypatch.setenv("KDW_MEMORY_BUDGET_GB", "64")
    with pytest.raises(ConfigError) as refused:
        check_memory("student", "cnn:4096", 10, 1, 28)
    message = str(refused.value)
    assert "\n" not in message and message.startswith("student: cnn:4096 needs about")
    assert "GiB" in message and "budget is 64.0 GiB" in message
    assert check_memory("student", "cnn", 10, 1, 28).params > 0


def _grown_mib(before_kib: int) -> float:
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before_kib) / 1024


def test_cli_refuses_a_student_over_the_budget_in_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("KDW_MEMORY_BUDGET_GB", "8")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code = main(
        [
            "train",
            "--runs-dir",
            str(tmp_path),
            "--dataset",
            "digits",
            "--student",
            "cnn:4096",
            "--epochs",
            "1",
            "--device",
            "cpu",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "student: cnn:4096 needs about" in err[0] and "budget is 8.0 GiB" in err[0]
    assert _grown_mib(before) < 200


def test_executor_refuses_a_teacher_over_the_budget_without_building_it(monkeypatch, tmp_path):
    monkeypatch.setenv("KDW_MEMORY_BUDGET_GB", "8")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    executor = Executor(tmp_path / "runs", inline=True)
    with pytest.raises(ConfigError, match=r"^teachers: cnn:4096 needs about .* budget is 8\.0 GiB"):
        executor.submit(tiny_config(teachers=["cnn:4096"]))
    with pytest.raises(ConfigError, match="student: cnn:4096"):
        executor.submit_teacher("cnn:4096", "digits")
    assert executor.store.list_runs() == []
    assert _grown_mib(before) < 200  # cnn:4096 built for real would take ~17 GiB


def test_teacher_page_shows_the_cost_of_a_huge_student_without_building_it(monkeypatch):
    from test_app import open_page

    monkeypatch.setenv("KDW_MEMORY_BUDGET_GB", "8")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    app = open_page("teacher", {"student": "cnn:4096", "dataset": "digits"})
    errors = " | ".join(error.value for error in app.error)
    assert errors.startswith(f"Too big for this server: {escape_markdown('student: cnn:4096 needs about')}")
    assert "budget is 8\\.0 GiB" in errors
    table = app.dataframe[0].value
    student = table[table["role"] == "student"].iloc[0]
    assert student["parameters"] > 4.6e9
    assert _grown_mib(before) < 300
