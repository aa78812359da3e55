"""``audioprep run`` (:mod:`audioprep.run.pipeline`) with real components on loopback.

Audio is made by ffmpeg (:mod:`tests.support.audio_factory`); URL sources come from a local HTTP
server (:mod:`tests.support.httpserver`); S3 is moto's server (:mod:`tests.support.s3_fixtures`);
``--sandbox`` runs
moto, the Voice API sandbox and the postback receiver in this process. What is counted (S3
PutObjects, ffmpeg runs, jobs the sandbox stored) is counted at the seams, not guessed.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from audioprep import api
from audioprep.audio import ffmpeg
from audioprep.cli.progress import RunProgress, item_line, tty_line
from audioprep.errors import ConfigError, ExitCode, UsageError
from audioprep.hosting import upload as hosting
from audioprep.run import pipeline
from audioprep.run.manifest import read_manifest
from audioprep.run.model import ItemReport, ItemStatus, RunReport, Stage, StageStatus
from audioprep.run.pipeline import RunOptions, exit_code, run_pipeline
from audioprep.run.state import Marker, RunState
from audioprep.sandbox import FaultMode, Faults
from audioprep.send import submit
from audioprep.send.client import RetryPolicy
from audioprep.send.submit import Destination
from tests.conftest import Cli
from tests.support.audio_factory import HTML_PAGE, make_mp3, make_tone, write_file
from tests.support.httpserver import LocalHTTPServer, http_server  # noqa: F401 - a fixture
from tests.support.sandbox_fixtures import TOKEN, running

if TYPE_CHECKING:
    from tests.support.s3_fixtures import S3

pytest_plugins = ("tests.support.s3_fixtures",)

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
ANSWERS = "35699000002"  # under seed 0 the sandbox's call to this number is answered
SECRET = "TOPSECRET-signature-0123456789"


# --------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An ok MP3, one with an illegal name, an Ogg, an HTML page named .mp3 (made once)."""
    folder = tmp_path_factory.mktemp("audio")
    return {
        "ok": make_mp3(folder, "ok_prompt.mp3", seconds=2, rate=16000, channels=1, bitrate="48k"),
        "bad_name": make_mp3(folder, "Bad Name (1).mp3", seconds=2),
        "ogg": make_tone(folder, "note.ogg", seconds=2, codec="libvorbis", frequency=660),
        "html": write_file(folder, "page.mp3", HTML_PAGE),
    }


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts ffmpeg runs (not ``-version``) and S3 PutObjects as they happen."""
    found: Counter[str] = Counter()
    real_run, real_put = ffmpeg.run, hosting._put

    def counted_run(args: Any, **kwargs: Any) -> Any:
        if list(args) != ["-version"]:
            found["ffmpeg"] += 1
        return real_run(args, **kwargs)

    def counted_put(*args: Any, **kwargs: Any) -> None:
        found["put"] += 1
        real_put(*args, **kwargs)

    monkeypatch.setattr(ffmpeg, "run", counted_run)
    monkeypatch.setattr(hosting, "_put", counted_put)
    return found


def options(tmp_path: Path, **changes: Any) -> RunOptions:
    """Run options writing under ``tmp_path``, two ffmpeg at a time."""
    return RunOptions(outdir=str(tmp_path / "out"), jobs=2, **changes)


def by_name(report: RunReport) -> dict[str, ItemReport]:
    """Items keyed by the source's file name."""
    return {Path(item.source).name: item for item in report.items}


def stage(item: ItemReport, which: Stage) -> Any:
    """One stage's outcome."""
    return next(s for s in item.stages if s.stage is which)


def statuses(item: ItemReport) -> dict[str, str]:
    """``{stage: status}`` of an item."""
    return {s.stage.value: s.status.value for s in item.stages}


