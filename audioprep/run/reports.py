"""Reports of a run: one :class:`~audioprep.run.model.RunReport` rendered for people and for CI.

This module owns the ``--report`` formats of ``run`` and ``lint``:

* ``text``: an aligned table (status, source, verdict and API code, stage, URL or output, first
  problem), a summary line and, when calls were placed, a calls section;
* ``json``: :meth:`RunReport.to_dict` as it is (the product: full URLs included);
* ``junit``: one ``<testcase>`` per item for GitLab and Jenkins test tabs;
* ``github``: ``::error`` / ``::warning`` workflow commands (inline PR annotations);
* ``sarif``: SARIF 2.1.0 for GitHub code scanning, with stable rule ids and fingerprints.

Every renderer is a pure function of the report: no clock, no environment, input order kept,
so the same report always gives the same bytes. Every format but ``json`` shows URLs without
their query string or user-info (presigned signatures never reach logs or CI annotations).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, assert_never
from urllib.parse import quote

from audioprep import jsonio, tempfiles
from audioprep.models import Problem, Severity
from audioprep.net.urls import redact_url
from audioprep.run import layout
from audioprep.run.model import (
    CallResult,
    ItemReport,
    ItemStatus,
    ReportFormat,
    RunReport,
    Stage,
    StageStatus,
)
from audioprep.version import __version__


@dataclass(frozen=True, slots=True)
class TextOptions:
    """How the ``text`` format is laid out: ``width`` columns at most (None: no limit, as
    for a file or a pipe); ``verbose`` adds every problem, action and before → after."""

    width: int | None = None
    verbose: bool = False


def render(report: RunReport, fmt: ReportFormat, text: TextOptions = TextOptions()) -> str:
    """``report`` in format ``fmt``; the text always ends with one newline."""
    if fmt is ReportFormat.TEXT:
        return render_text(report, text)
    if fmt is ReportFormat.JSON:
        return render_json(report)
    if fmt is ReportFormat.JUNIT:
        return render_junit(report)
    if fmt is ReportFormat.GITHUB:
        return render_github(report)
    if fmt is ReportFormat.SARIF:
        return render_sarif(report)
    if fmt is ReportFormat.HTML:
        raise ValueError("the html report is a page and its audio: audioprep.run.html.write_html")
    assert_never(fmt)


def default_format(environ: Mapping[str, str] | None = None) -> ReportFormat:
    """``github`` inside GitHub Actions (``GITHUB_ACTIONS=true``), else ``text``."""
    env = os.environ if environ is None else environ
    return ReportFormat.GITHUB if env.get("GITHUB_ACTIONS") == "true" else ReportFormat.TEXT


def write_report(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temporary file beside it, then a rename.

    A reader (or an upload step) never sees a half-written report, and a failed run leaves the
    previous report in place. Raises :class:`OSError` when the directory cannot be written.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=tempfiles.prefix("report"), dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------------------------
# What every format shares: redaction, reasons, findings
# --------------------------------------------------------------------------------------------

#: Stages whose failure is explained by the item's problems (the source's findings).
_JUDGING_STAGES = frozenset({Stage.CHECK, Stage.FETCH, Stage.INSPECT})
_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_LEVEL_ORDER = {"error": 0, "warning": 1, "note": 2}


def redact(text: str) -> str:
    """``text`` with every URL in it shown without query string, fragment or user-info."""
    return _URL_RE.sub(_redact_match, text)


def _redact_match(match: re.Match[str]) -> str:
    """Punctuation that ends a sentence after a URL stays where it was."""
    url = match.group(0)
    core = url.rstrip(".,;:!?)]}")
    return redact_url(core) + url[len(core) :]


def failing_problems(item: ItemReport) -> tuple[Problem, ...]:
    """The problems that made ``item`` fail: its errors, or its warnings when only warnings
    failed it (``--strict``). Empty when it did not fail or failed for another reason (upload)."""
    if item.status is not ItemStatus.FAILED:
        return ()
    if item.failed_stage is not None and item.failed_stage not in _JUDGING_STAGES:
        return ()
    errors = tuple(p for p in item.problems if p.severity is Severity.ERROR)
    return errors or tuple(p for p in item.problems if p.severity is Severity.WARNING)


def failure_reason(item: ItemReport) -> str:
    """One line saying why ``item`` failed (redacted); empty when it did not fail."""
    if item.status is not ItemStatus.FAILED:
        return ""
    failing = failing_problems(item)
    stage_msg = _stage_message(item)
    if item.error:
        reason = item.error
    elif stage_msg:
        reason = stage_msg
    elif failing:
        reason = _problem_text(failing[0])
    else:
        reason = f"failed at {item.failed_stage.value if item.failed_stage else 'an unknown stage'}"
    return redact(reason).replace("\r", " ").replace("\n", " ")


def _stage_message(item: ItemReport) -> str:
    for outcome in item.stages:
        if outcome.stage is item.failed_stage and outcome.status is StageStatus.FAILED:
            return outcome.message
    return ""


def _problem_text(problem: Problem) -> str:
    return f"{problem.id}: {problem.message}"


def _problem_line(problem: Problem) -> str:
    return redact(f"{problem.severity.value} {_problem_text(problem)}")


def _shown_source(item: ItemReport) -> str:
    return redact(item.source)


def _posix(path: str) -> str:
    return path.replace("\\", "/")


def summary_line(report: RunReport) -> str:
    """``N item(s): a ok, b fixed, c reused, d failed`` (``lint``: no ``reused``) plus
    dry-run / interrupted notes."""
    counts = report.counts()
    if report.command != "run":
        counts.pop(ItemStatus.REUSED.value)  # lint keeps nothing from earlier runs
    parts = ", ".join(f"{n} {status}" for status, n in counts.items())
    notes = []
    if report.dry_run:
        notes.append("dry run")
    if report.interrupted:
        notes.append("interrupted: items not reached are missing")
    tail = f" ({'; '.join(notes)})" if notes else ""
    return f"{len(report.items)} item(s): {parts}{tail}"


@dataclass(frozen=True, slots=True)
class _Finding:
    """One annotation / SARIF result: a problem of an item, or a failed stage without one."""

    item: ItemReport
    rule_id: str
    level: str  # error, warning, note
    default_level: str  # the level the rule has when nothing escalates it
    message: str


def _findings(item: ItemReport) -> list[_Finding]:
    """Every problem of ``item`` (failing ones at level error), plus one ``stage.<name>``
    finding when the item failed and no problem says why."""
    failing = failing_problems(item)
    found = [
        _Finding(
            item=item,
            rule_id=p.id,
            level="error" if p in failing else _LEVELS[p.severity],
            default_level=_LEVELS[p.severity],
            message=redact(p.message),
        )
        for p in item.problems
    ]
    if item.status is ItemStatus.FAILED and not failing:
        stage = item.failed_stage.value if item.failed_stage else "run"
        found.append(_Finding(item, f"stage.{stage}", "error", "error", failure_reason(item)))
    return found


# --------------------------------------------------------------------------------------------
# text
# --------------------------------------------------------------------------------------------

#: Asides dropped from the actions in the DETAIL column (``-v`` shows them whole).
_PARENTHESES = re.compile(r" \([^()]*\)")
_HEADER = ("STATUS", "SOURCE", "VERDICT", "STAGE", "URL / OUTPUT", "DETAIL")
_CAPS = (6, 48, 14, 8, 100)


def render_text(report: RunReport, options: TextOptions = TextOptions()) -> str:
    """An aligned table (fitting ``options.width``), a summary line and, when any item
    placed calls, the calls; verbose, each item's before → after, actions and problems."""
    width = options.width
    header, *laid = _laid_out([_HEADER, *(_text_row(item) for item in report.items)], width)
    lines = list(header)
    for item, row_lines in zip(report.items, laid, strict=True):
        lines += row_lines
        lines += _item_details(item, width) if options.verbose else []
    lines.append(layout.fitted(summary_line(report), width))
    if any(item.calls for item in report.items):
        lines.extend(layout.fitted(line, width) for line in _calls_section(report.items))
    return "\n".join(lines) + "\n"


