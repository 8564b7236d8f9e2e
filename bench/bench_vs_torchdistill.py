"""The workbench against torchdistill's own DistillationBox, and against an earlier workbench, in one run.

The job (issue 17): Fashion-MNIST (60,000 training images), the packaged cnn teacher -> lenet5_half, Adam lr 0.005
(weight decay 5e-4 on both sides, the workbench's default), batch 128, T = 4, α = 0.9 on the soft term, 2 threads, one
epoch, no augmentation. torchdistill 1.1.5 (the optional `bench` extra: pip install -e ".[bench]") runs it with its
DistillationBox, WeightedSumLoss over its KDLoss (its `alpha` weighs the cross-entropy, so it gets 1 - 0.9), a
RandomSampler DataLoader over torchvision's FashionMNIST with ToTensor + Normalize, and the loop of its
image-classification example (forward_process, post_forward_process, loss.item() per step).

The workbench runs three jobs through engine.fit: a cold teacher-logit cache (the first run with this teacher),
warm (the cache file reused) and the teacher on every batch (cache off: what augmentation and the feature methods
get). With --before REF the same three jobs also run on the workbench of git commit REF (extracted with
git archive), so before/after ratios come from one run on one machine. Every job runs in a fresh process, in turn.

--profile prints a torch.profiler table of the teacher-on-every-batch job's first --profile-steps steps instead.

Usage: python bench/bench_vs_torchdistill.py [--repeats 2] [--before REF] [--output bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEMPERATURE, ALPHA, BATCH, LR, WEIGHT_DECAY, THREADS = 4.0, 0.9, 128, 0.005, 5e-4, 2
TRAIN_IMAGES = 60_000  # the job's epoch; --train-images takes fewer (a loaded machine), the same on both sides
WORKBENCH_JOBS = ("cold", "warm", "every-batch")


def torchdistill_job(seed: int, images: int) -> dict[str, float]:
    """One epoch of torchdistill's DistillationBox on the job; images/s of its loop, test accuracy, wall time."""
    import torch
    from bench_kd_throughput import torchvision_root
    from torch.utils.data import DataLoader, RandomSampler
    from torchdistill.core.distillation import DistillationBox
    from torchvision import datasets, transforms

    from workbench.models import create_model
    from workbench.teachers import get_teacher

    torch.set_num_threads(THREADS)
    root = torchvision_root()
    started = time.perf_counter()
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.2860,), (0.3530,))])
    train = datasets.FashionMNIST(root, train=True, download=False, transform=transform)
    test = datasets.FashionMNIST(root, train=False, download=False, transform=transform)
    teacher, _ = get_teacher("cnn", "fashion-mnist", 0)
    torch.manual_seed(seed)
    student = create_model("lenet5_half", 10, 1, 28)
    kd = {"student_module_path": ".", "student_module_io": "output", "teacher_module_path": ".",
          "teacher_module_io": "output", "temperature": TEMPERATURE, "alpha": 1 - ALPHA,
          "reduction": "batchmean"}  # fmt: skip
    train_config = {
        "num_epochs": 1,
        "train_data_loader": {
            "dataset_id": "train",
            "sampler": {"class_or_func": RandomSampler, "kwargs": {"num_samples": images}},
            "kwargs": {"batch_size": BATCH, "num_workers": 0},
        },
        "teacher": {
            "forward_proc": "forward_batch_only",
            "forward_hook": {"input": [], "output": []},
            "requires_grad": False,
        },
        "student": {
            "forward_proc": "forward_batch_only",
            "forward_hook": {"input": [], "output": []},
            "requires_grad": True,
        },
        "optimizer": {"key": "Adam", "kwargs": {"lr": LR, "weight_decay": WEIGHT_DECAY}},
        "criterion": {
            "key": "WeightedSumLoss",
            "kwargs": {"sub_terms": {"kd": {"criterion": {"key": "KDLoss", "kwargs": kd}, "weight": 1.0}}},
        },
    }
    device = torch.device("cpu")
    box = DistillationBox(teacher, student, {"train": train}, train_config, device, None, False, 1.0)
    box.pre_epoch_process(epoch=0)
    loop_start, seen = time.perf_counter(), 0
    for sample_batch, targets, supp_dict in box.train_data_loader:
        loss = box.forward_process(sample_batch, targets, supp_dict)
        box.post_forward_process(loss=loss)
        loss.item()  # the example's metric logger reads every step's loss
        seen += len(sample_batch)
    loop_seconds = time.perf_counter() - loop_start
    box.post_epoch_process()
    student.eval()
    correct = 0
    with torch.no_grad():
        for x, y in DataLoader(test, batch_size=1024):
            correct += (student(x).argmax(1) == y).sum().item()
    wall = time.perf_counter() - started
    return {"images_per_s": seen / loop_seconds, "test_acc": correct / len(test), "wall_s": wall}


