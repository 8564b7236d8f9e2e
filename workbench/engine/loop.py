"""engine.fit: the one training loop every method runs through."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch
from torch import Tensor, nn

from ..config import RunConfig
from ..data import DatasetInfo, LoadedDataset, augment_batch, iterate_batches, load_dataset, without_train_classes
from ..errors import WorkbenchError
from ..methods import Batch, Method, StepState, get_method
from ..models import count_macs, count_params, create_model
from ..quant import model_size_kb, parse_bits, quantize
from ..schedules import schedule_value
from .checkpoint import load_checkpoint, save_checkpoint
from .device import apply_cpu_threads, autocast_factory, resolve_device, resolve_precision
from .evaluation import (  # predict and bias_corrected_predictions: callers import them from here too
    bias_corrected_predictions,  # noqa: F401
    class_accuracies,
    evaluate,
    final_metrics,
    predict,  # noqa: F401
)
from .events import Callback, EpochEvent, FitResult, RunInfo
from .guards import COLLAPSE_MIN_STEPS, Diverged, check_epoch_metrics, collapse_message
from .probe import SubsetAccuracy
from .steps import StepLog, read_every_for
from .teacher_bank import GlyphTeacher, TeacherBank, TeacherLogitFiles


def lr_factor(schedule: str, progress: float) -> float:
    """Multiplier of the base learning rate at `progress` in [0, 1] of training."""
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if schedule == "step":
        return 0.1 ** ((progress >= 0.5) + (progress >= 0.75))
    return 1.0


def warmup_factor(step: int, warmup_steps: float) -> float:
    """Multiplier of the learning rate during a linear warm-up over `warmup_steps` steps (1 after it)."""
    return min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0


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
    return torch.optim.SGD(
        params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay, nesterov=config.momentum > 0
    )


def clip_before_each_step(optimizer: torch.optim.Optimizer, max_norm: float) -> None:
    """Clip the gradient norm of the optimiser's parameters to `max_norm` before every step it takes (whichever
    method takes the step)."""
    params = [p for group in optimizer.param_groups for p in group["params"]]

    def clip(*_: object) -> None:
        torch.nn.utils.clip_grad_norm_(params, max_norm)

    optimizer.register_step_pre_hook(clip)


def fit(
    config: RunConfig,
    callbacks: Sequence[Callback] = (),
    *,
    teachers: Sequence[nn.Module] | None = None,
    teacher_logit_files: TeacherLogitFiles | None = None,
    glyph_teacher: GlyphTeacher | None = None,
    dataset: LoadedDataset | None = None,
    cancel: Callable[[], bool] | None = None,
    checkpoint_path: str | Path | None = None,
    resume: bool = False,
    read_every: int | None = None,
) -> FitResult:
    """Train config.student with config.method and report to the callbacks.

    The caller resolves the teachers first (`fit(config, callbacks, **teachers.resolve_for(config))`, or
    `runner.resolve_teachers`, which trains a missing one as a recorded run): `teachers` are the frozen teacher
    networks, `teacher_logit_files` where their logits are cached on disk, `glyph_teacher` the glyph teacher of a
    method that declares one; a method that needs teachers (or its glyph teacher) and gets none raises
    WorkbenchError. `cancel` is polled between steps; with `checkpoint_path` a checkpoint is written after every
    epoch, and `resume` continues from it when it exists. Step losses stay on the device and are read (checked and
    reported to `on_step`, in order) every `read_every` steps or half a second; None: every step on the CPU, where
    reading waits for nothing, and every 64 steps on an accelerator."""
    method_cls = get_method(config.method)
    teachers = list(teachers or [])
    check_teachers_given(config, method_cls, teachers, glyph_teacher)
    device = resolve_device(config.device)
    if device.type == "cpu":
        apply_cpu_threads(config.threads)
    precision = resolve_precision(config.precision, device)
    autocast = autocast_factory(precision, device)
    data = (
        dataset
        if dataset is not None
        else load_dataset(config.dataset, device=device, train_subset=config.train_subset or None)
    )
    data = without_train_classes(data, config.omit_classes)
    info = data.info
    augment = augmentations(config, data)

    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    student = create_model(config.student, info.num_classes, info.in_channels, info.image_size)
    if config.w_bits != "32" or config.a_bits != "32":
        student = quantize(student, parse_bits(config.w_bits), int(config.a_bits))
    student = student.to(device)
    train_files = teacher_logit_files.train if teacher_logit_files is not None else None
    test_files = teacher_logit_files.test if teacher_logit_files is not None else None
    if teacher_logit_files is not None:  # the teachers were resolved from the config
        draw_teacher_initialisations(config, info)
    glyph = replace(glyph_teacher, model=glyph_teacher.model.to(device)) if glyph_teacher is not None else None
    bank = TeacherBank([t.to(device) for t in teachers], autocast=autocast, glyph=glyph)
    if config.cache_teacher_logits and not augment and bank.models and method_cls.reads_training_data:
        bank.attach_cache(data.train.x, train_files)
    method: Method = method_cls(student, bank, config.method_params, info.num_classes)
    method.prepare(info, config.batch_size)
    extra_params = [p for module in method.trainable_modules().values() for p in module.parameters()]
    for module in method.trainable_modules().values():
        module.to(device)
    optimizer = build_optimizer(config, list(student.parameters()) + extra_params)
    if config.grad_clip > 0:
        clip_before_each_step(optimizer, config.grad_clip)
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

    teacher_test: list[Tensor] | None = None  # the teachers' test logits: at the first evaluation (below)
    run_info = RunInfo(
        config.to_dict(),
        str(device),
        precision,
        steps_per_epoch,
        total_steps,
        start_epoch,
        count_params(student),
        count_macs(student, info.in_channels, info.image_size),
        model_size_kb(student),
        list(config.teachers) if bank.models else [],
        test_probe=SubsetAccuracy(student, data.test.x, data.test.y, autocast),
    )
    for callback in callbacks:
        callback.on_start(run_info)

    status, message = "done", ""
    log = StepLog(callbacks, read_every if read_every is not None else read_every_for(device))
    student.train()
    try:
        for epoch in range(start_epoch + 1, config.epochs + 1):
            epoch_start = time.perf_counter()
            log.new_epoch()
            correct, seen = torch.zeros((), device=device), 0
            for index in epoch_batches(method, len(data.train), config.batch_size, steps_per_epoch, generator, device):
                if cancel is not None and cancel():
                    log.flush()
                    raise KeyboardInterrupt
                state = scheduled_state(config, step, epoch, total_steps)
                lr = (
                    config.lr
                    * lr_factor(config.lr_schedule, step / total_steps)
                    * warmup_factor(step, config.warmup_epochs * steps_per_epoch)
                )
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
                correct += (output.logits.detach().argmax(1) == labels).sum()
                seen += labels.shape[0]
                step += 1
                host = {"alpha": state.alpha, "temperature": state.temperature, "lr": lr}
                log.add(step, epoch, output.terms, labels.shape[0], host)
            log.flush()
            train_seconds = time.perf_counter() - epoch_start
            bank.end_epoch()  # a teacher-logit cache filled by this epoch's batches is kept (and written) now
            term_sums = log.term_sums
            metrics = {f"train_{name}": value / seen for name, value in term_sums.items()}
            if teacher_test is None:  # not before the first step: uncached, 10,000 test images take seconds
                teacher_test = bank.split_logits(data.test.x, test_files)
            metrics.update(evaluate(student, data, teacher_test, autocast, config.omit_classes))
            metrics.update(method.evaluate_extra(data.test.x, data.test.y))
            metrics.update(
                train_acc=correct.item() / seen,
                train_loss=sum(term_sums.values()) / seen,
                throughput=seen / train_seconds,
                epoch_seconds=train_seconds,
                alpha=state.alpha,
                temperature=state.temperature,
                lr=lr,
            )
            check_epoch_metrics(metrics, epoch)
            best = max(best, metrics["test_acc"])
            metrics["best_test_acc"] = best
            history.append(metrics)
            for callback in callbacks:  # before the checkpoint: a kill between the two redoes the epoch on resume
                callback.on_epoch(EpochEvent(epoch, step, metrics, method_images(method)))
            if checkpoint_path is not None:
                save_checkpoint(checkpoint_path, epoch, step, student, method, optimizer, generator, history)
    except KeyboardInterrupt:
        status, message = "cancelled", f"cancelled during epoch {len(history) + 1}"
    except Diverged as error:
        status, message = "diverged", str(error)
    student.eval()
    final = final_metrics(history, run_info, getattr(method, "final_metric_names", ()))
    if status == "done" and history:
        final.update(class_accuracies(student, data, autocast))
        message = (
            collapse_message(history[-1], info.num_classes, info.class_names) if step >= COLLAPSE_MIN_STEPS else ""
        )
        status = "collapsed" if message else status
    result = FitResult(status, message, final, history, student)
    for callback in callbacks:
        callback.on_end(result)
    return result


def draw_teacher_initialisations(config: RunConfig, info: DatasetInfo) -> None:
    """Advance the global random state as building the config's teacher networks at this point did when fit still
    looked its teachers up (their random initialisation was then overwritten by their weights), so that seeded runs
    of methods drawing from it afterwards (regressors, generators) keep their numbers."""
    for arch in config.teachers:
        create_model(arch, info.num_classes, info.in_channels, info.image_size)


def check_teachers_given(
    config: RunConfig, method_cls: type[Method], teachers: Sequence[nn.Module], glyph_teacher: GlyphTeacher | None
) -> None:
    """WorkbenchError when the method needs teachers (or its glyph teacher) and the caller gave none: fit never
    looks teachers up itself."""
    resolve = "resolve them before fit: fit(config, **workbench.teachers.resolve_for(config))"
    needed = {"one": 1, "several": 2}.get(method_cls.teacher_need, 0)
    if len(teachers) < needed:
        wanted = "at least two teachers" if needed > 1 else "a teacher"
        raise WorkbenchError(
            f"teachers: method {config.method} needs {wanted} ({', '.join(config.teachers)}) and fit "
            f"got {len(teachers)}; {resolve}"
        )
    if method_cls.glyph_teacher_spec(config.method_params) is not None and glyph_teacher is None:
        raise WorkbenchError(f"teachers: method {config.method} needs its glyph teacher and fit got none; {resolve}")


def scheduled_state(config: RunConfig, step: int, epoch: int, total_steps: int) -> StepState:
    """α and T of the step's schedules: progress runs from 0 at the first step to 1 at the last, so a decaying
    schedule's last step uses its end value."""
    progress = step / max(total_steps - 1, 1)
    return StepState(
        step=step,
        epoch=epoch,
        progress=progress,
        alpha=schedule_value(
            config.alpha_schedule,
            config.alpha,
            config.alpha_end,
            progress,
            config.schedule_fraction,
            config.schedule_steps,
        ),
        temperature=schedule_value(
            config.temperature_schedule,
            config.temperature,
            config.temperature_end,
            progress,
            config.schedule_fraction,
            config.schedule_steps,
        ),
    )


def epoch_batches(
    method: Method, train_size: int, batch_size: int, steps: int, generator: torch.Generator, device: torch.device
) -> Iterator[Tensor | None]:
    """Index tensors into the training split, or None per step for a method that makes its own inputs."""
    if not method.reads_training_data:
        return iter([None] * steps)
    return iterate_batches(train_size, batch_size, shuffle=True, generator=generator, device=device)


def method_images(method: Method) -> dict[str, Tensor]:
    """Images a method wants shown after an epoch (e.g. generated samples), if it offers any."""
    images = getattr(method, "sample_images", None)
    return images() if callable(images) else {}
