"""Datasets as whole tensors: the registry, loading with subsets, batch indices and augmentation."""
from .augment import augment_batch
from .batches import iterate_batches
from .dataset import LoadedDataset, Split, load_dataset, without_train_classes
from .registry import DatasetInfo, dataset_info, list_datasets

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
