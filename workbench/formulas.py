"""A method's loss formula (its card's LaTeX) broken into lines that fit a card at projector widths: one equation
per line where the formula lists several (joined by `,\\ ` or `,\\quad`), and a long equation split after its sign
at the `+` and `-` between its terms, aligned under its `=`. Only breaks outside any brackets are used."""

from __future__ import annotations

import re

CARD_WIDTH = 46  # visible characters of display math that fit a method card at 1024 px
_SEPARATOR = re.compile(r",\s*\\quad\s*|,\\ \s*|\\quad\s+")
_COMMAND = re.compile(r"\\[A-Za-z]+")


def formula_lines(latex: str, width: int = CARD_WIDTH) -> list[str]:
    """The formula as display-math strings, each about `width` visible characters or fewer where the formula has
    places to break."""
    return [_wrap(equation.strip(), width) for equation in _split_top_level(latex, _SEPARATOR) if equation.strip()]


def visible_length(latex: str) -> int:
    """A rough count of the characters a piece of LaTeX shows: a command counts as one, braces and script marks as
    none."""
    text = _COMMAND.sub("x", latex)
    return sum(1 for char in text if char not in "{}_^ ")


def _wrap(equation: str, width: int) -> str:
    """One equation, as an aligned block of lines when it is longer than `width`."""
    if visible_length(equation) <= width or "=" not in equation:
        return equation
    head, _, body = equation.partition("=")
    terms = _terms(body)
    lines: list[str] = []
    for term in terms:
        room = width - (visible_length(head) + 1 if len(lines) == 1 else 2)  # the first line carries "head ="
        if lines and visible_length(lines[-1] + term) <= room:
            lines[-1] += term
        else:
            lines.append(term)
    if len(lines) == 1:
        return equation
    rows = [f"{head.rstrip()} &= {lines[0].strip()}"] + [f"&\\quad {line.strip()}" for line in lines[1:]]
    return "\\begin{aligned}" + " \\\\ ".join(rows) + "\\end{aligned}"


def _terms(body: str) -> list[str]:
    """The body cut before each top-level binary + or - (each piece keeps its sign)."""
    cuts = [0]
    depth = 0
    previous = ""
    for index, char in enumerate(body):
        depth += _depth_change(body, index)
        if char in "+-" and depth == 0 and previous not in ("", "(", "{", "=", ",", "^", "_") and index > 0:
            cuts.append(index)
        if not char.isspace():
            previous = char
    cuts.append(len(body))
    return [body[start:end] for start, end in zip(cuts, cuts[1:]) if body[start:end].strip()]


def _split_top_level(latex: str, separator: re.Pattern[str]) -> list[str]:
    """`latex` cut at the matches of `separator` that lie outside every bracket."""
    pieces, start, depth, index = [], 0, 0, 0
    while index < len(latex):
        match = separator.match(latex, index) if depth == 0 else None
        if match and match.end() > index:
            pieces.append(latex[start:index])
            start = index = match.end()
            continue
        depth += _depth_change(latex, index)
        index += 1
    pieces.append(latex[start:])
    return pieces


def _depth_change(latex: str, index: int) -> int:
    """+1 at an opening bracket ({, (, [, \\langle), -1 at a closing one, 0 elsewhere; escaped braces count too."""
    char = latex[index]
    if char in "{([":
        return 1
    if char in "})]":
        return -1
    if latex.startswith("\\langle", index):
        return 1
    if latex.startswith("\\rangle", index):
        return -1
    return 0