def sandbox_jobs(tmp_path: Path) -> Counter[str]:
    """Jobs the run's sandbox stored, per job id (its database outlives the run)."""
    db = tmp_path / "out.state.work" / "sandbox" / "voice-api.sqlite3"
    with sqlite3.connect(db) as conn:
        return Counter(row[0] for row in conn.execute("SELECT client_job_id FROM jobs"))


def tree(root: Path) -> set[str]:
    """Every path under ``root``."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# --------------------------------------------------------------------------------------------
# Stages, isolation, local runs
# --------------------------------------------------------------------------------------------


def test_every_stage_of_every_item_is_recorded(audio: dict[str, Path], tmp_path: Path) -> None:
    sources = [str(audio["ok"]), str(audio["bad_name"]), str(audio["ogg"])]
    report = run_pipeline(sources, options(tmp_path))
    items = by_name(report)
    assert [s.stage for s in report.items[0].stages] == list(Stage)
    assert report.stages_requested == (Stage.CHECK, Stage.FETCH, Stage.INSPECT, Stage.FIX)
    ok, bad, ogg = items["ok_prompt.mp3"], items["Bad Name (1).mp3"], items["note.ogg"]
    assert ok.status is ItemStatus.OK and ok.verdict == "ok"
    assert stage(ok, Stage.FIX).status is StageStatus.SKIPPED
    assert stage(ok, Stage.INSPECT).message == "ok (decoded)"
    assert bad.status is ItemStatus.FIXED and _did("renamed", bad.actions)
    assert bad.output == str(tmp_path / "out" / "Bad_Name_1.mp3")  # outside the cwd: absolute
    assert ogg.status is ItemStatus.FIXED and _did("transcoded", ogg.actions)
    assert ogg.output_verdict == "ok" and ogg.output and ogg.output.endswith("note.mp3")
    for item in report.items:
        assert stage(item, Stage.UPLOAD).message == "not hosted: no --bucket or --sandbox"
        assert stage(item, Stage.SUBMIT).status is StageStatus.SKIPPED
    assert exit_code(report) is ExitCode.OK


def test_one_failing_item_never_stops_the_others(audio: dict[str, Path], tmp_path: Path) -> None:
    sources = [
        str(audio["html"]),
        "ftp://files.example.com/prompt.mp3",
        str(tmp_path / "nothing-*.wav"),
        str(audio["ok"]),
    ]
    report = run_pipeline(sources, options(tmp_path))
    found = {item.source: item for item in report.items}
    html = found[str(audio["html"])]
    assert (html.status, html.failed_stage) == (ItemStatus.FAILED, Stage.INSPECT)
    assert html.error and html.error.startswith("unusable: format.not_audio")
    assert stage(html, Stage.FIX).message == "not run: inspect failed"
    ftp = found["ftp://files.example.com/prompt.mp3"]
    assert ftp.failed_stage is Stage.CHECK and "url.scheme" in (ftp.error or "")
    glob_item = found[str(tmp_path / "nothing-*.wav")]
    assert glob_item.failed_stage is Stage.CHECK and "matches no file" in (glob_item.error or "")
    assert found[str(audio["ok"])].status is ItemStatus.OK
    assert report.counts() == {"ok": 1, "fixed": 0, "reused": 0, "failed": 3}
    assert exit_code(report) is ExitCode.FINDINGS
    with pytest.raises(UsageError, match=r"missing\.mp3: no such file"):  # a typo, not a finding
        run_pipeline([*sources, str(tmp_path / "missing.mp3")], options(tmp_path))


def test_directories_and_globs_expand_and_outputs_are_not_sources(
    audio: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "assets"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(audio["ok"], folder / "a.mp3")
    shutil.copy(audio["ogg"], folder / "sub" / "b.ogg")
    (folder / "notes.txt").write_text("not audio")
    run = RunOptions(outdir=str(folder / "out"), jobs=2)
    first = run_pipeline([str(folder)], run)
    assert sorted(Path(i.source).name for i in first.items) == ["a.mp3", "b.ogg"]
    again = run_pipeline([str(folder), str(folder / "**" / "*.ogg")], run)
    assert sorted(Path(i.source).name for i in again.items) == ["a.mp3", "b.ogg"]  # out/ skipped


# --------------------------------------------------------------------------------------------
# Resuming
# --------------------------------------------------------------------------------------------


def test_a_rerun_skips_finished_stages_and_checks_what_it_reuses(
    audio: dict[str, Path], tmp_path: Path, s3: S3, counts: Counter[str]
) -> None:
    hosted = options(
        tmp_path, bucket=s3.bucket, s3_endpoint=s3.endpoint, region="us-east-1", public_mode="acl"
    )
    sources = [str(audio["ok"]), str(audio["bad_name"]), str(audio["ogg"])]
    first = run_pipeline(sources, hosted)
    assert [i.status.value for i in first.items] == ["ok", "fixed", "fixed"]
    assert counts["put"] == 3 and counts["ffmpeg"] >= 3
    assert all(i.url and i.url.startswith(s3.endpoint) for i in first.items)
    counts.clear()

    second = run_pipeline(sources, hosted)
    assert (counts["put"], counts["ffmpeg"]) == (0, 0)
    for item in second.items:
        assert statuses(item)["inspect"] == "reused" and statuses(item)["upload"] == "reused"
        assert stage(item, Stage.VERIFY).message.startswith("re-checked: HTTP 200")
    assert [i.url for i in second.items] == [i.url for i in first.items]

    fixed = tmp_path / "out" / "Bad_Name_1.mp3"
    fixed.unlink()  # an output gone: fixed again (same bytes, so the object is still good)
    s3.client.delete_object(Bucket=s3.bucket, Key=(first.items[2].url or "").split("/", 4)[4])
    third = run_pipeline(sources, hosted)
    states = [statuses(item) for item in third.items]
    assert [s["fix"] for s in states] == ["skipped", "done", "reused"]
    assert [s["upload"] for s in states] == ["reused", "reused", "done"]  # the deleted object
    assert fixed.is_file() and counts["put"] == 1


def test_url_sources_are_downloaded_once_and_signatures_stay_secret(
    audio: dict[str, Path],
    tmp_path: Path,
    http_server: LocalHTTPServer,  # noqa: F811
) -> None:
    http_server.serve_bytes("/prompts/ok.mp3", audio["ok"].read_bytes(), content_type="audio/mpeg")
    http_server.serve_bytes(
        "/prompts/note.ogg", audio["ogg"].read_bytes(), content_type="audio/ogg"
    )
    urls = [
        http_server.url("/prompts/ok.mp3") + f"?X-Amz-Signature={SECRET}",
        http_server.url("/prompts/note.ogg"),
    ]
    run = options(tmp_path)
    first = run_pipeline(urls, run)
    assert [i.status.value for i in first.items] == ["ok", "fixed"]
    assert first.items[0].source == http_server.url("/prompts/ok.mp3")
    assert first.items[0].path and "downloads" in first.items[0].path
    assert first.items[1].output and first.items[1].output.endswith("note.mp3")
    second = run_pipeline(urls, run)
    assert [stage(i, Stage.FETCH).status for i in second.items] == [StageStatus.REUSED] * 2
    assert http_server.count("/prompts/ok.mp3") == 1
    assert SECRET not in json.dumps(second.to_dict())
    state = (tmp_path / "out.state.sqlite3").read_bytes()
    assert SECRET.encode() not in state


def test_run_state_keeps_markers_and_allows_one_run_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    with RunState(path) as state:
        state.record("file:/a", Marker(Stage.FIX, "abc", "fp1", {"output": "/o.mp3"}, "fixed"))
        state.record("file:/a", Marker(Stage.FIX, "abc", "fp2", {"output": "/p.mp3"}, "again"))
        state.note_item("file:/a", "/a", output="/o.mp3")
        with pytest.raises(ConfigError, match="another 'audioprep run'"):
            RunState(path)
        state.forget("file:/a", "abc", Stage.FIX)
        assert state.markers("file:/a") == ()
    with RunState(path) as state:
        assert state.item_output("file:/a") == "/o.mp3"


# --------------------------------------------------------------------------------------------
# Manifests
# --------------------------------------------------------------------------------------------


def test_manifest_csv_groups_rows_and_json_reads_the_same(tmp_path: Path) -> None:
    csv_file = tmp_path / "campaign.csv"
    csv_file.write_text(
        "audio,number,custom_id,job_id\n"
        "welcome.mp3,+356 99 000 001,c1,spring-24\n"
        "welcome.mp3,35699000002,c2,\n"
        "https://cdn.example.com/x.mp3,35699000003,,\n"
        "\n"
        "other.wav,,,\n"
    )
    entries = read_manifest(csv_file)
    assert [e.audio for e in entries] == [
        str(tmp_path / "welcome.mp3"),
        "https://cdn.example.com/x.mp3",
        str(tmp_path / "other.wav"),
    ]
    assert entries[0].destinations == (
        Destination("35699000001", "c1"),
        Destination("35699000002", "c2"),
    )
    assert entries[0].job_id == "spring-24" and entries[2].destinations == ()
    json_file = tmp_path / "campaign.json"
    from audioprep.run.manifest import as_json

    json_file.write_text(json.dumps(as_json(entries)))
    assert read_manifest(json_file) == [
        type(e)(e.audio, e.destinations, e.job_id, w.where)
        for e, w in zip(entries, read_manifest(json_file), strict=True)
    ]


def test_a_bad_manifest_lists_every_bad_row(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "audio,number,custom_id,job_id\n"
        "a.mp3,12,,\n"
        "a.mp3,35699000001,c1,\n"
        "a.mp3,35699000002,c1,\n"
        ",35699000003,,\n"
        "b.mp3,35699000004,,toolong-job-id-1234\n"
        "c.mp3,35699000005,,dup-job-1\n"
        "d.mp3,35699000006,,dup-job-1\n"
    )
    with pytest.raises(UsageError) as caught:
        read_manifest(bad)
    text = caught.value.message
    assert "5 problem(s)" in text
    for fragment in (
        "row 2 (a.mp3): number '12' is not a phone number",
        "custom_id 'c1' is used twice",
        "row 5: 'audio' is empty",
        "job_id 'toolong-job-id-1234' must have 7-15 characters",
        "row 8: job_id 'dup-job-1' is also given to",
    ):
        assert fragment in text
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("file,numbr\nx.mp3,1\n")
    with pytest.raises(UsageError, match="no 'audio' column; unknown column"):
        read_manifest(wrong)
    broken = tmp_path / "broken.json"
    broken.write_text('[{"audio": "x.mp3", "destinations": [{"number": true}], "extra": 1}]')
    with pytest.raises(UsageError, match=r"unknown key.*'extra'"):
        read_manifest(broken)


def test_manifest_sends_each_audio_to_its_own_people(
    audio: dict[str, Path], tmp_path: Path
) -> None:
    manifest = tmp_path / "campaign.json"
    manifest.write_text(
        json.dumps(
            [
                {
                    "audio": str(audio["ok"]),
                    "job_id": "campaign-1",
                    "destinations": [
                        {"number": "35699000002", "custom_id": "a"},
                        {"number": "35699000003", "custom_id": "b"},
                    ],
                },
                {"audio": str(audio["ogg"]), "destinations": [{"number": "35699000004"}]},
            ]
        )
    )
    run = options(tmp_path, manifest=str(manifest), sandbox=True, submit=True)
    report = run_pipeline([], run)
    ok, ogg = report.items
    assert ok.job_ids == ("campaign-1",) and ok.submit_outcome == "accepted"
    assert sorted(c.number for c in ok.calls) == ["35699000002", "35699000003"]
    assert ogg.job_ids[0].startswith("ap-") and [c.number for c in ogg.calls] == ["35699000004"]
    assert sandbox_jobs(tmp_path) == Counter({"campaign-1": 1, ogg.job_ids[0]: 1})


def test_a_large_audience_is_split_into_jobs_each_sent_once(
    audio: dict[str, Path], tmp_path: Path
) -> None:
    people = tuple(Destination(f"3569900001{n}") for n in range(3))
    limits = api.AccountLimits(max_destinations=2)
    run = options(tmp_path, sandbox=True, submit=True, destinations=people, limits=limits)
    (item,) = run_pipeline([str(audio["ok"])], run).items
    base = item.job_ids[0].rsplit("-", 1)[0]
    assert item.job_ids == (f"{base}-1", f"{base}-2") and len(item.api_job_ids) == 2
    assert sorted(c.number for c in item.calls) == [d.number for d in people]
    with sqlite3.connect(tmp_path / "out.state.sqlite3") as conn:
        conn.execute("DELETE FROM stages WHERE stage = 'submit'")  # as if killed before saving
    (again,) = run_pipeline([str(audio["ok"])], run).items
    assert stage(again, Stage.SUBMIT).message.startswith("already accepted earlier (journal)")
    assert sandbox_jobs(tmp_path) == Counter({f"{base}-1": 1, f"{base}-2": 1})


def test_a_test_account_run_sends_only_to_the_personal_number(
    audio: dict[str, Path], tmp_path: Path, run_cli: Cli
) -> None:
    personal, other = "35699000021", "35699000022"
    common = ["run", str(audio["ok"]), "--sandbox", "--submit", "-o", str(tmp_path / "out")]
    common += ["--account-type", "test", "--personal-number", personal, "-q", "--report", "json"]
    refused = run_cli(*common, "--to", personal, "--to", other, expect=ExitCode.USAGE)
    assert f"'{other}': a TEST account may call only its personal number (-123)" in refused.stderr
    assert not (tmp_path / "out").exists()  # refused before any work: nothing written
    accepted = run_cli(*common, "--to", personal)
    (item,) = json.loads(accepted.stdout)["items"]
    assert item["submit_outcome"] == "accepted"
    assert [c["number"] for c in item["calls"]] == [personal]
    assert sum(sandbox_jobs(tmp_path).values()) == 1


# --------------------------------------------------------------------------------------------
# Dry run, preconditions, exit codes
# --------------------------------------------------------------------------------------------


def test_dry_run_writes_nothing(audio: dict[str, Path], tmp_path: Path) -> None:
    before = tree(tmp_path)
    run = options(tmp_path, sandbox=True, submit=True, destinations=(Destination(ANSWERS),))
    report = run_pipeline([str(audio["ok"]), str(audio["ogg"])], replace_dry(run))
    assert tree(tmp_path) == before
    assert report.dry_run and [i.status.value for i in report.items] == ["ok", "fixed"]
    ogg = report.items[1]
    assert stage(ogg, Stage.FIX).message.startswith("planned fixed: transcoded")
    assert stage(ogg, Stage.UPLOAD).message == "dry run: nothing uploaded"
    assert stage(ogg, Stage.SUBMIT).message == "dry run: nothing sent"


def replace_dry(run: RunOptions) -> RunOptions:
    """``run`` as a dry run."""
    from dataclasses import replace

    return replace(run, dry_run=True)


def test_preconditions_fail_before_any_work(audio: dict[str, Path], tmp_path: Path) -> None:
    source = [str(audio["ok"])]
    with pytest.raises(ConfigError, match="--submit needs the audio hosted"):
        run_pipeline(source, options(tmp_path, submit=True, destinations=(Destination(ANSWERS),)))
    with pytest.raises(UsageError, match="no destinations for"):
        run_pipeline(source, options(tmp_path, sandbox=True, submit=True))
    with pytest.raises(UsageError, match="brings its own bucket"):
        run_pipeline(source, options(tmp_path, sandbox=True, bucket="mine"))
    with pytest.raises(ConfigError, match="no Voice API token"):
        run_pipeline(
            source,
            options(tmp_path, bucket="b", submit=True, destinations=(Destination(ANSWERS),)),
        )
    with pytest.raises(UsageError, match="unknown profile"):
        run_pipeline(source, options(tmp_path, profile="loud"))
    assert not (tmp_path / "out").exists()


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries that give up at once (the real policy waits up to a minute)."""
    policy = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.02, max_total_s=1)
    monkeypatch.setattr(submit, "DEFAULT_POLICY", policy)


