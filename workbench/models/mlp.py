"""A two-hidden-layer perceptron on flattened images."""

from __future__ import annotations

from torch import nn

from .base import FeatureModel


class MLP(FeatureModel):
    """Flatten -> Linear-ReLU ("hidden1") -> Linear-ReLU ("hidden2") -> classifier.

    ``"embedding"`` is the same tensor as ``"hidden2"``: the vector the classifier reads.
    """

    def __init__(self, num_classes: int, in_channels: int, image_size: int, width: int = 256) -> None:
        blocks = {
            "hidden1": nn.Sequential(nn.Linear(in_channels * image_size * image_size, width), nn.ReLU()),
            "hidden2": nn.Sequential(nn.Linear(width, width), nn.ReLU()),
        }
        super().__init__(nn.Flatten(1), blocks, nn.Identity(), nn.Linear(width, num_classes))
