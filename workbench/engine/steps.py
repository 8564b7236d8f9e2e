"""Step metrics kept on the device and read in chunks, so a GPU loop does not wait for the host every step."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from .events import Callback, StepEvent
from .guards import LossGrowthGuard, check_step_terms

DEVICE_READ_STEPS = 64  # on an accelerator, steps between reads of their losses...
DEVICE_READ_SECONDS = 0.5  # ...or this long, whichever comes first (a live chart wants a point a second)


def read_every_for(device: torch.device) -> int:
    """Steps between reads of the step losses: every step on the CPU (its values are on the host already, so
    reading them waits for nothing), DEVICE_READ_STEPS on an accelerator (each read waits for its queue)."""
    return 1 if device.type == "cpu" else DEVICE_READ_STEPS


@dataclass
class _Pending:
    step: int
    epoch: int
    names: tuple[str, ...]
    values: Tensor  # the step's loss terms as one float32 vector, still on the device
    batch_size: int
    host: dict[str, float]  # α, T, learning rate: known on the host already


class StepLog:
    """Collects each step's loss terms on the device and reads them every `read_every` steps or `read_seconds`,
    whichever comes first, with one host transfer for the chunk. On reading, steps are checked and reported in
    order: a NaN or infinite term (or a loss far above the first step's) raises Diverged after the steps before
    it have gone to the callbacks, as when every step was read at once."""

    def __init__(
        self, callbacks: Sequence[Callback], read_every: int = 1, read_seconds: float = DEVICE_READ_SECONDS
    ) -> None:
        self.callbacks = callbacks
        self.read_every = max(1, read_every)
        self.read_seconds = read_seconds
        self.growth = LossGrowthGuard()
        self.term_sums: dict[str, float] = {}  # this epoch's batch-weighted sums of each term
        self._pending: list[_Pending] = []
        self._last_read = float("-inf")  # the first step is read at once: a live chart's first point

    def new_epoch(self) -> None:
        """Start the epoch's term sums afresh."""
        self.term_sums = {}

    def add(self, step: int, epoch: int, terms: dict[str, Tensor], batch_size: int, host: dict[str, float]) -> None:
        """Keep a finished step's terms (1-based `step`); read the chunk when it is due."""
        values = torch.stack([term.detach().float().reshape(()) for term in terms.values()])
        self._pending.append(_Pending(step, epoch, tuple(terms), values, batch_size, host))
        if len(self._pending) >= self.read_every or time.monotonic() - self._last_read >= self.read_seconds:
            self.flush()

    def flush(self) -> None:
        """Read the pending steps' terms from the device in one transfer, check them in order and report them."""
        pending, self._pending = self._pending, []
        self._last_read = time.monotonic()
        if not pending:
            return
        flat = (pending[0].values if len(pending) == 1 else torch.cat([p.values for p in pending])).tolist()
        offset = 0
        for item in pending:
            values = flat[offset : offset + len(item.names)]
            offset += len(item.names)
            terms = dict(zip(item.names, values))
            total = sum(values)
            check_step_terms(terms, total, item.epoch, item.step - 1)
            self.growth.check(total, item.epoch, item.step - 1)
            for name, value in terms.items():
                self.term_sums[name] = self.term_sums.get(name, 0.0) + value * item.batch_size
            metrics = {**terms, "loss": total, **item.host}
            for callback in self.callbacks:
                callback.on_step(StepEvent(item.step, item.epoch, metrics))
