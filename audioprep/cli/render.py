"""Human-readable rendering of results: short, aligned, naming the rule and the fix.

Pure functions from result values to text; the CLI prints what they return. Machine output is
each result's ``to_dict()`` dumped as JSON, never built here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from audioprep import jsonio
from audioprep.net.urls import redact_url, without_path

if TYPE_CHECKING:  # types only: the CLI imports this module for every command, keep it light
    from audioprep.api import Answer
    from audioprep.audio.inspect import Inspection
    from audioprep.audio.rules import Rule
    from audioprep.check import CheckResult
    from audioprep.doctor import DoctorReport
    from audioprep.fix.model import FixResult
    from audioprep.fix.preview import PreviewResult
    from audioprep.fix.profiles import Profile
    from audioprep.hosting.upload import UploadResult
    from audioprep.send.status import CallSummary, StatusReport
    from audioprep.send.submit import JobOutcome


def to_json(data: object) -> str:
    """The JSON text every ``--json`` option prints."""
    return jsonio.dumps(data, indent=2)


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
    """``mp3 44.1kHz stereo 5.6s 90kB`` (the codec where the format is a container)."""
    from dataclasses import replace

    from audioprep.run.layout import snapshot_text

    shot = replace(item.snapshot(), format=item.codec or item.format)
    return snapshot_text(shot, unit_gap="", levels=False)


def inspections(items: Sequence[Inspection], *, strict: bool = False, verbose: bool = False) -> str:
    """One line per file (verdict, key facts, first problem), then a summary; ``verbose``
    lists every problem under its file."""
    width = _width(i.path for i in items)
    facts = [_facts(i) for i in items]
    fwidth = _width(facts, cap=36)
    lines = []
    for item, fact in zip(items, facts, strict=True):
        first = item.problems[0] if item.problems else None
        detail = f"{first.severity.value} {first.id}: {first.message}" if first else ""
        more = f" (+{len(item.problems) - 1} more)" if len(item.problems) > 1 else ""
        mark = item.verdict.value if item.passes(strict=strict) or strict is False else "warn"
        if verbose:
            lines.append(f"{mark:<8} {item.path:<{width}}  {fact}".rstrip())
            lines.extend(f"    {p.severity.value} {p.id}: {p.message}" for p in item.problems)
            continue
        lines.append(f"{mark:<8} {item.path:<{width}}  {fact:<{fwidth}}  {detail}{more}".rstrip())
    from audioprep.audio.inspect import Verdict

    counts = {v: sum(i.verdict is v for i in items) for v in Verdict}
    summary = ", ".join(f"{n} {v.value}" for v, n in counts.items())
    lines.append(f"{len(items)} inspected: {summary}")
    return "\n".join(lines)


def fix_results(
    results: Sequence[FixResult], *, dry_run: bool = False, verbose: bool = False
) -> str:
    """One aligned line per input (status, source -> output, actions, verdict or error), then
    a summary; ``verbose`` adds before -> after and what was done, in words."""
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
        lines.extend(_fix_details(r) if verbose else [])
    counts = {
        s: sum(r.status.value == s for r in results) for s in ("fixed", "unchanged", "failed")
    }
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    note = " (dry run: nothing written)" if dry_run else ""
    lines.append(f"{len(results)} file(s): {summary}{note}")
    return "\n".join(lines)


def _fix_details(result: FixResult) -> list[str]:
    from audioprep.run.layout import snapshot_text

    lines = [f"    before: {snapshot_text(result.before)}"] if result.before else []
    lines += [f"    after:  {snapshot_text(result.after)}"] if result.after else []
    return lines + [f"    did: {words}" for words in result.details]


def rules(found: Sequence[Rule]) -> str:
    """One line per problem id: id, usual severity, meaning."""
    width = _width(r.id for r in found)
    lines = [f"{r.id:<{width}}  {r.severity.value:<7}  {r.meaning}" for r in found]
    lines.append(f"{len(found)} problem ids; a [policy] table sets their severity")
    return "\n".join(lines)


def profiles(found: Sequence[Profile]) -> str:
    """One block per profile: name (and what it extends), then its values."""
    lines = []
    for p in found:
        origin = "built-in" if p.extends is None else f"config, extends {p.extends}"
        lines.append(f"{p.name}  ({origin}): {p.description}")
        shape = [f"{k}={v}" for k, v in p.to_dict().items() if k not in _NOT_SHOWN and v]
        lines.append("    " + (" ".join(shape) or "the input's format, rate and channels"))
    return "\n".join(lines)


_NOT_SHOWN = frozenset({"name", "builtin", "extends", "description"})


def previews(results: Sequence[PreviewResult]) -> str:
    """One line per source (the preview written, or why not), then a summary."""
    width = _width(r.source for r in results)
    lines = []
    for r in results:
        what = f"-> {r.output}  ({r.codec.encoder}, 8 kHz mono)" if r.ok else f"error: {r.error}"
        lines.append(f"{'ok' if r.ok else 'FAILED':<6} {r.source:<{width}}  {what}")
    failed = sum(not r.ok for r in results)
    lines.append(f"{len(results)} preview(s): {len(results) - failed} written, {failed} failed")
    return "\n".join(lines)


def upload_results(results: Sequence[UploadResult]) -> str:
    """One aligned line per file, then a summary. URLs are shown without their query string,
    so a presigned signature never reaches a terminal; the JSON output carries it."""
    width = min(max((len(r.file) for r in results), default=0), 48)
    pad = " " * 7
    lines: list[str] = []
    for r in results:
        if r.ok:
            shown = redact_url(r.url or "") + ("?<signature hidden>" if r.expires_at else "")
            mode = r.public_mode.value if r.public_mode else ""
            verb = "reused" if r.reused else "uploaded"
            lines.append(f"ok   {r.file:<{width}}  {verb:<8} verified {mode:<7}  {shown}")
        else:
            lines.append(f"FAIL {r.file:<{width}}  {r.error}")
        lines.extend(f"{pad}- {p.id}: {p.message}" for p in r.problems)
        for i, text in enumerate((r.hint or "").splitlines()):
            lines.append(f"{pad}{'hint: ' if i == 0 else '      '}{text}")
        lines.extend(f"{pad}note: {w}" for w in r.warnings)
    ok = [r for r in results if r.ok]
    reused = sum(r.reused for r in ok)
    lines.append(
        f"{len(results)} file(s): {len(ok)} hosted and verified "
        f"({len(ok) - reused} uploaded, {reused} reused), {len(results) - len(ok)} failed"
    )
    return "\n".join(lines)


def submit_outcomes(outcomes: Sequence[JobOutcome]) -> str:
    """One block per job (payload for a dry run), then a count per outcome."""
    lines: list[str] = []
    for item in outcomes:
        lines.extend(_render_one(item))
    counts: dict[str, int] = {}
    for item in outcomes:
        counts[item.outcome.value] = counts.get(item.outcome.value, 0) + 1
    summary = ", ".join(f"{n} {name}" for name, n in counts.items())
    lines.append(f"{len(outcomes)} job(s): {summary}")
    return "\n".join(lines)


def shown_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` fit for a terminal: the audio URL without query string or user-info (a
    presigned signature), the callback URL without its path and query as well (a postback
    receiver's secret may be its last path segment, as ``postbacks serve`` takes it)."""
    shown = dict(payload)
    content = shown.get("voice_content")
    audio = content.get("audio_file_url") if isinstance(content, Mapping) else None
    if isinstance(content, Mapping) and isinstance(audio, str):
        shown["voice_content"] = {**content, "audio_file_url": redact_url(audio)}
    callback = shown.get("callback_url")
    if isinstance(callback, str):
        shown["callback_url"] = without_path(callback)
    return shown


