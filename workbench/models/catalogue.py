"""The model zoo's catalogue: each model's name, one-sentence description and default width, and reading a
"name" / "name:width" spec. Imports no torch, so the app's first page lists the models before torch is imported;
`registry` holds how each one is built."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError

MAX_WIDTH = 4096
RESNET_DEPTHS = (8, 14, 20, 32, 44, 56, 110)


@dataclass(frozen=True)
class ModelEntry:
    """What one named model is, and its default width (None: no width suffix)."""

    description: str
    default_width: int | None = None


def _resnet_entry(depth: int) -> ModelEntry:
    blocks = (depth - 2) // 6
    return ModelEntry(f"CIFAR ResNet-{depth} (He et al. 2016): {blocks} basic block(s) per group of 16/32/64 channels.")


MODELS: dict[str, ModelEntry] = {
    "mlp": ModelEntry("Two-hidden-layer ReLU perceptron on flattened pixels (width: hidden units, default 256).", 256),
    "lenet5_half": ModelEntry("LeNet-5-half of the DAFL paper: 3-8 channel 5x5 convs, 60-42 unit FC layers."),
    "lenet5": ModelEntry("Classic LeNet-5: 6-16 channel 5x5 convs with max-pooling, 120-84 unit FC layers."),
    "cnn": ModelEntry(
        "Small VGG-style CNN: three stages of two 3x3 conv-BN-ReLU, w/2w/4w channels (width: w, default 32).", 32
    ),
    **{f"resnet{depth}": _resnet_entry(depth) for depth in RESNET_DEPTHS},
    "resnet8x4": ModelEntry(
        "CRD-style 4x-wide ResNet-8: 32-channel stem, one basic block per group of 64/128/256 channels."
    ),
    "resnet32x4": ModelEntry(
        "CRD-style 4x-wide ResNet-32: 32-channel stem, five basic blocks per group of 64/128/256 channels."
    ),
    "wrn_16_2": ModelEntry("Wide ResNet-16-2: pre-activation, two blocks per group of 32/64/128 channels."),
    "wrn_40_2": ModelEntry("Wide ResNet-40-2: pre-activation, six blocks per group of 32/64/128 channels."),
    "mobilenetv2": ModelEntry("MobileNetV2 (width 1.0) with a stride-1 stem and 8x downsampling for small images."),
}


def list_models() -> list[str]:
    """All model names, grouped by family and roughly from small to large."""
    return list(MODELS)


def model_description(name: str) -> str:
    """One sentence describing the model ``name`` (a width suffix is allowed and ignored)."""
    return model_entry(split_spec(name)[0]).description


def split_spec(spec: str) -> tuple[str, str | None]:
    """A model spec's name and width text (None without a ":width" suffix), stripped and lower-cased."""
    name, sep, width = str(spec).strip().lower().partition(":")
    return name.strip(), (width.strip() if sep else None)


def model_entry(name: str) -> ModelEntry:
    """The catalogue's entry for model ``name``; raises ConfigError("model", ...) for an unknown name."""
    if name not in MODELS:
        raise ConfigError("model", f"unknown model '{name}'; choose one of: {', '.join(MODELS)}")
    return MODELS[name]


def parse_width(spec: str, width: str) -> int:
    """The width of ``spec`` from its width text; raises ConfigError("model", ...) unless 1 to MAX_WIDTH."""
    if not (width.isascii() and width.isdigit()) or not 1 <= int(width) <= MAX_WIDTH:
        raise ConfigError("model", f"width in '{spec}' must be an integer from 1 to {MAX_WIDTH}")
    return int(width)


def widthable_models() -> list[str]:
    """The models that take a width suffix."""
    return [name for name, entry in MODELS.items() if entry.default_width is not None]
