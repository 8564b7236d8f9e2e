"""Fashion-MNIST from local IDX files (data directory or Debian's package), else a torchvision download."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .idx import read_idx
from .raw import RawData
from .torchvision_sets import download_guarded
from ..errors import DatasetUnavailable

# Searched after the data directory; Debian's dataset-fashion-mnist installs here.
SYSTEM_DIRS: tuple[Path, ...] = (Path("/usr/share/datasets/fashion-mnist"),)

_FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
)


def _local_dirs(data_dir: Path) -> list[Path]:
    """Directories to search under the data directory: our layout, then torchvision's."""
    return [data_dir / "fashion-mnist", data_dir / "FashionMNIST" / "raw"]


def _find_files(directory: Path) -> list[Path] | None:
    """The four IDX files in `directory` (each .gz or plain), or None if any is missing."""
    found = []
    for stem in _FILES:
        candidates = [directory / f"{stem}.gz", directory / stem]
        match = next((path for path in candidates if path.is_file()), None)
        if match is None:
            return None
        found.append(match)
    return found


def _read_split(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 1, 28, 28) uint8 and labels (N,) int64 from one pair of IDX files, checked for consistency."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DatasetUnavailable(f"{images_path} does not hold 28×28 uint8 images (shape {images.shape}).")
    if labels.ndim != 1 or len(labels) != len(images) or (len(labels) and int(labels.max()) > 9):
        raise DatasetUnavailable(
            f"{labels_path} does not hold one label 0..9 per image of {images_path.name}."
        )
    return images[:, None, :, :], labels.astype(np.int64)


def _download(data_dir: Path) -> None:
    """Let torchvision download Fashion-MNIST into <data_dir>/FashionMNIST/raw/ (raises on failure)."""
    from torchvision.datasets import FashionMNIST

    FashionMNIST(root=str(data_dir), train=True, download=True)


def load_fashion_mnist_raw(data_dir: Path) -> RawData:
    """The 60,000/10,000 Fashion-MNIST images from the first directory that has all four files."""
    searched = _local_dirs(data_dir) + list(SYSTEM_DIRS)
    where = ", ".join(str(d) for d in searched)
    missing = (
        f"Fashion-MNIST not found in {where} and the download failed (offline?). Install Debian's "
        f"dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or put the four IDX files in "
        f"{data_dir / 'fashion-mnist'}/."
    )
    files = next((f for f in map(_find_files, searched) if f is not None), None)
    if files is None:
        download_guarded(lambda: _download(data_dir), missing)
        files = _find_files(data_dir / "FashionMNIST" / "raw")
        if files is None:
            raise DatasetUnavailable(missing)
    x_train, y_train = _read_split(files[0], files[1])
    x_test, y_test = _read_split(files[2], files[3])
    return RawData(x_train, y_train, x_test, y_test, scale=255.0)
