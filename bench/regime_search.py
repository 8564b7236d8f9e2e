"""Where does KD beat the baseline? Trains a baseline and a KD student per setup and seed (two processes, one
thread each) and prints one markdown row per setup: KD and baseline test accuracy (mean over seeds), KD's gain
with its paired standard error, the per-seed gains and the slowest run's seconds. docs/defaults.md records the
search that chose the default setup with this script.

    .venv/bin/python bench/regime_search.py '[{"lr": 0.01}, {"lr": 0.02, "warmup_epochs": 1}]' --seeds 3

Each setup is a dict of config fields over the current defaults (RunConfig())."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any


def train(job: tuple[dict[str, Any], str, int]) -> tuple[float, float, str]:
    """One run: (final test accuracy, seconds, status); a run that stopped before measuring scores chance."""
    setup, method, seed = job
    import torch

    torch.set_num_threads(1)
    from workbench.config import RunConfig
    from workbench.engine import fit
    from workbench.teachers import resolve_for, train_and_cache

    config = RunConfig.from_dict({**setup, "method": method, "seed": seed, "threads": 1})
    started = time.perf_counter()
    result = fit(config, **resolve_for(config, train=train_and_cache))
    return result.final_metrics.get("test_acc", 0.1), time.perf_counter() - started, result.status


def main() -> None:
    """Train every setup × {baseline, kd} × seed and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("setups", help="a JSON list of dicts of config fields")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from workbench.evidence import format_effect, measure_effect

    setups = json.loads(args.setups)
    jobs = [(setup, method, seed) for setup in setups for seed in range(args.seeds) for method in ("baseline", "kd")]
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        results = dict(zip([(json.dumps(s, sort_keys=True), m, seed) for s, m, seed in jobs], pool.map(train, jobs)))
    print("| setup | KD (%) | baseline (%) | KD − baseline | per seed | slowest run (s) | not done |")
    print("|---|---:|---:|---:|---|---:|---|")
    for setup in setups:
        key = json.dumps(setup, sort_keys=True)
        kd = [results[key, "kd", seed][0] for seed in range(args.seeds)]
        base = [results[key, "baseline", seed][0] for seed in range(args.seeds)]
        effect = measure_effect(kd, base)
        slowest = max(results[key, m, seed][1] for m in ("kd", "baseline") for seed in range(args.seeds))
        odd = [
            f"{m} s{seed}: {results[key, m, seed][2]}"
            for m in ("kd", "baseline")
            for seed in range(args.seeds)
            if results[key, m, seed][2] != "done"
        ]
        print(
            f"| `{key}` | {100 * statistics.mean(kd):.2f} | {100 * statistics.mean(base):.2f} | "
            f"{format_effect(effect)} | {' '.join(f'{100 * d:+.1f}' for d in effect.per_seed)} | {slowest:.1f} | "
            f"{', '.join(odd)} |"
        )


if __name__ == "__main__":
    main()
