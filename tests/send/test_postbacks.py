"""Postbacks and status: the callback shape, the receiver, and the sandbox's postbacks arriving
at ``postbacks serve`` so that ``status`` shows each number's outcome."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from audioprep import api
from audioprep.errors import ExitCode
from audioprep.sandbox import Faults
from audioprep.send.journal import Intent, Journal, Settlement, State
from audioprep.send.postbacks import PostbackOptions, PostbackServer, PostbackStore, secret_ok
from tests.conftest import Cli
from tests.support.httpserver import wait_until
from tests.support.voice_fakes import TOKEN, api_requests, sandbox

AUDIO = "https://cdn.example.com/prompts/welcome.mp3"
API_JOB_ID = "56021e4d-7391-42e9-be9x-5de682ad2c2b"
MESSAGE_ID = "14574237521680010249"
#: The documented sample (the [SPEC] one, its curly quote made straight).
SAMPLE: dict[str, Any] = {
    "api_job_id": API_JOB_ID,
    "client_job_id": "job-123455",
    "data": [
        {
            "type": "voice",
            "timestamp": 1457423752,
            "micro_timestamp": 1457423752000,
            "from": "35699000000",
            "job_type": "TTS",
            "callback_url": "http://example.com/callback",
            "tts_text": "Hello, This is a simple test message",
            "tts_voice": "MAN",
            "tts_lang": "en-GB",
            "message_id": MESSAGE_ID,
            "client_message_id": "111",
            "to": "35699000001",
            "ring_date": 1457423756,
            "answer_date": False,
            "hang_date": 1457423766,
            "actual_duration": 0,
            "billed_duration": 0,
            "status": "UNDELIV",
            "error_code": 4017,
            "error_description": "USER_BUSY",
        }
    ],
}


def _with_info(**changes: Any) -> dict[str, Any]:
    info = {**SAMPLE["data"][0], **changes}
    return {**SAMPLE, "data": [{k: v for k, v in info.items() if v is not ...}]}


# -- the documented shape (rules) ------------------------------------------------------------


def test_the_documented_samples_pass() -> None:
    assert api.check_callback_body(SAMPLE) == ()
    lone = {**SAMPLE, "data": SAMPLE["data"][0]}  # "data: CALLBACK_INFO" read literally
    assert api.check_callback_body(lone) == ()
    audio = _with_info(tts_text=..., tts_voice=..., tts_lang=..., audio_file_url=AUDIO)
    assert api.check_callback_body({**audio, "new_field": 1}) == ()
    no_custom_id = _with_info(client_message_id=..., callback_url=...)
    assert api.check_callback_body(no_custom_id) == ()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([], "the body is not a JSON object"),
        ({"data": SAMPLE["data"]}, "api_job_id: missing or not a string"),
        ({"api_job_id": API_JOB_ID, "data": []}, "data: missing, empty"),
        (_with_info(message_id=...), "data[0].message_id: missing"),
        (_with_info(answer_date="yes"), "data[0].answer_date: expected Unix seconds or false"),
        (_with_info(type="sms"), "data[0].type: expected 'voice'"),
        (_with_info(actual_duration="0"), "data[0].actual_duration: expected an integer"),
        ({**SAMPLE, "client_job_id": 5}, "client_job_id: not a string"),
    ],
)
def test_other_shapes_are_refused(body: object, problem: str) -> None:
    problems = api.check_callback_body(body)
    assert any(p.startswith(problem) for p in problems), problems


@pytest.mark.parametrize("name", api.CALLBACK_INFO_FIELDS)
def test_every_documented_field_is_type_checked(name: str) -> None:
    assert api.check_callback_body(_with_info(**{name: {"not": "a scalar"}}))


def test_secret_in_path_or_query() -> None:
    assert secret_ok(None, "/anything")
    assert secret_ok("s3cr3t", "/postback/s3cr3t")
    assert secret_ok("s3cr3t", "/postback?secret=s3cr3t")
    assert not secret_ok("s3cr3t", "/postback")
    assert not secret_ok("s3cr3t", "/postback?secret=s3cr3")


# -- the receiver ----------------------------------------------------------------------------


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[PostbackServer]:
    with PostbackServer(PostbackOptions(port=0, db=tmp_path / "pb.sqlite3")) as server:
        yield server


def post(url: str, body: object) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(url, data=data, headers={"Content-Type": "application/json"}, timeout=10)


def test_stores_raw_and_parsed_and_duplicates_are_harmless(receiver: PostbackServer) -> None:
    first = post(receiver.url + "/postback", SAMPLE)
    second = post(receiver.url + "/postback", SAMPLE)
    assert (first.status_code, first.json()) == (200, {"ok": True, "duplicate": False})
    assert (second.status_code, second.json()) == (200, {"ok": True, "duplicate": True})
    assert receiver.store.counts() == {"postbacks": 1, "deliveries": 2, "events": 1}
    (event,) = receiver.store.events(message_ids=[MESSAGE_ID])
    assert (event.to, event.status, event.answered, event.final) == (
        "35699000001",
        "UNDELIV",
        False,
        True,
    )
    assert (event.error_code, event.error_description) == (4017, "USER_BUSY")


def test_other_shapes_get_400_and_the_reason_is_logged(
    receiver: PostbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    bad = post(receiver.url + "/postback", _with_info(status=...))
    assert bad.status_code == 400
    assert bad.json()["problems"] == ["data[0].status: missing"]
    assert post(receiver.url + "/postback", b"not json").status_code == 400
    assert "data[0].status: missing" in caplog.text and "not JSON" in caplog.text
    assert receiver.store.counts()["postbacks"] == 0


def test_a_body_over_the_limit_is_a_413_and_a_missing_one_a_400(receiver: PostbackServer) -> None:
    from audioprep.send.postbacks import MAX_BODY_BYTES

    big = post(receiver.url + "/postback", b" " * (MAX_BODY_BYTES + 1))
    assert (big.status_code, big.json()) == (413, {"error": "body too large"})
    empty = post(receiver.url + "/postback", b"")
    assert empty.status_code == 400
    assert empty.json() == {"error": "a body with Content-Length is needed"}
    assert receiver.store.counts()["postbacks"] == 0


def test_health_and_methods(receiver: PostbackServer) -> None:
    assert requests.get(receiver.url + "/health", timeout=5).status_code == 200
    assert requests.get(receiver.url + "/postback", timeout=5).status_code == 405


def test_a_secret_is_required_and_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "pb-secret-93c1d"
    options = PostbackOptions(port=0, db=tmp_path / "pb.sqlite3", secret=secret)
    with PostbackServer(options) as server:
        assert post(server.url + "/postback", SAMPLE).status_code == 403
        assert post(server.url + "/postback/wrong", SAMPLE).status_code == 403
        assert server.store.counts()["postbacks"] == 0
        assert post(server.url + f"/postback/{secret}", SAMPLE).status_code == 200
        assert post(server.url + f"/postback?secret={secret}", SAMPLE).status_code == 200
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("audioprep.send.postbacks")]
    assert ours and not any(secret in line for line in ours)  # (urllib3 logs the test's URLs)
    assert secret not in repr(options)


# -- sandbox → postbacks serve → status -------------------------------------------------------


def _wait_final(store: PostbackStore, message_ids: list[str]) -> None:
    def done() -> bool:
        finals = {e.message_id for e in store.events(message_ids=message_ids) if e.final}
        return finals == set(message_ids)

    assert wait_until(done, timeout=20), "not every call sent its final postback"


def test_sandbox_postbacks_reach_the_receiver_and_status_shows_each_number(
    run_cli: Cli, receiver: PostbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIOPREP_API_TOKEN", TOKEN)
    journal, db = tmp_path / "journal.sqlite3", receiver.store.path
    numbers = [f"356991000{i:02d}" for i in range(12)]
    to = [part for number in numbers for part in ("--to", number)]
    with sandbox(seed=3) as box:
        submitted = run_cli(
            *("submit", "--audio-url", AUDIO, *to, "--job-id", "status-e2e", "--json"),
            *("--api-url", box.url, "--journal", str(journal)),
            *("--callback-url", receiver.url + "/postback"),
        )
        results = json.loads(submitted.stdout)["results"]
        _wait_final(receiver.store, list(results.values()))
        truth = requests.get(
            f"{box.url}/1/voice/job/{json.loads(submitted.stdout)['api_job_id']}",
            headers={"Authorization": f"Token {TOKEN}"},
            timeout=10,
        ).json()
    report = json.loads(
        run_cli(
            "status", "--job-id", "status-e2e", "--db", str(db), "--journal", str(journal), "--json"
        ).stdout
    )
    (job,) = report["jobs"]
    assert job["state"] == "accepted" and job["job_id"] == "status-e2e"
    by_number = {call["number"]: call for call in job["calls"]}
    assert sorted(by_number) == sorted(numbers)
    for info in truth["data"]:  # the sandbox's own view of each finished call
        call = by_number[info["to"]]
        assert call["message_id"] == info["message_id"]
        assert (call["status"], call["error_code"]) == (info["status"], info["error_code"])
        assert call["answered"] is (info["answer_date"] is not False)
        assert call["actual_duration"] == info["actual_duration"]
        assert call["final"] is True and call["source"] == "postback"
    assert report["totals"]["destinations"] == 12 and report["totals"]["final"] == 12
    assert {"DELIVRD", "UNDELIV"} <= set(report["totals"]["by_status"])
    text = run_cli("status", "--job-id", "status-e2e", "--db", str(db), "--journal", str(journal))
    assert "12 destination(s): 12 ended" in text.stdout


def test_status_by_message_id_and_api_job_id(run_cli: Cli, receiver: PostbackServer) -> None:
    assert post(receiver.url + "/postback", SAMPLE).status_code == 200
    db = str(receiver.store.path)
    by_message = json.loads(
        run_cli("status", "--message-id", MESSAGE_ID, "--db", db, "--json").stdout
    )
    (job,) = by_message["jobs"]
    assert job["state"] is None and "no journal entry" in job["notes"][0]
    assert job["calls"][0]["status"] == "UNDELIV"
    by_job = run_cli("status", "--api-job-id", API_JOB_ID, "--db", db)
    assert "USER_BUSY" in by_job.stdout


def test_postbacks_resolve_an_unknown_outcome(
    run_cli: Cli, receiver: PostbackServer, tmp_path: Path
) -> None:
    journal_path = tmp_path / "journal.sqlite3"
    payload = b'{"job_id":"job-123455"}'
    with Journal(journal_path) as journal:
        claim = journal.claim(
            Intent(
                job_id="job-123455",
                content_sha256="c",
                payload_sha256=hashlib.sha256(payload).hexdigest(),
                payload=payload,
                endpoint="http://127.0.0.1/1/voice",
                destinations=1,
            )
        )
        assert claim.entry is not None
        journal.settle(claim.entry.id, Settlement(state=State.UNKNOWN, description="lost"))
    assert post(receiver.url + "/postback", SAMPLE).status_code == 200
    args = ("status", "--job-id", "job-123455", "--db", str(receiver.store.path))
    report = json.loads(run_cli(*args, "--journal", str(journal_path), "--json").stdout)
    (job,) = report["jobs"]
    assert (job["state"], job["api_job_id"]) == ("unknown", API_JOB_ID)
    assert "the API did queue this job" in job["notes"][0]


def test_postbacks_resolve_an_answer_lost_in_transit(
    run_cli: Cli, receiver: PostbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox queues the job but answers after the client gave up: exit 5; then the
    postbacks, which carry our job_id, show that the job is queued."""
    monkeypatch.setenv("AUDIOPREP_API_TOKEN", TOKEN)
    journal = str(tmp_path / "journal.sqlite3")
    with sandbox(faults=Faults(latency_s=0.5)) as box:
        run_cli(
            *("submit", "--audio-url", AUDIO, "--to", "35699100000", "--job-id", "lost-answer"),
            *("--api-url", box.url, "--journal", journal, "--timeout", "0.2"),
            *("--callback-url", receiver.url + "/postback"),
            expect=ExitCode.UNKNOWN_OUTCOME,
        )
        assert wait_until(lambda: receiver.store.counts()["events"] >= 1, timeout=10)
        api_job_id = box.store.job_ids()[0]
    args = ("status", "--job-id", "lost-answer", "--db", str(receiver.store.path))
    report = json.loads(run_cli(*args, "--journal", journal, "--json").stdout)
    (job,) = report["jobs"]
    assert (job["state"], job["api_job_id"]) == ("unknown", api_job_id)
    assert "the API did queue this job" in job["notes"][0]
    assert job["calls"][0]["number"] == "35699100000"