#: Where the URL and the detail of a row go when the table is too wide for the terminal.
_STACK_INDENT = 8


def _laid_out(rows: list[tuple[str, ...]], width: int | None) -> list[list[str]]:
    """The lines of each row: the table as it is when it fits ``width``; otherwise STATUS,
    SOURCE, VERDICT and STAGE on the row's line, the URL (shortened in the middle) and the
    DETAIL (wrapped) on lines of their own under it."""
    natural = layout.table_rows(rows, _CAPS, None)
    if width is None or all(len(line) <= width for lines in natural for line in lines):
        return natural
    heads = layout.table_rows([row[:4] for row in rows], _CAPS[:3], width, min_last=7)
    room = width - _STACK_INDENT
    laid = [heads[0]]
    for head, row in zip(heads[1:], rows[1:], strict=True):
        lines = [*head]
        if row[4] != "-":
            lines.append(" " * _STACK_INDENT + layout.middle(row[4], room))
        if row[5]:
            lines += layout.wrapped(row[5], width, indent=_STACK_INDENT)
        laid.append(lines)
    return laid


def _without_asides(action: str) -> str:
    """``resampled 44.1 → 16 kHz (soxr)`` without ``(soxr)``; quoted names keep theirs."""
    parts = action.split("'")
    return "'".join(_PARENTHESES.sub("", p) if i % 2 == 0 else p for i, p in enumerate(parts))


