"""The sandbox driven over real HTTP on loopback: codes, transport, audio, postbacks, lookups.

Every test talks to a running :class:`~audioprep.sandbox.Sandbox` with ``requests``. Audio is
real (made by ffmpeg) and served by a local HTTP server; postbacks land on a local receiver.
Calls are simulated with a compressed clock (``time_scale``), so postbacks take well under 1 s.
"""

from __future__ import annotations

import json
import logging
import math
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from audioprep import api
from audioprep.api import Code
from audioprep.sandbox import FaultMode, Faults, Sandbox, SandboxOptions
from audioprep.sandbox.calls import Outcome, plan_call
from tests.support.httpserver import LocalHTTPServer, unused_port, wait_until
from tests.support.sandbox_fixtures import (
    AUTH,
    TOKEN,
    Receiver,
    audio_job,
    get,
    make_audio,
    numbers_by_outcome,
    running,
    serve_audio,
    trigger,
)

URL = "https://cdn.example.com/prompts/hello-1.mp3"  # never fetched: these requests fail first
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
CALLBACK_FIELDS = [
    "type",
    "timestamp",
    "micro_timestamp",
    "from",
    "job_type",
    "callback_url",
    "audio_file_url",
    "message_id",
    "client_message_id",
    "to",
    "ring_date",
    "answer_date",
    "hang_date",
    "actual_duration",
    "billed_duration",
    "status",
    "error_code",
    "error_description",
]


def body(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "destinations": [{"number": "35699000001", "custom_id": "c1"}],
        "voice_content": {"audio_file_url": URL},
    }
    request.update(overrides)
    return request


def content(**fields: Any) -> dict[str, Any]:
    return body(voice_content={"audio_file_url": URL, **fields})


def tts_job(*numbers: str, **outer: Any) -> dict[str, Any]:
    """A valid TTS job (no audio download): for tests about transport, faults and calls."""
    request: dict[str, Any] = {
        "destinations": [{"number": n} for n in numbers or ("35699000001",)],
        "voice_content": {"tts_text": "Hello, this is a test call", "tts_voice": "man"},
    }
    request.update(outer)
    return request


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with running() as started:
        yield started


@pytest.fixture(scope="module")
def audio_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHTTPServer]:
    files = make_audio(tmp_path_factory.mktemp("audio"))
    with LocalHTTPServer() as server:
        serve_audio(server, files)
        yield server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with LocalHTTPServer() as server:
        yield Receiver(server)


def assert_error(response: requests.Response, code: Code, description: str | None = None) -> None:
    """The documented error body, exactly: a fresh api_job_id, the code, the description."""
    assert response.status_code == api.http_status(code)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    got = response.json()
    assert UUID_RE.fullmatch(got["api_job_id"])
    expected = api.error_body(
        code,
        description if description is not None else api.describe(code),
        api_job_id=got["api_job_id"],
        job_id=got.get("client_job_id"),
    )
    assert got == expected


# --------------------------------------------------------------------------------------------
# Every code a request can trigger without the network (the validator's), over HTTP
# --------------------------------------------------------------------------------------------

