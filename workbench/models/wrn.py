"""Wide ResNets (Zagoruyko & Komodakis 2016) with pre-activation basic blocks."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .base import FeatureModel
from .layers import conv1x1, conv3x3, global_pool


class PreActBlock(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-conv3x3 plus a shortcut (1x1 conv of the activated input if needed)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.shortcut: nn.Conv2d | None = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = conv1x1(in_channels, out_channels, stride)

    def forward(self, x: Tensor) -> Tensor:
        """Return F(x) + shortcut(x), without a final activation (pre-activation design)."""
        activated = F.relu(self.bn1(x))
        out = self.conv2(F.relu(self.bn2(self.conv1(activated))))
        skip = x if self.shortcut is None else self.shortcut(activated)
        return out + skip


class WideResNet(FeatureModel):
    """WRN-depth-k: a 16-channel 3x3 stem, then groups of 16k, 32k, 64k channels.

    Each group ("block1".."block3") holds (depth - 4) / 6 pre-activation blocks; groups 2 and 3
    halve the resolution. "block1" and "block2" are the raw (pre-activation) group outputs;
    "block3" includes the final BN-ReLU, so ``"embedding"`` is the global average of "block3".
    """

    def __init__(self, depth: int, widen_factor: int, num_classes: int, in_channels: int) -> None:
        if depth < 10 or (depth - 4) % 6:
            raise ValueError(f"Wide ResNet depth must be 6n+4 with n >= 1, got {depth}")
        blocks_per_group = (depth - 4) // 6
        channels = 16
        groups: dict[str, nn.Module] = {}
        for index, base in enumerate((16, 32, 64), start=1):
            width = base * widen_factor
            layers: list[nn.Module] = []
            for position in range(blocks_per_group):
                stride = 2 if index > 1 and position == 0 else 1
                layers.append(PreActBlock(channels, width, stride))
                channels = width
            if index == 3:
                layers += [nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
            groups[f"block{index}"] = nn.Sequential(*layers)
        super().__init__(conv3x3(in_channels, 16), groups, global_pool(), nn.Linear(channels, num_classes))
