"""LeNet-5 and the half-width LeNet-5 of the DAFL paper, padded so that 8x8 inputs work."""

from __future__ import annotations

from torch import nn

from .base import FeatureModel

_POOLED_SIZE = 5  # the classic 5x5 map fed to the first fully connected layer


class LeNet5(FeatureModel):
    """Two 5x5 conv-ReLU-maxpool stages ("block1", "block2") and two ReLU FC layers.

    Both convolutions use padding 2 and the pools round up, so any input size >= 1 works; the
    second stage's map is average-pooled to at most 5x5 before the FC layers. ``"embedding"``
    is the output of the second FC layer (``fc_widths[1]`` wide).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        image_size: int,
        channels: tuple[int, int] = (6, 16),
        fc_widths: tuple[int, int] = (120, 84),
    ) -> None:
        pooled = min(_POOLED_SIZE, _halve(_halve(image_size)))
        blocks = {
            "block1": _conv_pool(in_channels, channels[0]),
            "block2": _conv_pool(channels[0], channels[1]),
        }
        head = nn.Sequential(
            nn.AdaptiveAvgPool2d(pooled),
            nn.Flatten(1),
            nn.Linear(channels[1] * pooled * pooled, fc_widths[0]),
            nn.ReLU(),
            nn.Linear(fc_widths[0], fc_widths[1]),
            nn.ReLU(),
        )
        super().__init__(nn.Identity(), blocks, head, nn.Linear(fc_widths[1], num_classes))


def lenet5(num_classes: int, in_channels: int, image_size: int) -> LeNet5:
    """Classic LeNet-5 widths: 6 and 16 conv channels, 120 and 84 FC units."""
    return LeNet5(num_classes, in_channels, image_size)


def lenet5_half(num_classes: int, in_channels: int, image_size: int) -> LeNet5:
    """LeNet-5-half (DAFL): 3 and 8 conv channels, 60 and 42 FC units."""
    return LeNet5(num_classes, in_channels, image_size, channels=(3, 8), fc_widths=(60, 42))


def _conv_pool(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2, ceil_mode=True),
    )


def _halve(size: int) -> int:
    return (size + 1) // 2
