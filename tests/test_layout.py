"""The package's shape (docs/architecture.md): one subpackage per stage, imports only down the
pipeline, no import circle, and modules small enough to read in one sitting."""

import ast
from pathlib import Path

import cors_matrix

PACKAGE = Path(cors_matrix.__file__).parent
# the stages in pipeline order; a module imports only from its own stage and those before it
STAGES = ("spec", "scenario", "serve", "engines", "judge", "run", "report", "check")
TOP = ("cli", "doctor", "plugin", "__main__")  # entry points, above every stage
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules this one imports (relative imports resolved; a name imported from
    a package counts as that package's submodule when there is one)."""
    here = name.split(".") if name else []
    if path.name != "__init__.py":
        here = here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[: len(here) - node.level + 1]
            target = ".".join([*base, *([node.module] if node.module else [])])
            if target in modules:
                found.add(target)
            for alias in node.names:
                sub = f"{target}.{alias.name}".lstrip(".")
                if sub in modules:
                    found.add(sub)
    found.discard(name)
    return found


def _stage(module: str) -> int:
    head = module.split(".")[0]
    if head in STAGES:
        return STAGES.index(head)
    return len(STAGES) if head in TOP else -1  # the root package (PACKAGE only): below all


def test_every_module_belongs_to_a_stage_or_the_top():
    strays = [m for m in _modules() if m and m.split(".")[0] not in (*STAGES, *TOP)]
    assert strays == []


def test_imports_only_go_down_the_pipeline():
    modules = _modules()
    upward = [
        f"{name} imports {target}"
        for name, path in modules.items()
        for target in _imports(name, path, modules)
        if target and _stage(target) > _stage(name)
    ]
    assert upward == []


def test_no_import_circle():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    circles = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                circles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    # a package's __init__ re-exporting its own modules is no circle
    circles = [c for c in circles if not _init_reexport(c)]
    assert circles == []


def _init_reexport(circle: str) -> bool:
    names = circle.split(" -> ")
    return any(b.startswith(a + ".") for a, b in zip(names, names[1:], strict=False))


def test_no_module_over_the_size_one_reads_in_a_sitting():
    long = {name: n for name, path in _modules().items()
            if (n := len(path.read_text().splitlines())) > MAX_LINES}  # fmt: skip
    assert long == {}
