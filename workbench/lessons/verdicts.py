"""The lessons' last checked verdicts, as the app's lesson list and `kdw lessons list` show them: this server's
(`<runs>/lessons/verdicts.json`, written by `kdw lessons check`) over the shipped record. Imports no torch, so the
app's sidebar shows them before the first page's widgets need torch."""

from __future__ import annotations

import json
from pathlib import Path

from ..evidence import CONTRADICTED, HOLDS, NOISE, ONE_SEED
from . import lesson_summaries

VERDICTS_FILE = "verdicts.json"
SHIPPED_VERDICTS = Path(__file__).parent / VERDICTS_FILE
VERDICT_MARKS = {HOLDS: "✓", NOISE: "≈", ONE_SEED: "?", CONTRADICTED: "✗"}  # in plain fonts (no emoji needed)


def last_verdicts(runs_dir: Path | None = None) -> dict[str, dict]:
    """The last verdict of each lesson: checked here (`<runs>/lessons/verdicts.json`) over the shipped record,
    each marked with `where` ("here" or "shipped"); a verdict for an older lesson version is dropped."""
    versions = {lesson.name: lesson.version for lesson in lesson_summaries()}
    merged: dict[str, dict] = {}
    sources = [(SHIPPED_VERDICTS, "shipped")]
    if runs_dir is not None:
        sources.append((runs_dir / "lessons" / VERDICTS_FILE, "here"))
    for path, where in sources:
        try:
            data = json.loads(path.read_text()) if path.exists() else {}
        except (OSError, ValueError):
            continue
        for name, entry in data.items() if isinstance(data, dict) else ():
            if isinstance(entry, dict) and entry.get("version") == versions.get(name):
                merged[name] = {**entry, "where": where}
    return merged
