"""Human-readable rendering of results: short, aligned, naming the rule and the fix.

Pure functions from result values to text; the CLI prints what they return. Machine output is
each result's ``to_dict()`` dumped as JSON, never built here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: the CLI imports this module for every command, keep it light
    from audioprep.api import Answer
    from audioprep.audio.inspect import Inspection
    from audioprep.check import CheckResult
    from audioprep.doctor import DoctorReport
    from audioprep.fix.model import FixResult


def to_json(data: object) -> str:
    """The JSON text every ``--json`` option prints."""
    return json.dumps(data, indent=2, ensure_ascii=False)


def _width(labels: Iterable[str], cap: int = 48) -> int:
    return min(max((len(label) for label in labels), default=0), cap)


def check_results(results: Sequence[CheckResult]) -> str:
    """One line per target (and one per further problem), then a summary."""
    width = _width(r.target for r in results)
    lines = []
    for result in results:
        mark = "ok  " if result.ok else "FAIL"
        code = f"{result.api_code:>5}" if result.api_code is not None else "     "
        first, *rest = result.problems or (None,)
        detail = f"{first.id}: {first.message}" if first else "legal name"
        lines.append(f"{mark} {result.target:<{width}} {code}  {detail}")
        lines.extend(f"{'':{width + 12}}  {p.id}: {p.message}" for p in rest)
    failed = sum(not r.ok for r in results)
    lines.append(f"{len(results)} checked: {len(results) - failed} ok, {failed} with problems")
    return "\n".join(lines)


def answer(result: Answer) -> str:
    """The validator's answer, as the API would give it, plus any silent drops."""
    head = "valid" if result.valid else "invalid"
    lines = [f"{head}: HTTP {result.http_status}, status_code {int(result.code)}"]
    lines.append(f"  {result.description}")
    lines.extend(f"  note: {note}" for note in result.notes)
    return "\n".join(lines)


def doctor(report: DoctorReport) -> str:
    """Aligned check list; failed required checks are marked."""
    width = _width(c.name for c in report.checks)
    lines = []
    for check in report.checks:
        mark = "ok  " if check.ok else ("FAIL" if check.required else "--  ")
        lines.append(f"{mark} {check.name:<{width}}  {check.detail}")
    lines.append("all required checks passed" if report.ok else "some required checks FAILED")
    return "\n".join(lines)


def _facts(item: Inspection) -> str:
    parts = [item.codec or item.format or "?"]
    if item.sample_rate:
        parts.append(f"{item.sample_rate / 1000:g}kHz")
    if item.channels:
        parts.append({1: "mono", 2: "stereo"}.get(item.channels, f"{item.channels}ch"))
    if item.duration_s is not None:
        parts.append(f"{item.duration_s:.1f}s")
    parts.append(_size(item.size_bytes))
    return " ".join(parts)


def _size(size: int) -> str:
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f}MB"
    return f"{size / 1000:.0f}kB" if size >= 1000 else f"{size}B"


def inspections(items: Sequence[Inspection], *, strict: bool = False) -> str:
    """One line per file (verdict, key facts, first problem), then a summary."""
    width = _width(i.path for i in items)
    facts = [_facts(i) for i in items]
    fwidth = _width(facts, cap=36)
    lines = []
    for item, fact in zip(items, facts, strict=True):
        first = item.problems[0] if item.problems else None
        detail = f"{first.severity.value} {first.id}: {first.message}" if first else ""
        more = f" (+{len(item.problems) - 1} more)" if len(item.problems) > 1 else ""
        mark = item.verdict.value if item.passes(strict=strict) or strict is False else "warn"
        lines.append(f"{mark:<8} {item.path:<{width}}  {fact:<{fwidth}}  {detail}{more}".rstrip())
    from audioprep.audio.inspect import Verdict

    counts = {v: sum(i.verdict is v for i in items) for v in Verdict}
    summary = ", ".join(f"{n} {v.value}" for v, n in counts.items())
    lines.append(f"{len(items)} inspected: {summary}")
    return "\n".join(lines)


def fix_results(results: Sequence[FixResult], *, dry_run: bool = False) -> str:
    """One aligned line per input (status, source -> output, actions, verdict or error), then
    a summary."""
    width = _width(r.source for r in results)
    owidth = _width((r.output or "-" for r in results), cap=40)
    lines = []
    for r in results:
        mark = r.status.value if r.ok else "FAILED"
        if r.planned:
            mark = f"{mark}?"
        what = ", ".join(r.actions) or "-"
        tail = f"verdict {r.verdict}" if r.verdict else ("planned" if r.planned else "")
        if r.error:
            tail = f"error: {r.error}"
        out = r.output or "-"
        lines.append(f"{mark:<10} {r.source:<{width}} -> {out:<{owidth}}  {what}  {tail}".rstrip())
    counts = {
        s: sum(r.status.value == s for r in results) for s in ("fixed", "unchanged", "failed")
    }
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    note = " (dry run: nothing written)" if dry_run else ""
    lines.append(f"{len(results)} file(s): {summary}{note}")
    return "\n".join(lines)
