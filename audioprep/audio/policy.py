"""Policies as data: a team's own severities for audioprep's problems (``[policy]``).

This module owns reading a ``[policy]`` table (``error``, ``warning``, ``ignore``: lists of
problem ids or globs such as ``wav.*``) and applying it to an inspection. Every id or glob must
name a known problem (:mod:`audioprep.audio.rules`); a misspelt one is a configuration error
that names the closest id. The API's own refusals stay errors: a policy can raise anything to
an error, and set or drop warnings and notes, but it cannot make the API accept a file.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from audioprep.audio.inspect import Inspection, refresh
from audioprep.audio.rules import RULES
from audioprep.errors import ConfigError
from audioprep.models import Problem, Severity

#: The keys of ``[policy]``, in the order they are applied (a later one wins).
KEYS = ("warning", "error", "ignore")


@dataclass(frozen=True, slots=True)
class Policy:
    """Problem ids (globs allowed) to raise to error, set to warning, or leave out."""

    error: tuple[str, ...] = ()
    warning: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str = "[policy]") -> Policy:
        """The policy a config table describes.

        Raises:
            ConfigError: an unknown key, a value that is not a list of strings, or an id or
                glob that names no known problem (the closest known id is suggested).
        """
        unknown = sorted(set(table) - set(KEYS))
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}",
                              hint="use " + ", ".join(KEYS))  # fmt: skip
        found = {key: _patterns(table.get(key, []), f"{where} {key}") for key in KEYS}
        return cls(error=found["error"], warning=found["warning"], ignore=found["ignore"])

    @property
    def empty(self) -> bool:
        """Whether the policy changes nothing."""
        return not (self.error or self.warning or self.ignore)

    def severity(self, problem: Problem) -> Severity | None:
        """What ``problem`` becomes (``None``: left out)."""
        if problem.severity is Severity.ERROR:
            return Severity.ERROR  # what the API refuses is not a matter of policy
        chosen: Severity | None = problem.severity
        for key, value in (("warning", Severity.WARNING), ("error", Severity.ERROR),
                           ("ignore", None)):  # fmt: skip
            if _matches(problem.id, getattr(self, key)):
                chosen = value
        return chosen

    def apply(self, item: Inspection) -> Inspection:
        """``item`` with its problems' severities set by the policy, and its verdict redone."""
        if self.empty:
            return item
        kept = []
        for problem in item.problems:
            severity = self.severity(problem)
            if severity is not None:
                kept.append(replace(problem, severity=severity))
        return refresh(item, tuple(kept))


def _patterns(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'{where}: must be a list of problem ids, e.g. ["level.clipping"]')
    for pattern in value:
        if not any(fnmatch.fnmatchcase(pid, pattern) for pid in RULES):
            raise ConfigError(
                f"{where}: {pattern!r} names no known problem", hint=_closest(pattern)
            )
    return tuple(value)


def _closest(pattern: str) -> str:
    close = difflib.get_close_matches(pattern, list(RULES), n=1, cutoff=0.4)
    known = "'audioprep rules' lists every id"
    return f"did you mean {close[0]!r}? {known}" if close else known


def _matches(pid: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(pid, pattern) for pattern in patterns)