def _item_details(item: ItemReport, width: int | None) -> list[str]:
    """``-v``: what the item was and became, what was done, and every problem."""
    lines: list[str] = []
    if item.before is not None:
        lines += layout.wrapped(f"before: {layout.snapshot_text(item.before)}", width, indent=4)
    if item.after is not None:
        lines += layout.wrapped(f"after:  {layout.snapshot_text(item.after)}", width, indent=4)
    lines += [x for a in item.actions for x in layout.wrapped(f"did: {a}", width, indent=4)]
    for problem in item.problems:
        lines += layout.wrapped(_problem_line(problem), width, indent=4)
    return lines


def _text_row(item: ItemReport) -> tuple[str, ...]:
    status = "FAILED" if item.status is ItemStatus.FAILED else item.status.value
    code = str(item.api_code) if item.api_code is not None else ""
    verdict = " ".join(part for part in (item.verdict, code) if part) or "-"
    where = redact_url(item.url) if item.url else (item.output or "-")
    cells = (status, _shown_source(item), verdict, _stage_label(item), where, _detail(item))
    return tuple(_one_line(cell) for cell in cells)


def _one_line(text: str) -> str:
    """Line breaks inside a cell would break the table."""
    return " ".join(text.splitlines())


def _stage_label(item: ItemReport) -> str:
    """The failed stage, or the last stage that finished."""
    if item.status is ItemStatus.FAILED and item.failed_stage is not None:
        return item.failed_stage.value
    finished = [s.stage for s in item.stages if s.status in (StageStatus.DONE, StageStatus.REUSED)]
    return finished[-1].value if finished else "-"


def _detail(item: ItemReport) -> str:
    """Why a failed item failed; what was done to a fixed one; else its first problem (and
    how many more there are)."""
    failing = failing_problems(item)
    if item.status is ItemStatus.FAILED and not failing:
        return f"error: {failure_reason(item)}"
    if item.status is not ItemStatus.FAILED and item.actions:
        done = "; ".join(map(_without_asides, item.actions))
        return f"reused: {done}" if item.status is ItemStatus.REUSED else done
    if item.status is ItemStatus.REUSED:
        return "reused: every stage as an earlier run left it"
    shown = failing or item.problems
    if not shown:
        return ""
    more = len(item.problems) - 1
    return _problem_line(shown[0]) + (f" (+{more} more: -v lists them)" if more > 0 else "")


