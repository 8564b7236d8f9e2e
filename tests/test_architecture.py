"""The house's shape (ARCHITECTURE.md): workbench's layers import only layers below them, no import circles, and no
source file over 400 lines. Imports are read from the source (function-level ones included, TYPE_CHECKING blocks
not: they never run)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "workbench"
MAX_LINES = 400

# Bottom to top; a module (a top-level module of workbench, or a subpackage as a whole) imports only modules of
# lower layers. Keep in step with ARCHITECTURE.md's drawing.
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "errors",
        "paths",
        "concurrency",
        "lazy",
        "text",
        "formulas",
        "schedules",
        "evidence",
        "stability",
        "presets",
        "pretrained",
    ),
    ("data", "quant", "store_schema"),
    ("models", "store_records"),
    ("fields", "glyphs", "store"),
    ("methods",),
    ("config",),
    ("engine",),
    ("uploads", "describe"),
    ("teachers", "comparison", "interactions", "classroom", "trained_students"),
    ("runner", "glyph_teacher", "budgets", "previews"),
    ("generations", "grid_runner"),
    ("executor", "reproduce"),
    ("sweep", "viz"),
    ("lessons", "widgets"),
    ("demo", "app_state", "cli_common"),
    ("cli_runs", "cli_experiments"),
    ("cli_commands",),
    ("cli",),
    ("workbench",),
)
LAYER_OF = {name: level for level, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The workbench modules a source file imports (outside TYPE_CHECKING blocks)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def add(target: str) -> None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("workbench"):
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("workbench"):
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    add(full if full in modules else target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: imported_modules(path, set(files)) for name, path in files.items()}


def unit(module: str) -> str:
    """The layer table's name for a module: the top-level module or subpackage of workbench it belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_every_workbench_module_has_a_layer():
    units = {unit(name) for name in import_graph()}
    assert sorted(units - set(LAYER_OF)) == []


def test_layers_import_only_layers_below_them():
    upward = sorted(
        f"{source} imports {target}"
        for source, targets in import_graph().items()
        for target in targets
        if unit(source) != unit(target) and LAYER_OF[unit(target)] >= LAYER_OF[unit(source)]
    )
    assert upward == []


def test_no_import_circles():
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def strongly_connect(node: str) -> None:  # Tarjan
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                strongly_connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            strongly_connect(node)
    assert circles == []


def test_no_source_file_is_over_400_lines():
    sources = [*PACKAGE.rglob("*.py"), *(ROOT / "pages").glob("*.py"), *(ROOT / "notebooks").glob("*.py")]
    long = sorted(
        f"{path.relative_to(ROOT)}: {lines}"
        for path in sources
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    )
    assert long == []
