"""A shared server's budgets checked before anything trains: the memory of every config of a batch (`kdw sweep`,
`kdw demo`, `kdw reproduce`), a run's least training time against the per-run time budget, and the most runs one
owner may have queued or running.

The time estimate is a lower bound: the student's forward and backward multiply-accumulates (3 × the forward's,
from `models.estimate` on the meta device) over every training image of every epoch, plus each teacher's forward
once, at the best pace this machine could reach (every core at `CPU_MACS_PER_CORE`, or `GPU_MACS` on a GPU). Only a
config that cannot finish within the budget even at that pace is refused; the budget itself stops the rest."""

from __future__ import annotations

import os
from collections.abc import Iterable

from .config import RunConfig
from .errors import ConfigError, WorkbenchError
from .models.estimate import check_config_memory, estimate
from .store import RunStore

CPU_MACS_PER_CORE = 50e9  # an AVX2 core's float32 FMA peak is about this; training small convnets reaches far less
GPU_MACS = 500e12  # about an H200's dense bf16 peak, in multiply-accumulates per second
TRAIN_IMAGES = {
    "digits": 1437,
    "fashion-mnist": 60000,
    "mnist": 60000,
    "cifar10": 50000,
    "cifar100": 50000,
    "svhn": 73257,
}  # the size of each dataset's training split
UNFINISHED = ("queued", "running")


def check_memory_of(named: Iterable[tuple[str, RunConfig]]) -> None:
    """Refuse a batch of configs before any trains when one passes the memory budget: WorkbenchError, one line
    naming that config (its label) and what is over."""
    for label, config in named:
        try:
            check_config_memory(config)
        except ConfigError as error:
            raise WorkbenchError(f"{label}: {error}") from None


def images_per_epoch(config: RunConfig) -> int | None:
    """Images the student sees in one epoch (None when unknown: a dataset or method this estimate does not know)."""
    from .data import dataset_info
    from .methods import get_method

    method = get_method(config.method)
    if not method.reads_training_data:  # a data-free method's epoch is its generated batches
        batches = int(method.validate_params(dict(config.method_params)).get("iterations", 0))
        return batches * config.batch_size or None
    total = TRAIN_IMAGES.get(config.dataset)
    if total is None:
        return None
    images = min(total, config.train_subset) if config.train_subset else total
    classes = dataset_info(config.dataset).num_classes
    return images * (classes - len(set(config.omit_classes))) // classes


def best_pace(device: str) -> float:
    """Multiply-accumulates per second this machine could reach at best on `device` ('auto', 'cpu', 'cuda', ...)."""
    if device == "cpu":
        return CPU_MACS_PER_CORE * (os.cpu_count() or 1)
    if device != "auto":
        return GPU_MACS
    import torch

    return GPU_MACS if torch.cuda.is_available() else CPU_MACS_PER_CORE * (os.cpu_count() or 1)


def least_train_seconds(config: RunConfig) -> float | None:
    """A lower bound on the seconds `config` takes to train here (every run of a chain), or None when unknown."""
    from .data import dataset_info
    from .methods import get_method

    images = images_per_epoch(config)
    if images is None:
        return None
    info = dataset_info(config.dataset)
    shape = (info.num_classes, info.in_channels, info.image_size)
    method = get_method(config.method)
    runs = method.chain_length(method.validate_params(dict(config.method_params)))
    student = estimate(config.student, *shape).macs * 3 * images * config.epochs
    teachers = sum(estimate(teacher, *shape).macs * images for teacher in dict.fromkeys(config.teachers))
    if method.teacher_need in ("none", "self"):
        teachers = 0
    return runs * (student + teachers) / best_pace(config.device)


def check_time_budget(config: RunConfig, limit_seconds: float) -> None:
    """ConfigError (one line) when `config` cannot train within `limit_seconds` even at this machine's best pace."""
    least = least_train_seconds(config)
    if least is None or least <= limit_seconds:
        return
    raise ConfigError(
        "epochs",
        f"{config.student} for {config.epochs} epoch(s) on {images_per_epoch(config)} images needs at least "
        f"{_duration(least)} on this server, over its time budget of {_duration(limit_seconds)} a run "
        "(KDW_RUN_TIME_LIMIT_S); train fewer epochs, a smaller train_subset or a smaller student",
    )


def check_owner_room(store: RunStore, owner: str, adding: int, cap: int) -> None:
    """WorkbenchError (one line naming the cap) when `adding` more runs would give `owner` more than `cap` runs
    queued or running."""
    have = store.count_by_owner(UNFINISHED, [owner]).get(owner, 0)
    if have + adding <= cap:
        return
    if adding == 1:
        raise WorkbenchError(
            f"queue: you already have {have} runs queued or running, the most one session may have on this server "
            f"({cap}, KDW_MAX_QUEUED_PER_OWNER); wait for some to finish or cancel some"
        )
    raise WorkbenchError(
        f"queue: these {adding} runs would give you {have + adding} queued or running, over the {cap} one session "
        f"may have on this server (KDW_MAX_QUEUED_PER_OWNER); nothing was queued: start fewer, or wait for some "
        "to finish"
    )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
