"""Batch-wide image augmentation with tensor ops, reproducible from a generator."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import ConfigError

AUGMENTATIONS: tuple[str, ...] = ("crop", "flip")

# Padding for the random crop by image size; other sizes pad by an eighth of the side (at least 1).
_CROP_PADDING: dict[int, int] = {8: 1, 28: 2, 32: 4}


def _draw_device(generator: torch.Generator | None) -> torch.device:
    """Where random numbers are drawn: the generator's device, or the CPU for the global generator."""
    return generator.device if generator is not None else torch.device("cpu")


def _random_crop(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Reflect-pad every image and cut an original-size window at a random offset per image."""
    n, _, h, w = x.shape
    pad = _CROP_PADDING.get(h, max(1, h // 8))
    offsets = torch.randint(0, 2 * pad + 1, (2 * n,), generator=generator, device=_draw_device(generator))
    offsets = offsets.to(x.device)
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    rows = (offsets[:n, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (offsets[n:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    images = torch.arange(n, device=x.device)[:, None, None, None]
    channels = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[images, channels, rows, cols]


def _random_flip(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = (torch.rand(len(x), generator=generator, device=_draw_device(generator)) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


_OPS = {"crop": _random_crop, "flip": _random_flip}


def augment_batch(x: torch.Tensor, augment: tuple[str, ...], generator: torch.Generator | None) -> torch.Tensor:
    """Apply the named augmentations in order to a batch (N, C, H, W) on its own device.

    "crop": random crop after reflect padding (1 px for 8×8, 2 px for 28×28, 4 px for 32×32);
    "flip": random horizontal flip per image. Random numbers come from `generator` on its device
    and are moved to x's device, so a seeded CPU generator gives the same result on any device.
    """
    for name in augment:
        if name not in _OPS:
            raise ConfigError("augment", f"unknown augmentation {name!r}; choose from: {', '.join(AUGMENTATIONS)}")
    for name in augment:
        x = _OPS[name](x, generator)
    return x
