"""Reports: golden files per format, schema validation, escaping, redaction, atomic writes."""

from __future__ import annotations

import dataclasses
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest
import xmlschema

from audioprep.models import Problem, Severity
from audioprep.run import reports
from audioprep.run.model import ItemReport, ItemStatus, ReportFormat, RunReport, Stage
from audioprep.run.reports import render
from audioprep.version import __version__
from tests.support.report_fixture import (
    PRESIGNED,
    SECRET,
    URL_SOURCE,
    fixed_item,
    ok_item,
    sample_report,
    strict_item,
    unusable_item,
    upload_failed_item,
    url_item,
)
from tests.support.report_schema import report_validator

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
SCHEMAS = HERE / "schemas"
#: The formats rendered as one text (html is a page and an audio folder: test_html_report.py).
TEXT_FORMATS = [f for f in ReportFormat if f is not ReportFormat.HTML]


def _one(*items: ItemReport, dry_run: bool = False, interrupted: bool = False) -> RunReport:
    return RunReport(items=items, dry_run=dry_run, interrupted=interrupted)


# --- golden files ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", TEXT_FORMATS, ids=str)
def test_golden(fmt: ReportFormat, request: pytest.FixtureRequest) -> None:
    """Byte-for-byte; ``pytest --update-golden`` rewrites them deliberately."""
    data = render(sample_report(), fmt).encode("utf-8")
    golden = GOLDEN / f"report.{fmt.value}"
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_bytes(data)
    assert golden.is_file(), f"{golden} is missing: run pytest --update-golden"
    assert data == golden.read_bytes(), f"{golden.name} differs (pytest --update-golden?)"


@pytest.mark.parametrize("fmt", TEXT_FORMATS, ids=str)
def test_output_is_deterministic_and_ends_with_one_newline(fmt: ReportFormat) -> None:
    first, second = render(sample_report(), fmt), render(sample_report(), fmt)
    assert first == second
    assert first.endswith("\n") and not first.endswith("\n\n")


def test_cli_choices_are_the_formats() -> None:
    from audioprep.cli.prepare import lint_cmd

    report_option = next(p for p in lint_cmd.params if p.name == "report_format")
    assert isinstance(report_option.type, click.Choice)
    assert list(report_option.type.choices) == [f.value for f in ReportFormat]


# --- secrets --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt",
    [ReportFormat.TEXT, ReportFormat.JUNIT, ReportFormat.GITHUB, ReportFormat.SARIF],
    ids=str,
)
def test_secrets_never_leave_the_json_report(fmt: ReportFormat) -> None:
    text = render(sample_report(), fmt)
    assert SECRET not in text
    assert "X-Amz-" not in text and "user:" not in text
    assert "https://cdn.example.com/prompts/promo.mp3" in text  # the source, redacted
    if fmt in (ReportFormat.TEXT, ReportFormat.JUNIT):  # these show where items are hosted
        assert PRESIGNED.split("?")[0] in text


def test_json_is_the_full_product() -> None:
    text = render(sample_report(), ReportFormat.JSON)
    data = json.loads(text)
    assert data == sample_report().to_dict()
    assert data["items"][1]["url"] == PRESIGNED
    assert data["items"][3]["source"] == URL_SOURCE


def test_json_report_matches_its_published_schema() -> None:
    data = json.loads(render(sample_report(), ReportFormat.JSON))
    report_validator().validate(data)
    fixed = data["items"][1]
    assert fixed["before"]["loudness_lufs"] == -56.4 and fixed["after"]["sample_rate"] == 16000
    assert "trimmed 4.8 s of leading silence" in fixed["actions"]
    broken = json.loads(json.dumps(data))
    del broken["items"][1]["after"]["size_bytes"]
    with pytest.raises(jsonschema.ValidationError):
        report_validator().validate(broken)  # the schema can fail


def test_redact_keeps_text_and_strips_queries_and_userinfo() -> None:
    text = f"HTTP 403 from {URL_SOURCE}, retry? no."
    assert reports.redact(text) == (
        "HTTP 403 from https://cdn.example.com/prompts/promo.mp3, retry? no."
    )
    assert reports.redact("a presigned URL?): x") == "a presigned URL?): x"


