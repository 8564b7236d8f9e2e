"""Time budget benchmark (not a test): how far below a measured run's wall time the time budget's estimate
(`budgets.least_train_seconds`, a lower bound) falls, so that refusing a config whose estimate passes the budget
never refuses one that would have finished. Each setup trains over seeds, one at a time, on an inline executor.

    python bench/bench_time_budget.py [--seeds 3] [--write]

--write puts the table into the "## Time budget estimate" section of bench/RESULTS.md."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
from pathlib import Path

from workbench.budgets import least_train_seconds
from workbench.config import RunConfig
from workbench.executor import Executor
from workbench.reproduce.report import cpu_model, write_whole_section

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "RESULTS.md"
SECTION = "## Time budget estimate"
SETUPS = {
    "default setup, 2 epochs": {"epochs": 2},
    "digits, cnn student, 3 epochs": {"dataset": "digits", "student": "cnn", "train_subset": 0, "epochs": 3},
    "fashion-mnist, cnn:64 student, 500 images": {"student": "cnn:64", "train_subset": 500, "epochs": 1},
}


def measure(seeds: int) -> list[tuple[str, float, float, float]]:
    """(setup, estimate, mean wall seconds, its std) per setup, trained on the CPU over `seeds` seeds."""
    rows = []
    with tempfile.TemporaryDirectory() as runs:
        executor = Executor(runs, inline=True)
        for label, changes in SETUPS.items():
            walls = []
            for seed in range(seeds):
                config = RunConfig.from_dict({**changes, "seed": seed, "device": "cpu"})
                record = executor.store.get_run(executor.submit(config))
                assert record.status == "done", record.message
                walls.append(record.wall_seconds)
            least = least_train_seconds(RunConfig.from_dict({**changes, "device": "cpu"}))
            rows.append((label, least, statistics.mean(walls), statistics.stdev(walls) if seeds > 1 else 0.0))
    return rows


def main() -> None:
    """Measure, print the table, and with --write keep it in bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    rows = measure(args.seeds)
    lines = [
        SECTION,
        "",
        f"`python bench/bench_time_budget.py --seeds {args.seeds}` on {cpu_model()} ({os.cpu_count()} cores, "
        f"{platform.system()}), CPU, one run at a time: each run's wall time (setup and evaluation included) against "
        "`budgets.least_train_seconds`, the lower bound a classroom server compares with `KDW_RUN_TIME_LIMIT_S`.",
        "",
        "| setup | estimate (s) | measured (s, mean ± std) | measured / estimate |",
        "|---|---|---|---|",
        *(f"| {n} | {least:.2f} | {wall:.1f} ± {std:.1f} | {wall / least:.0f}× |" for n, least, wall, std in rows),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_whole_section(RESULTS, text.rstrip("\n"))


if __name__ == "__main__":
    main()
