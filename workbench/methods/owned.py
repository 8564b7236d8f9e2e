"""Checkpoint state for methods that train networks of their own with their own optimisers."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class OwnOptimised:
    """Mixin for methods that own networks trained by their own optimisers (generators, VAEs,
    discriminators): each network's weights and its optimiser's state go into the method's checkpoint
    state. Subclasses fill `owned` (name -> (network, optimiser)) in `prepare`."""

    owned: dict[str, tuple[nn.Module, torch.optim.Optimizer]]

    def state_dict(self) -> dict[str, Any]:
        """Each owned network's weights and its optimiser's state."""
        return {
            name: {"weights": module.state_dict(), "optimizer": optimizer.state_dict()}
            for name, (module, optimizer) in self.owned.items()
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""
        for name, (module, optimizer) in self.owned.items():
            module.load_state_dict(state[name]["weights"])
            optimizer.load_state_dict(state[name]["optimizer"])
