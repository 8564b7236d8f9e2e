"""Ready-made run configurations shipped as YAML files beside this module (`kdw presets`, `kdw train --config`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PRESETS_DIR = Path(__file__).parent


@dataclass(frozen=True)
class Preset:
    """A shipped config file: its name (the file stem), its first comment line and where it lies."""

    name: str
    description: str
    path: Path


def list_presets() -> list[Preset]:
    """Every shipped preset, sorted by name."""
    presets = []
    for path in sorted(PRESETS_DIR.glob("*.yaml")):
        comments = [line.lstrip("#").strip() for line in path.read_text().splitlines() if line.startswith("#")]
        presets.append(Preset(path.stem, comments[0] if comments else "", path))
    return presets
