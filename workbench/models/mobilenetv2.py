"""MobileNetV2 (Sandler et al. 2018) adapted to small inputs: stride-1 stem, 8x total downsampling."""

from __future__ import annotations

from torch import Tensor, nn

from .base import FeatureModel
from .layers import conv1x1, global_pool

# Per feature block: the (expansion, channels, repeats, first stride) of its inverted-residual runs.
# ImageNet MobileNetV2 uses stride 2 in the stem and in the 24-channel run; both are 1 here.
_BLOCKS = (
    ((1, 16, 1, 1), (6, 24, 2, 1)),
    ((6, 32, 3, 2),),
    ((6, 64, 4, 2), (6, 96, 3, 1)),
    ((6, 160, 3, 2), (6, 320, 1, 1)),
)
_STEM_CHANNELS = 32
_LAST_CHANNELS = 1280


class InvertedResidual(nn.Module):
    """1x1 expansion, 3x3 depthwise, linear 1x1 projection; residual when the shape is kept."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers += [conv1x1(in_channels, hidden), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            conv1x1(hidden, out_channels),
            nn.BatchNorm2d(out_channels),
        ]
        self.body = nn.Sequential(*layers)
        self.use_residual = stride == 1 and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        """Return body(x), plus x when the block keeps the shape."""
        out = self.body(x)
        return x + out if self.use_residual else out


class MobileNetV2(FeatureModel):
    """A 3x3 stride-1 stem, then four blocks of inverted residuals at 1x, 1/2, 1/4, 1/8 resolution.

    "block4" ends with the 1x1 conv-BN-ReLU6 to the last channel count (1280 at width 1.0), so
    ``"embedding"`` is the global average of "block4". ``width_mult`` scales every channel count
    (rounded to a multiple of 8), except that the last one is never scaled below 1280.
    """

    def __init__(self, num_classes: int, in_channels: int, width_mult: float = 1.0) -> None:
        channels = _round_channels(_STEM_CHANNELS * width_mult)
        stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU6(inplace=True),
        )
        last = _round_channels(_LAST_CHANNELS * max(1.0, width_mult))
        blocks: dict[str, nn.Module] = {}
        for index, runs in enumerate(_BLOCKS, start=1):
            layers: list[nn.Module] = []
            for expansion, base_channels, repeats, first_stride in runs:
                out_channels = _round_channels(base_channels * width_mult)
                for position in range(repeats):
                    stride = first_stride if position == 0 else 1
                    layers.append(InvertedResidual(channels, out_channels, stride, expansion))
                    channels = out_channels
            if index == len(_BLOCKS):
                layers += [conv1x1(channels, last), nn.BatchNorm2d(last), nn.ReLU6(inplace=True)]
            blocks[f"block{index}"] = nn.Sequential(*layers)
        super().__init__(stem, blocks, global_pool(), nn.Linear(last, num_classes))


def _round_channels(channels: float, divisor: int = 8) -> int:
    """Round to the nearest multiple of ``divisor``, never losing more than 10%."""
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * channels:
        rounded += divisor
    return rounded
