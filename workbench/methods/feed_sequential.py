"""FEED, sequential: generations of students, each taught at the feature level by the one before (Park & Kwak, 2019)."""

from __future__ import annotations

from .base import HyperParam
from .feed_parallel import FEED_BETA, FeedParallel

MAX_GENERATIONS = 10


class FeedSequential(FeedParallel):
    """One generation: CE + β·mean|T(F_s)/‖T(F_s)‖ − F_t/‖F_t‖| from one teacher; `generations` chains."""

    name = "feed-sequential"
    title = "FEED, sequential (generations)"
    teacher_need = "one"
    summary = (
        "A chain of students of one architecture: generation 1 learns from the configured teacher's deepest "
        "feature map through a transformation layer (three 3×3 convolutions), and each later generation "
        "learns the same way from the student trained before it. Every generation is its own run, linked to "
        "its parent; the transformation layers are dropped after training."
    )
    loss_latex = (
        r"\mathcal{L}_g = \mathrm{CE}(y, \sigma(z_{s_g})) + \beta\,\frac{1}{D}\Big\|"
        r"\frac{T(F_{s_g})}{\|T(F_{s_g})\|_2} - \frac{F_{s_{g-1}}}{\|F_{s_{g-1}}\|_2}\Big\|_1,"
        r"\quad s_0 = \text{the teacher}"
    )
    hyperparams = (
        FEED_BETA,
        HyperParam(
            "generations", 3, "number of students trained in sequence, each teaching the next", 1, MAX_GENERATIONS
        ),
    )
    generations_param = "generations"
    reads_features = (
        "the deepest spatial feature map (C×H×W) of the student and of its teacher (the configured "
        "teacher for generation 1, the previous generation's student after that)"
    )
    extra_modules = (
        "a transformation layer (three 3×3 convolutions) per generation, used only in training: it is "
        "dropped afterwards, so each student's parameter count is its own"
    )

    @classmethod
    def unavailable_reason(
        cls, *, teacher_count: int, dataset: str, student: str, w_bits: str = "32", a_bits: str = "32"
    ) -> str | None:
        """Sequential FEED starts from exactly one teacher (feed-parallel takes several)."""
        if teacher_count > 1:
            return "takes exactly one teacher (use feed-parallel for several)"
        return super().unavailable_reason(
            teacher_count=teacher_count, dataset=dataset, student=student, w_bits=w_bits, a_bits=a_bits
        )

    def teacher_count_problem(self, count: int) -> str | None:
        """Why `count` teachers cannot be used (sequential FEED starts from exactly one), or None."""
        if count != 1:
            return f"{self.name} takes exactly one teacher (got {count}); use feed-parallel for several"
        return None
