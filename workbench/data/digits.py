"""scikit-learn's bundled 8×8 digits, split once into a fixed stratified train/test pair."""
from __future__ import annotations

import numpy as np
import torch

from .raw import RawData
from .subsets import stratified_indices

DIGITS_TEST_SIZE = 360
_SPLIT_SEED = 0


def load_digits_raw() -> RawData:
    """The 1,797 digits as 1,437 train / 360 test images (36 per class in test), pixels 0..16."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.uint8)[:, None, :, :]
    labels = bunch.target.astype(np.int64)
    test = stratified_indices(
        torch.from_numpy(labels), DIGITS_TEST_SIZE, 10, torch.Generator().manual_seed(_SPLIT_SEED)
    ).numpy()
    is_test = np.zeros(len(labels), dtype=bool)
    is_test[test] = True
    return RawData(images[~is_test], labels[~is_test], images[is_test], labels[is_test], scale=16.0)