def _render_one(item: JobOutcome) -> list[str]:
    from audioprep.send.submit import Outcome  # loaded already: the job was just submitted

    mark = item.outcome.value.upper() if item.outcome is Outcome.UNKNOWN else item.outcome.value
    head = f"{mark:<11} {item.job_id:<15} {item.destinations:>5} destination(s)"
    if item.api_job_id:
        head += f"  api_job_id {item.api_job_id}"
    if item.attempts > 1:
        head += f"  ({item.attempts} attempts)"
    lines = [head]
    if item.payload is not None:
        lines.extend(_render_dry_run(item, item.payload))
    elif item.description:
        code = f" ({item.status_code})" if item.status_code not in (None, 0) else ""
        lines.append(f"  {item.description}{code}")
    lines.extend(f"  note: {note}" for note in item.notes)
    if item.hint:
        lines.append(f"  hint: {item.hint}")
    return lines


def _render_dry_run(item: JobOutcome, payload: Mapping[str, Any]) -> list[str]:
    text = jsonio.dumps(shown_payload(payload), indent=2)
    verdict = "valid" if item.status_code == 0 else "invalid"
    return [
        "  payload (sent as compact JSON; URLs shown without secrets, --json has them whole):",
        *("    " + line for line in text.splitlines()),
        f"  validator: {verdict}: HTTP {item.http_status}, status_code {item.status_code}",
        f"  the API would answer: {item.description}",
        "  dry run: nothing was sent",
    ]


def status_report(report: StatusReport) -> str:
    """A block per job, a line per destination, then totals."""
    from audioprep.send.journal import State  # loaded already by the status query

    lines: list[str] = []
    for job in report.jobs:
        state = f"{job.state} (journal)" if job.state else "not in the journal"
        lines.append(f"job {job.job_id or '?'}  api_job_id {job.api_job_id or '?'}  {state}")
        if job.state in (State.UNKNOWN, State.INTENT) and job.api_job_id is None:
            lines.append("  outcome unknown and no postback yet: the API may or may not have it")
        lines.extend(f"  note: {note}" for note in job.notes)
        lines.extend("  " + _call_line(call) for call in job.calls)
    lines.extend(f"note: {note}" for note in report.notes)
    totals = report.totals()
    if report.found:
        lines.append(
            f"{totals['destinations']} destination(s): {totals['final']} ended, "
            f"{totals['answered']} answered"
        )
    return "\n".join(lines)


def _call_line(call: CallSummary) -> str:
    head = f"{call.number:<16} {call.message_id or '-':<21}"
    if call.status is None:
        return f"{head} no postback yet"
    parts = [f"{call.status:<8}"]
    if call.answered:
        parts.append(
            f"answered, {call.actual_duration or 0} s (billed {call.billed_duration or 0} s)"
        )
    elif call.final:
        parts.append("not answered")
    if call.error_code not in (None, 0, "0", ""):
        parts.append(f"error {call.error_code} {call.error_description or ''}".rstrip())
    if not call.final:
        parts.append("(call not ended yet)")
    return f"{head} {'  '.join(parts)}"
