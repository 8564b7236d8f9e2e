"""Classroom lessons: named, versioned setups shipped as YAML beside this module, each with a sentence of
commentary and the controls a lesson link hides; and lesson links, URL queries that restore a setup and
hide chosen controls (`?lesson=temperature-too-low&hide=alpha,method`).

A lesson file: `version` (int), `title`, `commentary`, `hide` (control names), `config` (RunConfig fields) and
`claim` (what it shows, as arms and expected comparisons: `lessons.claims`; checked by `kdw lessons check`).
Used by `kdw lessons list|show|check`, `kdw train --lesson NAME` and the app's sidebar loader."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlencode

import yaml

from ..config import FIELD_BY_NAME, RunConfig
from ..errors import WorkbenchError
from .claims import Claim, parse_claim

LESSONS_DIR = Path(__file__).parent
LESSON_KEYS = ("version", "title", "commentary", "hide", "config", "claim")
LESSON_PARAM, HIDE_PARAM = "lesson", "hide"
# Controls a link may hide: every config field, and the app's own setup items.
HIDEABLE = tuple(FIELD_BY_NAME) + ("methods", "seeds", "baseline")
DEFAULT_APP_URL = "http://localhost:8501/"


@dataclass(frozen=True)
class Lesson:
    """A shipped lesson: name (file stem), version, title, one sentence of commentary, hidden controls, config and
    the claim it makes."""

    name: str
    version: int
    title: str
    commentary: str
    hide: tuple[str, ...]
    config: dict[str, Any]
    claim: Claim
    path: Path

    def config_values(self) -> dict[str, Any]:
        """The lesson's config fields (a copy; not yet validated)."""
        return dict(self.config)

    def run_config(self) -> RunConfig:
        """The lesson's validated run config."""
        try:
            return RunConfig.from_dict(self.config_values())
        except WorkbenchError as error:
            raise WorkbenchError(f"lesson {self.name}: {error}") from None


@dataclass(frozen=True)
class LessonSummary:
    """What the app's lesson list shows of a lesson: name, version, title, commentary and its claim's sentence."""

    name: str
    version: int
    title: str
    commentary: str
    says: str


def _read_lesson_file(path: Path) -> dict[str, Any]:
    """A lesson file's mapping, its keys and their kinds checked (its setup and claim not yet validated)."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise WorkbenchError(f"lesson {path.stem}: cannot read {path}: {str(error).splitlines()[0]}") from None
    if (
        not isinstance(data, dict)
        or set(data) - set(LESSON_KEYS)
        or not {"version", "title", "commentary", "config", "claim"} <= set(data)
    ):
        raise WorkbenchError(
            f"lesson {path.stem}: a lesson file holds {', '.join(LESSON_KEYS)} "
            "(hide is optional, the others are needed)"
        )
    if not isinstance(data["config"], dict) or not isinstance(data["version"], int):
        raise WorkbenchError(f"lesson {path.stem}: config must be a mapping and version an integer")
    return data


def _read_lesson(path: Path) -> Lesson:
    data = _read_lesson_file(path)
    hide = tuple(str(name) for name in data.get("hide") or ())
    unknown = [name for name in hide if name not in HIDEABLE]
    if unknown:
        raise WorkbenchError(
            f"lesson {path.stem}: hide: {unknown[0]!r} is not a control; allowed: {', '.join(HIDEABLE)}"
        )
    claim = parse_claim(data["claim"], dict(data["config"]), f"lesson {path.stem}")
    return Lesson(
        path.stem, data["version"], str(data["title"]), str(data["commentary"]), hide, dict(data["config"]), claim, path
    )


def list_lessons(folder: Path = LESSONS_DIR) -> list[Lesson]:
    """Every lesson in `folder` (the shipped ones by default), sorted by name."""
    return [_read_lesson(path) for path in sorted(folder.glob("*.yaml"))]


def lesson_summaries(folder: Path = LESSONS_DIR) -> list[LessonSummary]:
    """Every lesson in `folder` as the app's lesson list shows it, sorted by name; read without validating the
    lessons' setups (`list_lessons` does), which needs the method registry and so torch: the app's sidebar lists
    the lessons before the first page's widgets, which come before torch."""
    summaries = []
    for path in sorted(folder.glob("*.yaml")):
        data = _read_lesson_file(path)
        claim = data["claim"] if isinstance(data["claim"], dict) else {}
        summaries.append(
            LessonSummary(
                path.stem, data["version"], str(data["title"]), str(data["commentary"]), str(claim.get("says", ""))
            )
        )
    return summaries


