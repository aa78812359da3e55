"""``audioprep lint``: names checked and audio inspected, as a :class:`RunReport` for CI.

This module owns the mapping from inspections to run items: lint is ``run`` limited to the
check and inspect stages, so its results render through the same reports (text, JSON, JUnit,
GitHub annotations, SARIF) without depending on the pipeline. An item is ``ok`` when its
verdict is ``ok`` (and, with ``strict``, it has no warnings); otherwise it failed, at ``check``
when only its name (or URL) is wrong and at ``inspect`` when the audio itself is.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from audioprep.audio.inspect import Inspection, InspectOptions, Verdict, inspect_targets
from audioprep.audio.policy import Policy
from audioprep.models import Problem, Severity
from audioprep.net.urls import is_url
from audioprep.run.model import ItemReport, ItemStatus, RunReport, Stage, StageOutcome, StageStatus

#: Problem ids the check stage owns: the name and the URL, not the audio.
CHECK_PREFIXES = ("name.", "url.")
#: Inspection fields the item already carries; the rest goes into the inspect stage's detail.
_NOT_FACTS = frozenset({"path", "verdict", "api_code", "problems"})


def lint(
    paths: Sequence[str],
    *,
    quick: bool = False,
    strict: bool = False,
    policy: Policy | None = None,
) -> RunReport:
    """Check and inspect files, directories (walked for audio-looking files) or URLs.

    ``quick`` skips the full decode (headers and structure only); ``strict`` makes warnings
    fail too; ``policy`` (the config's ``[policy]``) sets the severities first. Items keep the
    order :func:`~audioprep.audio.inspect.inspect_targets` gives.
    """
    started = time.perf_counter()
    found = inspect_targets(list(paths), InspectOptions(quick=quick))
    inspections = [policy.apply(item) for item in found] if policy else found
    items = tuple(lint_item(i, quick=quick, strict=strict) for i in inspections)
    return RunReport(
        items=items,
        command="lint",
        stages_requested=(Stage.CHECK, Stage.INSPECT),
        elapsed_s=time.perf_counter() - started,
    )


def as_report(
    inspections: Sequence[Inspection], *, quick: bool = False, strict: bool = False
) -> RunReport:
    """Inspections already made (``audioprep inspect``) as a lint report."""
    items = tuple(lint_item(i, quick=quick, strict=strict) for i in inspections)
    return RunReport(items=items, command="inspect", stages_requested=(Stage.CHECK, Stage.INSPECT))


def lint_item(inspection: Inspection, *, quick: bool = False, strict: bool = False) -> ItemReport:
    """One inspection as a run item with its check and inspect stages."""
    failing = _failing(inspection, strict=strict)
    of_name = [p for p in failing if p.id.startswith(CHECK_PREFIXES)]
    of_audio = [p for p in failing if not p.id.startswith(CHECK_PREFIXES)]
    url = is_url(inspection.path)
    source = inspection.path if url else relative_path(inspection.path)
    failed_stage = (Stage.INSPECT if of_audio else Stage.CHECK) if failing else None
    return ItemReport(
        source=source,
        path=None if url else source,
        status=ItemStatus.FAILED if failing else ItemStatus.OK,
        failed_stage=failed_stage,
        error=_error(inspection, failing) if failing else None,
        verdict=inspection.verdict.value,
        api_code=inspection.api_code,
        problems=inspection.problems,
        before=inspection.snapshot(),
        stages=(_check_stage(of_name), _inspect_stage(inspection, of_audio, quick=quick)),
    )


def relative_path(path: str) -> str:
    """``path`` relative to the working directory when it lies below it, else as given."""
    if not os.path.isabs(path):
        return path
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if rel.startswith(os.pardir) else rel


def _failing(inspection: Inspection, *, strict: bool) -> tuple[Problem, ...]:
    """What keeps the item from passing: its errors, or with ``strict`` its warnings."""
    if inspection.passes(strict=strict):
        return ()
    errors = inspection.errors
    if errors:
        return errors
    return tuple(p for p in inspection.problems if p.severity is Severity.WARNING)


def _error(inspection: Inspection, failing: Sequence[Problem]) -> str:
    if inspection.verdict is Verdict.OK:
        return f"{len(failing)} warning(s), and --strict makes warnings fail"
    code = (
        f"; the API would answer {inspection.api_code}" if inspection.api_code is not None else ""
    )
    return f"verdict {inspection.verdict.value}: {len(failing)} error(s){code}"


def _check_stage(failing: Sequence[Problem]) -> StageOutcome:
    if failing:
        first = failing[0]
        return StageOutcome(Stage.CHECK, StageStatus.FAILED, f"{first.id}: {first.message}")
    return StageOutcome(Stage.CHECK, StageStatus.DONE, "legal name")


def _inspect_stage(
    inspection: Inspection, failing: Sequence[Problem], *, quick: bool
) -> StageOutcome:
    facts = inspection.to_dict()
    detail = {
        k: v for k, v in facts.items() if k not in ("path", "verdict", "api_code", "problems")
    }
    message = f"verdict {inspection.verdict.value}" + (" (quick: not decoded)" if quick else "")
    if failing:
        first = failing[0]
        message = f"{message}; {first.id}: {first.message}"
    status = StageStatus.FAILED if failing else StageStatus.DONE
    return StageOutcome(Stage.INSPECT, status, message, detail=detail)
