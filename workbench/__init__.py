"""KD Workbench: a shared PyTorch core for teaching and comparing knowledge distillation methods."""

__version__ = "0.1.0"
