"""kdw demo: the default setup's teacher, baseline and KD students over seeds, with the verdict on the gain."""

import pytest

from workbench.cli import main
from workbench.config import RunConfig
from workbench.demo import demo_configs
from workbench.store import RunStore


def test_demo_trains_the_default_setup_as_baseline_and_kd_over_seeds():
    configs = demo_configs(seeds=3)
    assert sorted({method for method, _ in configs}) == ["baseline", "kd"]
    assert sorted({seed for _, seed in configs}) == [0, 1, 2]
    default = RunConfig().to_dict()
    for (method, seed), config in configs.items():
        changed = {key for key, value in config.to_dict().items() if value != default[key]}
        assert changed <= {"method", "seed", "name"}, changed


@pytest.mark.slow
def test_demo_prints_a_table_and_a_verdict_sentence(tmp_path, capsys):
    assert main(["demo", "--seeds", "2", "--epochs", "1", "--runs-dir", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "teacher cnn" in out and "baseline" in out and "kd" in out
    assert "KD − baseline, test accuracy" in out and "2 seeds" in out
    assert len(RunStore(tmp_path / "runs").list_runs()) == 4
