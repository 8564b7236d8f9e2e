"""What every results section shares: the machine it ran on, mean ± std cells, and replacing one section of the
results file while leaving the others' sections as they are."""

from __future__ import annotations

import os
import platform
import statistics
from pathlib import Path

from ..errors import WorkbenchError


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description() -> str:
    """One line: CPU model and core count, and the torch version."""
    import torch  # here, so the benchmarks that only time a server can use this module without importing torch

    return f"{cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}"


def mean_std(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    """'mean ± std' of the values times `scale` (sample std; just the value when there is one)."""
    scaled = [value * scale for value in values]
    if not scaled:
        return "–"
    if len(scaled) == 1:
        return f"{scaled[0]:.{digits}f}"
    return f"{statistics.mean(scaled):.{digits}f} ± {statistics.stdev(scaled):.{digits}f}"


def write_section(results_file: Path, heading: str, body: str, *, title: str = "# Results") -> None:
    """Put `heading` (a '## ' line) and `body` into the markdown file, replacing that section if it is there
    (up to the next '## ' heading) and appending it otherwise; the rest of the file is kept (a new file starts
    with `title`)."""
    try:
        text = results_file.read_text() if results_file.exists() else f"{title}\n"
    except OSError as error:
        raise WorkbenchError(f"output: cannot read {results_file}: {error.strerror}") from None
    lines = text.splitlines()
    section = [heading, "", *body.strip("\n").splitlines(), ""]
    if heading in lines:
        start = lines.index(heading)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines[start:end] = section
    else:
        if lines and lines[-1].strip():
            lines.append("")
        lines.extend(section)
    try:
        results_file.parent.mkdir(parents=True, exist_ok=True)
        results_file.write_text("\n".join(lines).rstrip("\n") + "\n")
    except OSError as error:
        raise WorkbenchError(f"output: cannot write {results_file}: {error.strerror}") from None


def write_whole_section(results_file: Path, section: str, *, title: str = "# Results") -> None:
    """`write_section` for a section given as one text whose first line is its '## ' heading."""
    heading, _, body = section.partition("\n")
    write_section(results_file, heading, body, title=title)
