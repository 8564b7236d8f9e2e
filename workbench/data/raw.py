"""The common form every dataset source returns before normalisation."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RawData:
    """Unnormalised images (N, C, H, W) with integer pixels in 0..scale, and int64 labels (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    scale: float
    class_names: tuple[str, ...] | None = None
