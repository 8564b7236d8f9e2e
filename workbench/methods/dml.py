"""Deep mutual learning (Zhang, Xiang, Hospedales & Lu, 2018): a cohort of students teach each other online."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError
from ..models import create_model
from ..models.shapes import model_label
from .base import Batch, HyperParam, Method, StepOutput, StepState
from .losses import soft_kl

if TYPE_CHECKING:
    from ..data import DatasetInfo

SAME = "same"
EVAL_BATCH = 1024


def mutual_kl(logits: list[Tensor]) -> list[Tensor]:
    """For each student k: the mean over the others l of KL(p_l ‖ p_k) at T = 1, the others' p_l detached."""
    probs = [F.softmax(z.detach().float(), dim=1) for z in logits]
    return [
        sum(soft_kl(z, probs[other], 1.0) for other in range(len(logits)) if other != k) / (len(logits) - 1)
        for k, z in enumerate(logits)
    ]


@torch.no_grad()
def eval_logits(model: nn.Module, x: Tensor) -> Tensor:
    """A model's float32 logits for all of x in eval mode, batch by batch (its mode restored after)."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(x[start : start + EVAL_BATCH]).float() for start in range(0, x.shape[0], EVAL_BATCH)])
    finally:
        model.train(was_training)


def fresh_peer(student: nn.Module, spec: str, info: "DatasetInfo") -> nn.Module:
    """A newly initialised peer: a copy of the student's architecture (quantisation included) with fresh zoo
    weights when spec is 'same', otherwise the zoo model `spec` (full precision)."""
    arch = model_label(student) if spec == SAME else spec
    try:
        fresh = create_model(arch, info.num_classes, info.in_channels, info.image_size)
    except ConfigError as error:
        raise ConfigError("dml.peer_model", error.detail) from None
    if spec != SAME:
        return fresh.to(next(student.parameters()).device)
    peer = copy.deepcopy(student)
    peer.load_state_dict(fresh.state_dict(), strict=False)  # quantiser parameters, if any, keep their start values
    return peer


class DeepMutualLearning(Method):
    """Σ_k [CE(y, p_k) + λ · mean_{l≠k} KL(p_l ‖ p_k)] over the student and its peers, all trained at once."""

    name = "dml"
    title = "Deep mutual learning"
    category = "response"
    scheme = "online"
    teacher_need = "none"
    summary = (
        "No pretrained teacher: the student and its peers start from different random weights and train "
        "together, each learning the labels and the others' current predictions (KL, targets held fixed "
        "within the step). Each peer's test accuracy and the cohort's averaged prediction are reported."
    )
    loss_latex = (
        r"\mathcal{L} = \sum_{k=1}^{K}\Big[\mathrm{CE}(y, p_k) + \frac{\lambda}{K-1}\sum_{l\neq k}"
        r"\mathrm{KL}\big(\mathrm{sg}[p_l]\,\|\,p_k\big)\Big]"
    )
    hyperparams = (
        HyperParam("peers", 2, "students in the cohort K, this run's student included", 2, 8),
        HyperParam("peer_model", SAME, "architecture of the other students: 'same' as the student, or a zoo name"),
        HyperParam("mimicry_weight", 1.0, "weight λ of the KL to the other students' predictions", 0.0, 10.0),
    )
    uses_temperature = False
    uses_alpha = False
    extra_modules = (
        "K − 1 peer students trained alongside, used only in training: the run keeps the first "
        "student, whose parameter count is reported"
    )
    reference = "Zhang, Xiang, Hospedales & Lu, Deep Mutual Learning, CVPR 2018"
    peer_models: nn.ModuleList | None = None  # built by prepare

    def prepare(self, info: "DatasetInfo", batch_size: int) -> None:
        """Build the K − 1 peers, each freshly initialised."""
        self.peer_models = nn.ModuleList(
            fresh_peer(self.student, str(self.params["peer_model"]), info) for _ in range(int(self.params["peers"]) - 1)
        )

    def trainable_modules(self) -> dict[str, nn.Module]:
        """The peers, once prepared."""
        return {"peers": self.peer_models} if self.peer_models is not None else {}

    def loss_terms(self, batch: Batch, state: StepState) -> StepOutput:
        """The student's CE and KL, and the same summed over the peers (`peer_ce`, `peer_kl`)."""
        logits = [self.student(batch.x), *(peer(batch.x) for peer in self.peer_models)]
        weight = float(self.params["mimicry_weight"])
        kls = mutual_kl(logits)
        ces = [F.cross_entropy(z, batch.y) for z in logits]
        return StepOutput(
            logits[0],
            {
                "ce": ces[0],
                "kl": weight * kls[0],
                "peer_ce": sum(ces[1:]),
                "peer_kl": weight * sum(kls[1:]),
            },
        )

    def evaluate_extra(self, test_x: Tensor, test_y: Tensor) -> dict[str, float]:
        """Each peer's test accuracy and that of the cohort's averaged probabilities."""
        metrics: dict[str, float] = {}
        probs = F.softmax(eval_logits(self.student, test_x), dim=1)
        for number, peer in enumerate(self.peer_models, start=1):
            logits = eval_logits(peer, test_x)
            metrics[f"peer{number}_test_acc"] = (logits.argmax(1) == test_y).float().mean().item()
            probs = probs + F.softmax(logits, dim=1)
        metrics["cohort_test_acc"] = (probs.argmax(1) == test_y).float().mean().item()
        return metrics
