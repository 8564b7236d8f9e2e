"""engine.fit: the one training loop every method runs through."""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import RunConfig
from ..data import LoadedDataset, augment_batch, iterate_batches, load_dataset
from ..methods import Batch, Method, StepState, get_method
from ..models import count_macs, count_params, create_model
from ..quant import model_size_kb, parse_bits, quantize
from ..schedules import schedule_value
from .checkpoint import load_checkpoint, save_checkpoint
from .device import apply_cpu_threads, autocast_factory, resolve_device, resolve_precision
from .events import Callback, EpochEvent, FitResult, RunInfo, StepEvent
from .teacher_bank import TeacherBank

EVAL_BATCH = 1024


class Diverged(Exception):
    """A loss term became NaN or infinite."""


def lr_factor(schedule: str, progress: float) -> float:
    """Multiplier of the base learning rate at `progress` in [0, 1] of training."""
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if schedule == "step":
        return 0.1 ** ((progress >= 0.5) + (progress >= 0.75))
    return 1.0


def augmentations(config: RunConfig, data: LoadedDataset) -> tuple[str, ...]:
    """The augmentations a config asks for on its dataset ('auto' = the dataset's default)."""
    if config.augment == "auto":
        return tuple(data.info.default_augment)
    if config.augment == "none":
        return ()
    return tuple(config.augment.split(","))


def build_optimizer(config: RunConfig, params: list[nn.Parameter]) -> torch.optim.Optimizer:
    """SGD with momentum or Adam over the given parameters."""
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay,
                           nesterov=config.momentum > 0)


@torch.no_grad()
def predict(model: nn.Module, x: Tensor, autocast: Callable, batch_size: int = EVAL_BATCH) -> Tensor:
    """A model's float32 logits for all of `x`, in eval mode, batch by batch (mode restored after)."""
    was_training = model.training
    model.eval()
    outputs = []
    for start in range(0, x.shape[0], batch_size):
        with autocast():
            outputs.append(model(x[start:start + batch_size]).float())
    model.train(was_training)
    return torch.cat(outputs)


def agreement_and_kl(student_logits: Tensor, teacher_logits: Tensor) -> tuple[float, float]:
    """Top-1 agreement of student and teacher, and mean KL(teacher ‖ student) at T = 1."""
    agree = (student_logits.argmax(1) == teacher_logits.argmax(1)).float().mean().item()
    kl = F.kl_div(F.log_softmax(student_logits, 1), F.softmax(teacher_logits, 1), reduction="batchmean").item()
    return agree, kl