def _calls_section(items: Iterable[ItemReport]) -> list[str]:
    lines = ["calls:"]
    for item in items:
        if not item.calls:
            continue
        lines.append(f"  {_shown_source(item)}")
        rows = [tuple(map(_one_line, _call_row(call))) for call in item.calls]
        lines.extend(f"    {line}" for line in layout.table(rows, (20, 12, 32), None))
    return lines


def _call_row(call: CallResult) -> tuple[str, ...]:
    answered = "answered" if call.answered else "not answered"
    duration = f"{call.duration_s} s" if call.duration_s is not None else "-"
    return (call.number, call.status or "-", redact(call.error or "-"), f"{answered}, {duration}")


# --------------------------------------------------------------------------------------------
# json
# --------------------------------------------------------------------------------------------


def render_json(report: RunReport) -> str:
    """Everything: :meth:`RunReport.to_dict` as indented JSON (URLs in full)."""
    return jsonio.dumps(report.to_dict(), indent=2) + "\n"


# --------------------------------------------------------------------------------------------
# junit
# --------------------------------------------------------------------------------------------

_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
#: Characters XML 1.0 does not allow, even escaped.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render_junit(report: RunReport) -> str:
    """JUnit XML: one testsuite, one testcase per item (``classname`` ``audioprep.<command>``,
    ``name`` the source); a failed item carries a ``<failure>`` whose message *and* body give
    the reason (GitLab shows the body); other findings go to ``<system-out>``. No times."""
    n, failed = str(len(report.items)), str(report.counts()[ItemStatus.FAILED.value])
    root = ET.Element(
        "testsuites", {"name": "audioprep", "tests": n, "failures": failed, "errors": "0"}
    )
    counts = {"tests": n, "failures": failed, "errors": "0", "skipped": "0"}
    suite = ET.SubElement(root, "testsuite", {"name": f"audioprep {report.command}", **counts})
    for item in report.items:
        _junit_case(suite, item, f"audioprep.{report.command}")
    ET.SubElement(suite, "system-out").text = _xml_text(summary_line(report))
    ET.indent(root, space="  ")
    return _XML_DECLARATION + ET.tostring(root, encoding="unicode") + "\n"


def _junit_case(suite: ET.Element, item: ItemReport, classname: str) -> None:
    case = ET.SubElement(
        suite, "testcase", {"classname": classname, "name": _xml_text(_shown_source(item))}
    )
    failing = failing_problems(item)
    if item.status is ItemStatus.FAILED:
        reason = failure_reason(item)
        kind = item.failed_stage.value if item.failed_stage else (failing[0].id if failing else "")
        failure = ET.SubElement(
            case, "failure", {"message": _xml_text(reason), "type": kind or "failed"}
        )
        failure.text = _xml_text("\n".join([reason, *map(_problem_line, failing)]))
    others = [_problem_line(p) for p in item.problems if p not in failing]
    ET.SubElement(case, "system-out").text = _xml_text("\n".join([_facts_line(item), *others]))


def _facts_line(item: ItemReport) -> str:
    parts = [f"status {item.status.value}"]
    if item.verdict:
        parts.append(f"verdict {item.verdict}")
    if item.api_code is not None:
        parts.append(f"API code {item.api_code}")
    if item.actions:
        parts.append(f"actions: {', '.join(item.actions)}")
    if item.output:
        parts.append(f"output {item.output}")
    if item.url:
        parts.append(f"url {redact_url(item.url)}")
    return "; ".join(parts)


def _xml_text(text: str) -> str:
    """Text safe for an XML 1.0 document (ElementTree escapes markup; this drops what cannot be
    escaped) with URLs redacted."""
    return _XML_ILLEGAL.sub("", redact(text))


# --------------------------------------------------------------------------------------------
# github
# --------------------------------------------------------------------------------------------


