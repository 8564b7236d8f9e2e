"""Datasets as whole tensors: the registry, loading with subsets, batch indices and augmentation.

The registry (names, titles, shapes, sources) imports no torch, so the app's first page lists the datasets before
torch is imported; the other names import their module (and torch) on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_getattr
from .registry import DatasetInfo, dataset_info, list_datasets

if TYPE_CHECKING:
    from .augment import augment_batch
    from .batches import iterate_batches
    from .dataset import LoadedDataset, Split, load_dataset, without_train_classes

_MODULE_OF = {  # name: the module of this package that holds it
    "augment_batch": "augment",
    "iterate_batches": "batches",
    "LoadedDataset": "dataset",
    "Split": "dataset",
    "load_dataset": "dataset",
    "without_train_classes": "dataset",
}

__all__ = [
    "DatasetInfo",
    "LoadedDataset",
    "Split",
    "augment_batch",
    "dataset_info",
    "iterate_batches",
    "list_datasets",
    "load_dataset",
    "without_train_classes",
]


__getattr__ = lazy_getattr(__name__, _MODULE_OF, globals())  # a name that needs torch: imported on first use
