"""Mini-batch index streams over a split held as tensors."""
from __future__ import annotations

from collections.abc import Iterator

import torch

from ..errors import ConfigError


def iterate_batches(
    split_len: int,
    batch_size: int,
    *,
    shuffle: bool,
    generator: torch.Generator | None,
    drop_last: bool = False,
    device: str | torch.device = "cpu",
) -> Iterator[torch.Tensor]:
    """Yield int64 index tensors on `device` covering 0..split_len-1 once per call (one epoch).

    With `shuffle` the order is one randperm drawn from `generator` (on the generator's device, so
    the same seed gives the same order everywhere); `drop_last` skips a final short batch.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError("batch_size", f"{batch_size!r} is not allowed; use a positive integer")
    target = torch.device(device)
    if shuffle:
        source = generator.device if generator is not None else torch.device("cpu")
        order = torch.randperm(split_len, generator=generator, device=source).to(target)
    else:
        order = torch.arange(split_len, device=target)
    end = split_len - split_len % batch_size if drop_last else split_len
    for start in range(0, end, batch_size):
        yield order[start:start + batch_size]