def get_lesson(name: str, folder: Path = LESSONS_DIR) -> Lesson:
    """The lesson called `name`; WorkbenchError listing the lessons otherwise (a name that could not be a lesson's
    file stem, e.g. a path or an over-long link value, is not looked up at all)."""
    known = {path.stem: path for path in sorted(folder.glob("*.yaml"))}
    if name not in known:
        shown = name if len(name) <= 40 else name[:40] + "…"
        raise WorkbenchError(f"lesson: no lesson called {shown!r}; lessons: {', '.join(known)}")
    return _read_lesson(known[name])


# -- lesson links --------------------------------------------------------------------------------------


def lesson_query(lesson: Lesson, hide: tuple[str, ...] | list[str] | None = None) -> dict[str, str]:
    """The URL query of a lesson link: the lesson's name and config (what differs from the defaults) and
    the controls to hide (the lesson's own list unless `hide` is given)."""
    params = {LESSON_PARAM: lesson.name, **lesson.run_config().query_params()}
    hidden = lesson.hide if hide is None else tuple(hide)
    params[HIDE_PARAM] = ",".join(hidden)
    return params


def lesson_link(
    lesson: Lesson, base_url: str = DEFAULT_APP_URL, hide: tuple[str, ...] | list[str] | None = None
) -> str:
    """A URL opening the app at `base_url` with the lesson's setup and hidden controls."""
    return f"{base_url}?{urlencode(lesson_query(lesson, hide))}"


def setup_link_query(config: RunConfig, hide: tuple[str, ...] | list[str]) -> dict[str, str]:
    """The query of a link restoring any setup (`config`) with chosen controls hidden (no lesson needed)."""
    unknown = [name for name in hide if name not in HIDEABLE]
    if unknown:
        raise WorkbenchError(f"hide: {unknown[0]!r} is not a control; allowed: {', '.join(HIDEABLE)}")
    return {**config.query_params(), HIDE_PARAM: ",".join(hide)}


@dataclass(frozen=True)
class LinkState:
    """What a URL query asks of the app: the setup's own parameters (lesson config overlaid with the URL's
    fields, ready for `app_state.setup_from_query`), the lesson it names, the hidden controls, and notices."""

    params: dict[str, str]
    lesson: Lesson | None
    hidden: frozenset[str]
    notices: tuple[str, ...]

    def is_hidden(self, control: str) -> bool:
        """Whether the page should leave out the widget of `control`."""
        return control in self.hidden


def read_link(params: Mapping[str, str]) -> LinkState:
    """Split a URL query into the setup's parameters, the lesson and the hidden controls.

    A `lesson` names a lesson whose config comes first; the URL's own fields override it. `hide` lists
    controls to hide (comma-separated); without it a lesson hides its own list. Unknown lessons and
    controls are ignored with a notice."""
    notices: list[str] = []
    own = {key: str(value) for key, value in params.items() if key not in (LESSON_PARAM, HIDE_PARAM)}
    lesson = None
    setup_params = dict(own)
    if params.get(LESSON_PARAM):
        try:
            lesson = get_lesson(str(params[LESSON_PARAM]))
            setup_params = {**lesson.run_config().query_params(), **own}
        except WorkbenchError as error:
            notices.append(f"ignored {error}")
    if HIDE_PARAM in params:
        names = [name.strip() for name in str(params[HIDE_PARAM]).split(",") if name.strip()]
    else:
        names = list(lesson.hide) if lesson else []
    hidden = set()
    for name in names:
        if name in HIDEABLE:
            hidden.add(name)
        else:
            notices.append(f"ignored hide {name!r}: not a control (allowed: {', '.join(HIDEABLE)})")
    return LinkState(setup_params, lesson, frozenset(hidden), tuple(notices))


def hidden_widget_keys(
    hidden: frozenset[str] | set[str], method_names: list[str] | tuple[str, ...], prefix: str = "w."
) -> list[str]:
    """The app's widget keys (`prefix` + name, as the pages bind them) that show the hidden controls: a config
    field's own widget; for `method`/`methods` every method's tick box; for `baseline` both baseline boxes."""
    keys: list[str] = []
    for control in sorted(hidden):
        if control in ("method", "methods"):
            keys.extend(prefix + name for name in method_names)
        elif control == "baseline":
            keys.extend([prefix + "baseline", prefix + "method.baseline"])
        else:
            keys.append(prefix + control)
    return keys


def hidden_css(widget_keys: list[str]) -> str:
    """A style sheet hiding the widgets with these keys (Streamlit gives each keyed element the class
    `st-key-<key>`, characters other than letters, digits, _ and - turned into -)."""
    rules = [
        f".st-key-{re.sub(r'[^a-zA-Z0-9_-]', '-', key.strip())} {{ display: none !important; }}" for key in widget_keys
    ]
    return f"<style>\n{chr(10).join(rules)}\n</style>" if rules else ""
