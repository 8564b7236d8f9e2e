"""Shared fixtures: isolated data/run folders and a small trained digits teacher."""

from __future__ import annotations

import os
import sys

import pytest

os.environ.setdefault("KDW_TEST", "1")


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Every test gets its own runs folder; teachers trained in tests go to a temporary cache."""
    monkeypatch.setenv("KDW_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("KDW_DATA_DIR", str(tmp_path / "data"))
    yield


@pytest.fixture(autouse=True)
def restored_main_module():
    """Streamlit's script runner (AppTest) installs the script as sys.modules['__main__'] and leaves it there; a
    worker process spawned later would re-run that script (an AppTest.from_function script calls its function
    at import and fails), so each test gets the real __main__ back."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture(scope="session")
def digits_teacher():
    """A frozen cnn teacher for digits (the packaged one)."""
    from workbench.teachers import get_teacher

    model, _ = get_teacher("cnn", "digits", 0, train_if_missing=False)
    return model


def tiny_config(**changes):
    """A digits config that trains in about a second (Adam at lr 0.02: even one epoch of 7 steps leaves chance,
    so the run is not reported as collapsed)."""
    from workbench.config import RunConfig

    values = {
        "dataset": "digits",
        "student": "lenet5_half",
        "teachers": ["cnn"],
        "epochs": 2,
        "batch_size": 64,
        "seed": 0,
        "device": "cpu",
        "train_subset": 400,
        "optimizer": "adam",
        "lr": 0.02,
    }
    values.update(changes)
    return RunConfig.from_dict(values)
