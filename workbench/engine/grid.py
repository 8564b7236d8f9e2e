"""engine.fit_grid: several students trained together in one process (a grid of seeds × T × α × schedules, vanilla
KD and baseline students side by side), each with its own weights, optimiser state and seed.

The students share what `grid_plan.grid_key` says they share (dataset, architecture, teacher, batch size and
recipe). Each keeps what a run alone has: weights drawn from its own seed (`torch.manual_seed(seed)` before the
model is built), its own batch order (a generator seeded with its seed: students sharing a seed read the same
batches, gathered once), its own α and T schedule, its guards, metrics and history. The stacked students
(`grid_model.StackedStudents`) run as one network of grouped layers, and one optimiser updates their stacked
weights elementwise (as it would each alone); gradient clipping is per student. So each student's numbers are its
single run's up to the float rounding of the grouped kernels (tests/test_grid.py). A cancelled or diverged student
leaves the grid at once (its run ends, the others go on). No checkpoints are written: a grid run is not resumed."""

from __future__ import annotations

import time
from functools import cache, partial
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ..config import RunConfig
from ..data import LoadedDataset, iterate_batches, load_dataset, without_train_classes
from ..errors import WorkbenchError
from ..models import count_macs, count_params, create_model
from ..quant import model_size_kb
from .device import apply_cpu_threads, autocast_factory, resolve_device
from .evaluation import metrics_from_logits
from .events import Callback, EpochEvent, FitResult, RunInfo
from .grid_model import StackedStudents, clip_each
from .grid_plan import grid_key, grid_unfit_reason
from .grid_student import GridStudent
from .guards import Diverged, check_epoch_metrics
from .loop import build_optimizer, lr_factor, scheduled_state, warmup_factor
from .probe import probe_subset
from .teacher_bank import TeacherBank, TeacherLogitFiles

GRID_EVAL_BATCH = 512  # test images per stacked forward (measured faster than 1024 or 128 for 6 lenet5_half students)


def check_grid(configs: Sequence[RunConfig]) -> None:
    """WorkbenchError unless the configs can train as one grid: at least one, each fit, all sharing one key."""
    if not configs:
        raise WorkbenchError("grid: no runs given")
    for config in configs:
        reason = grid_unfit_reason(config)
        if reason:
            raise WorkbenchError(f"grid: run {config.name or config.seed!r} cannot train in a grid: {reason}")
    if len({grid_key(config) for config in configs}) > 1:
        raise WorkbenchError("grid: the runs differ in more than seed, method, T, α and their schedules")