# --- text -----------------------------------------------------------------------------------


def test_text_table_is_aligned_and_summarised() -> None:
    lines = render(sample_report(), ReportFormat.TEXT).splitlines()
    header, rows = lines[0], lines[1:8]
    for column in ("SOURCE", "VERDICT", "STAGE", "URL / OUTPUT", "DETAIL"):
        start = header.index(column)
        assert all(row[start - 2 : start] == "  " for row in rows), column
    assert rows[0].split()[:4] == ["ok", "prompts/welcome.mp3", "ok", "submit"]
    assert rows[4].split()[:4] == ["FAILED", "prompts/goodbye.mp3", "ok", "upload"]
    assert "error: AccessDenied" in rows[4]
    assert rows[6].split()[:4] == ["reused", "prompts/welcome_back.mp3", "ok", "submit"]
    assert lines[8] == "7 item(s): 1 ok, 1 fixed, 1 reused, 4 failed"
    assert lines[9] == "calls:"
    assert "4017 USER_BUSY" in lines[-1] and "not answered" in lines[-1]


def test_a_fixed_item_says_what_was_done_not_what_it_had() -> None:
    row = next(r for r in render(_one(fixed_item()), ReportFormat.TEXT).splitlines()[1:2])
    assert "trimmed 4.8 s of leading silence" in row and "normalised +37.4 dB" in row
    assert "name.characters" not in row and "error" not in row
    assert "(from -56.4 LUFS" not in row  # the asides are for -v; quoted names keep theirs
    assert "'Opening Hours.wav'" in row


@pytest.mark.parametrize("columns", [80, 60, 120])
def test_the_text_report_fits_the_terminal(columns: int) -> None:
    for verbose in (False, True):
        shown = reports.TextOptions(width=columns, verbose=verbose)
        text = render(sample_report(), ReportFormat.TEXT, shown)
        assert max(len(line) for line in text.splitlines()) <= columns, (columns, verbose)
        for needed in ("prompts/welcome.mp3", "4017 USER_BUSY", "7 item(s)"):
            assert needed in text  # shortened in the middle or wrapped, never dropped
    wide = render(sample_report(), ReportFormat.TEXT)  # no width: a file or a pipe
    assert max(len(line) for line in wide.splitlines()) > 120


def test_verbose_text_lists_every_problem_action_and_before_after() -> None:
    text = render(_one(fixed_item()), ReportFormat.TEXT, reports.TextOptions(verbose=True))
    assert "before: wav 44.1 kHz stereo 9.8 s -56.4 LUFS peak -38.2 dBFS 1.7 MB" in text
    assert "after:  mp3 16 kHz mono 5.3 s -19.0 LUFS peak -2.0 dBFS 32 kB" in text
    assert "did: normalised +37.4 dB to -19.0 LUFS (from -56.4 LUFS;" in text
    assert "error name.characters:" in text and "warning phone.sample_rate:" in text


def test_text_without_calls_has_no_calls_section() -> None:
    text = render(_one(unusable_item()), ReportFormat.TEXT)
    assert "calls:" not in text
    assert "second line" in text.splitlines()[1]  # a multi-line message stays on its row


def test_summary_notes_dry_run_and_interruption() -> None:
    report = _one(ok_item(), dry_run=True, interrupted=True)
    assert reports.summary_line(report) == (
        "1 item(s): 1 ok, 0 fixed, 0 reused, 0 failed (dry run; interrupted: items not reached"
        " are missing)"
    )


# --- junit ----------------------------------------------------------------------------------


def test_junit_validates_against_the_jenkins_schema() -> None:
    schema = xmlschema.XMLSchema(str(SCHEMAS / "junit.xsd"))
    schema.validate(render(sample_report(), ReportFormat.JUNIT))
    schema.validate(render(_one(), ReportFormat.JUNIT))  # no items at all


