"""CIFAR-style ResNets (He et al. 2016, depth 6n+2, basic blocks) and the CRD 4x-wide variants."""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from .base import FeatureModel
from .layers import conv1x1, conv3x3, global_pool

STANDARD_WIDTHS = (16, 16, 32, 64)
WIDE_WIDTHS = (32, 64, 128, 256)  # resnet8x4 / resnet32x4 of the CRD repository


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers plus a shortcut (1x1 conv-BN when the shape changes), then ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            projection = conv1x1(in_channels, out_channels, stride)
            self.shortcut = nn.Sequential(projection, nn.BatchNorm2d(out_channels))

    def forward(self, x: Tensor) -> Tensor:
        """Return relu(F(x) + shortcut(x))."""
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(FeatureModel):
    """A 3x3 conv-BN-ReLU stem of ``widths[0]`` channels, then one group per further width.

    Each group ("block1", "block2", ...) holds (depth - 2) / 6 basic blocks; the first group
    keeps the resolution and every later group halves it. ``"embedding"`` is the global
    average of the last group's map.
    """

    def __init__(
        self,
        depth: int,
        num_classes: int,
        in_channels: int,
        widths: Sequence[int] = STANDARD_WIDTHS,
    ) -> None:
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2 with n >= 1, got {depth}")
        blocks_per_group = (depth - 2) // 6
        stem = nn.Sequential(conv3x3(in_channels, widths[0]), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        groups: dict[str, nn.Module] = {}
        channels = widths[0]
        for index, width in enumerate(widths[1:], start=1):
            layers = []
            for position in range(blocks_per_group):
                stride = 2 if index > 1 and position == 0 else 1
                layers.append(BasicBlock(channels, width, stride))
                channels = width
            groups[f"block{index}"] = nn.Sequential(*layers)
        super().__init__(stem, groups, global_pool(), nn.Linear(channels, num_classes))
