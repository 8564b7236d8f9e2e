"""GPU throughput: the workbench's loop against torchdistill's DistillationBox, and stacked students, on one device.

Pairs at 32×32 on random tensors (throughput does not depend on the pixels; the teachers are freshly initialised):
cnn -> lenet5_half on 1-channel images (Fashion-MNIST padded to 32) and resnet56 -> resnet20 on 3-channel ones
(CIFAR-sized). For each pair: torchdistill 1.1.5 (fp32, its loop, the teacher on every batch; skipped with the
reason when it is not installed: pip install -e ".[bench]"), then engine.fit with the teacher on every batch in
fp32 and bf16, torch.compile off and on. Then how many students stacked by engine.fit_grid (issue 17 item 3) fill
the device: the grid doubles from 1 student while the summed images/s grows by at least 10 %.

--smoke runs every path on the CPU with a few tiny batches (tests/test_bench_gpu.py), fp32, compile off, grids of
1 and 2: it checks the script, it measures nothing.

Usage: python bench/bench_gpu.py [--device cuda] [--images 50000] [--batch 128] [--output bench/RESULTS.md]
       python bench/bench_gpu.py --smoke
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch

from workbench.config import RunConfig
from workbench.data.dataset import LoadedDataset, Split
from workbench.data.registry import DatasetInfo
from workbench.engine import fit
from workbench.errors import WorkbenchError
from workbench.models import create_model

PAIRS = (("cnn", "lenet5_half", 1), ("resnet56", "resnet20", 3))
TEMPERATURE, ALPHA, LR = 4.0, 0.9, 0.005
GRID_GAIN = 1.10  # keep doubling the grid while the summed images/s grows by this factor


def random_dataset(channels: int, images: int, test_images: int, device: torch.device) -> LoadedDataset:
    """Seeded random 32×32 images and labels of 10 classes, on the device."""
    generator = torch.Generator().manual_seed(0)
    info = DatasetInfo(
        name="fashion-mnist",
        title="random 32×32",
        num_classes=10,
        in_channels=channels,
        image_size=32,
        class_names=tuple(str(c) for c in range(10)),
        default_augment=(),
        source="random tensors",
    )

    def split(rows: int) -> Split:
        x = torch.randn(rows, channels, 32, 32, generator=generator)
        return Split(x.to(device), torch.randint(0, 10, (rows,), generator=generator).to(device))

    return LoadedDataset(info, split(images), split(test_images), (0.0,) * channels, (1.0,) * channels)


def run_config(teacher: str, student: str, device: str, batch: int, **changes) -> RunConfig:
    """One epoch of KD with the teacher on every batch."""
    values = {
        "dataset": "fashion-mnist", "teachers": [teacher], "student": student, "method": "kd", "epochs": 1,
        "temperature": TEMPERATURE, "alpha": ALPHA, "batch_size": batch, "lr": LR, "optimizer": "adam",
        "augment": "none", "device": device, "lr_schedule": "constant", "train_subset": 0,
        "cache_teacher_logits": False, "seed": 0,
    }  # fmt: skip
    return RunConfig.from_dict({**values, **changes})


def teacher_for(arch: str, data: LoadedDataset, device: torch.device) -> torch.nn.Module:
    """A freshly initialised teacher of `arch` for the data's shape."""
    torch.manual_seed(0)
    return create_model(arch, 10, data.info.in_channels, 32).to(device).eval()


def workbench_rate(config: RunConfig, teacher: torch.nn.Module, data: LoadedDataset) -> float:
    """engine.fit's training-loop images/s on the data."""
    return fit(config, teachers=[teacher], dataset=data).history[-1]["throughput"]


def torchdistill_rate(teacher: torch.nn.Module, student: str, data: LoadedDataset, batch: int) -> float | str:
    """torchdistill's DistillationBox images/s (fp32; batches moved to the device by its loop), or why not."""
    try:
        from torchdistill.core.distillation import DistillationBox
    except ImportError:
        return "torchdistill is not installed (pip install -e '.[bench]')"
    from torch.utils.data import RandomSampler, TensorDataset

    device = data.train.x.device
    torch.manual_seed(0)
    model = create_model(student, 10, data.info.in_channels, 32).to(device)
    kd = {"student_module_path": ".", "student_module_io": "output", "teacher_module_path": ".",
          "teacher_module_io": "output", "temperature": TEMPERATURE, "alpha": 1 - ALPHA,
          "reduction": "batchmean"}  # fmt: skip
    config = {
        "num_epochs": 1,
        "train_data_loader": {
            "dataset_id": "train",
            "sampler": {"class_or_func": RandomSampler, "kwargs": {}},
            "kwargs": {"batch_size": batch, "num_workers": 0},
        },
        "teacher": {"forward_proc": "forward_batch_only", "requires_grad": False},
        "student": {"forward_proc": "forward_batch_only", "requires_grad": True},
        "optimizer": {"key": "Adam", "kwargs": {"lr": LR}},
        "criterion": {
            "key": "WeightedSumLoss",
            "kwargs": {"sub_terms": {"kd": {"criterion": {"key": "KDLoss", "kwargs": kd}, "weight": 1.0}}},
        },
    }
    train = TensorDataset(data.train.x.cpu(), data.train.y.cpu())
    box = DistillationBox(teacher, model, {"train": train}, config, device, None, False, 1.0)
    box.pre_epoch_process(epoch=0)
    synchronise(device)
    started, seen = time.perf_counter(), 0
    for sample_batch, targets, supp_dict in box.train_data_loader:
        sample_batch, targets = sample_batch.to(device), targets.to(device)
        loss = box.forward_process(sample_batch, targets, supp_dict)
        box.post_forward_process(loss=loss)
        loss.item()  # its example's metric logger reads every step's loss
        seen += len(sample_batch)
    synchronise(device)
    return seen / (time.perf_counter() - started)


