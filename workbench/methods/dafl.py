"""DAFL: data-free learning of student networks (Chen et al., 2019).

A generator learns, against the frozen teacher used as a fixed discriminator, to produce images the
teacher classifies confidently (one-hot term), in balanced classes (information-entropy term) and with
strong features (activation term); the student learns the teacher's outputs on those images. The
training split is never read. `GeneratorMethod` is the generator side that PRE-DFKD shares."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import HyperParam, Method, StepOutput, StepState
from .losses import distillation_kl, full_precision
from .owned import OwnOptimised
from .teacher_signals import ClassCounts, batchnorm_gaps

if TYPE_CHECKING:
    from ..data import DatasetInfo

SAMPLES_SHOWN = 32


def upsampling_body(width: int, channels: int, image_size: int) -> nn.Sequential:
    """BN → ×2 upsample → conv → BN → LeakyReLU(0.2) → upsample to `image_size` → conv to `channels`."""
    return nn.Sequential(
        nn.BatchNorm2d(width),
        nn.Upsample(scale_factor=2),
        nn.Conv2d(width, width, 3, padding=1),
        nn.BatchNorm2d(width),
        nn.LeakyReLU(0.2),
        nn.Upsample(size=image_size),
        nn.Conv2d(width, channels, 3, padding=1),
    )


def seed_size(image_size: int) -> int:
    """Side s of the width×s×s map the generators start from: a quarter of the image side, rounded up."""
    return -(-image_size // 4)


class DaflGenerator(nn.Module):
    """noise → linear → width×s×s (128 in the paper) → BN → upsample → conv → BN → LeakyReLU(0.2)
    → upsample → conv → tanh → BN without affine: (N, channels, image_size, image_size) standardised images."""

    def __init__(self, latent_dim: int, channels: int, image_size: int, width: int = 128) -> None:
        super().__init__()
        self.latent_dim, self.width = latent_dim, width
        self.side = seed_size(image_size)
        self.project = nn.Linear(latent_dim, width * self.side * self.side)
        self.body = upsampling_body(width, channels, image_size)
        self.out = nn.Sequential(nn.Tanh(), nn.BatchNorm2d(channels, affine=False))

    def forward(self, z: Tensor) -> Tensor:
        """Images for a batch of noise vectors z (N, latent_dim)."""
        seed = self.project(z).view(-1, self.width, self.side, self.side)
        return self.out(self.body(seed))


ENTROPY_LOGS = ("log10", "natural")  # the authors' code takes log10; the paper writes log
ACTIVATION_NORMS = ("mean", "l1")  # the authors' code: mean |f|; the paper: the L1 norm ‖f‖₁ per image


def dafl_generator_terms(
    teacher_logits: Tensor,
    teacher_embedding: Tensor,
    w_oh: float,
    w_ie: float,
    w_a: float,
    entropy_log: str = "log10",
    activation_norm: str = "mean",
) -> dict[str, Tensor]:
    """The weighted DAFL generator loss, term by term: w_oh·CE(t, argmax t), w_ie·Σ_k p̄_k log p̄_k (p̄ the
    batch-mean teacher softmax; log10 as in the authors' code, or the natural log, ln 10 ≈ 2.3 times stronger)
    and −w_a·mean|f_T| (the authors' code) or −w_a·‖f_T‖₁ averaged over the batch (the paper's L1 norm, as many
    times stronger as the embedding has features)."""
    pseudo_labels = teacher_logits.argmax(1)
    mean_probs = F.softmax(teacher_logits, dim=1).mean(0)
    log_probs = mean_probs.clamp_min(1e-12).log()
    if entropy_log == "log10":
        log_probs = log_probs / math.log(10.0)
    magnitude = teacher_embedding.abs().flatten(1)
    activation = magnitude.sum(1).mean() if activation_norm == "l1" else magnitude.mean()
    return {
        "g_onehot": w_oh * F.cross_entropy(teacher_logits, pseudo_labels),
        "g_entropy": w_ie * (mean_probs * log_probs).sum(),
        "g_activation": -w_a * activation,
    }


# Defaults measured on digits (docs/data-free.md). With the lenet5 teacher and every run-config field at its default
# (10 epochs, batch 64, SGD lr 0.05) width 64 taught as well as the paper's 128 at half the step time, and 500
# generated batches an epoch took DAFL to about 85 % in about 2 minutes and PRE-DFKD past 90 % in about 5 (one
# thread, under load). With the default cnn teacher (BatchNorm layers) DAFL's terms alone left the student near 80 %;
# pulling the generated batches' statistics at the teacher's BatchNorm layers to its running statistics (w_bn 1,
# DeepInversion's prior) took it past 95 %. A teacher without BatchNorm is unaffected.
DEFAULT_ITERATIONS = 500
DEFAULT_GEN_WIDTH = 64
DEFAULT_W_BN = 1.0


def data_free_params(iterations: int = DEFAULT_ITERATIONS) -> tuple[HyperParam, ...]:
    """Hyperparameters shared by the generator-based data-free methods (`iterations`: the method's default number
    of generated batches an epoch)."""
    return (
        HyperParam("iterations", iterations, "generated batches (optimisation steps) per epoch", 1, 100_000),
        HyperParam("latent_dim", 100, "length of the generator's noise vector", 2, 4096),
        HyperParam(
            "gen_width",
            DEFAULT_GEN_WIDTH,
            "channels of the generator's hidden maps (128 in the paper; 64 "
            "taught as well on digits at half the step time on a CPU)",
            8,
            1024,
        ),
        HyperParam("gen_lr", 1e-3, "the generator's Adam learning rate", 1e-6, 1.0),
        HyperParam("w_oh", 1.0, "weight of the one-hot term (teacher confident on generated images)", 0.0, 100.0),
        HyperParam("w_ie", 5.0, "weight of the information-entropy term (balanced classes)", 0.0, 100.0),
        HyperParam("w_a", 0.1, "weight of the activation term (large teacher features)", 0.0, 100.0),
        HyperParam(
            "w_bn",
            DEFAULT_W_BN,
            "weight of the BatchNorm-statistics term (not in the DAFL paper: DeepInversion's prior; 0 is the "
            "paper's loss): the generated batch's per-channel mean and variance at each teacher BatchNorm layer "
            "pulled towards the layer's running statistics; nothing for a teacher without BatchNorm (lenet5)",
            0.0,
            100.0,
        ),
        HyperParam(
            "entropy_log",
            "log10",
            "logarithm of the information-entropy term: log10 as in the authors' code, "
            "or natural (as the paper writes it; ln 10 ≈ 2.3 times stronger at the same w_ie)",
            choices=ENTROPY_LOGS,
        ),
        HyperParam(
            "activation_norm",
            "mean",
            "activation term: mean |f_T| as in the authors' code, or l1, the "
            "paper's L1 norm per image (as many times stronger as the teacher embedding has features)",
            choices=ACTIVATION_NORMS,
        ),
    )


def optimise(loss: Tensor, *optimizers: torch.optim.Optimizer) -> None:
    """Zero the optimisers' gradients, backpropagate `loss`, then step each optimiser in the order given."""
    for optimizer in optimizers:
        optimizer.zero_grad(set_to_none=True)
    loss.backward()
    for optimizer in optimizers:
        optimizer.step()


@dataclass
class GeneratedBatch:
    """A generated batch: the images, the teacher's logits on them (full precision) and the weighted DAFL terms."""

    images: Tensor
    teacher_logits: Tensor
    terms: dict[str, Tensor]


class GeneratorMethod(OwnOptimised, Method):
    """Base of the data-free methods that train a DAFL generator against the frozen teacher: `prepare` builds the
    generator with its own Adam, each step is one generated batch (`iterations` per epoch) and `generate` makes it
    with the teacher's one-hot, information-entropy and activation terms. The training split is never read."""

    scheme = "data-free"
    teacher_need = "one"
    reads_features = "teacher embedding (features before the classifier)"
    reads_training_data = False
    final_metric_names: tuple[str, ...] = ("teacher_class_entropy",)  # the run keeps the last epoch's value

    def prepare(self, info: "DatasetInfo", batch_size: int) -> None:
        """Build the generator for the dataset's image size and channels, with its own Adam."""
        self.device = next(self.student.parameters()).device
        self.batch_size = batch_size
        self.generated_classes = ClassCounts(info.num_classes, self.device)
        self.generator = DaflGenerator(
            int(self.params["latent_dim"]), info.in_channels, info.image_size, int(self.params["gen_width"])
        ).to(self.device)
        self.generator_optimizer = torch.optim.Adam(self.generator.parameters(), lr=float(self.params["gen_lr"]))
        self.owned = {"generator": (self.generator, self.generator_optimizer)}

    def steps_per_epoch(self, train_size: int, batch_size: int) -> int:
        """`iterations` generated batches, whatever the size of the (unread) training split."""
        return int(self.params["iterations"])

    def generate(self) -> GeneratedBatch:
        """A batch of images from fresh noise, the teacher's logits on them and the weighted DAFL generator terms
        (called under the step's autocast; gradients reach the generator through the images)."""
        noise = torch.randn(self.batch_size, self.generator.latent_dim, device=self.device)
        images = self.generator(noise)
        teacher = self.teachers.models[0]
        w_bn = float(self.params["w_bn"])
        with batchnorm_gaps(teacher if w_bn > 0 else nn.Identity()) as gaps:
            teacher_logits, features = teacher.forward_features(images)
        teacher_logits = full_precision(teacher_logits)
        self.generated_classes.add(teacher_logits)
        terms = dafl_generator_terms(
            teacher_logits,
            full_precision(features["embedding"]),
            float(self.params["w_oh"]),
            float(self.params["w_ie"]),
            float(self.params["w_a"]),
            str(self.params["entropy_log"]),
            str(self.params["activation_norm"]),
        )
        if gaps:
            terms["g_bn"] = w_bn * torch.stack(gaps).sum()
        return GeneratedBatch(images, teacher_logits, terms)

    def evaluate_extra(self, test_x: Tensor, test_y: Tensor) -> dict[str, float]:
        """The teacher's predicted classes on the epoch's generated images: `teacher_class_share_<k>` and their
        normalised entropy `teacher_class_entropy` (1: every class equally often); counting restarts after."""
        return self.generated_classes.shares("teacher_class")


class Dafl(GeneratorMethod):
    """Generator trained by the DAFL loss against the frozen teacher; student by T²-scaled KL on its images."""

    name = "dafl"
    title = "DAFL (data-free, generator)"
    category = "response"
    summary = (
        "No training image is read. A generator learns to make images the frozen teacher classifies "
        "confidently (one-hot), spread over all classes (information entropy) and with large features "
        "(activation); each step the student matches the teacher's softened outputs on a fresh "
        "generated batch. Train accuracy is agreement with the teacher on generated images. As in the "
        "authors' code, the entropy term takes log10 and the activation term the mean |f_T| (the paper writes "
        "the natural log and the L1 norm per image: entropy_log, activation_norm). Not in the paper, on by "
        "default: when the teacher has BatchNorm layers (the cnn), a fourth term pulls the generated batch's "
        "statistics at each of them to the running statistics the teacher learnt on real data (w_bn; "
        "Yin et al.'s DeepInversion prior), which took the digits student from about 80 to over 95 %; set "
        "w_bn 0 for the paper's loss."
    )
    loss_latex = (
        r"\mathcal{L}_G = w_{oh}\,\mathrm{CE}\big(T(G(z)), \arg\max T(G(z))\big) + w_{ie}\sum_k \bar p_k"
        r"\log_{10} \bar p_k - w_a\,\overline{|f_T(G(z))|} + w_{bn}\sum_l \big(\|\mu_l - \hat\mu_l\|_2"
        r" + \|\sigma^2_l - \hat\sigma^2_l\|_2\big),\quad \mathcal{L}_S = T^2\,"
        r"\mathrm{KL}\big(\sigma(z_t/T)\,\|\,\sigma(z_s/T)\big)\ \text{on}\ G(z)"
    )
    hyperparams = data_free_params()
    uses_alpha = False
    reference = "Chen et al., Data-Free Learning of Student Networks, ICCV 2019"
    extra_modules = (
        "a generator with its own Adam (checkpointed with the run), used only in training: the "
        "deployed student is unchanged"
    )
    last_generated: Tensor | None = None

    def train_step(self, batch: None, state: StepState, optimizer: torch.optim.Optimizer, autocast: Any) -> StepOutput:
        """One generated batch: the generator's loss and the student's KL backpropagated together, each
        reaching only its own network (the student sees the images detached)."""
        with autocast():
            generated = self.generate()
            terms = generated.terms
            student_logits = self.student(generated.images.detach())
            terms["kd"] = distillation_kl(student_logits, generated.teacher_logits.detach(), state.temperature)
        optimise(sum(terms.values()), self.generator_optimizer, optimizer)
        self.last_generated = generated.images.detach()[:SAMPLES_SHOWN]
        return StepOutput(student_logits, terms, labels=generated.teacher_logits.argmax(1))

    def sample_images(self) -> dict[str, Tensor]:
        """The latest generated images (normalised space), for the Train page's live grid."""
        return {} if self.last_generated is None else {"generated": self.last_generated.float().cpu()}
