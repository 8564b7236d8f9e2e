"""Grids trained together (issue 17 item 3): a 12-run T × α × seed grid trained as grids (`sweep.run_configs`'s
default) against one of its runs alone and against the same 12 runs one at a time (today's path: a private
executor, `--concurrency` runs at once), all in the same bench run, each from a fresh runs folder.

Grid: Fashion-MNIST, `--subset` training images, cnn teacher -> lenet5_half, vanilla KD, T in {1, 4, 8} ×
α in {0.5, 0.9} × `--seeds` seeds, `--epochs` epochs, the default recipe otherwise, one CPU thread per process.

Usage: python bench/bench_grid.py [--seeds 2] [--epochs 5] [--subset 10000] [--write]
(--write replaces the "## Grids trained together" section of bench/RESULTS.md)."""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from workbench.config import RunConfig
from workbench.reproduce.report import cpu_model, write_whole_section
from workbench.store import RunStore
from workbench.sweep import run_configs

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Grids trained together"


def grid_configs(seeds: int, epochs: int, subset: int) -> list[RunConfig]:
    """The benchmark's runs."""
    base = RunConfig(dataset="fashion-mnist", train_subset=subset, epochs=epochs, device="cpu", threads=1)
    return [
        base.replace(temperature=t, alpha=a, seed=s, name=f"T{t:g} a{a:g} s{s}")
        for s in range(seeds)
        for t in (1.0, 4.0, 8.0)
        for a in (0.5, 0.9)
    ]


def timed(configs: list[RunConfig], folder: Path, concurrency: int, grid: bool) -> tuple[float, dict[str, float]]:
    """Wall seconds to train the configs (worker start-up included) and each run's final test accuracy by name."""
    store = RunStore(folder)
    begun = time.perf_counter()
    ids = run_configs(configs, store, "bench", max_concurrent=concurrency, grid=grid)
    seconds = time.perf_counter() - begun
    return seconds, {
        r.name: r.final_metrics.get("test_acc", float("nan")) for r in store.recent_runs(len(ids), ids=ids)
    }


def main() -> None:
    """Time one run, the grid, the runs one at a time and one run again (the machine's load drifts: the one run is
    timed first and last and the mean taken); print the section and write it when asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--subset", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    configs = grid_configs(args.seeds, args.epochs, args.subset)
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        one, _ = timed(configs[:1], Path(folder) / "one", 1, True)
        print(f"one run: {one:.1f} s", flush=True)
        together, grid_acc = timed(configs, Path(folder) / "grid", args.concurrency, True)
        print(f"grid: {together:.1f} s", flush=True)
        apart, single_acc = timed(configs, Path(folder) / "apart", args.concurrency, False)
        print(f"one at a time: {apart:.1f} s", flush=True)
        one_again, _ = timed(configs[:1], Path(folder) / "one-again", 1, True)
        print(f"one run again: {one_again:.1f} s", flush=True)
    one_mean = (one + one_again) / 2
    load_end = os.getloadavg()
    same = sum(abs(grid_acc[n] - single_acc[n]) < 1e-9 for n in grid_acc)
    worst = max(abs(grid_acc[n] - single_acc[n]) for n in grid_acc)
    lines = [
        SECTION,
        "",
        f"Machine: {cpu_model()}, {os.cpu_count()} cores, load average {load_start[0]:.1f} / {load_start[1]:.1f} / "
        f"{load_start[2]:.1f} (1/5/15 min) at the start and {load_end[0]:.1f} / {load_end[1]:.1f} / {load_end[2]:.1f} "
        f"at the end (a machine shared with other sessions: absolute times stretch with the load, the ratios were "
        f"measured in one bench run); Python {platform.python_version()}, torch {torch.__version__}. Measured "
        f"{time.strftime('%Y-%m-%d %H:%M')} with `python bench/bench_grid.py --seeds {args.seeds} --epochs "
        f"{args.epochs} --subset {args.subset} --write`.",
        "",
        f"Grid: Fashion-MNIST ({args.subset:,} training images), cnn teacher → lenet5_half, KD, T ∈ {{1, 4, 8}} × "
        f"α ∈ {{0.5, 0.9}} × {args.seeds} seeds = {len(configs)} runs of {args.epochs} epochs, default recipe (SGD "
        f"lr 0.05, batch 64, clip 5), one CPU thread per process, {args.concurrency} processes at a time. Every row "
        "includes starting its worker processes.",
        "",
        "| what | wall time | × one run (mean of first and last) | × one at a time |",
        "|---|---|---|---|",
        f"| one run alone, first and last | {one:.1f} s, {one_again:.1f} s | 1.00 | – |",
        f"| {len(configs)} runs as grids (`run_configs` default: {args.concurrency} grids, one per process) | "
        f"{together:.1f} s | {together / one_mean:.2f} | {together / apart:.2f} |",
        f"| {len(configs)} runs one at a time ({args.concurrency} at once, `grid=False`) | {apart:.1f} s | "
        f"{apart / one_mean:.2f} | 1.00 |",
        "",
        f"Final test accuracy, grid vs one at a time: equal in {same} of {len(grid_acc)} runs, largest difference "
        f"{100 * worst:.2f} points (float rounding of the grouped kernels, grown over training).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_whole_section(RESULTS, text, title="# Benchmark results")


if __name__ == "__main__":
    main()
