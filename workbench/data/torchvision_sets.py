"""MNIST, CIFAR-10/100 and SVHN through torchvision, with offline failures turned into one clear line."""
from __future__ import annotations

import importlib.util
import socket
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.client import HTTPException
from pathlib import Path
from typing import TypeVar

import numpy as np

from .raw import RawData
from ..errors import DatasetUnavailable

T = TypeVar("T")

# Per blocking socket operation, so a live but slow download still finishes; offline fails fast.
DOWNLOAD_SOCKET_TIMEOUT_S = 20.0

# What torchvision raises when a download or its files go wrong.
_DOWNLOAD_ERRORS = (OSError, RuntimeError, HTTPException, EOFError, tarfile.TarError, ValueError)


@contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """Temporarily set the default socket timeout (urllib inside torchvision sets none of its own)."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def download_guarded(action: Callable[[], T], failure: str) -> T:
    """Run a torchvision download-and-load; on failure raise DatasetUnavailable(failure), chaining the cause."""
    try:
        with _socket_timeout(DOWNLOAD_SOCKET_TIMEOUT_S):
            return action()
    except _DOWNLOAD_ERRORS as err:
        raise DatasetUnavailable(failure) from err


def _offline_message(title: str, data_dir: Path, files: str) -> str:
    """One sentence saying the dataset is missing, needs internet once, and where its files go."""
    return (
        f"{title} is not in {data_dir} and the download failed (offline?): it needs internet once to download "
        f"into the data directory, or put {files} in {data_dir} yourself."
    )


def load_mnist_raw(data_dir: Path) -> RawData:
    """MNIST's 60,000/10,000 digits from <data_dir>/MNIST/raw/, downloading them there if needed."""
    from torchvision.datasets import MNIST

    def load() -> RawData:
        train = MNIST(root=str(data_dir), train=True, download=True)
        test = MNIST(root=str(data_dir), train=False, download=True)
        return RawData(
            train.data.numpy()[:, None], train.targets.numpy().astype(np.int64),
            test.data.numpy()[:, None], test.targets.numpy().astype(np.int64), scale=255.0,
        )

    return download_guarded(load, _offline_message("MNIST", data_dir, "the four IDX files under MNIST/raw/"))


def load_cifar_raw(data_dir: Path, num_classes: int) -> RawData:
    """CIFAR-10 or CIFAR-100 (fine labels) from data_dir, downloading the archive there if needed."""
    from torchvision.datasets import CIFAR10, CIFAR100

    dataset_class = CIFAR10 if num_classes == 10 else CIFAR100

    def load() -> RawData:
        train = dataset_class(root=str(data_dir), train=True, download=True)
        test = dataset_class(root=str(data_dir), train=False, download=True)
        return RawData(
            np.ascontiguousarray(train.data.transpose(0, 3, 1, 2)), np.asarray(train.targets, dtype=np.int64),
            np.ascontiguousarray(test.data.transpose(0, 3, 1, 2)), np.asarray(test.targets, dtype=np.int64),
            scale=255.0, class_names=tuple(train.classes),
        )

    title = f"CIFAR-{num_classes}"
    return download_guarded(load, _offline_message(title, data_dir, dataset_class.filename))


def load_svhn_raw(data_dir: Path) -> RawData:
    """SVHN's 73,257 train / 26,032 test digits from data_dir, downloading the .mat files there if needed."""
    if importlib.util.find_spec("scipy") is None:
        raise DatasetUnavailable("SVHN needs scipy to read its .mat files: pip install scipy.")
    from torchvision.datasets import SVHN

    def load() -> RawData:
        train = SVHN(root=str(data_dir), split="train", download=True)
        test = SVHN(root=str(data_dir), split="test", download=True)
        return RawData(
            np.ascontiguousarray(train.data), train.labels.astype(np.int64),
            np.ascontiguousarray(test.data), test.labels.astype(np.int64), scale=255.0,
        )

    return download_guarded(load, _offline_message("SVHN", data_dir, "train_32x32.mat and test_32x32.mat"))