def test_junit_cases_failures_and_bodies() -> None:
    root = ET.fromstring(render(sample_report(), ReportFormat.JUNIT))
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.attrib == {
        "name": "audioprep run",
        "tests": "7",
        "failures": "4",
        "errors": "0",
        "skipped": "0",
    }
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases][:2] == [
        ("audioprep.run", "prompts/welcome.mp3"),
        ("audioprep.run", "prompts/Opening Hours.wav"),
    ]
    assert len({(c.get("classname"), c.get("name")) for c in cases}) == 7  # GitLab keys on these
    failing = [False, False, True, True, True, True, False]
    assert [c.find("failure") is not None for c in cases] == failing
    failure = cases[2].find("failure")
    assert failure is not None and failure.text is not None
    assert failure.get("type") == "inspect"
    assert failure.get("message") == "verdict unusable: 1 error(s)"
    assert failure.text.splitlines()[0] == failure.get("message")  # GitLab shows only the body
    assert '<Invalid data> found when processing input, 100% lost & "gone"' in failure.text
    assert "phone.channels" in (cases[2].findtext("system-out") or "")
    assert not any("time" in el.attrib or "timestamp" in el.attrib for el in root.iter())


def test_junit_drops_characters_xml_cannot_carry() -> None:
    bad = Problem("decode.error", Severity.ERROR, "bell\x07 nul\x00 esc\x1b ok\ttab")
    item = dataclasses.replace(unusable_item(), problems=(bad,), source="a\x01b.mp3")
    text = render(_one(item), ReportFormat.JUNIT)
    root = ET.fromstring(text)  # would raise on an illegal character
    case = root.find("testsuite/testcase")
    assert case is not None and case.get("name") == "ab.mp3"
    assert "bell nul esc ok\ttab" in (case.findtext("failure") or "")
    xmlschema.XMLSchema(str(SCHEMAS / "junit.xsd")).validate(text)


# --- github ---------------------------------------------------------------------------------


def test_github_annotations() -> None:
    lines = render(sample_report(), ReportFormat.GITHUB).splitlines()
    assert lines[0].startswith(
        "::error file=prompts/Opening Hours.wav,title=audioprep name.characters::"
    )
    assert lines[1].startswith(
        "::warning file=prompts/Opening Hours.wav,title=audioprep phone.sample_rate::"
    )
    assert (
        "::error file=prompts/goodbye.mp3,title=audioprep stage.upload::AccessDenied: the bucket"
        " refuses ACLs (Object Ownership: BucketOwnerEnforced)"
    ) in lines
    # a URL source has no file: the message names it (redacted)
    assert (
        "::error title=audioprep fetch.http_status::https://cdn.example.com/prompts/promo.mp3:"
        " the server answered HTTP 403 Forbidden"
    ) in lines
    # the warning --strict failed on is an error; info is left out
    assert "::error file=prompts/quiet.wav,title=audioprep level.quiet::" in "\n".join(lines)
    assert not any("level.loudness" in line for line in lines)
    assert lines[-1] == "audioprep run: 7 item(s): 1 ok, 1 fixed, 1 reused, 4 failed"


def test_github_escaping() -> None:
    problem = Problem("x.y", Severity.ERROR, "100% a\r\nb: c, d")
    item = dataclasses.replace(unusable_item(), path="dir,1/a:b%.mp3", problems=(problem,))
    line = render(_one(item), ReportFormat.GITHUB).splitlines()[0]
    assert line == "::error file=dir%2C1/a%3Ab%25.mp3,title=audioprep x.y::100%25 a%0D%0Ab: c, d"


def test_github_paths_use_forward_slashes() -> None:
    item = dataclasses.replace(unusable_item(), path="prompts\\sub\\a.mp3")
    assert "file=prompts/sub/a.mp3," in render(_one(item), ReportFormat.GITHUB)


# --- sarif ----------------------------------------------------------------------------------


def _sarif(report: RunReport) -> Any:
    return json.loads(render(report, ReportFormat.SARIF))


