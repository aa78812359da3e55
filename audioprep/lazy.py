"""Package faces that import on first use (PEP 562), so importing one module stays cheap.

A package names its face in ``__all__`` and imports each name under ``if TYPE_CHECKING:``
(read by type checkers and by people); :func:`face` reads those imports and gives the package
a ``__getattr__`` that imports the module behind a name the first time it is asked for. So
``from audioprep.audio import levels`` costs what ``levels`` costs, not all of ``audio/``, and
``import audioprep`` costs nothing until a verb is used.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable


def face(package: str) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, from its ``TYPE_CHECKING`` imports."""
    origins: dict[str, tuple[str, str]] = {}

    def table() -> dict[str, tuple[str, str]]:
        if not origins:
            origins.update(type_checking_imports(sys.modules[package].__file__ or ""))
        return origins

    def __getattr__(name: str) -> object:
        try:
            module, attribute = table()[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), attribute)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(table()))

    return __getattr__, __dir__


def type_checking_imports(path: str) -> dict[str, tuple[str, str]]:
    """``{name: (module, attribute)}`` of the ``from X import Y`` lines under
    ``if TYPE_CHECKING:`` in the file at ``path``."""
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), path)
    found: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module:
                    for alias in statement.names:
                        found[alias.asname or alias.name] = (statement.module, alias.name)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"
