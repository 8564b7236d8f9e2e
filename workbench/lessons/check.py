"""`kdw lessons check`: run each lesson's arms over seeds and judge its claim (holds / within seed noise /
contradicted), print the figures, and keep them: runs in the run store, verdicts in `<runs>/lessons/verdicts.json`
(what the app's lesson list shows) and a section per lesson in a markdown file (docs/lessons.md)."""

from __future__ import annotations

import datetime
import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..config import RunConfig
from ..data import dataset_info
from ..evidence import combine, equivalence_verdict, format_effect, measure_effect, verdict
from ..reproduce.report import machine_description, write_section
from ..store import RunRecord, RunStore
from ..sweep import run_configs
from . import Lesson
from .claims import GAIN_SEPARATOR

LESSONS_TITLE = """# Lessons, checked

Each lesson (`workbench/lessons/*.yaml`) states its claim as data: the arms it compares (changes to its setup), the
metric and the expected comparisons. `kdw lessons check` trains every arm once per seed (seeds 0 to n − 1; arms
that several lessons share train once) and judges each comparison on the per-seed differences: **holds** when the
effect points the expected way by at least two standard errors (and by the claim's smallest effect, on every
seed, where the claim asks for that), **contradicted** when it points the other way by two standard errors,
**within seed noise** otherwise. A `same` claim holds when the effect's two-standard-error interval lies inside
its tolerance. Accuracies are in %, effects in points. Each section below was written by the command it names."""


@dataclass(frozen=True)
class ArmResult:
    """One arm's metric values over seeds (seed order) and the statuses its runs ended with."""

    name: str
    values: tuple[float, ...]
    statuses: tuple[str, ...]
    run_ids: tuple[str, ...]

    def summary(self, scale: float) -> str:
        """`78.12 ± 0.90 (5 seeds)`, with any run that did not end `done` named."""
        values = [v * scale for v in self.values]
        text = f"{statistics.mean(values):.2f}" + (f" ± {statistics.stdev(values):.2f}" if len(values) > 1 else "")
        odd = [s for s in self.statuses if s != "done"]
        return text + (f" ({len(odd)} of {len(values)} {', '.join(sorted(set(odd)))})" if odd else "")


@dataclass(frozen=True)
class ComparisonResult:
    """One expected comparison's effect and verdict."""

    description: str
    metric: str
    effect_text: str
    verdict: str


@dataclass(frozen=True)
class LessonResult:
    """A lesson's checked claim: its arms, comparisons and overall verdict."""

    lesson: str
    version: int
    says: str
    seeds: int
    arms: tuple[ArmResult, ...]
    comparisons: tuple[ComparisonResult, ...]
    verdict: str


def metric_scale(metric: str) -> float:
    """Accuracies are shown in percent (their effects in points); other metrics as they are."""
    return 100.0 if "acc" in metric else 1.0


def run_value(record: RunRecord, metric: str) -> float:
    """A run's final `metric`; a run that stopped before measuring an accuracy (diverged early) scores chance."""
    if metric in record.final_metrics:
        return float(record.final_metrics[metric])
    if "acc" in metric:
        return 1.0 / dataset_info(record.config.get("dataset", "digits")).num_classes
    return float("nan")


def lesson_configs(lesson: Lesson, seeds: int) -> dict[tuple[str, int], RunConfig]:
    """Every (arm, seed) run a lesson's check needs."""
    return {
        (arm, seed): lesson.claim.arm_config(lesson.config_values(), arm, seed)
        for arm in lesson.claim.arms
        for seed in range(seeds)
    }


def planned_runs(lessons: Sequence[Lesson], seeds: int) -> dict[str, RunConfig]:
    """The distinct runs checking `lessons` takes (a run several lessons share counts once), by identity."""
    unique: dict[str, RunConfig] = {}
    for lesson in lessons:
        for config in lesson_configs(lesson, seeds).values():
            unique.setdefault(_identity(config), config)
    return unique


def check_lessons(
    lessons: Sequence[Lesson],
    store: RunStore,
    *,
    seeds: int,
    workers: int,
    on_run_end: Callable[[RunRecord, int, int], None] | None = None,
) -> list[LessonResult]:
    """Run every lesson's arms over `seeds` seeds (a run shared by several lessons trains once) and judge them."""
    wanted = {lesson.name: lesson_configs(lesson, seeds) for lesson in lessons}
    unique = planned_runs(lessons, seeds)
    group_id = "lessons-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_ids = run_configs(
        [config.replace(threads=1) for config in unique.values()],
        store,
        group_id,
        max_concurrent=workers,
        on_run_end=on_run_end,
    )
    records = {record.id: record for record in store.recent_runs(len(run_ids), ids=run_ids)}
    by_identity = {key: records[run_id] for key, run_id in zip(unique, run_ids)}
    return [
        judge(lesson, {key: by_identity[_identity(config)] for key, config in wanted[lesson.name].items()}, seeds)
        for lesson in lessons
    ]


