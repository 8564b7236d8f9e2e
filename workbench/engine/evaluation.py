"""What a run is measured by: the student's predictions on the test split, per-epoch test metrics, per-class
accuracies and the final metrics a run is remembered by."""

from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data import LoadedDataset
from .events import RunInfo

EVAL_BATCH = 1024


@torch.no_grad()
def predict(model: nn.Module, x: Tensor, autocast: Callable, batch_size: int = EVAL_BATCH) -> Tensor:
    """A model's float32 logits for all of `x`, in eval mode, batch by batch (mode restored after)."""
    was_training = model.training
    model.eval()
    outputs = []
    for start in range(0, x.shape[0], batch_size):
        with autocast():
            outputs.append(model(x[start : start + batch_size]).float())
    model.train(was_training)
    return torch.cat(outputs)


def agreement_and_kl(student_logits: Tensor, teacher_logits: Tensor) -> tuple[float, float]:
    """Top-1 agreement of student and teacher, and mean KL(teacher ‖ student) at T = 1."""
    agree = (student_logits.argmax(1) == teacher_logits.argmax(1)).float().mean().item()
    kl = F.kl_div(F.log_softmax(student_logits, 1), F.softmax(teacher_logits, 1), reduction="batchmean").item()
    return agree, kl


def evaluate(
    student: nn.Module, data: LoadedDataset, teacher_test: list[Tensor], autocast: Callable, omitted: Sequence[int] = ()
) -> dict[str, float]:
    """Test accuracy and loss, the share of the test set given the most-predicted class (and which class), the
    accuracy on classes left out of training when there are any, and agreement/KL with the first teacher."""
    return metrics_from_logits(predict(student, data.test.x, autocast), data, teacher_test, omitted)


def metrics_from_logits(
    logits: Tensor, data: LoadedDataset, teacher_test: list[Tensor], omitted: Sequence[int] = ()
) -> dict[str, float]:
    """`evaluate`'s metrics from a student's test logits (a grid computes them for all its students at once)."""
    predicted = logits.argmax(1)
    counts = torch.bincount(predicted, minlength=data.info.num_classes)
    correct = predicted == data.test.y
    metrics = {
        "test_acc": correct.float().mean().item(),
        "test_loss": F.cross_entropy(logits, data.test.y).item(),
        "prediction_share": counts.max().item() / max(predicted.numel(), 1),
        "prediction_top_class": float(counts.argmax().item()),
    }
    if omitted:
        held_out = torch.isin(data.test.y, torch.tensor(list(omitted), device=data.test.y.device))
        metrics["omitted_acc"] = correct[held_out].float().mean().item() if held_out.any() else 0.0
        corrected = bias_corrected_predictions(logits, omitted)
        metrics["omitted_acc_corrected"] = (
            (corrected[held_out] == data.test.y[held_out]).float().mean().item() if held_out.any() else 0.0
        )
    if teacher_test:
        metrics["agreement"], metrics["kl"] = agreement_and_kl(logits, teacher_test[0])
    return metrics


def bias_corrected_predictions(logits: Tensor, omitted: Sequence[int]) -> Tensor:
    """Predictions after Hinton et al.'s bias correction for classes left out of training: the omitted classes'
    logits are all raised by the one amount that makes them the prediction for their share of the test set under
    a uniform class prior (len(omitted) / classes). Which images get them then depends only on the student's
    ranking: a student that learned nothing about those classes ranks them at random."""
    classes = logits.shape[1]
    index = torch.tensor(list(omitted), device=logits.device)
    kept = torch.ones(classes, dtype=torch.bool, device=logits.device)
    kept[index] = False
    margin = logits[:, index].max(1).values - logits[:, kept].max(1).values
    share = len(omitted) / classes
    shift = -torch.quantile(margin, 1.0 - share)
    shifted = logits.clone()
    shifted[:, index] += shift + 1e-6
    return shifted.argmax(1)


def class_accuracies(student: nn.Module, data: LoadedDataset, autocast: Callable) -> dict[str, float]:
    """The final student's test accuracy on each class, as `class_acc_<index>`."""
    return class_accuracies_from(predict(student, data.test.x, autocast), data)


def class_accuracies_from(logits: Tensor, data: LoadedDataset) -> dict[str, float]:
    """The test accuracy on each class, as `class_acc_<index>`, from a student's test logits."""
    predicted = logits.argmax(1)
    metrics = {}
    for label in range(data.info.num_classes):
        members = data.test.y == label
        if members.any():
            metrics[f"class_acc_{label}"] = (predicted[members] == label).float().mean().item()
    return metrics


def final_metrics(history: list[dict[str, float]], info: RunInfo, method_names: Sequence[str] = ()) -> dict[str, float]:
    """The numbers a run is remembered by: last and best test accuracy, agreement, size, epochs done, and the
    last epoch's values of the method's own metrics named in `method_names` (a method's `final_metric_names`)."""
    final: dict[str, float] = {
        "params": float(info.student_params),
        "macs": float(info.student_macs),
        "size_kb": info.student_size_kb,
        "epochs_done": float(len(history)),
    }
    if history:
        last = history[-1]
        for key in (
            "test_acc",
            "best_test_acc",
            "train_acc",
            "test_loss",
            "agreement",
            "kl",
            "omitted_acc",
            "omitted_acc_corrected",
            "prediction_share",
            *method_names,
        ):
            if key in last:
                final[key] = last[key]
        final["throughput"] = sum(row["throughput"] for row in history) / len(history)
        final["train_seconds"] = sum(row["epoch_seconds"] for row in history)
    return final
