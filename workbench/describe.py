"""The words the app shows for a setup and its runs, and how it groups the methods: `setup_summary` (the Train
page's one-line summary, as markdown with every name escaped), `precision_label` and `run_name` (the names the
app gives runs), and `method_groups` (the Method page's tabs, from each method's declared category and scheme).
No Streamlit here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from .text import escape_markdown

if TYPE_CHECKING:
    from .config import RunConfig
    from .methods.base import Method

FULL_PRECISION = "32"


def precision_label(w_bits: str, a_bits: str) -> str:
    """`W2A32`-style bit widths of a quantised student (as the Compare page labels them); '' at full precision."""
    w_bits, a_bits = str(w_bits), str(a_bits)
    return "" if w_bits == a_bits == FULL_PRECISION else f"W{w_bits}A{a_bits}"


def run_name(method: str, config: "RunConfig", seed: int) -> str:
    """The name the app gives a run: `kd · seed 0`, or with a quantised student `qkd W2A32 · seed 0`."""
    bits = precision_label(config.w_bits, config.a_bits)
    return f"{method}{' ' + bits if bits else ''} · seed {seed}"


def _bits_text(bits: str) -> str:
    if bits == FULL_PRECISION:
        return "full precision"
    return bits if not bits.isdigit() else f"{bits}-bit"


def schedule_text(symbol: str, kind: str, start: float, end: float, fraction: float = 1.0, steps: int = 3) -> str:
    """A scheduled value in words: `T = 4` when constant, `α 1 → 0 (linear)` when it changes (with the part of
    training it takes, and a step schedule's drops)."""
    if kind == "constant":
        return f"{symbol} = {start:g}"
    details = [kind if kind != "step" else f"step, {steps} drop{'s' if steps != 1 else ''}"]
    if fraction < 1.0:
        details.append(f"over the first {fraction:.0%} of training")
    return f"{symbol} {start:g} → {end:g} ({', '.join(details)})"


def setup_summary(config: "RunConfig", seeds: int) -> str:
    """The Train page's summary of a setup, as markdown: data, teacher(s) → student (with its bit widths when
    quantised), T and α (their schedules when not constant), the training settings that are set (clipping,
    warm-up, omitted classes, a training subset) and the seed count. Names are escaped: they come from a link."""
    teachers = ", ".join(escape_markdown(name) for name in config.teachers)
    if config.teacher_checkpoint:
        teachers += " (uploaded)"
    student = f"student **{escape_markdown(config.student)}**"
    bits = precision_label(config.w_bits, config.a_bits)
    if bits:
        student += (
            f" at {bits} (weights {_bits_text(str(config.w_bits))}, activations {_bits_text(str(config.a_bits))})"
        )
    fraction, steps = config.schedule_fraction, config.schedule_steps
    knowledge = ", ".join(
        [
            schedule_text(
                "T", config.temperature_schedule, config.temperature, config.temperature_end, fraction, steps
            ),
            schedule_text("α", config.alpha_schedule, config.alpha, config.alpha_end, fraction, steps),
        ]
    )
    training = [f"{config.epochs} epoch(s)", f"batch {config.batch_size}", f"lr {config.lr:g}"]
    if config.warmup_epochs > 0:
        training.append(f"warm-up {config.warmup_epochs:g} epoch(s)")
    if config.grad_clip > 0:
        training.append(f"gradient norm clipped to {config.grad_clip:g}")
    parts = [
        f"**{escape_markdown(config.dataset)}**",
        f"teacher **{teachers}** → {student}",
        knowledge,
        ", ".join(training),
        f"{seeds} seed(s)",
    ]
    if config.omit_classes:
        classes = ", ".join(str(c) for c in config.omit_classes)
        parts.append(f"class{'es' if len(config.omit_classes) > 1 else ''} {classes} left out of training")
    if config.train_subset:
        parts.append(f"{config.train_subset} training images")
    return " · ".join(parts)


# -- the Method page's groups ----------------------------------------------------------------------------

# Gou et al.'s survey sorts methods by the knowledge they transfer (response / feature / relation) and by the
# training scheme. A method trained offline from a teacher goes under its knowledge; the other schemes are tabs of
# their own, so every method is in exactly one group.
KNOWLEDGE_GROUPS = {"response": "Response-based", "feature": "Feature-based", "relation": "Relation-based"}
SCHEME_GROUPS = {"online": "Online & self", "self": "Online & self", "data-free": "Data-free"}
GROUP_ORDER = ("Response-based", "Feature-based", "Relation-based", "Online & self", "Data-free")
GROUP_HELP = {
    "Response-based": "offline, from a trained teacher's outputs (logits, soft targets)",
    "Feature-based": "offline, from a trained teacher's intermediate features",
    "Relation-based": "offline, from the relations between a trained teacher's outputs for several images",
    "Online & self": "no trained teacher: peers learn together (online) or the student teaches itself (self)",
    "Data-free": "no training images: a generator makes the images the teacher and student compare",
}


def method_group(method: "type[Method]") -> str:
    """The group a method's declaration puts it in: its scheme's when not offline, else its knowledge's."""
    return SCHEME_GROUPS.get(method.scheme) or KNOWLEDGE_GROUPS[method.category]


def method_groups(methods: Iterable["type[Method]"]) -> dict[str, list["type[Method]"]]:
    """The methods by group, in the groups' order (empty groups left out), each group in the methods' order."""
    groups: dict[str, list] = {}
    for method in methods:
        groups.setdefault(method_group(method), []).append(method)
    order = {name: index for index, name in enumerate(GROUP_ORDER)}
    return dict(sorted(groups.items(), key=lambda item: order.get(item[0], len(order))))