def _identity(config: RunConfig) -> str:
    """What makes two runs the same run (the name does not)."""
    return json.dumps({**config.to_dict(), "name": ""}, sort_keys=True)


def judge(lesson: Lesson, runs: dict[tuple[str, int], RunRecord], seeds: int) -> LessonResult:
    """A lesson's verdict from its finished runs, keyed by (arm, seed)."""
    claim = lesson.claim
    metrics = {claim.metric, *(e.metric for e in claim.expect)}
    values = {
        (arm, metric): [run_value(runs[arm, seed], metric) for seed in range(seeds)]
        for arm in claim.arms
        for metric in metrics
    }
    arms = tuple(
        ArmResult(
            arm,
            tuple(values[arm, claim.metric]),
            tuple(runs[arm, seed].status for seed in range(seeds)),
            tuple(runs[arm, seed].id for seed in range(seeds)),
        )
        for arm in claim.arms
    )
    comparisons = []
    for expectation in claim.expect:
        effect = measure_effect(
            side_values(values, expectation.first, expectation.metric),
            side_values(values, expectation.second, expectation.metric),
        )
        result = (
            equivalence_verdict(effect, expectation.tolerance)
            if expectation.kind == "same"
            else verdict(effect, min_effect=expectation.min_effect, every_seed=expectation.every_seed)
        )
        text = format_effect(
            effect, scale=metric_scale(expectation.metric), unit="pts" if "acc" in expectation.metric else ""
        )
        comparisons.append(ComparisonResult(expectation.describe(), expectation.metric, text, result))
    overall = combine([c.verdict for c in comparisons])
    return LessonResult(lesson.name, lesson.version, claim.says, seeds, arms, tuple(comparisons), overall)


def side_values(values: dict[tuple[str, str], list[float]], side: str, metric: str) -> list[float]:
    """Per-seed values of one side of a comparison: an arm's, or for a gain `A - B` arm A's minus arm B's."""
    first, *rest = side.split(GAIN_SEPARATOR)
    if not rest:
        return values[first, metric]
    return [a - b for a, b in zip(values[first, metric], values[rest[0], metric])]


def report_text(result: LessonResult, metric: str) -> str:
    """The lines `kdw lessons check` prints for one lesson."""
    scale = metric_scale(metric)
    lines = [f"{result.lesson} (v{result.version}): {result.says}"]
    width = max(len(arm.name) for arm in result.arms)
    lines += [f"  {arm.name:{width}s}  {metric} {arm.summary(scale)}" for arm in result.arms]
    lines += [f"  {c.description}: {c.effect_text} -> {c.verdict}" for c in result.comparisons]
    lines.append(f"  verdict: {result.verdict}")
    return "\n".join(lines)


def markdown_section(result: LessonResult, metric: str, command: str) -> tuple[str, str]:
    """The heading and body of a lesson's section in docs/lessons.md."""
    scale = metric_scale(metric)
    unit = " (%)" if scale == 100.0 else ""
    body = [
        f"Claim: {result.says}",
        "",
        f"`{command}` — {result.seeds} seeds (0 to {result.seeds - 1}); mean ± sample std over seeds. "
        f"Machine: {machine_description()}; checked {datetime.date.today().isoformat()}.",
        "",
        f"| arm | {metric}{unit} | runs |",
        "|---|---:|---|",
    ]
    body += [f"| {arm.name} | {arm.summary(scale)} | {', '.join(arm.run_ids)} |" for arm in result.arms]
    body += ["", "| expected | effect (mean ± s.e. over seeds) | verdict |", "|---|---:|---|"]
    body += [f"| {c.description} | {c.effect_text} | **{c.verdict}** |" for c in result.comparisons]
    body += ["", f"**Verdict: {result.verdict}.**"]
    return f"## {result.lesson}", "\n".join(body)


def record_verdicts(results: Sequence[LessonResult], path: Path) -> None:
    """Merge the lessons' verdicts into a JSON file (lesson -> verdict, version, seeds, date, comparisons)."""
    try:
        known = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        known = {}
    for result in results:
        known[result.lesson] = {
            "verdict": result.verdict,
            "version": result.version,
            "seeds": result.seeds,
            "checked": datetime.date.today().isoformat(),
            "machine": machine_description(),
            "comparisons": [asdict(c) for c in result.comparisons],
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(known, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def write_markdown(results: Sequence[LessonResult], lessons: dict[str, Lesson], output: Path, command: str) -> None:
    """Rewrite each checked lesson's section of the markdown file, keeping the others."""
    for result in results:
        heading, body = markdown_section(result, lessons[result.lesson].claim.metric, command)
        write_section(output, heading, body, title=LESSONS_TITLE)
