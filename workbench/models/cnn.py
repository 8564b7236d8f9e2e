"""A plain VGG-style small CNN with a width parameter."""

from __future__ import annotations

from torch import nn

from .base import FeatureModel
from .layers import conv_bn_relu, global_pool

_STAGE_MULTIPLIERS = (1, 2, 4)


class SimpleCNN(FeatureModel):
    """Three stages ("block1".."block3") of two 3x3 conv-BN-ReLU layers with w, 2w, 4w channels.

    Each stage ends in a 2x2 max-pool when the map is at least 4 pixels wide, so small inputs
    keep a map of at least 2x2 (8x8 -> 4 -> 2 -> 2; 28 -> 14 -> 7 -> 3; 32 -> 16 -> 8 -> 4).
    ``"embedding"`` is the global average of the last map (4w wide).
    """

    def __init__(self, num_classes: int, in_channels: int, image_size: int, width: int = 32) -> None:
        blocks: dict[str, nn.Module] = {}
        channels, size = in_channels, image_size
        for index, multiplier in enumerate(_STAGE_MULTIPLIERS, start=1):
            out_channels = width * multiplier
            layers = [conv_bn_relu(channels, out_channels), conv_bn_relu(out_channels, out_channels)]
            if size >= 4:
                layers.append(nn.MaxPool2d(2))
                size //= 2
            blocks[f"block{index}"] = nn.Sequential(*layers)
            channels = out_channels
        super().__init__(nn.Identity(), blocks, global_pool(), nn.Linear(channels, num_classes))
