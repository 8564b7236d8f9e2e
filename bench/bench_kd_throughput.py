"""KD training throughput: the workbench engine against a plain PyTorch loop, in one run on one machine.

Setup (issue 2): Fashion-MNIST, teacher `cnn` (width 32, the packaged teacher) -> student lenet5_half,
batch 128, no augmentation, one epoch, Adam (lr 0.005), T = 4, α = 0.9.

The plain loop is what a tutorial writes: torchvision's FashionMNIST dataset with ToTensor+Normalize
transforms, a shuffling DataLoader, and the teacher recomputed on every batch. The workbench runs
engine.fit twice: cold (its teacher-logit cache is computed in this run) and warm (the cache file from
the cold run is reused, as every later run with that teacher does).

Usage: python bench/bench_kd_throughput.py [--threads N] [--repeats R] [--output bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import gzip
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from workbench.config import RunConfig
from workbench.data import load_dataset
from workbench.data.fashion_mnist import SYSTEM_DIRS
from workbench.engine import fit
from workbench.models import create_model
from workbench.reproduce.report import cpu_model, write_whole_section
from workbench.teachers import get_teacher, logits_cache_file, resolve_for

TEMPERATURE, ALPHA, BATCH, LR = 4.0, 0.9, 128, 0.005
TRAIN_IMAGES = 60_000
RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def torchvision_root() -> Path:
    """A folder laid out as torchvision's FashionMNIST expects, filled from the Debian IDX files."""
    root = Path(tempfile.mkdtemp(prefix="kdw-bench-"))
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    source = next(Path(d) for d in SYSTEM_DIRS if Path(d).exists())
    for name in RAW_FILES:
        with gzip.open(source / f"{name}.gz") as packed, open(raw / name, "wb") as out:
            shutil.copyfileobj(packed, out)
    return root


def plain_pytorch_epoch(teacher: torch.nn.Module, root: Path, seed: int) -> dict[str, float]:
    """One epoch of the tutorial-style KD loop; returns its images/s and the student's test accuracy."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    started = time.perf_counter()
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.2860,), (0.3530,))])
    train = datasets.FashionMNIST(root, train=True, download=False, transform=transform)
    test = datasets.FashionMNIST(root, train=False, download=False, transform=transform)
    torch.manual_seed(seed)
    student = create_model("lenet5_half", 10, 1, 28)
    optimizer = torch.optim.Adam(student.parameters(), lr=LR, weight_decay=5e-4)
    loader = DataLoader(train, batch_size=BATCH, shuffle=True)
    teacher.eval()
    student.train()
    epoch_start, seen = time.perf_counter(), 0
    for x, y in loader:
        with torch.no_grad():
            teacher_logits = teacher(x)
        logits = student(x)
        soft = F.kl_div(
            F.log_softmax(logits / TEMPERATURE, 1), F.softmax(teacher_logits / TEMPERATURE, 1), reduction="batchmean"
        )
        loss = (1 - ALPHA) * F.cross_entropy(logits, y) + ALPHA * TEMPERATURE**2 * soft
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen += y.shape[0]
    epoch_seconds = time.perf_counter() - epoch_start
    student.eval()
    correct = 0
    with torch.no_grad():
        for x, y in DataLoader(test, batch_size=1024):
            correct += (student(x).argmax(1) == y).sum().item()
    return {
        "images_per_s": seen / epoch_seconds,
        "test_acc": correct / len(test),
        "wall_s": time.perf_counter() - started,
    }


def workbench_epoch(seed: int) -> dict[str, float]:
    """One epoch through engine.fit; returns its images/s (training loop) and test accuracy."""
    config = RunConfig.from_dict(
        {
            "dataset": "fashion-mnist",
            "teachers": ["cnn"],
            "student": "lenet5_half",
            "method": "kd",
            "temperature": TEMPERATURE,
            "alpha": ALPHA,
            "epochs": 1,
            "batch_size": BATCH,
            "lr": LR,
            "optimizer": "adam",
            "augment": "none",
            "seed": seed,
            "device": "cpu",
            "lr_schedule": "constant",
            "threads": torch.get_num_threads(),
        }
    )
    started = time.perf_counter()
    result = fit(config, **resolve_for(config))
    wall = time.perf_counter() - started
    row = result.history[-1]
    return {"images_per_s": row["throughput"], "test_acc": row["test_acc"], "wall_s": wall}


def machine() -> str:
    """CPU model, cores used and library versions."""
    return (
        f"{cpu_model()}; {torch.get_num_threads()} torch threads on {__import__('os').cpu_count()} cores; "
        f"torch {torch.__version__}; Python {platform.python_version()}"
    )


def main() -> None:
    """Run both loops `repeats` times and write the markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--output", default=None, help="markdown file whose KD-throughput section is replaced")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    teacher, _ = get_teacher("cnn", "fashion-mnist", 0)
    weights = Path(get_teacher("cnn", "fashion-mnist", 0)[1].path)
    caches = [logits_cache_file(weights, "fashion-mnist", split) for split in ("train-all", "test")]
    load_dataset("fashion-mnist")  # file parsing is shared by both sides' later runs
    root = torchvision_root()
    plain, cold, warm = [], [], []
    for repeat in range(args.repeats):
        for cache in caches:
            cache.unlink(missing_ok=True)
        cold.append(workbench_epoch(repeat))
        warm.append(workbench_epoch(repeat))
        plain.append(plain_pytorch_epoch(teacher, root, repeat))
        print(f"repeat {repeat}: plain {plain[-1]}, cold {cold[-1]}, warm {warm[-1]}", flush=True)
    shutil.rmtree(root, ignore_errors=True)
    text = report(plain, cold, warm)
    print(text)
    if args.output:
        write_whole_section(Path(args.output), text, title="# Benchmark results")


