"""The interface every distillation method follows, read by the engine, CLI, app and notebooks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from ..fields import FieldSpec

if TYPE_CHECKING:
    from ..data import DatasetInfo
    from ..engine.teacher_bank import TeacherBank

Category = Literal["response", "feature", "relation"]
Scheme = Literal["offline", "online", "self", "data-free"]
TeacherNeed = Literal["one", "several", "none", "self"]


@dataclass(frozen=True)
class HyperParam:
    """A method's own hyperparameter: default, allowed range or choices, and one sentence of help. Its values are
    converted by the same `FieldSpec` as a run's fields (`spec`)."""

    name: str
    default: float | int | str | bool
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None

    def spec(self, method: str) -> FieldSpec:
        """This hyperparameter as a FieldSpec, named `method.name` in messages."""
        return FieldSpec(
            self.name,
            type(self.default),
            self.help,
            default=self.default,
            low=self.low,
            high=self.high,
            choices=self.choices,
            group="method",
            label=f"{method}.{self.name}",
        )

    def coerce(self, value: Any, method: str) -> float | int | str | bool:
        """Check and convert a value (perhaps a string from a flag or URL) to this parameter's type."""
        return self.spec(method).coerce(value)

    def allowed(self) -> str:
        """A short phrase saying which values are allowed."""
        return self.spec("").allowed()


@dataclass
class Batch:
    """One training batch: images, labels, their indices in the training split, and whether augmented."""

    x: Tensor
    y: Tensor
    index: Tensor | None = None
    augmented: bool = False


@dataclass
class StepState:
    """Where training stands at this step, and the scheduled coefficient and temperature."""

    step: int
    epoch: int
    progress: float
    alpha: float
    temperature: float


@dataclass
class StepOutput:
    """What one training step produced: the student's logits and each loss term by name.

    The terms are already weighted: their sum is the objective that was minimised. `labels` are the
    targets the logits are scored against for training accuracy when they are not the batch's own
    (a data-free method scores against the teacher's answers on its generated images)."""

    logits: Tensor
    terms: dict[str, Tensor]
    labels: Tensor | None = None


@dataclass(frozen=True)
class FeatureMatch:
    """One student feature matched to one teacher feature, with per-image shapes and how they are joined."""

    student_layer: str
    student_shape: tuple[int, ...]
    teacher: str
    teacher_layer: str
    teacher_shape: tuple[int, ...]
    link: str


