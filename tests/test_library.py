"""The library face: ``import audioprep`` gives the verbs; the README's example runs as written."""

from __future__ import annotations

import ast
import enum
import importlib
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import audioprep
from audioprep.lazy import type_checking_imports

REPO = Path(__file__).resolve().parents[1]
VERBS = ("check_target", "inspect_file", "fix_targets", "upload_files", "submit_audio")


def _packages() -> list[str]:
    walked = pkgutil.walk_packages(audioprep.__path__, "audioprep.")
    return ["audioprep", *(info.name for info in walked if info.ispkg)]


def test_import_audioprep_lists_the_verbs_and_loads_nothing_else() -> None:
    code = "import sys, audioprep; print(audioprep.__all__); print(sorted(sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    listed, modules = proc.stdout.splitlines()
    for verb in (*VERBS, "run_pipeline", "validate_request", "RunOptions", "FixOptions"):
        assert repr(verb) in listed
    ours = [m for m in ast.literal_eval(modules) if m.startswith("audioprep")]
    assert ours == ["audioprep", "audioprep.lazy", "audioprep.version"]


@pytest.mark.parametrize("name", _packages())
def test_every_face_is_its_type_checking_imports(name: str) -> None:
    """``__all__`` is exactly what the package imports for type checkers, and every name in
    it resolves to the object its module defines."""
    package = importlib.import_module(name)
    declared = set(package.__all__)
    origins = type_checking_imports(package.__file__ or "")
    if origins:  # a lazy face
        assert declared - {"__version__"} == set(origins)
        for shown, (module, attribute) in origins.items():
            assert getattr(package, shown) is getattr(importlib.import_module(module), attribute)
    else:  # an eager one
        assert all(hasattr(package, n) for n in declared)
    assert declared, f"{name} exposes nothing"
    modules = {info.name for info in pkgutil.iter_modules(package.__path__)}
    assert not declared & modules, "a face name that is also a submodule's is shadowed by it"


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = audioprep.nope  # type: ignore[attr-defined]
    assert "run_pipeline" in dir(audioprep)


def _readme_example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Library", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1
    return blocks[0]


def _shown(value: object) -> str:
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    return repr(value)


def test_the_readme_library_example_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _readme_example()
    tree = ast.parse(source)
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert imports and all(
        (n.module if isinstance(n, ast.ImportFrom) else n.names[0].name) == "audioprep"
        for n in imports
    ), "the example imports only from audioprep"
    shutil.copytree(REPO / "samples", tmp_path / "samples")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    lines = source.splitlines()
    checked = 0
    for node in tree.body:
        segment = ast.get_source_segment(source, node) or ""
        if isinstance(node, ast.Expr):
            value = eval(compile(ast.Expression(node.value), "README", "eval"), namespace)
            comment = lines[(node.end_lineno or 1) - 1].partition("  # ")[2]
            assert comment.startswith(_shown(value)), (segment, _shown(value), comment)
            checked += 1
        else:
            exec(compile(ast.Module([node], []), "README", "exec"), namespace)
    assert checked >= 5
