"""The house: at most 12 top-level modules, a docstring in every module, no import cycle.

``lint-imports`` (in CI) holds the layers of ``pyproject.toml``; this test holds what it does
not: the count, the docstrings, and no cycle among *modules* (a package importing its own
modules counts, lazy imports inside functions count, ``if TYPE_CHECKING:`` ones do not).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "audioprep"


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            hidden.update(id(n) for n in ast.walk(node))
    return hidden


def _imports(name: str) -> set[str]:
    """The package's modules that ``name`` imports, wherever the import stands."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hidden = _type_checking_nodes(tree)
    here = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


def test_at_most_twelve_modules_at_the_top() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 12, top


def test_every_module_says_what_it_owns() -> None:
    for name, path in MODULES.items():
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc, f"{name} has no docstring"
        assert len(doc.splitlines()) <= 15, f"{name}: design notes belong in docs/"


def test_no_import_cycle_among_modules() -> None:
    graph = {name: _imports(name) for name in MODULES}
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert graph["audioprep.run.pipeline"], "the walk found imports at all"


def test_the_command_line_starts_without_the_audio_readers() -> None:
    """Every command imports the CLI; the scanners, the decode and mutagen load only for the
    commands that read audio (they cost ~0.1 s of start-up)."""
    code = (
        "import sys, audioprep.cli; "
        "print(sorted(m for m in sys.modules if m.startswith(('mutagen', 'audioprep.audio.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['audioprep.audio.levels']"
