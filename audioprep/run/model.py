"""The results of a batch run, as data: what happened to every item at every stage.

:mod:`audioprep.run.pipeline` produces a :class:`RunReport`; :mod:`audioprep.run.reports` renders it
(text, JSON, JUnit, GitHub annotations, SARIF). Nothing here does work or I/O: these frozen
values are the contract between the two, and the JSON report is :meth:`RunReport.to_dict`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from audioprep.errors import ExitCode
from audioprep.models import Problem, Snapshot


class Stage(StrEnum):
    """The stages every item goes through, in order."""

    CHECK = "check"
    FETCH = "fetch"
    INSPECT = "inspect"
    FIX = "fix"
    UPLOAD = "upload"
    VERIFY = "verify"
    SUBMIT = "submit"


class StageStatus(StrEnum):
    """How one stage ended for one item."""

    DONE = "done"  # ran and succeeded
    REUSED = "reused"  # finished in an earlier run (state) or nothing to redo
    SKIPPED = "skipped"  # not needed or not asked for (e.g. fix on an ok file, submit off)
    FAILED = "failed"  # ran and failed: the item stops here


class ItemStatus(StrEnum):
    """The item's overall result."""

    OK = "ok"  # ready as it was (and hosted / submitted if asked)
    FIXED = "fixed"  # repaired by fix, then everything asked for succeeded
    REUSED = "reused"  # every stage's work was an earlier run's: nothing needed doing
    FAILED = "failed"  # some stage failed; ``failed_stage`` says which


class ExecutorName(StrEnum):
    """Where ``run``'s per-item work runs (``--executor``)."""

    LOCAL = "local"
    DASK = "dask"


class ReportFormat(StrEnum):
    """What ``--report`` can ask for."""

    TEXT = "text"
    JSON = "json"
    JUNIT = "junit"
    GITHUB = "github"
    SARIF = "sarif"
    HTML = "html"  # a page and an audio folder: written by audioprep.run.html, to a file


@dataclass(frozen=True, slots=True)
class StageOutcome:
    """One stage's result for one item; ``detail`` holds JSON-ready stage specifics.

    ``exit_code`` is set on a failure an error decided: the setup's own code (configuration,
    a service unavailable, a submission whose outcome is unknown) or :attr:`ExitCode.FINDINGS`.
    The JSON report names the setup's codes in ``detail.error_kind``.
    """

    stage: Stage
    status: StageStatus
    message: str = ""
    elapsed_s: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)
    exit_code: ExitCode | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        detail = self.detail
        if self.exit_code is not None:
            detail = {"error_kind": ERROR_KINDS.get(self.exit_code), **detail}
        return {
            "stage": self.stage.value,
            "status": self.status.value,
            "message": self.message,
            "elapsed_s": round(self.elapsed_s, 3),
            "detail": detail,
        }


#: How the JSON report names the exit codes of the setup's failures (``detail.error_kind``).
ERROR_KINDS: Mapping[ExitCode, str] = {
    ExitCode.CONFIG: "config",
    ExitCode.UNAVAILABLE: "unavailable",
    ExitCode.UNKNOWN_OUTCOME: "unknown",
}


@dataclass(frozen=True, slots=True)
class CallResult:
    """What one call did (from postbacks or lookups)."""

    number: str
    message_id: str | None
    status: str | None
    error: str | None = None
    answered: bool = False
    duration_s: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "number": self.number,
            "message_id": self.message_id,
            "status": self.status,
            "error": self.error,
            "answered": self.answered,
            "duration_s": self.duration_s,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemReport:
    """Everything about one source item (a file, a URL).

    ``source`` is what the user named (URLs redacted); ``path`` is the local file judged
    (relative to the working directory where possible: reports key annotations on it).
    ``problems`` are the inspection's findings on the *source*; ``output_verdict`` is the
    verdict of the file actually hosted/sent.
    """

    source: str
    path: str | None
    status: ItemStatus
    failed_stage: Stage | None = None
    error: str | None = None
    verdict: str | None = None
    api_code: int | None = None
    problems: tuple[Problem, ...] = ()
    output: str | None = None
    output_verdict: str | None = None
    actions: tuple[str, ...] = ()
    before: Snapshot | None = None
    after: Snapshot | None = None
    url: str | None = None
    sha256: str | None = None
    job_ids: tuple[str, ...] = ()
    api_job_ids: tuple[str, ...] = ()
    submit_outcome: str | None = None
    calls: tuple[CallResult, ...] = ()
    stages: tuple[StageOutcome, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of one item in the ``json`` report."""
        return {
            "source": self.source,
            "path": self.path,
            "status": self.status.value,
            "failed_stage": self.failed_stage.value if self.failed_stage else None,
            "error": self.error,
            "verdict": self.verdict,
            "api_code": self.api_code,
            "problems": [p.to_dict() for p in self.problems],
            "output": self.output,
            "output_verdict": self.output_verdict,
            "actions": list(self.actions),
            "before": self.before.to_dict() if self.before else None,
            "after": self.after.to_dict() if self.after else None,
            "url": self.url,
            "sha256": self.sha256,
            "job_ids": list(self.job_ids),
            "api_job_ids": list(self.api_job_ids),
            "submit_outcome": self.submit_outcome,
            "calls": [c.to_dict() for c in self.calls],
            "stages": [s.to_dict() for s in self.stages],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RunReport:
    """A whole run: items in input order, plus what was asked."""

    items: tuple[ItemReport, ...]
    command: str = "run"  # "run" or "lint"
    stages_requested: tuple[Stage, ...] = ()
    dry_run: bool = False
    interrupted: bool = False
    elapsed_s: float = 0.0

    def counts(self) -> dict[str, int]:
        """Items per :class:`ItemStatus` value (every status present, zero included)."""
        return {s.value: sum(i.status is s for i in self.items) for s in ItemStatus}

    @property
    def ok(self) -> bool:
        """True when no item failed and the run was not interrupted."""
        return not self.interrupted and all(i.status is not ItemStatus.FAILED for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        """The ``json`` report."""
        return {
            "command": self.command,
            "ok": self.ok,
            "dry_run": self.dry_run,
            "interrupted": self.interrupted,
            "stages": [s.value for s in self.stages_requested],
            "summary": self.counts(),
            "elapsed_s": round(self.elapsed_s, 3),
            "items": [i.to_dict() for i in self.items],
        }
