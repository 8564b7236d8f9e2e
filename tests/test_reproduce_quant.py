"""`kdw reproduce quant`: its grid of runs, its table cells, and the quick digits run writing only its own section."""

import pandas as pd

from workbench.reproduce import run_experiment
from workbench.reproduce.quant import FULL_SCALE, HEADING, QUICK_SCALE, SETTINGS, arms, cell, experiment_configs
from workbench.store import RunStore


def test_full_grid_covers_every_precision_recipe_and_seed_and_skips_speq_without_quantised_activations():
    runs = experiment_configs(FULL_SCALE)
    cells = {(setting.label, arm.label) for setting, arm, _ in runs}
    low_bit = SETTINGS[1:]
    assert cells == {(SETTINGS[0].label, "no KD (QAT)")} | {
        (setting.label, arm.label)
        for setting in low_bit
        for arm in arms(FULL_SCALE)
        if not (arm.method == "speq" and setting.a_bits == "32")
    }
    assert len(runs) == len(cells) * len(FULL_SCALE.seeds)
    for setting, arm, config in runs:
        assert (config.w_bits, config.a_bits, config.method) == (setting.w_bits, setting.a_bits, arm.method)
        assert config.dataset == "fashion-mnist" and config.teachers == [arm.teacher or FULL_SCALE.small_teacher]


def test_quick_run_records_every_run_and_rewrites_only_its_own_section(tmp_path):
    results = tmp_path / "results.md"
    results.write_text(f"# Results\n\n{HEADING}\n\nstale table\n\n## Other experiment\n\nkeep me\n")
    body = run_experiment("quant", quick=True, runs_dir=tmp_path / "runs", results_file=results)
    text = results.read_text()
    assert "## Other experiment\n\nkeep me" in text and text.count(HEADING) == 1 and body in text
    assert "stale table" not in text
    records = RunStore(tmp_path / "runs").list_runs()
    assert len(records) == len(experiment_configs(QUICK_SCALE)) and {r.status for r in records} == {"done"}
    rows = {line.split(" | ")[0].strip("| "): line for line in body.splitlines() if line.startswith("| ")}
    for setting in SETTINGS:
        assert setting.label in rows
    assert rows[SETTINGS[1].label].rstrip(" |").endswith("n/a")  # no SPEQ at 32-bit activations
    assert "Machine:" in body and "SPEQ beats plain QAT" in body


def test_cell_averages_finished_runs_and_notes_unfinished_and_collapsed_ones():
    rows = pd.DataFrame(
        {
            "status": ["done", "done", "diverged"],
            "test_acc": [0.8, 0.9, float("nan")],
            "collapsed": [False, False, False],
        }
    )
    assert cell(rows) == "85.00 ± 7.07 (diverged)"
    assert cell(rows.iloc[:0]) == "n/a"
    rows = pd.DataFrame({"status": ["done", "done"], "test_acc": [0.8, 0.1], "collapsed": [False, True]})
    assert cell(rows) == "45.00 ± 49.50 (1 of 2 collapsed to chance)"
