"""Loading a whole dataset as normalised tensors, with an in-process cache and stratified subsets."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import torch

from .digits import load_digits_raw
from .fashion_mnist import load_fashion_mnist_raw
from .raw import RawData
from .registry import DatasetInfo, dataset_info
from .subsets import stratified_indices
from .torchvision_sets import load_cifar_raw, load_mnist_raw, load_svhn_raw
from ..errors import ConfigError
from ..paths import default_data_dir

_SOURCES: dict[str, Callable[[Path], RawData]] = {
    "digits": lambda data_dir: load_digits_raw(),
    "fashion-mnist": load_fashion_mnist_raw,
    "mnist": load_mnist_raw,
    "cifar10": lambda data_dir: load_cifar_raw(data_dir, 10),
    "cifar100": lambda data_dir: load_cifar_raw(data_dir, 100),
    "svhn": load_svhn_raw,
}


@dataclass
class Split:
    """One split: normalised float32 images x (N, C, H, W) and int64 labels y (N,)."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        """Number of examples."""
        return len(self.y)


@dataclass
class LoadedDataset:
    """A dataset in memory: its info, both splits, and the per-channel statistics used to normalise."""

    info: DatasetInfo
    train: Split
    test: Split
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def denormalise(self, x: torch.Tensor) -> torch.Tensor:
        """Undo the normalisation of images (…, C, H, W), clamped to [0, 1] for display."""
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(-1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(-1, 1, 1)
        return (x * std + mean).clamp(0.0, 1.0)


def without_train_classes(data: LoadedDataset, classes: list[int] | tuple[int, ...]) -> LoadedDataset:
    """A copy of `data` whose training split has no image of `classes` (the test split keeps every class)."""
    if not classes:
        return data
    keep = ~torch.isin(data.train.y, torch.tensor(list(classes), device=data.train.y.device))
    return replace(data, train=Split(data.train.x[keep], data.train.y[keep]))


@dataclass(frozen=True)
class _Normalised:
    """The cached CPU form of a dataset: normalised splits, their statistics, and class names if the source has them."""

    train: Split
    test: Split
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_names: tuple[str, ...] | None


def _normalise(raw: RawData) -> _Normalised:
    """Scale pixels to [0, 1], then standardise each channel with the training split's mean and std."""
    x_train = torch.from_numpy(raw.x_train).float().div_(raw.scale)
    x_test = torch.from_numpy(raw.x_test).float().div_(raw.scale)
    mean = x_train.mean(dim=(0, 2, 3))
    std = x_train.std(dim=(0, 2, 3))
    for x in (x_train, x_test):
        x.sub_(mean.view(-1, 1, 1)).div_(std.view(-1, 1, 1))
    return _Normalised(
        Split(x_train, torch.from_numpy(raw.y_train)),
        Split(x_test, torch.from_numpy(raw.y_test)),
        tuple(mean.tolist()),
        tuple(std.tolist()),
        raw.class_names,
    )


@lru_cache(maxsize=4)
def _load_cpu(name: str, data_dir: Path) -> _Normalised:
    """Read and normalise a dataset once per (name, data_dir) in this process."""
    return _normalise(_SOURCES[name](data_dir))


def _subset_indices(
    field: str, size: int | None, split: Split, info: DatasetInfo, split_name: str, seed: int
) -> torch.Tensor | None:
    """Stratified indices for a requested subset size, None for the whole split; ConfigError if out of range."""
    if size is None:
        return None
    low = info.num_classes
    if isinstance(size, bool) or not isinstance(size, int) or size < low:
        raise ConfigError(field, f"{size!r} is out of range; choose at least {low} for {info.name} ({split_name})")
    if size >= len(split):  # "at most `size` images": a split no larger is taken whole
        return None
    return stratified_indices(split.y, size, info.num_classes, torch.Generator().manual_seed(seed))


def _place(split: Split, indices: torch.Tensor | None, device: torch.device) -> Split:
    """A copy of the split (or of its indexed subset) on `device`, never sharing memory with the cache."""
    if indices is None:
        return Split(split.x.to(device, copy=True), split.y.to(device, copy=True))
    return Split(split.x[indices].to(device), split.y[indices].to(device))


def load_dataset(
    name: str,
    *,
    device: str | torch.device = "cpu",
    data_dir: str | Path | None = None,
    train_subset: int | None = None,
    test_subset: int | None = None,
    seed: int = 0,
) -> LoadedDataset:
    """Load a whole dataset as normalised tensors on `device`.

    Files are read from `data_dir` (default: $KDW_DATA_DIR or ./data) once per process and cached on
    the CPU. `train_subset`/`test_subset` pick a class-balanced subset of that size, deterministic in
    `seed`; a subset needs at least one image per class, and one as large as the split is the whole split.
    """
    info = dataset_info(name)
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    cached = _load_cpu(name, root.resolve())
    train_indices = _subset_indices("train_subset", train_subset, cached.train, info, "train split", seed)
    test_indices = _subset_indices("test_subset", test_subset, cached.test, info, "test split", seed)
    target = torch.device(device)
    if cached.class_names is not None:
        info = replace(info, class_names=cached.class_names)
    return LoadedDataset(
        info=info,
        train=_place(cached.train, train_indices, target),
        test=_place(cached.test, test_indices, target),
        mean=cached.mean,
        std=cached.std,
    )