def render_github(report: RunReport) -> str:
    """GitHub Actions workflow commands: ``::error`` per error (and per failing warning),
    ``::warning`` per warning, one ``::error`` for an item that failed without a problem (an
    upload), then a plain summary line. Info findings are left out (annotation noise)."""
    lines = [
        _github_line(finding)
        for item in report.items
        for finding in _findings(item)
        if finding.level != "note"
    ]
    lines.append(f"audioprep {report.command}: {summary_line(report)}")
    return "\n".join(lines) + "\n"


def _github_line(finding: _Finding) -> str:
    item = finding.item
    props = [f"file={_github_property(_posix(item.path))}"] if item.path else []
    props.append(f"title={_github_property('audioprep ' + finding.rule_id)}")
    message = finding.message if item.path else f"{_shown_source(item)}: {finding.message}"
    return f"::{finding.level} {','.join(props)}::{_github_data(message)}"


def _github_data(text: str) -> str:
    """Escape a workflow command's message (GitHub's rules: ``%``, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    """Escape a workflow command's property value (also ``:`` and ``,``)."""
    return _github_data(text).replace(":", "%3A").replace(",", "%2C")


# --------------------------------------------------------------------------------------------
# sarif
# --------------------------------------------------------------------------------------------

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://pypi.org/project/audioprep/"
#: Key of the fingerprint code scanning uses to recognise the same finding across runs.
FINGERPRINT_KEY = "audioprepItem/v1"

_FAMILIES = {
    "name": "File name the Voice API refuses",
    "url": "Audio URL the Voice API refuses or may not fetch",
    "api": "Beyond the Voice API's limits",
    "format": "Audio format, judged by content",
    "meta": "Metadata as the Voice API reads it",
    "mp3": "MP3 frame structure",
    "wav": "WAV chunk structure",
    "decode": "Full decode",
    "level": "Loudness and levels on a phone line",
    "phone": "What a phone line does to the audio",
    "file": "The file itself",
    "fetch": "Downloading the audio URL",
    "stage": "A pipeline stage failed",
}


def render_sarif(report: RunReport) -> str:
    """SARIF 2.1.0 with one run: a rule per problem id that occurs (``stage.<name>`` for a
    stage that failed without a problem), one result per finding, each located on the item's
    relative path (or its redacted URL) and fingerprinted by source and rule."""
    findings = [finding for item in report.items for finding in _findings(item)]
    rule_ids = sorted({f.rule_id for f in findings})
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    driver: dict[str, Any] = {
        "name": "audioprep",
        "version": __version__,
        "informationUri": INFORMATION_URI,
        "rules": [_sarif_rule(rule_id, findings) for rule_id in rule_ids],
    }
    results = [_sarif_result(f, index[f.rule_id]) for f in findings]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{"tool": {"driver": driver}, "results": results}],
    }
    return jsonio.dumps(log, indent=2) + "\n"


def _sarif_rule(rule_id: str, findings: Sequence[_Finding]) -> dict[str, Any]:
    levels = [f.default_level for f in findings if f.rule_id == rule_id]
    family = _FAMILIES.get(rule_id.split(".", 1)[0], "audioprep finding")
    return {
        "id": rule_id,
        "shortDescription": {"text": f"{family} ({rule_id})"},
        "defaultConfiguration": {"level": min(levels, key=_LEVEL_ORDER.__getitem__)},
    }


def _sarif_result(finding: _Finding, rule_index: int) -> dict[str, Any]:
    item = finding.item
    # bytes: a file name that is not UTF-8 keeps its raw bytes, percent-encoded
    uri = quote(os.fsencode(_posix(item.path)), safe="/") if item.path else _shown_source(item)
    identity = f"{_shown_source(item)}\0{finding.rule_id}".encode("utf-8", "surrogateescape")
    return {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": finding.level,
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri},
                    "region": {"startLine": 1},
                }
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: hashlib.sha256(identity).hexdigest()},
    }