VALIDATION_CASES: list[tuple[Any, Code, str | None]] = [
    ("{not json", Code.INVALID_JSON, None),
    ("[1, 2]", Code.INVALID_JSON, None),
    (content(tts_text="Hello caller"), Code.AUDIO_AND_TTS, None),
    (body(priority=1), Code.PARAM_NOT_ALLOWED, "priority is not allowed"),
    (body(destinations={"number": "35699000001"}), Code.DESTINATIONS_TYPE, None),
    (body(destinations=[{"custom_id": "x"}]), Code.NUMBER_MISSING, None),
    (body(destinations=[{"number": "12345"}]), Code.DESTINATION_LENGTH, None),
    (body(destinations=[{"number": "call me"}]), Code.NO_VALID_DESTINATIONS, None),
    ({"voice_content": {"audio_file_url": URL}}, Code.DESTINATIONS_MISSING, None),
    (body(voice_content={}), Code.CONTENT_REQUIRED, None),
    (content(tts_voice="MAN"), Code.TTS_IN_AUDIO_CALL, None),
    (
        body(voice_content={"tts_text": "Hello caller", "audio_file_url": ""}),
        Code.AUDIO_IN_TTS_CALL,
        None,
    ),
    (
        content(sender_id="12"),
        Code.SENDER_LENGTH,
        "The 'sender_id' number 12 should at least have 7 digits and a maximum of 15 digits",
    ),
    (content(enable_menu_response="yes"), Code.MENU_RESPONSE_BOOL, None),
    (body(voice_content={"tts_text": "Hi"}), Code.TTS_TEXT_LENGTH, None),
    (body(voice_content={"tts_text": "Hello caller", "tts_voice": "robot"}), Code.TTS_VOICE, None),
    (
        body(voice_content={"tts_text": "Hello caller", "tts_lang": "english"}),
        Code.TTS_LANGUAGE,
        None,
    ),
    (body(voice_content=None), Code.VOICE_CONTENT_MISSING, None),
    (body(job_id="abc"), Code.JOB_ID_LENGTH, None),
    (
        body(destinations=[{"number": "35699000001", "custom_id": "x"}] * 2),
        Code.CUSTOM_ID_NOT_UNIQUE,
        "Custom ID x is not unique",
    ),
    (
        content(ring_timeout_seconds="5"),
        Code.SECONDS_TOO_SMALL,
        "ring_timeout_seconds should be bigger than 10",
    ),
    (
        content(time_limit_seconds=12.5),
        Code.SECONDS_NOT_INTEGER,
        "time_limit_seconds should be integer",
    ),
    (body(voice_content={"audio_file_url": "ftp://host/a.mp3"}), Code.AUDIO_URL_SCHEME, None),
    (body(voice_content={"audio_file_url": "https://h/my file.mp3"}), Code.AUDIO_INVALID, None),
]


@pytest.mark.parametrize(
    ("request_body", "code", "description"),
    VALIDATION_CASES,
    ids=[f"{int(c)}-{i}" for i, (_, c, _) in enumerate(VALIDATION_CASES)],
)
def test_validation_codes_over_http(
    sandbox: Sandbox, request_body: Any, code: Code, description: str | None
) -> None:
    assert_error(trigger(sandbox, request_body), code, description)


def test_error_bodies_echo_the_job_id(sandbox: Sandbox) -> None:
    response = trigger(sandbox, body(job_id="my-job-12", voice_content={}))
    assert_error(response, Code.CONTENT_REQUIRED)
    assert list(response.json()) == ["client_job_id", "api_job_id", "result_info"]
    assert response.json()["client_job_id"] == "my-job-12"


def test_account_limits_apply(audio_host: LocalHTTPServer) -> None:
    three = body(destinations=[{"number": f"3569900000{i}"} for i in range(3)])
    with running(max_destinations=2) as limited:
        expected = "There can only be 2 destination numbers"
        assert_error(trigger(limited, three), Code.TOO_MANY_DESTINATIONS, expected)
    with running(account_type=api.AccountType.TEST, personal_number="35699000001") as test:
        assert_error(
            trigger(test, tts_job("35699000001", "35699000002")), Code.TEST_ONE_DESTINATION
        )
        assert_error(
            trigger(test, tts_job("35699000002")),
            Code.TEST_PERSONAL_NUMBER,
            "Only the personal mobile phone number 35699000001 can used when using a TEST Account",
        )
        assert trigger(test, tts_job("35699000001")).status_code == 200


