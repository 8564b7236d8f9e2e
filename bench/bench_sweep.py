"""Sweep throughput: runs per minute for the local engine and for Ray Tune, against the same grid run one after
another in a plain loop (run_recorded in this process), on this machine's cores.

Grid: digits (the whole 1,437-image training split), cnn teacher -> lenet5_half, KD, T in {1, 4, 8} ×
α in {0.5, 0.9}, `--seeds` seeds, `--epochs` epochs, one CPU thread per run. Each engine starts from
nothing (its worker processes or Ray are started inside the timed span), which is what a user waits for.

Usage: python bench/bench_sweep.py [--seeds 2] [--epochs 3] [--engines loop,local,ray] [--write]
(--write replaces the "## Sweep throughput" section of bench/RESULTS.md)."""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from workbench.reproduce.report import cpu_model, write_whole_section
from workbench.runner import run_recorded
from workbench.store import RunStore
from workbench.sweep import expand, parse_sweep, run_sweep

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Sweep throughput"


def grid(seeds: int, epochs: int) -> dict:
    """The benchmark's sweep spec."""
    return {
        "name": "bench",
        "seeds": seeds,
        "grid": {"temperature": [1.0, 4.0, 8.0], "alpha": [0.5, 0.9]},
        "base": {
            "dataset": "digits",
            "student": "lenet5_half",
            "teachers": ["cnn"],
            "method": "kd",
            "epochs": epochs,
            "batch_size": 64,
            "device": "cpu",
            "threads": 1,
        },
    }


def time_loop(spec_data: dict, runs_dir: Path) -> tuple[float, int]:
    """Every run one after another in this process; (seconds, runs done)."""
    torch.set_num_threads(1)
    store = RunStore(runs_dir)
    begun = time.perf_counter()
    done = sum(run_recorded(point.config, store)[1].status == "done" for point in expand(parse_sweep(spec_data)))
    return time.perf_counter() - begun, done


def time_engine(spec_data: dict, runs_dir: Path, engine: str, concurrency: int) -> tuple[float, int, float]:
    """The sweep on an engine with `concurrency` runs at once; (seconds, runs done, seconds from the first
    run's start to the last run's end as the store recorded them). The local engine's time includes starting
    its worker processes; Ray must already be started (see `start_ray`)."""
    begun = time.perf_counter()
    result = run_sweep(parse_sweep(spec_data), runs_dir, engine=engine, max_concurrent=concurrency)
    seconds = time.perf_counter() - begun
    records = RunStore(runs_dir).list_runs(group_id=result.sweep_id)
    span = max(r.finished for r in records) - min(r.started for r in records)
    return seconds, result.counts().get("done", 0), span


def start_ray(cpus: int, attempts: int = 3) -> float:
    """Start a local Ray instance with `cpus` CPUs; its start-up seconds (the successful attempt). Ray's node
    has a fixed 30 s start-up limit, which a heavily loaded machine can miss: then it is tried again."""
    import ray

    for attempt in range(attempts):
        begun = time.perf_counter()
        try:
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
            return time.perf_counter() - begun
        except Exception as error:  # Ray raises a plain Exception for the start-up timeout
            print(f"ray start attempt {attempt + 1} failed: {str(error).splitlines()[0]}", flush=True)
            ray.shutdown()
    raise SystemExit(f"Ray did not start in {attempts} attempts")


def report(rows: list[tuple[str, float, int]], runs: int, args: argparse.Namespace, load: tuple[float, ...]) -> str:
    """The markdown section."""
    loop_seconds = next((seconds for name, seconds, _ in rows if name.startswith("plain loop")), None)
    lines = [
        SECTION,
        "",
        f"Machine: {cpu_model()}, {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f} (1/5/15 min) when the benchmark started (a machine shared with other work); Python "
        f"{platform.python_version()}, torch {torch.__version__}. Measured {time.strftime('%Y-%m-%d %H:%M')} "
        f"with `python bench/bench_sweep.py --seeds {args.seeds} --epochs {args.epochs} "
        f"--engines {args.engines} --write`.",
        "",
        "Grid: digits (1,437 training images), cnn teacher → lenet5_half, KD, T ∈ {1, 4, 8} × "
        f"α ∈ {{0.5, 0.9}} × {args.seeds} seeds = {runs} runs of {args.epochs} epochs, one CPU thread per "
        "run, "
        f"{args.concurrency} runs at a time on the engines. The local engine's time includes starting its "
        "worker processes (each imports torch and loads the data); Ray's is given without and with its "
        "start-up (`ray.init`), which a cluster pays once, not per sweep.",
        "",
        "| engine | wall time | runs done | runs per minute | vs plain loop |",
        "|---|---|---|---|---|",
    ]
    for name, seconds, done in rows:
        ratio = f"{loop_seconds / seconds:.2f}×" if loop_seconds else "–"
        lines.append(f"| {name} | {seconds:.1f} s | {done}/{runs} | {60 * done / seconds:.1f} | {ratio} |")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    """Time each engine on the grid, print the section and write it when asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 1, help="runs at once on the engines")
    parser.add_argument("--engines", default="loop,local,ray", help="comma-separated: loop, local, ray")
    parser.add_argument("--write", action="store_true", help="write the section into bench/RESULTS.md")
    args = parser.parse_args()
    spec_data = grid(args.seeds, args.epochs)
    runs = len(expand(parse_sweep(spec_data)))
    load = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for engine in [name.strip() for name in args.engines.split(",") if name.strip()]:
            runs_dir, before = Path(folder) / engine, len(rows)
            if engine == "loop":
                seconds, done = time_loop(spec_data, runs_dir)
                rows.append(("plain loop (one process, one after another)", seconds, done))
            elif engine == "ray":
                import ray

                start = start_ray(args.concurrency)
                seconds, done, span = time_engine(spec_data, runs_dir, engine, args.concurrency)
                ray.shutdown()
                rows.append((f"ray, including Ray's start-up of {start:.1f} s", seconds + start, done))
                rows.append((f"ray, Ray already started ({args.concurrency} at a time)", seconds, done))
                rows.append(("ray, first trial start → last trial end", span, done))
            else:
                seconds, done, span = time_engine(spec_data, runs_dir, engine, args.concurrency)
                rows.append((f"{engine}, including its worker start-up ({args.concurrency} at a time)", seconds, done))
                rows.append((f"{engine}, first run start → last run end (workers warm, as in the app)", span, done))
            for name, seconds, done in rows[before:]:
                print(f"{name}: {seconds:.1f} s, {done}/{runs} done", flush=True)
    text = report(rows, runs, args, load)
    print(text)
    if args.write:
        write_whole_section(RESULTS, text, title="# Benchmark results")


if __name__ == "__main__":
    main()