def fit(config: RunConfig, callbacks: Sequence[Callback] = (), *,
        teachers: list[nn.Module] | None = None,
        dataset: LoadedDataset | None = None,
        cancel: Callable[[], bool] | None = None,
        checkpoint_path: str | Path | None = None,
        resume: bool = False) -> FitResult:
    """Train config.student with config.method and report to the callbacks.

    `teachers` are frozen teacher networks (loaded from the teacher cache when None and the method needs
    them); `cancel` is polled between steps; with `checkpoint_path` a checkpoint is written after every
    epoch, and `resume` continues from it when it exists."""
    device = resolve_device(config.device)
    if device.type == "cpu":
        apply_cpu_threads(config.threads)
    precision = resolve_precision(config.precision, device)
    autocast = autocast_factory(precision, device)
    method_cls = get_method(config.method)
    data = dataset if dataset is not None else load_dataset(
        config.dataset, device=device, train_subset=config.train_subset or None)
    info = data.info
    augment = augmentations(config, data)

    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    student = create_model(config.student, info.num_classes, info.in_channels, info.image_size)
    if config.w_bits != "32" or config.a_bits != "32":
        student = quantize(student, parse_bits(config.w_bits), int(config.a_bits))
    student = student.to(device)
    train_files = test_files = None
    if teachers is None and method_cls.teacher_need in ("one", "several"):
        from ..teachers import load_teachers, logits_cache_file

        teachers, weight_files = load_teachers(config, device=device)
        train_split = f"train-{config.train_subset or 'all'}"
        train_files = [logits_cache_file(w, config.dataset, train_split) for w in weight_files]
        test_files = [logits_cache_file(w, config.dataset, "test") for w in weight_files]
    bank = TeacherBank([t.to(device) for t in teachers or []], autocast=autocast)
    if config.cache_teacher_logits and not augment and bank.models and method_cls.reads_training_data:
        bank.precompute(data.train.x, train_files)
    method: Method = method_cls(student, bank, config.method_params, info.num_classes)
    method.prepare(info, config.batch_size)
    extra_params = [p for module in method.trainable_modules().values() for p in module.parameters()]
    for module in method.trainable_modules().values():
        module.to(device)
    optimizer = build_optimizer(config, list(student.parameters()) + extra_params)
    if config.compile:
        student.forward = torch.compile(student.forward)  # type: ignore[method-assign]

    steps_per_epoch = method.steps_per_epoch(len(data.train), config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    history: list[dict[str, float]] = []
    start_epoch, step, best = 0, 0, 0.0
    if resume and checkpoint_path is not None and Path(checkpoint_path).exists():
        state = load_checkpoint(checkpoint_path, student, method, optimizer, generator)
        start_epoch, step, history = state["epoch"], state["step"], state["history"]
        best = max((row["test_acc"] for row in history), default=0.0)

    teacher_test = bank.split_logits(data.test.x, test_files)
    run_info = RunInfo(config.to_dict(), str(device), precision, steps_per_epoch, total_steps, start_epoch,
                       count_params(student), count_macs(student, info.in_channels, info.image_size),
                       model_size_kb(student), list(config.teachers) if bank.models else [])
    for callback in callbacks:
        callback.on_start(run_info)

    status, message = "done", ""
    student.train()
    try:
        for epoch in range(start_epoch + 1, config.epochs + 1):
            epoch_start = time.perf_counter()
            term_sums: dict[str, float] = {}
            correct, seen = torch.zeros((), device=device), 0
            for index in epoch_batches(method, len(data.train), config.batch_size, steps_per_epoch, generator, device):
                if cancel is not None and cancel():
                    raise KeyboardInterrupt
                progress = step / total_steps
                state = StepState(
                    step=step, epoch=epoch, progress=progress,
                    alpha=schedule_value(config.alpha_schedule, config.alpha, config.alpha_end, progress,
                                         config.schedule_fraction, config.schedule_steps),
                    temperature=schedule_value(config.temperature_schedule, config.temperature,
                                               config.temperature_end, progress, config.schedule_fraction,
                                               config.schedule_steps))
                lr = config.lr * lr_factor(config.lr_schedule, progress)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                batch = None
                if index is not None:
                    x, y = data.train.x[index], data.train.y[index]
                    if augment:
                        x = augment_batch(x, augment, generator)
                    batch = Batch(x, y, index, bool(augment))
                output = method.train_step(batch, state, optimizer, autocast)
                labels = output.labels if output.labels is not None else batch.y
                values = torch.stack([term.detach().float() for term in output.terms.values()]).tolist()
                terms = dict(zip(output.terms, values))
                total = sum(values)
                if not math.isfinite(total):
                    bad = next(name for name, value in terms.items() if not math.isfinite(value))
                    raise Diverged(f"loss term '{bad}' became {terms[bad]} at epoch {epoch}, step {step}; "
                                   f"try a lower learning rate or temperature")
                correct += (output.logits.detach().argmax(1) == labels).sum()
                seen += labels.shape[0]
                step += 1
                for name, value in terms.items():
                    term_sums[name] = term_sums.get(name, 0.0) + value * labels.shape[0]
                step_metrics = {**terms, "loss": total, "alpha": state.alpha,
                                "temperature": state.temperature, "lr": lr}
                for callback in callbacks:
                    callback.on_step(StepEvent(step, epoch, step_metrics))
            train_seconds = time.perf_counter() - epoch_start
            metrics = {f"train_{name}": value / seen for name, value in term_sums.items()}
            metrics.update(evaluate(student, data, teacher_test, autocast))
            metrics.update(method.evaluate_extra(data.test.x, data.test.y))
            metrics.update(train_acc=correct.item() / seen, train_loss=sum(term_sums.values()) / seen,
                           throughput=seen / train_seconds, epoch_seconds=train_seconds,
                           alpha=state.alpha, temperature=state.temperature, lr=lr)
            best = max(best, metrics["test_acc"])
            metrics["best_test_acc"] = best
            history.append(metrics)
            if checkpoint_path is not None:
                save_checkpoint(checkpoint_path, epoch, step, student, method, optimizer, generator, history)
            for callback in callbacks:
                callback.on_epoch(EpochEvent(epoch, step, metrics, method_images(method)))
    except KeyboardInterrupt:
        status, message = "cancelled", f"cancelled during epoch {len(history) + 1}"
    except Diverged as error:
        status, message = "diverged", str(error)
    student.eval()
    result = FitResult(status, message, final_metrics(history, run_info), history, student)
    for callback in callbacks:
        callback.on_end(result)
    return result


def epoch_batches(method: Method, train_size: int, batch_size: int, steps: int, generator: torch.Generator,
                  device: torch.device) -> Iterator[Tensor | None]:
    """Index tensors into the training split, or None per step for a method that makes its own inputs."""
    if not method.reads_training_data:
        return iter([None] * steps)
    return iterate_batches(train_size, batch_size, shuffle=True, generator=generator, device=device)


def method_images(method: Method) -> dict[str, Tensor]:
    """Images a method wants shown after an epoch (e.g. generated samples), if it offers any."""
    images = getattr(method, "sample_images", None)
    return images() if callable(images) else {}


def evaluate(student: nn.Module, data: LoadedDataset, teacher_test: list[Tensor],
             autocast: Callable) -> dict[str, float]:
    """Test accuracy and loss, and agreement/KL with the first teacher when there is one."""
    logits = predict(student, data.test.x, autocast)
    metrics = {
        "test_acc": (logits.argmax(1) == data.test.y).float().mean().item(),
        "test_loss": F.cross_entropy(logits, data.test.y).item(),
    }
    if teacher_test:
        metrics["agreement"], metrics["kl"] = agreement_and_kl(logits, teacher_test[0])
    return metrics


def final_metrics(history: list[dict[str, float]], info: RunInfo) -> dict[str, float]:
    """The numbers a run is remembered by: last and best test accuracy, agreement, size, epochs done."""
    final: dict[str, float] = {"params": float(info.student_params), "macs": float(info.student_macs),
                               "size_kb": info.student_size_kb, "epochs_done": float(len(history))}
    if history:
        last = history[-1]
        for key in ("test_acc", "best_test_acc", "train_acc", "test_loss", "agreement", "kl"):
            if key in last:
                final[key] = last[key]
        final["throughput"] = sum(row["throughput"] for row in history) / len(history)
        final["train_seconds"] = sum(row["epoch_seconds"] for row in history)
    return final
