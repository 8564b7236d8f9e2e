"""Showing user-given text safely: markdown's special characters escaped, so a run name or a link's value is
shown as the characters it holds, never as an image, a link or a formula; long values cut short (`clip`)."""

from __future__ import annotations

import html
import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def escape_markdown(text: object) -> str:
    """`text` with every markdown (and Streamlit LaTeX `$`) special character backslash-escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


ECHO_LIMIT = 40


def clip(text: object, limit: int = ECHO_LIMIT) -> str:
    """`text` cut to its first `limit` characters plus an ellipsis when longer (a user's value echoed back)."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "…"


def escape_html(text: object) -> str:
    """`text` with `&`, `<` and `>` as HTML entities: plotly draws a subset of HTML in trace names, hover text and
    axis labels, so a run name there is shown as the characters it holds, never as markup or a link."""
    return html.escape(str(text), quote=False)