def test_exit_codes_for_unknown_and_unavailable_submissions(
    audio: dict[str, Path], tmp_path: Path, s3: S3, quick_retries: None
) -> None:
    with running() as sandbox:
        real = options(
            tmp_path,
            bucket=s3.bucket,
            s3_endpoint=s3.endpoint,
            region="us-east-1",
            submit=True,
            destinations=(Destination(ANSWERS),),
            api_url=sandbox.url,
            api_token=TOKEN,
            journal=str(tmp_path / "journal.sqlite3"),
        )
        sandbox.faults.set(Faults(mode=FaultMode.DROP))
        dropped = run_pipeline([str(audio["ok"])], real)
        assert dropped.items[0].submit_outcome == "unknown"
        assert exit_code(dropped) is ExitCode.UNKNOWN_OUTCOME
        sandbox.faults.set(Faults())
        again = run_pipeline([str(audio["ok"])], real)  # never resent: still unknown
        assert again.items[0].submit_outcome == "unknown"
        assert sandbox.stats()["counters"].get("jobs_accepted", 0) == 0
        sandbox.faults.set(Faults(mode=FaultMode.UNAVAILABLE))
        down = run_pipeline([str(audio["bad_name"]), str(audio["ogg"])], real)
        assert exit_code(down) is ExitCode.UNAVAILABLE
        for item in down.items:  # sent at once, or held back after the first one failed
            assert (item.error or "").startswith(("unavailable:", "not sent: an earlier item"))