def report(plain: list[dict], cold: list[dict], warm: list[dict]) -> str:
    """The markdown section: medians, ratios to the plain loop, accuracies, the machine and the command."""

    def median(rows, key):
        return statistics.median(row[key] for row in rows)

    base = median(plain, "images_per_s")
    base_e2e = TRAIN_IMAGES / median(plain, "wall_s")
    lines = [
        "## KD training throughput (issue 2)",
        "",
        "Fashion-MNIST, teacher cnn (width 32) -> student lenet5_half, batch 128, no augmentation, one epoch, "
        f"T = {TEMPERATURE}, α = {ALPHA}; median of {len(plain)} repeats, all in one process, same threads.",
        "",
        "| loop | train-loop images/s | × plain | end-to-end images/s | × plain | wall s | test acc |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, rows in (
        ("plain PyTorch (DataLoader, teacher every batch)", plain),
        ("workbench, cold teacher-logit cache (computed in the run)", cold),
        ("workbench, warm teacher-logit cache (reused from disk)", warm),
    ):
        ips, wall = median(rows, "images_per_s"), median(rows, "wall_s")
        accs = ", ".join(f"{row['test_acc']:.4f}" for row in rows)
        lines.append(
            f"| {label} | {ips:,.0f} | {ips / base:.1f}× | {TRAIN_IMAGES / wall:,.0f} | "
            f"{TRAIN_IMAGES / wall / base_e2e:.1f}× | {wall:.1f} | {accs} |"
        )
    lines += [
        "",
        f"Machine: {machine()}.",
        "",
        "Command: `.venv/bin/python bench/bench_kd_throughput.py --output bench/RESULTS.md`",
        "",
        "Train-loop images/s counts the epoch's optimisation loop only. End-to-end images/s is 60,000 divided "
        "by the wall time of the whole call: dataset set-up, the teacher pass that fills a cold cache, the "
        "epoch and the test evaluation. Warm is what every run after the first with the same teacher gets.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
