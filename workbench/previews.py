"""The data some figures draw, taken from datasets and models: a teacher's soft targets on a few test images
(`load_soft_target_preview`, with the softmax and entropy that go with them) and a model's spatial attention
(`attention_maps`). The figures themselves (`viz`) only draw what they are given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .config import RunConfig

if TYPE_CHECKING:
    import torch

    from .methods.base import FeatureMatch
    from .models import FeatureModel


@dataclass
class SoftTargetPreview:
    """A few test images (pixels in [0, 1], (N, H, W) or (N, H, W, 3)), their labels and a teacher's logits."""

    images: np.ndarray
    labels: list[int]
    logits: np.ndarray
    class_names: tuple[str, ...]
    teacher: str


def soften(logits: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / T) per row."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def entropy(probs: np.ndarray) -> np.ndarray:
    """Entropy in nats of each row of probabilities."""
    p = np.clip(np.asarray(probs, dtype=np.float64), 1e-12, 1.0)
    return -(p * np.log(p)).sum(axis=1)


def load_soft_target_preview(config: RunConfig, count: int = 6) -> SoftTargetPreview:
    """The first test image of each of the first `count` classes and the first teacher's logits for them.

    The teacher comes from `config.teacher_checkpoint` when set, else from the teacher cache (never trained
    here: WorkbenchError when it is missing)."""
    import torch

    from .data import load_dataset
    from .teachers import get_teacher, load_teacher_weights

    data = load_dataset(config.dataset, device="cpu")
    labels = data.test.y
    picks = [int((labels == c).nonzero()[0]) for c in range(min(count, data.info.num_classes)) if (labels == c).any()]
    x = data.test.x[picks]
    if config.teacher_checkpoint:
        teacher = load_teacher_weights(config.teacher, config.dataset, config.teacher_checkpoint)
    else:
        teacher, _ = get_teacher(config.teacher, config.dataset, config.teacher_seed, train_if_missing=False)
    with torch.no_grad():
        logits = teacher.eval()(x).float().numpy()
    images = data.denormalise(x).numpy()
    images = images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)
    return SoftTargetPreview(images, [int(labels[i]) for i in picks], logits, data.info.class_names, config.teacher)


def attention_maps(model: "FeatureModel", x: "torch.Tensor", power: float = 2.0) -> np.ndarray:
    """A model's spatial attention (channel mean of |F|^p, as AT matches it) at its last feature map for
    images `x` (N, C, H, W): (N, h, w), each map scaled to a maximum of 1."""
    import torch

    from .methods.at import attention_map

    with torch.no_grad():
        _, features = model.eval().forward_features(x)
    maps = [feature for feature in features.values() if feature.dim() == 4]
    if not maps:
        raise ValueError(f"{type(model).__name__} has no spatial feature maps to draw")
    attention = attention_map(maps[-1].float(), power).cpu().numpy()
    return attention / np.maximum(attention.reshape(len(attention), -1).max(axis=1), 1e-12)[:, None, None]


def preview_feature_matches(config: "RunConfig") -> list[FeatureMatch]:
    """The feature pairs `config`'s method would compare, from untrained models of its student and teachers
    (shapes depend only on the architectures): what a method card draws before anything trains."""
    from .data import dataset_info
    from .engine.teacher_bank import TeacherBank
    from .methods import get_method
    from .models import create_model

    info = dataset_info(config.dataset)
    method_cls = get_method(config.method)

    def build(arch: str) -> FeatureModel:
        return create_model(arch, info.num_classes, info.in_channels, info.image_size)

    teachers = [build(arch) for arch in config.teachers] if method_cls.teacher_need in ("one", "several") else []
    method = method_cls(build(config.student), TeacherBank(teachers), config.method_params, info.num_classes)
    method.prepare(info, config.batch_size)
    return method.feature_matches()
