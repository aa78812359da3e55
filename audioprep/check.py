"""Checking names and URLs against the API's rules, target by target.

A target is a URL (anything with ``://``) or a file name or path (only the base name matters: the
file will be hosted under a new key). The rules themselves live in :mod:`audioprep.api`; this
module turns rule violations into :class:`~audioprep.models.Problem` values and a suggestion.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from audioprep import api
from audioprep.models import Problem, Severity
from audioprep.net.urls import is_url, without_userinfo


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict on one name or URL."""

    target: str
    api_code: int | None
    problems: tuple[Problem, ...]
    suggested_name: str | None

    @property
    def ok(self) -> bool:
        """True when nothing the API would refuse was found (warnings allowed)."""
        return not any(p.severity is Severity.ERROR for p in self.problems)

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of ``audioprep check --json``."""
        return {
            "target": self.target,
            "ok": self.ok,
            "api_code": self.api_code,
            "problems": [p.to_dict() for p in self.problems],
            "suggested_name": self.suggested_name,
        }


def check_target(target: str) -> CheckResult:
    """Check one file name, path or URL against the API's naming rules."""
    if is_url(target):
        violations = api.check_audio_url(target)
        name = api.url_file_name(target)
        extra = _url_notes(target)
    else:
        name = os.path.basename(target.rstrip("/\\")) or target
        violations = api.check_file_name(name)
        extra = _missing(target)
    problems = [_problem(v) for v in violations]
    problems.extend(extra)
    problems.extend(_extension_case(name, violations))
    renamed = any(p.id.startswith("name.") for p in problems)
    return CheckResult(
        target=without_userinfo(target),  # a URL's password is never shown
        api_code=int(violations[0].code) if violations else None,
        problems=tuple(problems),
        suggested_name=api.safe_name(name) if renamed else None,
    )


def check_targets(targets: list[str]) -> list[CheckResult]:
    """Check several targets, in order; a directory is walked for audio-looking files, as
    ``inspect`` walks it."""
    from audioprep.audio.inspect import expand_targets  # here: every command imports check

    return [check_target(t) for t in expand_targets(targets)]


def _missing(target: str) -> list[Problem]:
    """A path with a folder part that names no file: its name is still judged, and the user
    told plainly that nothing is there (a bare name is only a name)."""
    folder = os.path.dirname(target)
    if not folder or os.path.lexists(target):
        return []
    where = "its folder does not exist" if not os.path.isdir(folder) else "not in that folder"
    return [
        Problem(
            "file.missing",
            Severity.WARNING,
            f"no such file: {target} ({where}); only the name was checked",
        )
    ]


def _problem(violation: api.RuleViolation) -> Problem:
    message = violation.message
    if violation.fix:
        message = f"{message} (fix: {violation.fix})"
    return Problem(violation.id, Severity.ERROR, message, fixable=True)


def _url_notes(url: str) -> list[Problem]:
    parts = api.split_url(url)
    notes: list[Problem] = []
    if parts is None:
        return notes  # the rules already refuse it (url.scheme)
    if parts.query:
        notes.append(
            Problem(
                "url.query",
                Severity.WARNING,
                "the URL has a query string (a presigned URL?): it may expire before every call"
                " is placed, and a new signature defeats the provider's cache",
            )
        )
    if parts.scheme.lower() == "http":
        notes.append(Problem("url.plain_http", Severity.INFO, "the URL uses plain http"))
    return notes


def _extension_case(name: str, violations: list[api.RuleViolation]) -> list[Problem]:
    _, ext = api.split_name(name)
    if violations or ext == ext.lower():
        return []
    return [
        Problem(
            "name.extension_case",
            Severity.WARNING,
            f"'{name}': upper-case extension; some servers match extensions case-sensitively"
            f" (suggest '{api.safe_name(name)}')",
            fixable=True,
        )
    ]