def fit_grid(
    configs: Sequence[RunConfig],
    callbacks: Sequence[Sequence[Callback]] = (),
    *,
    teachers: Sequence[torch.nn.Module] = (),
    teacher_logit_files: TeacherLogitFiles | None = None,
    dataset: LoadedDataset | None = None,
    cancels: Sequence[Callable[[], bool] | None] = (),
) -> list[FitResult]:
    """Train the configs' students together and report each to its own callbacks (`callbacks[i]` for
    `configs[i]`, as `fit` reports a run alone); their results in config order. `teachers` and
    `teacher_logit_files` are those of the grid's KD students (`teachers.resolve_for` of one of them); `cancels[i]`
    is polled before each step and stops student i alone."""
    check_grid(configs)
    first = configs[0]
    device = resolve_device(first.device)
    if device.type == "cpu":
        apply_cpu_threads(first.threads)
    autocast = autocast_factory("fp32", device)
    data = (
        dataset
        if dataset is not None
        else load_dataset(first.dataset, device=device, train_subset=first.train_subset or None)
    )
    data = without_train_classes(data, first.omit_classes)
    info = data.info
    if any(config.method == "kd" for config in configs) and not teachers:
        raise WorkbenchError("grid: its KD students need their teacher; resolve it before fit_grid")
    bank = TeacherBank([t.to(device) for t in teachers], autocast=autocast)
    train_logits: Tensor | None = None
    if bank.models:
        train_logits = bank.split_logits(data.train.x, teacher_logit_files.train if teacher_logit_files else None)[0]

    @cache
    def teacher_test() -> list[Tensor]:
        """The teachers' test-split logits, read or computed at the first evaluation (as a run alone does: on a fresh
        data folder they would hold back the first step by seconds)."""
        if not bank.models:
            return []
        return bank.split_logits(data.test.x, teacher_logit_files.test if teacher_logit_files else None)

    models = []
    for config in configs:
        torch.manual_seed(config.seed)
        models.append(create_model(config.student, info.num_classes, info.in_channels, info.image_size).to(device))
    stacked = StackedStudents(models)
    steps_per_epoch = -(-len(data.train) // first.batch_size)
    total_steps = steps_per_epoch * first.epochs
    sizes = (
        count_params(models[0]),
        count_macs(models[0], info.in_channels, info.image_size),
        model_size_kb(models[0]),
    )
    students = []
    for position, config in enumerate(configs):
        teachers_named = list(config.teachers) if config.method == "kd" else []
        run_info = RunInfo(
            config.to_dict(), str(device), "fp32", steps_per_epoch, total_steps, 0, *sizes, teachers_named
        )
        own = list(callbacks[position]) if position < len(callbacks) else []
        cancel = cancels[position] if position < len(cancels) else None
        students.append(GridStudent(config, own, cancel, run_info))
    trainer = _GridTrainer(stacked, students, data, first, train_logits, device)
    for student in students:
        student.info.test_probe = partial(trainer.probe_accuracy, student)
        for callback in student.callbacks:
            callback.on_start(student.info)
    trainer.train(total_steps, steps_per_epoch, teacher_test)
    results = []
    for position, student in enumerate(students):
        if student.result is None:
            trainer.end(student, stacked.state_dict(trainer.active.index(student)))
        results.append(student.result)
    return results


class _GridTrainer:
    """The grid's training loop: one stream of steps, each student's batch from its own seeded order."""

    def __init__(
        self,
        stacked: StackedStudents,
        students: list[GridStudent],
        data: LoadedDataset,
        recipe: RunConfig,
        train_logits: Tensor | None,
        device: torch.device,
    ) -> None:
        self.stacked, self.active, self.data, self.recipe = stacked, list(students), data, recipe
        self.train_logits, self.device = train_logits, device
        self.optimizer = build_optimizer(recipe, stacked.parameters())
        self.generators = {s.config.seed: torch.Generator().manual_seed(s.config.seed) for s in students}
        self.last_logits: Tensor | None = None
        self.probe_x, self.probe_y = probe_subset(data.test.x, data.test.y)
        self.steps_done = 0
        self._probed: tuple[int, list[float]] | None = None  # (step, each active student's probe accuracy)

    def train(self, total_steps: int, steps_per_epoch: int, teacher_test: Callable[[], list[Tensor]]) -> None:
        """Every epoch's steps and evaluation, until the epochs are done or no student is left."""
        recipe, step = self.recipe, 0
        for epoch in range(1, recipe.epochs + 1):
            begun = time.perf_counter()
            orders = {
                seed: iterate_batches(
                    len(self.data.train), recipe.batch_size, shuffle=True, generator=g, device=self.device
                )
                for seed, g in self.generators.items()
            }
            for student in self.active:
                student.start_epoch()
            for _ in range(steps_per_epoch):
                indices = {seed: next(order) for seed, order in orders.items()}
                self.drop([s for s in self.active if s.cancelled()])
                if not self.active:
                    return
                lr = (
                    recipe.lr
                    * lr_factor(recipe.lr_schedule, step / total_steps)
                    * warmup_factor(step, recipe.warmup_epochs * steps_per_epoch)
                )
                self.step(indices, step, epoch, total_steps, lr)
                step += 1
            self.evaluate(epoch, time.perf_counter() - begun, teacher_test, step, total_steps, lr)
            if not self.active:
                return

    def step(self, indices: dict[int, Tensor], step: int, epoch: int, total_steps: int, lr: float) -> None:
        """One optimisation step of every active student on its own batch."""
        students, train = self.active, self.data.train
        states = [scheduled_state(s.config, step, epoch, total_steps) for s in students]
        index = [indices[s.config.seed] for s in students]
        images = {seed: train.x[order] for seed, order in indices.items()}  # gathered once per seed
        x = torch.cat([images[s.config.seed] for s in students], dim=1).contiguous(memory_format=torch.channels_last)
        y = torch.stack([train.y[i] for i in index])
        logits = self.stacked(x)
        ce = F.cross_entropy(logits.transpose(1, 2), y, reduction="none").mean(1)
        coefficients = [
            (1.0 - st.alpha if s.distils else 1.0, st.alpha if s.distils else 0.0) for s, st in zip(students, states)
        ]
        ce_term = self.vector([c for c, _ in coefficients]) * ce
        kd_term = torch.zeros_like(ce_term)
        if self.train_logits is not None:
            temperature = self.vector([st.temperature for st in states]).view(-1, 1, 1)
            teacher = torch.stack([self.train_logits[i] for i in index])
            target = F.softmax(teacher / temperature, dim=2)
            log_student = F.log_softmax(logits / temperature, dim=2)
            kl = F.kl_div(log_student, target, reduction="none").sum((1, 2)) / logits.shape[1]
            kd_term = self.vector([k for _, k in coefficients]) * (
                self.vector([st.temperature**2 for st in states]) * kl
            )
        total = ce_term + kd_term
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        total.sum().backward()
        if self.recipe.grad_clip > 0:
            clip_each(self.stacked, self.recipe.grad_clip)
        self.optimizer.step()
        self.steps_done += 1
        correct = (logits.detach().argmax(2) == y).sum(1)
        rows = torch.stack([ce_term.detach(), kd_term.detach(), correct.float()], dim=1).tolist()
        diverged = []
        for student, state, (ce_value, kd_value, right) in zip(students, states, rows):
            extra = {"alpha": state.alpha, "temperature": state.temperature, "lr": lr}
            if not student.record_step(epoch, ce_value, kd_value, right, y.shape[1], extra):
                diverged.append(student)
        self.drop(diverged)

    def vector(self, values: list[float]) -> Tensor:
        """Per-student coefficients as a float32 vector (each rounded from its Python value, as a run alone uses it)."""
        return torch.tensor(values, dtype=torch.float32, device=self.device)

    @torch.no_grad()
    def predict(self) -> Tensor:
        """Every active student's test logits (G, N, classes), in eval mode."""
        self.stacked.training = False
        x, groups, outputs = self.data.test.x, len(self.active), []
        for start in range(0, x.shape[0], GRID_EVAL_BATCH):
            chunk = x[start : start + GRID_EVAL_BATCH].repeat(1, groups, 1, 1)
            outputs.append(self.stacked(chunk.contiguous(memory_format=torch.channels_last)).float())
        self.stacked.training = True
        return torch.cat(outputs, dim=1)

    @torch.no_grad()
    def probe_accuracy(self, student: GridStudent) -> float:
        """The student's accuracy on the probe subset now (a run alone's `SubsetAccuracy`): every active student's
        is taken in one stacked forward in eval mode, kept for the other students' probes at the same step."""
        if self._probed is None or self._probed[0] != self.steps_done or len(self._probed[1]) != len(self.active):
            self.stacked.training = False
            x = self.probe_x.repeat(1, len(self.active), 1, 1).contiguous(memory_format=torch.channels_last)
            predicted = self.stacked(x).float().argmax(2)
            self.stacked.training = True
            self._probed = (self.steps_done, (predicted == self.probe_y).float().mean(1).tolist())
        return self._probed[1][self.active.index(student)]

    def evaluate(
        self, epoch: int, seconds: float, teacher_test: Callable[[], list[Tensor]], step: int, total: int, lr: float
    ) -> None:
        """The epoch's metrics of every active student, reported to its callbacks (fit's end of an epoch)."""
        logits = self.predict()
        diverged = []
        for which, student in enumerate(self.active):
            state = scheduled_state(student.config, max(step - 1, 0), epoch, total)
            metrics = {f"train_{name}": value / student.seen for name, value in student.term_sums.items()}
            metrics.update(
                metrics_from_logits(
                    logits[which], self.data, teacher_test() if student.distils else [], student.config.omit_classes
                )
            )
            metrics.update(
                train_acc=student.correct / student.seen,
                train_loss=sum(student.term_sums.values()) / student.seen,
                throughput=student.seen / seconds,
                epoch_seconds=seconds,
                alpha=state.alpha,
                temperature=state.temperature,
                lr=lr,
            )
            try:
                check_epoch_metrics(metrics, epoch)
            except Diverged as error:
                student.status, student.message = "diverged", str(error)
                diverged.append(student)
                continue
            student.best = max(student.best, metrics["test_acc"])
            metrics["best_test_acc"] = student.best
            student.history.append(metrics)
            for callback in student.callbacks:
                callback.on_epoch(EpochEvent(epoch, student.steps, metrics, {}))
        self.last_logits = logits
        self.drop(diverged)

    def drop(self, leaving: list[GridStudent]) -> None:
        """End the runs of students leaving the grid (cancelled, diverged) and train on without them."""
        if not leaving:
            return
        for student in leaving:
            self.end(student, self.stacked.state_dict(self.active.index(student)))
        keep = [which for which, student in enumerate(self.active) if student not in leaving]
        self.active = [self.active[which] for which in keep]
        if not keep:
            return
        if self.last_logits is not None:
            self.last_logits = self.last_logits[keep]
        replaced = self.stacked.keep(keep)
        index = torch.tensor(keep, device=self.device)
        optimizer = build_optimizer(self.recipe, self.stacked.parameters())
        for old, new in replaced.items():
            state = self.optimizer.state.get(old, {})
            optimizer.state[new] = {
                name: value.index_select(0, index) if torch.is_tensor(value) and value.dim() > 0 else value
                for name, value in state.items()
            }
        self.optimizer = optimizer

    def end(self, student: GridStudent, state: dict[str, Tensor]) -> None:
        """Give the student its own model with its weights and end its run."""
        info = self.data.info
        model = create_model(student.config.student, info.num_classes, info.in_channels, info.image_size)
        model.load_state_dict(state)
        which = self.active.index(student)
        logits = self.last_logits[which] if self.last_logits is not None and student.status == "done" else None
        student.finish(model.to(self.device), self.data, logits)