# --------------------------------------------------------------------------------------------
# Transport: 401, 404, 405, bodies
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer abc", "Token", "Token   ", "token-without-scheme"]
)
def test_missing_or_malformed_token_is_401(sandbox: Sandbox, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = requests.post(sandbox.url + "/1/voice", json=tts_job(), headers=headers, timeout=10)
    assert_error(response, Code.NOT_AUTHORIZED)
    assert response.headers["WWW-Authenticate"].startswith("Token")


def test_any_token_is_accepted_when_none_is_configured(sandbox: Sandbox) -> None:
    headers = {"Authorization": "Token anything-at-all"}
    response = requests.post(sandbox.url + "/1/voice", json=tts_job(), headers=headers, timeout=10)
    assert response.status_code == 200


def test_configured_tokens_are_enforced_and_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with running(tokens=("first-token", TOKEN)) as guarded:
        wrong = trigger(guarded, tts_job(), headers={"Authorization": "Token first-token-x"})
        assert_error(wrong, Code.NOT_AUTHORIZED)
        assert trigger(guarded, tts_job()).status_code == 200
        assert get(guarded, "/1/voice/job/" + "x" * 36).status_code == 403
        assert "first-token" not in repr(guarded.options)
    assert TOKEN not in caplog.text and "first-token" not in caplog.text
    assert "POST /1/voice -> 401" in caplog.text


@pytest.mark.parametrize("path", ["/", "/1/voices", "/2/voice", "/1/voice/other/1", "/_sandbox"])
def test_unknown_paths_are_404(sandbox: Sandbox, path: str) -> None:
    response = requests.post(sandbox.url + path, json=tts_job(), headers=AUTH, timeout=10)
    assert response.status_code == 404
    assert response.json() == {"result_info": {"description": "Not Found"}}


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/1/voice", "POST"),
        ("PUT", "/1/voice", "POST"),
        ("DELETE", "/1/voice", "POST"),
        ("POST", "/1/voice/call/12345678901234567890", "GET"),
        ("POST", "/1/voice/job/" + "a" * 36, "GET"),
    ],
)
def test_wrong_methods_are_405(sandbox: Sandbox, method: str, path: str, allow: str) -> None:
    response = requests.request(method, sandbox.url + path, headers=AUTH, timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    assert response.json() == {"result_info": {"description": "Method Not Allowed"}}


def test_oversized_and_chunked_bodies(sandbox: Sandbox) -> None:
    huge = trigger(sandbox, b"{" + b" " * 2_000_001 + b"}")
    assert huge.status_code == 400
    assert huge.json() == {"result_info": {"description": "Bad Request"}}
    payload = json.dumps(tts_job()).encode()
    chunked = requests.post(
        sandbox.url + "/1/voice",
        data=iter([payload[:10], payload[10:]]),  # a generator: requests sends it chunked
        headers=AUTH,
        timeout=10,
    )
    assert chunked.status_code == 200


# --------------------------------------------------------------------------------------------
# Success and audio, judged for real
# --------------------------------------------------------------------------------------------


def test_valid_mp3_is_accepted_with_the_documented_body(
    sandbox: Sandbox, audio_host: LocalHTTPServer
) -> None:
    gets_before = _gets(audio_host, "/valid.mp3")
    request = audio_job(
        audio_host.url("/valid.mp3"), ["+356 99 000 001", "35699000002"], job_id="job-ok-1"
    )
    del request["destinations"][1]["custom_id"]
    response = trigger(sandbox, request)
    assert response.status_code == 200, response.text
    got = response.json()
    assert list(got) == ["api_job_id", "client_job_id", "results", "result_info"]
    assert UUID_RE.fullmatch(got["api_job_id"]) and len(got["api_job_id"]) == 36
    assert got["client_job_id"] == "job-ok-1"
    assert list(got["results"]) == ["35699000001", "35699000002"]
    first, second = got["results"].values()
    assert first["custom_id"] == "c0" and "custom_id" not in second
    for result in (first, second):
        assert re.fullmatch(r"[0-9]{20}", result["message_id"])
    assert got["result_info"] == {"status_code": "0", "description": api.describe(Code.SUCCESS)}
    assert _gets(audio_host, "/valid.mp3") == gets_before + 1


def test_valid_wav_is_accepted_and_no_job_id_means_no_client_job_id(
    sandbox: Sandbox, audio_host: LocalHTTPServer
) -> None:
    response = trigger(sandbox, audio_job(audio_host.url("/valid.wav")))
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["api_job_id", "results", "result_info"]


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/missing.mp3", Code.AUDIO_DOWNLOAD_FAILED),
        ("/login.mp3", Code.AUDIO_INVALID),
        ("/corrupted.mp3", Code.AUDIO_CORRUPTED),
        ("/huge.mp3", Code.AUDIO_PROBLEM),
    ],
)
def test_audio_is_downloaded_and_judged(
    sandbox: Sandbox, audio_host: LocalHTTPServer, path: str, code: Code
) -> None:
    gets_before = _gets(audio_host, path)
    assert_error(trigger(sandbox, audio_job(audio_host.url(path), job_id="job-audio")), code)
    assert _gets(audio_host, path) == gets_before + 1