def workbench_config(job: str, seed: int, images: int = TRAIN_IMAGES):
    """The job's RunConfig (cache off for every-batch)."""
    from workbench.config import RunConfig

    return RunConfig.from_dict(
        {"dataset": "fashion-mnist", "teachers": ["cnn"], "student": "lenet5_half", "method": "kd",
         "temperature": TEMPERATURE, "alpha": ALPHA, "epochs": 1, "batch_size": BATCH, "lr": LR,
         "weight_decay": WEIGHT_DECAY, "optimizer": "adam", "augment": "none", "seed": seed, "device": "cpu",
         "lr_schedule": "constant", "threads": THREADS, "train_subset": 0 if images >= TRAIN_IMAGES else images,
         "cache_teacher_logits": job != "every-batch"}
    )  # fmt: skip


def workbench_job(job: str, seed: int, images: int) -> dict[str, float]:
    """One epoch through engine.fit (cold: the teacher-logit cache files are deleted first)."""
    import torch

    from workbench.engine import fit
    from workbench.teachers import resolve_for

    torch.set_num_threads(THREADS)
    config = workbench_config(job, seed, images)
    if job == "cold":
        files = resolve_for(config)["teacher_logit_files"]
        for file in [*files.train, *files.test]:
            file.unlink(missing_ok=True)
    started = time.perf_counter()
    result = fit(config, **resolve_for(config))
    row = result.history[-1]
    return {"images_per_s": row["throughput"], "test_acc": row["test_acc"], "wall_s": time.perf_counter() - started}