# --------------------------------------------------------------------------------------------
# --sandbox end to end on the bundled samples
# --------------------------------------------------------------------------------------------


def test_sandbox_runs_the_samples_end_to_end(tmp_path: Path, run_cli: Cli) -> None:
    out = str(tmp_path / "out")
    args = ["run", str(SAMPLES), "--sandbox", "--submit", "--to", ANSWERS, "-o", out]
    result = run_cli(*args, "--report", "json", "-q")
    report = json.loads(result.stdout)
    items = {Path(i["source"]).name: i for i in report["items"]}
    assert report["ok"] and report["summary"] == {"ok": 2, "fixed": 3, "reused": 0, "failed": 0}

    def fix_of(name: str) -> dict[str, Any]:
        return next(s for s in items[name]["stages"] if s["stage"] == "fix")

    assert items["welcome.mp3"]["status"] == "ok" and fix_of("welcome.mp3")["status"] == "skipped"
    assert items["opening_hours.wav"]["status"] == "ok"
    renamed = items["Appointment Reminder (final).mp3"]
    assert renamed["status"] == "fixed" and _did("renamed", renamed["actions"])
    assert renamed["output"].endswith("Appointment_Reminder_final.mp3")
    assert _did("transcoded", items["callback_notice.ogg"]["actions"])
    truncated = items["payment_due.mp3"]
    assert truncated["status"] == "fixed" and _did("salvaged", truncated["actions"])
    assert fix_of("payment_due.mp3")["detail"]["lost_s"] > 1.0
    for item in items.values():
        assert item["url"].startswith("http://127.0.0.1:") and "/audioprep-sandbox/" in item["url"]
        assert item["submit_outcome"] == "accepted" and len(item["job_ids"]) == 1
        assert [(c["number"], c["status"], c["answered"]) for c in item["calls"]] == [
            (ANSWERS, "DELIVRD", True)
        ]
    assert sum(sandbox_jobs(tmp_path).values()) == 5

    again = json.loads(run_cli(*args, "--report", "json", "-q").stdout)
    for item, first in zip(again["items"], report["items"], strict=True):
        states = {s["stage"]: s["status"] for s in item["stages"]}
        # The first run's local S3 stopped with it: hosted again on this run's, not sent again.
        assert states["submit"] == "reused" and states["upload"] == "done"
        assert item["status"] == "reused" and item["url"] != first["url"]
        assert item["sha256"] == first["sha256"]
        assert item["calls"][0]["status"] == "DELIVRD"
    assert sum(sandbox_jobs(tmp_path).values()) == 5  # nothing sent twice