@pytest.mark.parametrize(
    ("option", "value", "code"),
    [
        ("--message-id", "1457", api.Code.MESSAGE_ID_INVALID),
        ("--message-id", "1457423752168001024X", api.Code.MESSAGE_ID_INVALID),
        ("--api-job-id", "56021e4d", api.Code.API_JOB_ID_INVALID),
        ("--job-id", "abc", api.Code.JOB_ID_LENGTH),
    ],
)
def test_ids_are_checked_first(run_cli: Cli, option: str, value: str, code: api.Code) -> None:
    result = run_cli("status", option, value, expect=ExitCode.USAGE)
    assert api.describe(code) in result.stderr and f"({int(code)})" in result.stderr


def test_status_needs_exactly_one_id_and_reports_nothing_known(
    run_cli: Cli, tmp_path: Path
) -> None:
    run_cli("status", expect=ExitCode.USAGE)
    run_cli("status", "--job-id", "abcdefg", "--message-id", MESSAGE_ID, expect=ExitCode.USAGE)
    result = run_cli("status", "--job-id", "abcdefg", "--db", str(tmp_path / "none.db"), expect=1)
    assert "nothing known about job_id abcdefg" in result.stdout


def test_status_lookup_asks_the_api(
    run_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIOPREP_API_TOKEN", TOKEN)
    journal = str(tmp_path / "journal.sqlite3")
    with sandbox() as box:
        base = ("--api-url", box.url, "--journal", journal)
        run_cli(
            "submit", "--audio-url", AUDIO, "--to", "35699100000", "--job-id", "lookup-01", *base
        )
        report = json.loads(
            run_cli("status", "--job-id", "lookup-01", "--lookup", "--json", *base).stdout
        )
        assert api_requests(box) == 2
    (call,) = report["jobs"][0]["calls"]
    assert call["number"] == "35699100000" and call["source"] == "lookup"
    assert call["status"] is not None


# -- the command -----------------------------------------------------------------------------


def test_postbacks_serve_command(tmp_path: Path) -> None:
    db = tmp_path / "served.sqlite3"
    command = [
        sys.executable,
        "-m",
        "audioprep",
        "postbacks",
        "serve",
        "--port",
        "0",
        "--db",
        str(db),
    ]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("receiving postbacks on http://127.0.0.1:"), first
        url = first.split()[3].rstrip(";")
        assert proc.stdout.readline().strip() == f"callback URL: {url}/postback"
        assert post(url + "/postback", SAMPLE).status_code == 200
        assert post(url + "/postback", {"nope": 1}).status_code == 400
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    assert proc.returncode == ExitCode.INTERRUPTED
    with PostbackStore(db, read_only=True) as store:
        assert store.counts()["events"] == 1