class Method:
    """Base class of every distillation method.

    Subclasses declare the class attributes below and implement `loss_terms`; methods with their own
    optimisation loops (adversarial, data-free, online) override `train_step` instead. A method with
    `reads_training_data = False` gets `batch=None` in every step and must make its own inputs; the
    engine then never reads the training split."""

    name: ClassVar[str]
    title: ClassVar[str]
    category: ClassVar[Category]
    scheme: ClassVar[Scheme]
    teacher_need: ClassVar[TeacherNeed]
    summary: ClassVar[str]
    loss_latex: ClassVar[str]
    hyperparams: ClassVar[tuple[HyperParam, ...]] = ()
    uses_temperature: ClassVar[bool] = True
    uses_alpha: ClassVar[bool] = True
    reads_features: ClassVar[str] = "logits only"
    reference: ClassVar[str] = ""
    reads_training_data: ClassVar[bool] = True
    needs_student_maps: ClassVar[bool] = False  # compares spatial feature maps, so an MLP student cannot be used
    extra_modules: ClassVar[str] = ""  # the trainable modules the method adds, and whether they outlive training
    # the hyperparameter counting the runs of a chain, each student teaching the next (`generations`); None: one run
    generations_param: ClassVar[str | None] = None

    def __init__(self, student: nn.Module, teachers: "TeacherBank", params: dict[str, Any], num_classes: int) -> None:
        self.student = student
        self.teachers = teachers
        self.params = params
        self.num_classes = num_classes

    @classmethod
    def validate_params(cls, values: dict[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with checked values; an unknown name raises ConfigError listing the known ones."""
        known = {hp.name: hp for hp in cls.hyperparams}
        clean = {hp.name: hp.default for hp in cls.hyperparams}
        for key, value in values.items():
            if key not in known:
                listing = ", ".join(known) or "none"
                raise ConfigError(key, f"not a hyperparameter of method '{cls.name}' (its hyperparameters: {listing})")
            clean[key] = known[key].coerce(value, cls.name)
        return clean

    @classmethod
    def unavailable_reason(
        cls, *, teacher_count: int, dataset: str, student: str, w_bits: str = "32", a_bits: str = "32"
    ) -> str | None:
        """Why this method cannot run with this setup (w_bits/a_bits: the student's bit widths), or None when it can."""
        if cls.needs_student_maps:
            from ..models.shapes import arch_has_maps  # builds a model: imported on use, not with the base class

            if not arch_has_maps(student, dataset):
                return f"needs a student with spatial feature maps ({student} has none)"
        if cls.teacher_need == "one" and teacher_count < 1:
            return "needs a teacher"
        if cls.teacher_need == "several" and teacher_count < 2:
            return "needs at least two teachers"
        return None

    @classmethod
    def glyph_teacher_spec(cls, params: dict[str, Any]) -> tuple[str, int, int] | None:
        """The glyph teacher the method learns from (LW-KD) as (architecture, glyphs per class, seed) read from its
        params, or None (the default: no glyph teacher). The caller resolves it before fit
        (`teachers.resolve_for`); the method finds it in its TeacherBank as `glyph`."""
        return None

    @classmethod
    def chain_length(cls, params: dict[str, Any]) -> int:
        """How many runs the method trains in a chain with these params: 1 unless it declares `generations_param`."""
        return int(params.get(cls.generations_param, 1)) if cls.generations_param is not None else 1

    def prepare(self, info: "DatasetInfo", batch_size: int) -> None:
        """Called once by the engine before training (and before a checkpoint is restored) with the dataset's
        facts and the batch size: methods that make their own inputs size their generators here."""

    def steps_per_epoch(self, train_size: int, batch_size: int) -> int:
        """Optimisation steps in one epoch: one pass over the training split unless the method says otherwise."""
        return -(-train_size // batch_size)

    def evaluate_extra(self, test_x: Tensor, test_y: Tensor) -> dict[str, float]:
        """Extra per-epoch test metrics of the method's own (e.g. each peer's accuracy in mutual learning)."""
        return {}

    def trainable_modules(self) -> dict[str, nn.Module]:
        """Extra modules the method trains beside the student (regressors, discriminators...)."""
        return {}

    def feature_matches(self) -> list[FeatureMatch]:
        """The student/teacher feature pairs the method compares (after `prepare`); empty for logit-only methods."""
        return []

    @classmethod
    def compares_features(cls) -> bool:
        """Whether the method matches student features to teacher features (it reports them in `feature_matches`)."""
        return cls.feature_matches is not Method.feature_matches

    def loss_terms(self, batch: Batch, state: StepState) -> StepOutput:
        """The student's logits and the weighted loss terms for one batch."""
        raise NotImplementedError

    def train_step(self, batch: Batch, state: StepState, optimizer: torch.optim.Optimizer, autocast: Any) -> StepOutput:
        """One optimisation step: by default the sum of `loss_terms`, backpropagated through the student."""
        with autocast():
            output = self.loss_terms(batch, state)
            total = sum(output.terms.values())
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.before_optimizer_step(optimizer)
        optimizer.step()
        return output

    def before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Called between backward and the optimiser step of the default `train_step` (e.g. to clip gradients)."""

    def state_dict(self) -> dict[str, Any]:
        """The method's own trainable state, for checkpoints."""
        return {name: module.state_dict() for name, module in self.trainable_modules().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""
        for name, module in self.trainable_modules().items():
            module.load_state_dict(state[name])

    @classmethod
    def card(cls) -> dict[str, Any]:
        """Everything a method card, `kdw methods` or a notebook shows about the method."""
        return {
            "name": cls.name,
            "title": cls.title,
            "category": cls.category,
            "scheme": cls.scheme,
            "teachers": cls.teacher_need,
            "summary": cls.summary,
            "loss_latex": cls.loss_latex,
            "reads_features": cls.reads_features,
            "reference": cls.reference,
            "uses_temperature": cls.uses_temperature,
            "uses_alpha": cls.uses_alpha,
            "extra_modules": cls.extra_modules,
            "hyperparams": [
                {"name": hp.name, "default": hp.default, "allowed": hp.allowed(), "help": hp.help}
                for hp in cls.hyperparams
            ],
        }
