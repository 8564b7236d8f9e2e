"""LW-KD: learning from a lightweight teacher (Liu, Zhang & Wang, 2020).

The teacher is a small network trained in seconds on a rendered glyph dataset with as many classes as
the target (workbench.glyphs); it never sees the target data. The student is trained on the target
data with an enhanced KD loss: KD on the teacher's soft targets plus an adversarial term that makes
the student's output distributions indistinguishable from the teacher's to a small discriminator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import Batch, HyperParam, Method, StepOutput, StepState
from .losses import full_precision, soft_kl
from .owned import OwnOptimised

if TYPE_CHECKING:
    from ..data import DatasetInfo

DISCRIMINATOR_WIDTH = 64


class OutputDiscriminator(nn.Module):
    """Tells a teacher's output distribution from a student's, given the class (label one-hot concatenated):
    [p, onehot(y)] → 64 → LeakyReLU(0.2) → 64 → LeakyReLU(0.2) → 1 logit ("from the teacher")."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.net = nn.Sequential(
            nn.Linear(2 * num_classes, DISCRIMINATOR_WIDTH),
            nn.LeakyReLU(0.2),
            nn.Linear(DISCRIMINATOR_WIDTH, DISCRIMINATOR_WIDTH),
            nn.LeakyReLU(0.2),
            nn.Linear(DISCRIMINATOR_WIDTH, 1),
        )

    def forward(self, probs: Tensor, labels: Tensor) -> Tensor:
        """One logit per row: how much `probs` (N, K) looks like the teacher's for class `labels` (N,)."""
        condition = F.one_hot(labels, self.num_classes).to(probs.dtype)
        return self.net(torch.cat([probs, condition], dim=1)).squeeze(1)


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """−mean log σ(D(teacher)) − mean log(1 − σ(D(student))): the discriminator's binary cross-entropy."""
    return F.binary_cross_entropy_with_logits(
        real_logits, torch.ones_like(real_logits)
    ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def fooling_loss(fake_logits: Tensor) -> Tensor:
    """−mean log σ(D(student)): the student's adversarial term (non-saturating GAN loss)."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


class LightweightTeacherKD(OwnOptimised, Method):
    """(1−α)·CE + α·T²·KL(glyph-teacher soft target ‖ student) + w_adv·fooling loss; discriminator by Adam."""

    name = "lwkd"
    title = "LW-KD (lightweight glyph teacher + adversarial)"
    category = "response"
    scheme = "offline"
    teacher_need = "none"
    summary = (
        "The teacher is a small network (LeNet-5 by default) trained in seconds on rendered glyphs (one glyph "
        "per class, as many classes as the target) and never sees the target data. Reading implemented (the "
        "paper is brief): a target image of class y gets as soft target the teacher's softened output on a "
        "randomly drawn held-out rendered glyph of class y (glyph class k stands for target class k by index "
        "only: the soft target carries "
        "no target semantics, it is a learned, instance-varying label smoothing, as the paper positions it "
        "against teacher-free KD). Student loss: (1−α)·CE(y, s) + α·T²·KL(p_t^T ‖ p_s^T) "
        "+ w_adv·(−log D(p_s^T, y)); "
        "a small discriminator D (MLP on the probability vector concatenated with the one-hot label) is "
        "trained by its own Adam to tell the teacher's distributions p_t^T from the student's."
    )
    loss_latex = (
        r"\mathcal{L}_S = (1-\alpha)\,\mathrm{CE}(y, \sigma(z_s)) + \alpha\,T^2\,"
        r"\mathrm{KL}\big(\sigma(t(g_y)/T)\,\|\,\sigma(z_s/T)\big) - w_{adv}\log D\big(\sigma(z_s/T), y\big),\ "
        r"\mathcal{L}_D = -\log D\big(\sigma(t(g_y)/T), y\big) - \log\big(1 - D(\sigma(z_s/T), y)\big),\ "
        r"g_y \sim \text{glyphs of class } y"
    )
    hyperparams = (
        HyperParam("w_adv", 0.1, "weight of the student's adversarial (fool the discriminator) term", 0.0, 100.0),
        HyperParam("disc_lr", 1e-3, "the discriminator's Adam learning rate", 1e-6, 1.0),
        HyperParam(
            "glyph_arch",
            "lenet5",
            "architecture of the lightweight teacher",
            choices=("lenet5", "lenet5_half", "mlp", "cnn"),
        ),
        HyperParam(
            "glyphs_per_class",
            300,
            "rendered glyphs per class, for the teacher's training and for "
            "the held-out pool soft targets are drawn from",
            10,
            5000,
        ),
        HyperParam("glyph_seed", 0, "seed of the glyph rendering and of the glyph teacher", 0, 2**31 - 1),
    )
    reads_features = "logits only"
    reference = "Liu, Zhang & Wang, Learning from a Lightweight Teacher for Efficient Knowledge Distillation, 2020"
    extra_modules = (
        "an output discriminator (small MLP) with its own Adam (checkpointed with the run), used only in "
        "training; the glyph teacher is cached like other teachers"
    )

    @classmethod
    def glyph_teacher_spec(cls, params: dict[str, Any]) -> tuple[str, int, int] | None:
        """The glyph teacher this run learns from: glyph_arch, glyphs_per_class and glyph_seed."""
        return str(params["glyph_arch"]), int(params["glyphs_per_class"]), int(params["glyph_seed"])

    def prepare(self, info: "DatasetInfo", batch_size: int) -> None:
        """Take the glyph teacher resolved before training (the bank's `glyph`), score a pool of held-out glyphs
        (rendered from seed + 1, never trained on) once, and build the discriminator with its own Adam."""
        from ..glyphs import glyph_dataset

        self.device = next(self.student.parameters()).device
        per_class, seed = int(self.params["glyphs_per_class"]), int(self.params["glyph_seed"])
        self.teacher_record = self.teachers.glyph
        teacher = self.teacher_record.model
        pool = glyph_dataset(
            info.name, per_class=per_class, test_per_class=per_class, seed=seed, device=self.device
        ).test
        with torch.no_grad():
            self.glyph_logits = torch.cat([full_precision(teacher(chunk)) for chunk in pool.x.split(1024)])
        self.per_class = per_class
        self.discriminator = OutputDiscriminator(self.num_classes).to(self.device)
        self.discriminator_optimizer = torch.optim.Adam(
            self.discriminator.parameters(), lr=float(self.params["disc_lr"]), betas=(0.5, 0.999)
        )
        self.owned = {"discriminator": (self.discriminator, self.discriminator_optimizer)}

    def glyph_soft_logits(self, labels: Tensor) -> Tensor:
        """The glyph teacher's logits on one randomly drawn glyph of each label's class (the pool is
        grouped by class, `per_class` glyphs each)."""
        pick = torch.randint(0, self.per_class, labels.shape, device=labels.device)
        return self.glyph_logits[labels * self.per_class + pick]

    def train_step(self, batch: Batch, state: StepState, optimizer: torch.optim.Optimizer, autocast: Any) -> StepOutput:
        """Student step on CE + KD + fooling term, then one discriminator step on teacher vs student outputs."""
        temperature = state.temperature
        teacher_probs = F.softmax(self.glyph_soft_logits(batch.y) / temperature, dim=1)
        with autocast():
            logits = self.student(batch.x)
            student_probs = F.softmax(full_precision(logits) / temperature, dim=1)
            terms = {
                "ce": (1.0 - state.alpha) * F.cross_entropy(logits, batch.y),
                "kd": state.alpha * temperature**2 * soft_kl(logits, teacher_probs, temperature),
                "adv": float(self.params["w_adv"]) * fooling_loss(self.discriminator(student_probs, batch.y)),
            }
        optimizer.zero_grad(set_to_none=True)
        sum(terms.values()).backward()
        optimizer.step()
        terms["disc"] = self._discriminator_step(teacher_probs, student_probs.detach(), batch.y)
        return StepOutput(logits, terms)

    def _discriminator_step(self, teacher_probs: Tensor, student_probs: Tensor, labels: Tensor) -> Tensor:
        """One Adam step of the discriminator; returns its loss."""
        loss = discriminator_loss(self.discriminator(teacher_probs, labels), self.discriminator(student_probs, labels))
        self.discriminator_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.discriminator_optimizer.step()
        return loss.detach()

    def evaluate_extra(self, test_x: Tensor, test_y: Tensor) -> dict[str, float]:
        """The glyph teacher's accuracy on its own glyph test split and its training time (rendering included)."""
        return {
            "glyph_teacher_acc": self.teacher_record.test_acc,
            "glyph_teacher_seconds": self.teacher_record.train_seconds,
        }