def test_a_send_left_open_by_a_dead_run_is_settled_from_the_sandbox(
    audio: dict[str, Path], tmp_path: Path
) -> None:
    run = options(tmp_path, sandbox=True, submit=True, destinations=(Destination(ANSWERS),))
    sources = [str(audio["ok"]), str(audio["ogg"])]
    first = run_pipeline(sources, run)
    queued, lost = first.items[0].job_ids[0], first.items[1].job_ids[0]
    sandbox_dir = tmp_path / "out.state.work" / "sandbox"
    # As if the run died after journaling both sends, before hearing the answers and before
    # recording them; and as if the second request never reached the sandbox.
    with sqlite3.connect(sandbox_dir / "journal.sqlite3") as conn:
        conn.execute("UPDATE submissions SET state = 'intent', api_job_id = NULL")
    with sqlite3.connect(sandbox_dir / "voice-api.sqlite3") as conn:
        (api_job_id,) = conn.execute("SELECT api_job_id FROM jobs WHERE client_job_id = ?", (lost,))
        conn.execute(
            "DELETE FROM postbacks WHERE message_id IN"
            " (SELECT message_id FROM calls WHERE api_job_id = ?)",
            api_job_id,
        )
        conn.execute("DELETE FROM calls WHERE api_job_id = ?", api_job_id)
        conn.execute("DELETE FROM jobs WHERE api_job_id = ?", api_job_id)
    with sqlite3.connect(tmp_path / "out.state.sqlite3") as conn:
        conn.execute("DELETE FROM stages WHERE stage = 'submit'")
    second = run_pipeline(sources, run)
    assert [i.status.value for i in second.items] == [
        "reused",
        "fixed",
    ]  # the first: nothing needed doing again
    assert stage(second.items[0], Stage.SUBMIT).status is StageStatus.REUSED  # was queued
    assert stage(second.items[1], Stage.SUBMIT).status is StageStatus.DONE  # sent now, once
    assert sandbox_jobs(tmp_path) == Counter({queued: 1, lost: 1})