def test_unreachable_audio_host_is_106(sandbox: Sandbox) -> None:
    url = f"http://127.0.0.1:{unused_port()}/prompt.mp3"
    assert_error(trigger(sandbox, audio_job(url)), Code.AUDIO_DOWNLOAD_FAILED)


def test_crashes_while_downloading_or_reading_are_109_and_110(
    sandbox: Sandbox, audio_host: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from audioprep.audio import fetch, inspect

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    with monkeypatch.context() as patch:
        patch.setattr(fetch, "fetch", boom)
        assert_error(
            trigger(sandbox, audio_job(audio_host.url("/valid.mp3"))), Code.AUDIO_UNPROCESSABLE
        )
    with monkeypatch.context() as patch:
        patch.setattr(inspect, "inspect_file", boom)
        assert_error(trigger(sandbox, audio_job(audio_host.url("/valid.mp3"))), Code.AUDIO_PROBLEM)


def test_verdicts_are_cached_while_the_etag_holds(audio_host: LocalHTTPServer) -> None:
    mp3 = requests.get(audio_host.url("/valid.mp3"), timeout=10).content
    audio_host.serve_bytes("/tagged.mp3", mp3, content_type="audio/mpeg", headers={"ETag": '"v1"'})
    with running() as fresh:
        assert trigger(fresh, audio_job(audio_host.url("/tagged.mp3"))).status_code == 200
        audio_host.wait_idle()
        first = [r.method for r in audio_host.requests_for("/tagged.mp3")]
        assert first == ["GET"]  # the validators come from the download: no HEAD before it
        for _ in range(2):
            assert trigger(fresh, audio_job(audio_host.url("/tagged.mp3"))).status_code == 200
        assert _gets(audio_host, "/tagged.mp3") == 1
        audio_host.serve_bytes("/tagged.mp3", b"<html></html>", headers={"ETag": '"v2"'})
        assert_error(trigger(fresh, audio_job(audio_host.url("/tagged.mp3"))), Code.AUDIO_INVALID)
        assert _gets(audio_host, "/tagged.mp3") == 2
    with running(audio_cache=False) as uncached:
        audio_host.serve_bytes("/tagged.mp3", mp3, headers={"ETag": '"v1"'})
        for _ in range(2):
            assert trigger(uncached, audio_job(audio_host.url("/tagged.mp3"))).status_code == 200
        assert _gets(audio_host, "/tagged.mp3") == 4


def test_fresh_verdicts_skip_the_host_and_concurrent_jobs_share_a_download(
    audio_host: LocalHTTPServer,
) -> None:
    mp3 = requests.get(audio_host.url("/valid.mp3"), timeout=10).content
    cacheable = {"ETag": '"v1"', "Cache-Control": "public, max-age=60"}
    audio_host.serve_bytes("/cdn.mp3", mp3, headers=cacheable, header_delay=0.2)
    with running() as fresh:
        url = audio_host.url("/cdn.mp3")
        answers: list[int] = []
        threads = [
            threading.Thread(
                target=lambda: answers.append(trigger(fresh, audio_job(url)).status_code)
            )
            for _ in range(5)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers == [200] * 5
        assert _gets(audio_host, "/cdn.mp3") == 1  # five jobs at once, one download
        seen = len(audio_host.requests_for("/cdn.mp3"))
        assert trigger(fresh, audio_job(url)).status_code == 200
        assert len(audio_host.requests_for("/cdn.mp3")) == seen  # fresh: not even a HEAD


def _gets(server: LocalHTTPServer, path: str) -> int:
    server.wait_idle()
    return sum(r.method == "GET" for r in server.requests_for(path))


# --------------------------------------------------------------------------------------------
# Simulated calls and postbacks
# --------------------------------------------------------------------------------------------

EXPECTED_SEQUENCES = {
    Outcome.ANSWERED: [("RINGING", 0, ""), ("DELIVRD", 0, "")],
    Outcome.BUSY: [("RINGING", 0, ""), ("UNDELIV", 4017, "USER_BUSY")],
    Outcome.NO_ANSWER: [("RINGING", 0, ""), ("UNDELIV", 4019, "NO_ANSWER")],
    Outcome.FAILED: [("UNDELIV", 4041, "NORMAL_TEMPORARY_FAILURE")],
}


def test_postbacks_ring_then_end_with_the_documented_shape(
    audio_host: LocalHTTPServer, receiver: Receiver
) -> None:
    seed = 11
    by_outcome = numbers_by_outcome(seed, {o.value for o in Outcome})
    audio_url = audio_host.url("/valid.mp3")
    request = audio_job(
        audio_url, list(by_outcome.values()), job_id="job-pb-1", callback_url=receiver.url
    )
    with running(seed=seed) as sandbox:
        accepted = trigger(sandbox, request).json()
        bodies = receiver.wait_for(7)
        time.sleep(0.1)
        assert len(receiver.requests()) == 7  # nothing more, nothing retried
        lookups = {
            mid: get(sandbox, f"/1/voice/call/{mid}").json()
            for mid in (r["message_id"] for r in accepted["results"].values())
        }
    assert all(
        r.headers["Content-Type"] == "application/json; charset=utf-8" for r in receiver.requests()
    )
    results = accepted["results"]
    seen: dict[str, list[dict[str, Any]]] = {}
    for posted in bodies:
        assert api.check_callback_body(posted) == ()  # what a receiver checks
        assert list(posted) == ["api_job_id", "client_job_id", "data"]
        assert posted["api_job_id"] == accepted["api_job_id"]
        assert posted["client_job_id"] == "job-pb-1"
        (item,) = posted["data"]
        assert list(item) == CALLBACK_FIELDS
        assert item["type"] == "voice" and item["job_type"] == "AUDIO"
        assert item["from"] == "35699000000" and item["callback_url"] == receiver.url
        assert item["audio_file_url"] == audio_url
        assert item["message_id"] == results[item["to"]]["message_id"]
        assert item["client_message_id"] == results[item["to"]]["custom_id"]
        assert item["micro_timestamp"] // 1000 == item["timestamp"]
        seen.setdefault(item["to"], []).append(item)
    for outcome_name, number in by_outcome.items():
        items = seen[number]
        sequence = [(i["status"], i["error_code"], i["error_description"]) for i in items]
        assert sequence == EXPECTED_SEQUENCES[Outcome(outcome_name)], outcome_name
        _check_timeline(Outcome(outcome_name), items)
        final_body = next(b for b in bodies if b["data"][0] is items[-1])
        assert lookups[items[-1]["message_id"]] == final_body  # a lookup shows the same call
        assert api.check_callback_body(lookups[items[-1]["message_id"]]) == ()


def _check_timeline(outcome: Outcome, items: list[dict[str, Any]]) -> None:
    final = items[-1]
    if outcome is not Outcome.FAILED:
        ringing = items[0]
        assert (
            isinstance(ringing["ring_date"], int) and ringing["timestamp"] == ringing["ring_date"]
        )
        assert ringing["answer_date"] is False and ringing["hang_date"] is False
        assert ringing["actual_duration"] == ringing["billed_duration"] == 0
        assert final["ring_date"] == ringing["ring_date"] <= final["hang_date"]
    assert final["timestamp"] == final["hang_date"]
    if outcome is Outcome.ANSWERED:
        assert final["ring_date"] < final["answer_date"] <= final["hang_date"]
        assert 1 <= final["actual_duration"] <= math.ceil(2.1)  # bounded by the 2 s audio
        assert final["billed_duration"] == final["actual_duration"]
        assert abs(final["hang_date"] - final["answer_date"] - final["actual_duration"]) <= 1
    else:
        assert final["answer_date"] is False and final["actual_duration"] == 0
    if outcome is Outcome.NO_ANSWER:
        assert 59 <= final["hang_date"] - final["ring_date"] <= 61  # the default 60 s ring
    if outcome is Outcome.FAILED:
        assert final["ring_date"] is False


def test_failed_postbacks_are_retried_with_backoff(receiver: Receiver) -> None:
    seed = 3
    number = numbers_by_outcome(seed, {"failed"})["failed"]  # a failed call posts once
    receiver.script.extend([500, 503])
    with running(seed=seed, postback_backoff_s=0.1) as sandbox:
        trigger(sandbox, tts_job(number, callback_url=receiver.url))
        receiver.wait_for(1)
        assert wait_until(lambda: sandbox.stats()["postbacks"]["delivered"] == 1)
        stats = sandbox.stats()["postbacks"]
        counts = sandbox.store.counts()
    attempts = receiver.requests()
    assert [r.status for r in attempts] == [500, 503, 200]
    assert attempts[0].body == attempts[1].body == attempts[2].body
    assert stats == {"attempted": 3, "delivered": 1, "failed": 0, "waiting": 0}
    assert counts["postbacks_delivered"] == 1 and counts["postbacks_pending"] == 0
    gaps = [b - a for a, b in zip(receiver.times, receiver.times[1:], strict=False)]
    assert gaps[0] >= 0.09 and gaps[1] >= 0.19  # backoff 0.1 s, then 0.2 s


def test_postbacks_are_given_up_after_the_last_attempt(receiver: Receiver) -> None:
    seed = 3
    number = numbers_by_outcome(seed, {"busy"})["busy"]  # ringing, then final
    receiver.script.extend([500] * 10)
    with running(seed=seed, postback_attempts=3, postback_backoff_s=0.02) as sandbox:
        trigger(sandbox, tts_job(number, callback_url=receiver.url))
        assert wait_until(lambda: sandbox.stats()["postbacks"]["failed"] == 2, 10)
        counts = sandbox.store.counts()
    statuses = [json.loads(r.body)["data"][0]["status"] for r in receiver.requests()]
    assert statuses == ["RINGING"] * 3 + ["UNDELIV"] * 3  # in order, each tried 3 times
    assert counts["postbacks_failed"] == 2


def test_pending_postbacks_resume_after_a_restart(tmp_path: Path, receiver: Receiver) -> None:
    seed = 3
    number = numbers_by_outcome(seed, {"failed"})["failed"]
    db = tmp_path / "sandbox.db"
    with running(db=db, seed=seed, time_scale=0.5) as first:
        trigger(first, tts_job(number, callback_url=receiver.url))
    assert receiver.requests() == []  # stopped before the call ended (≥ 0.75 s)
    with running(db=db, seed=seed, time_scale=0.5):
        (posted,) = receiver.wait_for(1, timeout=10)
    assert posted["data"][0]["to"] == number


# --------------------------------------------------------------------------------------------
# Lookups
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/1/voice/call/not-a-number", Code.MESSAGE_ID_INVALID),
        ("/1/voice/call/" + "1" * 19, Code.MESSAGE_ID_INVALID),
        ("/1/voice/call/" + "1" * 21, Code.MESSAGE_ID_INVALID),
        ("/1/voice/call/", Code.MESSAGE_ID_INVALID),
        ("/1/voice/call/" + "1" * 20, Code.CALL_NOT_FOUND),
        ("/1/voice/job/too-short", Code.API_JOB_ID_INVALID),
        ("/1/voice/job/" + "a" * 37, Code.API_JOB_ID_INVALID),
        ("/1/voice/job/" + str(uuid.uuid4()), Code.JOB_NOT_FOUND),
    ],
)
def test_lookup_errors(sandbox: Sandbox, path: str, code: Code) -> None:
    assert_error(get(sandbox, path), code)


