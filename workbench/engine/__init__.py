"""The training engine: one loop (fit), its events, device choice, teacher cache and checkpoints."""

from .events import Callback, EpochEvent, FitResult, FunctionCallback, RunInfo, StepEvent
from .loop import fit

__all__ = ["Callback", "EpochEvent", "FitResult", "FunctionCallback", "RunInfo", "StepEvent", "fit"]