def grid_rates(config: RunConfig, teacher: torch.nn.Module, data: LoadedDataset, sizes: list[int]) -> list[tuple]:
    """(students, summed images/s) of fit_grid for growing grids, stopping when a doubling gains under 10 %."""
    try:
        from workbench.engine.grid import fit_grid
    except ImportError:
        return [("skipped", "engine.fit_grid is not in this workbench")]
    rows: list[tuple] = []
    for size in sizes:
        configs = [
            config.replace(seed=seed, precision="fp32", compile=False, cache_teacher_logits=True)
            for seed in range(size)
        ]
        synchronise(data.train.x.device)
        started = time.perf_counter()
        try:
            fit_grid(configs, teachers=[teacher], dataset=data)
        except torch.OutOfMemoryError:
            rows.append((size, "out of memory"))
            break
        except WorkbenchError as error:  # a pair the grid cannot stack says why
            rows.append((size, str(error)))
            break
        synchronise(data.train.x.device)
        rows.append((size, size * len(data.train) / (time.perf_counter() - started)))
        if len(rows) > 1 and rows[-1][1] < GRID_GAIN * rows[-2][1]:
            break
    return rows


def synchronise(device: torch.device) -> None:
    """Wait for the device's queued work (timings on an accelerator)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def machine(device: torch.device) -> str:
    """The accelerator (or CPU), torch version and load average."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "CPU"
    load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    return f"{name}; torch {torch.__version__}; Python {platform.python_version()}; load average {load}"


def main() -> None:
    """Measure every pair and setting, print the markdown section and write it when asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--max-grid", type=int, default=256)
    parser.add_argument("--smoke", action="store_true", help="every path on the CPU with tiny batches")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    if args.smoke:
        args.device, args.images, args.batch, args.max_grid = "cpu", 64, 32, 2
    device = torch.device(args.device)
    settings = [("fp32", False)] if args.smoke else [("fp32", False), ("fp32", True), ("bf16", False), ("bf16", True)]
    lines = [
        "## GPU throughput (issue 17 item 4)",
        "",
        f"Random 32×32 tensors, {args.images:,} images, batch {args.batch}, one epoch of KD with the teacher on every "
        f"batch (T = {TEMPERATURE}, α = {ALPHA}, Adam {LR}). Machine: {machine(device)}.",
        "",
        "| teacher → student | loop | precision | compile | images/s | × torchdistill |",
        "|---|---|---|---|---|---|",
    ]
    grids = []
    for teacher_arch, student, channels in PAIRS:
        data = random_dataset(channels, args.images, max(args.images // 10, 16), device)
        teacher = teacher_for(teacher_arch, data, device)
        peer = torchdistill_rate(teacher, student, data, args.batch)
        base = peer if isinstance(peer, float) else None
        shown = f"{peer:,.0f}" if base else f"skipped: {peer}"
        lines.append(f"| {teacher_arch} → {student} | torchdistill | fp32 | off | {shown} | 1.00 |")
        for precision, compiled in settings:
            config = run_config(teacher_arch, student, args.device, args.batch, precision=precision, compile=compiled)
            rate = workbench_rate(config, teacher, data)
            ratio = f"{rate / base:.2f}×" if base else "–"
            state = "on" if compiled else "off"
            lines.append(f"| {teacher_arch} → {student} | workbench | {precision} | {state} | {rate:,.0f} | {ratio} |")
        sizes = [2**k for k in range(args.max_grid.bit_length()) if 2**k <= args.max_grid]
        grids.append((teacher_arch, student, grid_rates(run_config(teacher_arch, student, args.device, args.batch),
                                                        teacher, data, sizes)))  # fmt: skip
    lines += ["", "Stacked students (engine.fit_grid, fp32; summed images/s of the grid):", ""]
    for teacher_arch, student, rows in grids:
        shown = ", ".join(
            f"{size}: {rate:,.0f}" if isinstance(rate, float) else f"{size}: {rate}" for size, rate in rows
        )
        lines.append(f"- {teacher_arch} → {student}: {shown}")
    lines += ["", f"Command: `python bench/bench_gpu.py --device {args.device} --images {args.images}`", ""]
    text = "\n".join(lines)
    print(text)
    if args.output:
        from workbench.reproduce.report import write_whole_section

        write_whole_section(Path(args.output), text, title="# Benchmark results")


if __name__ == "__main__":
    main()