def test_lookups_return_the_callback_format(sandbox: Sandbox) -> None:
    accepted = trigger(sandbox, tts_job("35699000001", "35699000002", job_id="job-look")).json()
    job = get(sandbox, f"/1/voice/job/{accepted['api_job_id']}")
    assert job.status_code == 200
    got = job.json()
    assert list(got) == ["api_job_id", "client_job_id", "data"]
    assert [item["to"] for item in got["data"]] == ["35699000001", "35699000002"]
    for item in got["data"]:
        assert item["job_type"] == "TTS" and item["tts_voice"] == "MAN"
        assert "callback_url" not in item and "client_message_id" not in item
        assert item["status"] in ("QUEUED", "RINGING", "ANSWERED", "DELIVRD", "UNDELIV")
        call = get(sandbox, f"/1/voice/call/{item['message_id']}").json()
        assert call["api_job_id"] == accepted["api_job_id"] and len(call["data"]) == 1
        assert call["data"][0]["to"] == item["to"]


def test_lookups_survive_a_restart_with_a_db_file(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    with running(db=db) as first:
        accepted = trigger(first, tts_job("35699000001", job_id="job-kept")).json()
        api_job_id = accepted["api_job_id"]
        message_id = accepted["results"]["35699000001"]["message_id"]
    with running(db=db) as second:
        job = get(second, f"/1/voice/job/{api_job_id}").json()
        call = get(second, f"/1/voice/call/{message_id}").json()
        listed = requests.get(second.url + "/_sandbox/jobs", timeout=10).json()
    assert job["client_job_id"] == "job-kept" and job["data"][0]["message_id"] == message_id
    assert call["data"][0]["to"] == "35699000001"
    assert listed == {"api_job_ids": [api_job_id]}
    with running() as in_memory:  # the default keeps nothing
        assert_error(get(in_memory, f"/1/voice/job/{api_job_id}"), Code.JOB_NOT_FOUND)


# --------------------------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------------------------


def test_outcomes_are_drawn_from_the_seed_alone() -> None:
    numbers = [str(35699000000 + i) for i in range(40)]

    def plans(seed: int) -> list[object]:
        return [plan_call(seed, n, audio_s=5.0, ring_timeout_s=30) for n in numbers]

    assert plans(1) == plans(1)
    assert plans(1) != plans(2)
    assert {p.outcome for p in plans(1)} == set(Outcome)  # type: ignore[attr-defined]


def test_the_same_seed_gives_the_same_calls_over_http() -> None:
    numbers = [str(35699000100 + i) for i in range(8)]

    def finals(seed: int) -> list[tuple[Any, ...]]:
        with running(seed=seed) as sandbox:
            api_job_id = trigger(sandbox, tts_job(*numbers)).json()["api_job_id"]
            path = f"/1/voice/job/{api_job_id}"
            assert wait_until(
                lambda: all(i["hang_date"] for i in get(sandbox, path).json()["data"]), 10
            )
            data = get(sandbox, path).json()["data"]
        return [(i["to"], i["status"], i["error_code"], i["actual_duration"]) for i in data]

    assert finals(7) == finals(7)
    assert finals(7) != finals(8)


# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------


def set_faults(sandbox: Sandbox, **faults: Any) -> requests.Response:
    return requests.post(sandbox.url + "/_sandbox/faults", json=faults, timeout=10)


def test_latency_fault(sandbox: Sandbox) -> None:
    assert set_faults(sandbox, latency_ms=300).json()["latency_ms"] == 300
    try:
        started = time.monotonic()
        assert trigger(sandbox, tts_job()).status_code == 200
        assert time.monotonic() - started >= 0.3
    finally:
        requests.delete(sandbox.url + "/_sandbox/faults", timeout=10)
    started = time.monotonic()
    trigger(sandbox, tts_job())
    assert time.monotonic() - started < 0.3


@pytest.mark.parametrize(("mode", "status"), [("503", 503), ("500", 500)])
def test_server_error_faults_for_a_number_of_requests(mode: str, status: int) -> None:
    with running() as sandbox:
        set_faults(sandbox, mode=mode, count=2)
        for _ in range(2):
            response = trigger(sandbox, tts_job())
            assert response.status_code == status
            assert response.json() == {"result_info": {"description": api.HTTP_MESSAGES[status]}}
        assert trigger(sandbox, tts_job()).status_code == 200
        current = requests.get(sandbox.url + "/_sandbox/faults", timeout=10).json()
        assert current["mode"] is None and current["count"] is None
        assert sandbox.store.counts()["jobs"] == 1


def test_busy_job_problem_and_service_settings_faults() -> None:
    with running() as sandbox:
        set_faults(sandbox, mode="busy")
        assert_error(trigger(sandbox, tts_job(job_id="job-busy1")), Code.SERVER_TOO_BUSY)
        assert trigger(sandbox, tts_job(job_id="job-busy1")).json()["client_job_id"] == "job-busy1"
        assert_error(get(sandbox, "/1/voice/job/" + "a" * 36), Code.SERVER_TOO_BUSY)
        set_faults(sandbox, mode="job_problem", generic_error="No coverage for 35699000001")
        assert_error(
            trigger(sandbox, tts_job()),
            Code.JOB_PROBLEM,
            "There was a problem with your job: No coverage for 35699000001",
        )
        assert_error(trigger(sandbox, {"x": 1}), Code.PARAM_NOT_ALLOWED, "x is not allowed")
        set_faults(sandbox, mode="service_settings", count=1)
        assert_error(trigger(sandbox, tts_job()), Code.SERVICE_SETTINGS)
        assert trigger(sandbox, tts_job()).status_code == 200
        assert sandbox.store.counts()["jobs"] == 1


def test_drop_fault_closes_the_connection_unanswered() -> None:
    with running() as sandbox:
        set_faults(sandbox, mode="drop", count=1)
        with pytest.raises(requests.ConnectionError):
            trigger(sandbox, tts_job())
        assert requests.get(sandbox.url + "/_sandbox/stats", timeout=10).status_code == 200
        assert trigger(sandbox, tts_job()).status_code == 200
        stats = sandbox.stats()
    assert stats["counters"]["dropped"] == 1 and stats["store"]["jobs"] == 1


def test_faults_from_options_and_admin_validation() -> None:
    faults = Faults(mode=FaultMode.UNAVAILABLE, count=1)
    with running(faults=faults) as sandbox:
        assert trigger(sandbox, tts_job()).status_code == 503
        assert trigger(sandbox, tts_job()).status_code == 200
        for bad in ({"mode": "explode"}, {"latency_ms": -1}, {"count": 0}, {"colour": "red"}):
            response = set_faults(sandbox, **bad)
            assert response.status_code == 400 and "error" in response.json()
        not_object = requests.post(sandbox.url + "/_sandbox/faults", data="[1]", timeout=10)
        assert not_object.status_code == 400


# --------------------------------------------------------------------------------------------
# Concurrency, lifecycle, CLI
# --------------------------------------------------------------------------------------------


def test_concurrent_clients_lose_no_job() -> None:
    accepted: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        with requests.Session() as session:
            for _ in range(10):
                response = session.post(
                    sandbox.url + "/1/voice", json=tts_job(), headers=AUTH, timeout=30
                )
                assert response.status_code == 200
                with lock:
                    accepted.append(response.json()["api_job_id"])

    with running() as sandbox:
        threads = [threading.Thread(target=client) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stored = sandbox.store.job_ids()
    assert len(accepted) == 200 and sorted(accepted) == sorted(stored)


def test_stop_closes_everything() -> None:
    before = set(threading.enumerate())
    sandbox = Sandbox(SandboxOptions())
    url = sandbox.start()
    session = requests.Session()  # keeps an idle keep-alive connection open
    assert session.get(url + "/_sandbox/stats", timeout=10).status_code == 200
    sandbox.stop()
    sandbox.stop()  # idempotent
    assert wait_until(lambda: set(threading.enumerate()) <= before, 5)
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/_sandbox/stats", timeout=5)
    session.close()


def test_cli_serves_until_interrupted(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "audioprep", "-v", "sandbox", "--port", "0"]
    command += ["--token", TOKEN, "--db", str(tmp_path / "cli.db"), "--time-scale", "0.01"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        # Read the whole banner before communicate(): lines already buffered by readline()
        # would otherwise be invisible to communicate(), which reads the raw pipe.
        first = "".join(proc.stdout.readline() for _ in range(3))
        found = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert found, first
        response = requests.post(
            found.group(0) + "/1/voice", json=tts_job(), headers=AUTH, timeout=10
        )
        assert response.status_code == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "1 token(s) accepted" in first + out
    assert "POST /1/voice -> 200" in err
    assert TOKEN not in first + out + err