# --------------------------------------------------------------------------------------------
# Dask
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[str]:
    """A LocalCluster with one worker process (its address)."""
    distributed = pytest.importorskip("distributed", reason="the 'dask' extra is not installed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


def test_dask_runs_the_items_on_a_cluster_and_state_stays_here(
    audio: dict[str, Path], tmp_path: Path, dask_cluster: str
) -> None:
    sources = [str(audio["ok"]), str(audio["bad_name"]), str(audio["ogg"])]
    run = options(
        tmp_path,
        executor="dask",
        scheduler=dask_cluster,
        sandbox=True,
        submit=True,
        destinations=(Destination(ANSWERS),),
    )
    report = run_pipeline(sources, run)
    assert [i.status.value for i in report.items] == ["ok", "fixed", "fixed"]
    assert all(i.submit_outcome == "accepted" and i.calls for i in report.items)
    with RunState(tmp_path / "out.state.sqlite3") as state:
        recorded = {m.stage for item in report.items for m in state.markers(_id(item))}
    assert recorded >= {Stage.INSPECT, Stage.FIX, Stage.UPLOAD, Stage.SUBMIT}
    again = run_pipeline(sources, run)
    assert all(statuses(i)["submit"] == "reused" for i in again.items)


def _id(item: ItemReport) -> str:
    from audioprep.run.plan import source_id

    return source_id(item.source)


# --------------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------------


def test_progress_lines_on_a_pipe_and_nothing_when_quiet(
    audio: dict[str, Path], tmp_path: Path
) -> None:
    import io

    stream = io.StringIO()
    run_pipeline(
        [str(audio["ok"]), str(audio["html"])],
        options(tmp_path),
        progress=RunProgress("lines", stream),
    )
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and all(line.startswith(("[1/2]", "[2/2]")) for line in lines)
    assert any("FAILED" not in line and "(inspect: unusable" in line for line in lines)
    quiet = io.StringIO()
    run_pipeline([str(audio["ok"])], options(tmp_path), progress=RunProgress("quiet", quiet))
    assert quiet.getvalue() == ""


def test_progress_line_texts() -> None:
    item = ItemReport(source="a.mp3", path=None, status=ItemStatus.FAILED, failed_stage=Stage.FIX,
                      error="fix failed: boom")  # fmt: skip
    event = pipeline.ProgressEvent("item", 10, 4, 1, "a.mp3", item=item)
    assert item_line(event) == "[4/10] failed a.mp3  (fix: fix failed: boom)"
    assert tty_line(event, 8.0) == "[4/10] 1 failed  failed: a.mp3  ETA 0:12"


def test_progress_redraws_one_line_on_a_terminal() -> None:
    import io

    stream = io.StringIO()
    ticks = iter([0.0, 1.0, 1.01, 5.0])
    progress = RunProgress("tty", stream, clock=lambda: next(ticks))
    progress(pipeline.ProgressEvent("info", 2, message="sandbox: local S3"))
    progress(pipeline.ProgressEvent("stage", 2, 0, 0, "a.mp3", Stage.FIX))
    progress(pipeline.ProgressEvent("stage", 2, 0, 0, "a.mp3", Stage.UPLOAD))  # too soon: skipped
    done = ItemReport(source="a.mp3", path=None, status=ItemStatus.FIXED)
    progress(pipeline.ProgressEvent("item", 2, 1, 0, "a.mp3", item=done))
    progress.close()
    text = stream.getvalue()
    assert text.startswith("sandbox: local S3\n")
    first, second = "[0/2]  fix: a.mp3", "[1/2]  fixed: a.mp3  ETA 0:05"
    assert f"\r{first}\r{second}" in text and "upload" not in text
    assert text.endswith("\r" + " " * len(second) + "\r")


def test_cli_run_usage_errors_and_report_file(
    audio: dict[str, Path], tmp_path: Path, run_cli: Cli
) -> None:
    assert "give at least one SOURCE" in run_cli("run", expect=ExitCode.USAGE).stderr
    out = ["-o", str(tmp_path / "out"), "-q"]
    junit = tmp_path / "report.xml"
    written = run_cli(
        "run", str(audio["ok"]), *out, "--report", "junit", "--report-file", str(junit)
    )
    assert written.stdout == "" and junit.read_text().startswith("<?xml")
    failed = run_cli(
        "run", str(audio["html"]), *out, "--report", "github", expect=ExitCode.FINDINGS
    )
    assert "::error file=" in failed.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("audio,number\nx.mp3,12\n")
    usage = run_cli("run", "--manifest", str(bad), *out, expect=ExitCode.USAGE)
    assert "number '12' is not a phone number" in usage.stderr


def _did(verb: str, actions: Sequence[str]) -> bool:
    """Whether one of the report's actions (words: ``renamed 'a' to 'b'``) is ``verb``."""
    return any(action.split()[0] == verb for action in actions)