def profile_job(steps: int) -> str:
    """A torch.profiler table (self CPU time) of the every-batch job's first `steps` steps."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from workbench.engine import fit
    from workbench.engine.events import Callback
    from workbench.teachers import resolve_for

    class Steps(Callback):
        taken = 0

        def on_step(self, event) -> None:
            self.taken += 1

    torch.set_num_threads(THREADS)
    config, counter = workbench_config("every-batch", 0), Steps()
    teachers = resolve_for(config)
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        fit(config, [counter], cancel=lambda: counter.taken >= steps, **teachers)
    return profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=20)


def source_tree(ref: str) -> Path:
    """The workbench package of git commit `ref`, extracted to a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="kdw-before-"))
    archive = subprocess.run(["git", "archive", ref, "workbench"], cwd=REPO, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def run_job(job: str, seed: int, tree: Path, images: int) -> dict[str, float]:
    """Run one job in a fresh process with `tree` first on the path; its JSON result."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(REPO / "bench")])}
    command = [sys.executable, str(Path(__file__).resolve()), "--job", job, "--seed", str(seed)]
    command += ["--train-images", str(images)]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"job {job} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine(load_start: tuple[float, ...], load_end: tuple[float, ...]) -> str:
    """CPU model, cores, torch and torchdistill versions, and the load average at start and end."""
    import torch
    import torchdistill

    from workbench.reproduce.report import cpu_model

    def load(values):
        return " / ".join(f"{v:.1f}" for v in values)

    return (
        f"{cpu_model()}, {os.cpu_count()} cores, {THREADS} torch threads per job; torch {torch.__version__}, "
        f"torchdistill {torchdistill.__version__}, Python {platform.python_version()}; load average (1/5/15 min) "
        f"{load(load_start)} at the start and {load(load_end)} at the end (a machine shared with other sessions)"
    )


def report(rows: dict[str, list[dict]], before: str | None, machine_line: str, command: str, images: int) -> str:
    """The markdown section: per job, median images/s and × torchdistill, wall time, accuracies."""

    def median(label, key):
        return statistics.median(row[key] for row in rows[label])

    base, base_wall = median("torchdistill", "images_per_s"), median("torchdistill", "wall_s")
    repeats = len(rows["torchdistill"])
    lines = [
        "## Workbench vs torchdistill (issue 17)",
        "",
        f"{__doc__.split(chr(10) + chr(10))[1]}",
        "",
        f"Median of {repeats} repeats; the jobs of a repeat ran one after another, each in a fresh process, in the "
        "table's order in even repeats and the reverse in odd ones. "
        + (
            ""
            if images >= TRAIN_IMAGES
            else f"Epochs of {images:,} images (the workbench: a class-balanced subset; torchdistill: a random "
            "sample without replacement) to fit the machine's load; the test split is the whole 10,000."
        ),
        "",
        "| job | train-loop images/s | × torchdistill | wall s (end to end) | wall × torchdistill | test acc |",
        "|---|---|---|---|---|---|",
    ]
    for label in rows:
        ips, wall = median(label, "images_per_s"), median(label, "wall_s")
        accs = ", ".join(f"{row['test_acc']:.4f}" for row in rows[label])
        lines.append(f"| {label} | {ips:,.0f} | {ips / base:.2f}× | {wall:.1f} | {wall / base_wall:.2f}× | {accs} |")
    lines += [
        "",
        f"Machine: {machine_line}.",
        "",
        f"Command: `{command}`" + (f" (before = commit {before})" if before else ""),
        "",
        "Train-loop images/s: the epoch's optimisation loop only. Wall s: the whole job from data set-up to the "
        "test evaluation (for the workbench, the fit call: dataset, teacher logits of the test split, for a cold "
        "cache the logits the first epoch fills, the epoch and its evaluation). Wall × torchdistill below 1 is "
        "faster. Ratios are the figures to read on a shared machine: every job of a repeat ran under the same load.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Run the jobs `repeats` times in turn and write the markdown table (or one job, or the profile)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--before", default=None, help="git commit whose workbench runs the same jobs")
    parser.add_argument("--output", default=None, help="markdown file whose section is replaced")
    parser.add_argument("--job", choices=("torchdistill", *WORKBENCH_JOBS), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--train-images", type=int, default=TRAIN_IMAGES, help="images in the epoch (fewer: a subset)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-steps", type=int, default=100)
    args = parser.parse_args()
    if args.job:
        images = args.train_images
        if args.job == "torchdistill":
            result = torchdistill_job(args.seed, images)
        else:
            result = workbench_job(args.job, args.seed, images)
        print(json.dumps(result))
        return
    if args.profile:
        print(profile_job(args.profile_steps))
        return
    trees = {"": REPO} | ({f" (before, {args.before})": source_tree(args.before)} if args.before else {})
    load_start = os.getloadavg()
    rows: dict[str, list[dict]] = {"torchdistill": []}
    for job in WORKBENCH_JOBS:  # the table's order; a repeat runs each job's trees back to back
        for suffix in trees:
            rows[f"workbench {job}{suffix}"] = []
    command = "python bench/bench_vs_torchdistill.py " + " ".join(sys.argv[1:])
    for repeat in range(args.repeats):
        order = [("torchdistill", "torchdistill", REPO)]
        order += [(f"workbench {job}{suffix}", job, tree) for job in WORKBENCH_JOBS for suffix, tree in trees.items()]
        for label, job, tree in order if repeat % 2 == 0 else order[::-1]:  # ABBA: a load trend favours no job
            rows[label].append(run_job(job, repeat, tree, args.train_images))
            print(f"repeat {repeat} {label}: {rows[label][-1]}", flush=True)
        text = report(rows, args.before, machine(load_start, os.getloadavg()), command.strip(), args.train_images)
        print(text, flush=True)
        if args.output:  # after every repeat, so a long run leaves its figures so far
            from workbench.reproduce.report import write_whole_section

            write_whole_section(Path(args.output), text, title="# Benchmark results")


if __name__ == "__main__":
    main()