def test_sarif_validates_against_the_subset_schema() -> None:
    schema = json.loads((SCHEMAS / "sarif-2.1.0-subset.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    for report in (sample_report(), _one()):
        validator.validate(_sarif(report))


def test_sarif_subset_schema_rejects_what_code_scanning_would() -> None:
    schema = json.loads((SCHEMAS / "sarif-2.1.0-subset.json").read_text(encoding="utf-8"))
    data = _sarif(sample_report())
    run = data["runs"][0]
    broken = [
        {**data, "version": "2.0.0"},
        {**data, "runs": [{**run, "results": [{**run["results"][0], "level": "fatal"}]}]},
        {**data, "runs": [{**run, "results": [{**run["results"][0], "locations": []}]}]},
    ]
    for sample in broken:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(sample, schema, cls=jsonschema.Draft7Validator)


def test_sarif_rules_results_and_fingerprints() -> None:
    run = _sarif(sample_report())["runs"][0]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("audioprep", __version__)
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert rule_ids == sorted(rule_ids) and "stage.upload" in rule_ids
    assert {r["ruleId"] for r in run["results"]} == set(rule_ids)
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["level.loudness"] == "note" and levels["phone.channels"] == "warning"
    assert levels["level.quiet"] == "error"  # escalated: --strict failed on it
    quiet_rule = driver["rules"][rule_ids.index("level.quiet")]
    assert quiet_rule["defaultConfiguration"]["level"] == "warning"
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    ]
    assert "prompts/Opening%20Hours.wav" in uris
    assert "https://cdn.example.com/prompts/promo.mp3" in uris
    prints = [r["partialFingerprints"][reports.FINGERPRINT_KEY] for r in run["results"]]
    assert len(set(prints)) == len(prints)


def test_sarif_fingerprint_survives_a_new_signature_and_message() -> None:
    """Code scanning must see the same alert when only the signature or the numbers change."""
    before = url_item()
    after = dataclasses.replace(
        before,
        source=before.source.replace(SECRET, "OTHER"),
        problems=(Problem("fetch.http_status", Severity.ERROR, "HTTP 404"), *before.problems[1:]),
    )

    def prints(item: ItemReport) -> list[str]:
        run = _sarif(_one(item))["runs"][0]
        return [r["partialFingerprints"][reports.FINGERPRINT_KEY] for r in run["results"]]

    assert prints(before) == prints(after)


# --- shared semantics -----------------------------------------------------------------------


def test_failing_problems() -> None:
    assert reports.failing_problems(ok_item()) == ()
    assert reports.failing_problems(fixed_item()) == ()
    assert [p.id for p in reports.failing_problems(unusable_item())] == ["decode.open_failed"]
    assert reports.failing_problems(upload_failed_item()) == ()  # the stage failed, not the audio
    assert [p.id for p in reports.failing_problems(strict_item())] == ["level.quiet"]


def test_failure_reason_falls_back_to_the_stage_then_problem() -> None:
    item = dataclasses.replace(upload_failed_item(), error=None)
    assert reports.failure_reason(item).startswith("AccessDenied")
    bare = dataclasses.replace(unusable_item(), error=None, stages=())
    assert reports.failure_reason(bare).startswith("decode.open_failed: ffmpeg:")
    nothing = ItemReport(source="x.mp3", path="x.mp3", status=ItemStatus.FAILED)
    assert reports.failure_reason(nothing) == "failed at an unknown stage"
    assert reports.failure_reason(ok_item()) == ""
    failed_no_problem = ItemReport(
        source="x.mp3", path="x.mp3", status=ItemStatus.FAILED, failed_stage=Stage.VERIFY
    )
    assert "stage.verify" in render(_one(failed_no_problem), ReportFormat.GITHUB)


# --- default format and atomic writes -------------------------------------------------------


def test_default_format_follows_github_actions() -> None:
    assert reports.default_format({"GITHUB_ACTIONS": "true"}) is ReportFormat.GITHUB
    assert reports.default_format({"GITHUB_ACTIONS": "false"}) is ReportFormat.TEXT
    assert reports.default_format({}) is ReportFormat.TEXT


def test_write_report_replaces_atomically(tmp_path: Path) -> None:
    target = tmp_path / "audioprep.sarif"
    target.write_text("old", encoding="utf-8")
    reports.write_report(target, "new ✓\n")
    assert target.read_bytes() == "new ✓\n".encode()
    assert os.listdir(tmp_path) == ["audioprep.sarif"]


def test_write_report_failure_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.xml"
    target.write_text("old", encoding="utf-8")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        reports.write_report(target, "new")
    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["report.xml"]
