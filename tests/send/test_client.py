"""The Voice API client: retry decisions, failure classification, tolerant parsing, and real
requests against the sandbox and servers that fail on purpose (all on 127.0.0.1)."""

from __future__ import annotations

import json
import logging
import socket

import pytest
import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from audioprep import api
from audioprep.api import Code
from audioprep.errors import ConfigError
from audioprep.sandbox import FaultMode, Faults
from audioprep.send.client import (
    ApiReply,
    AttemptKind,
    RetryPolicy,
    VoiceClient,
    check_token,
    classify_error,
    classify_reply,
    parse_reply,
    parse_status_code,
    trigger_url,
)
from audioprep.version import __version__
from tests.support.httpserver import LocalHTTPServer, Route, unused_port
from tests.support.voice_fakes import TOKEN, BlackHole, api_requests, sandbox

BODY = json.dumps(
    {
        "job_id": "client-test-1",
        "destinations": [{"number": "35699000001", "custom_id": "a"}],
        "voice_content": {"audio_file_url": "https://cdn.example.com/hello.mp3"},
    }
).encode()
FAST = RetryPolicy(max_attempts=5, base_delay_s=0.01, max_delay_s=0.02, max_total_s=5.0)


# -- the retry policy (pure) -----------------------------------------------------------------


@pytest.mark.parametrize("kind", [AttemptKind.NOT_SENT, AttemptKind.UNAVAILABLE, AttemptKind.BUSY])
def test_policy_retries_what_was_not_processed(kind: AttemptKind) -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=8.0)
    assert policy.delay(kind, 1, 0.0, rand=0.0) == 0.5
    assert policy.delay(kind, 1, 0.0, rand=0.999) == pytest.approx(1.0, abs=0.01)
    assert policy.delay(kind, 3, 0.0, rand=0.0) == 2.0
    assert policy.delay(kind, 4, 0.0, rand=1.0) == 8.0  # capped at max_delay_s


@pytest.mark.parametrize(
    "kind",
    [
        AttemptKind.UNKNOWN,
        AttemptKind.ACCEPTED,
        AttemptKind.REJECTED,
        AttemptKind.UNAUTHORIZED,
        AttemptKind.BAD_ENDPOINT,
    ],
)
def test_policy_never_retries_the_rest(kind: AttemptKind) -> None:
    assert RetryPolicy().delay(kind, 1, 0.0, rand=0.5) is None


def test_policy_is_bounded_in_count_and_time() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay_s=1.0, max_total_s=10.0)
    assert policy.delay(AttemptKind.UNAVAILABLE, 3, 0.0, rand=0.0) is None
    assert policy.delay(AttemptKind.UNAVAILABLE, 2, 9.5, rand=0.0) is None
    assert policy.delay(AttemptKind.UNAVAILABLE, 2, 1.0, rand=0.0) == 1.0


def test_policy_honours_retry_after_up_to_its_cap() -> None:
    policy = RetryPolicy(base_delay_s=0.1, max_delay_s=5.0)
    assert policy.delay(AttemptKind.UNAVAILABLE, 1, 0.0, 0.0, retry_after_s=3.0) == 3.0
    assert policy.delay(AttemptKind.UNAVAILABLE, 1, 0.0, 0.0, retry_after_s=600.0) == 5.0


# -- classifying failures (pure) -------------------------------------------------------------


def _wrapped(reason: Exception, outer: type[requests.RequestException]) -> Exception:
    return outer(MaxRetryError(None, "/1/voice", reason))  # type: ignore[arg-type]


def test_connection_failures_before_sending_are_not_sent() -> None:
    refused = NewConnectionError(None, "refused")  # type: ignore[arg-type]
    dns = NameResolutionError("api.example", None, socket.gaierror())  # type: ignore[arg-type]
    timeout = ConnectTimeoutError(None, "connect timed out")
    assert classify_error(_wrapped(refused, requests.ConnectionError)) is AttemptKind.NOT_SENT
    assert classify_error(_wrapped(dns, requests.ConnectionError)) is AttemptKind.NOT_SENT
    assert classify_error(_wrapped(timeout, requests.ConnectTimeout)) is AttemptKind.NOT_SENT


def test_failures_after_sending_are_unknown() -> None:
    dropped = requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError()))
    read = requests.ReadTimeout(ReadTimeoutError(None, "/1/voice", "read timed out"))  # type: ignore[arg-type]
    assert classify_error(dropped) is AttemptKind.UNKNOWN
    assert classify_error(read) is AttemptKind.UNKNOWN
    assert classify_error(requests.ConnectionError("something else")) is AttemptKind.UNKNOWN


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (200, 0, AttemptKind.ACCEPTED),
        (200, None, AttemptKind.UNKNOWN),
        (403, -89, AttemptKind.REJECTED),
        (403, -105, AttemptKind.BUSY),
        (403, -101, AttemptKind.REJECTED),
        (401, -50, AttemptKind.UNAUTHORIZED),
        (401, None, AttemptKind.UNAUTHORIZED),
        (503, None, AttemptKind.UNAVAILABLE),
        (429, None, AttemptKind.UNAVAILABLE),
        (500, None, AttemptKind.UNKNOWN),
        (502, None, AttemptKind.UNKNOWN),
        (504, None, AttemptKind.UNKNOWN),
        (404, None, AttemptKind.BAD_ENDPOINT),
        (405, None, AttemptKind.BAD_ENDPOINT),
        (301, None, AttemptKind.BAD_ENDPOINT),
        (400, None, AttemptKind.REJECTED),
    ],
)
def test_classify_reply(status: int, code: int | None, kind: AttemptKind) -> None:
    assert classify_reply(ApiReply(status, code, "x")) is kind


# -- tolerant parsing (D4, §4.4) -------------------------------------------------------------


@pytest.mark.parametrize(("raw", "code"), [("0", 0), (0, 0), (-89, -89), ("-89", -89)])
def test_status_code_as_string_or_integer(raw: object, code: int) -> None:
    assert parse_status_code(raw) == code


@pytest.mark.parametrize("raw", [None, True, "zero", "", 1.5, "٣"])
def test_status_code_garbage_is_none(raw: object) -> None:
    assert parse_status_code(raw) is None


def test_results_as_object_as_in_the_sample() -> None:
    body = api.success_body(
        api_job_id="4359d2d7-2f10-49f3-9ad3-dfc574e14054",
        job_id="123455",
        results={"35688000000": {"message_id": "14570116000720000149", "custom_id": "x"}},
    )
    reply = parse_reply(200, json.dumps(body).encode())
    assert reply.status_code == 0
    assert reply.results == {"35688000000": "14570116000720000149"}
    assert reply.custom_ids == {"35688000000": "x"}
    assert reply.client_job_id == "123455"
    assert classify_reply(reply) is AttemptKind.ACCEPTED


def test_results_as_array_as_typed_in_the_table() -> None:
    body = {
        "api_job_id": "4359d2d7-2f10-49f3-9ad3-dfc574e14054",
        "results": [{"number": "35688000000", "message_id": "14570116000720000149"}],
        "result_info": {"status_code": 0, "description": api.describe(Code.SUCCESS)},
    }
    reply = parse_reply(200, json.dumps(body).encode())
    assert reply.results == {"35688000000": "14570116000720000149"}


def test_error_body_and_non_json_body() -> None:
    body = api.error_body(
        Code.CONTENT_REQUIRED, api.describe(Code.CONTENT_REQUIRED), api_job_id="a"
    )
    reply = parse_reply(403, json.dumps(body).encode())
    assert (reply.status_code, reply.description) == (-89, api.describe(Code.CONTENT_REQUIRED))
    html = parse_reply(503, b"<html>down</html>", {"Retry-After": "2"})
    assert (html.status_code, html.description, html.retry_after_s) == (
        None,
        api.HTTP_MESSAGES[503],
        2.0,
    )


# -- configuration ---------------------------------------------------------------------------


def test_trigger_url() -> None:
    assert trigger_url("http://127.0.0.1:8808") == "http://127.0.0.1:8808/1/voice"
    assert trigger_url("https://rest.fortytwo.com/1/voice/") == "https://rest.fortytwo.com/1/voice"
    with pytest.raises(ConfigError):
        trigger_url("ftp://example.com/1/voice")


def test_token_checks_never_echo_the_token() -> None:
    with pytest.raises(ConfigError, match="no Voice API token"):
        check_token("  ")
    with pytest.raises(ConfigError) as raised:
        check_token("abc\r\nX-Injected: 1")
    assert "abc" not in str(raised.value) and "Injected" not in str(raised.value)
    assert check_token(" tok ") == "tok"
    assert "tok" not in repr(VoiceClient("http://127.0.0.1:1", "tok-secret-value"))


# -- against real servers --------------------------------------------------------------------


def _client(url: str, **kwargs: object) -> VoiceClient:
    waits: list[float] = []
    client = VoiceClient(url, TOKEN, policy=FAST, sleep=waits.append, **kwargs)  # type: ignore[arg-type]
    client.waits = waits  # type: ignore[attr-defined]
    return client


def test_headers_user_agent_and_token() -> None:
    with LocalHTTPServer() as server:
        success = api.success_body(api_job_id="x" * 36, job_id=None, results={})
        server.route(
            "/1/voice", Route(body=json.dumps(success).encode(), content_type="application/json")
        )
        with _client(server.base_url) as client:
            assert client.submit(BODY).kind is AttemptKind.ACCEPTED
        (request,) = server.requests_for("/1/voice")
    assert request.method == "POST"
    assert request.headers["User-Agent"] == f"audioprep/{__version__}"
    assert request.headers["Authorization"] == f"Token {TOKEN}"
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.body == BODY


def test_accepted_by_the_sandbox() -> None:
    with sandbox() as box, _client(box.url) as client:
        delivery = client.submit(BODY)
        assert delivery.kind is AttemptKind.ACCEPTED
        assert delivery.attempts == 1 and api_requests(box) == 1
        reply = delivery.last.reply
        assert reply is not None and api.api_job_id_ok(reply.api_job_id or "")
        assert list(reply.results) == ["35699000001"]
        assert api.message_id_ok(reply.results["35699000001"])


@pytest.mark.parametrize("mode", [FaultMode.UNAVAILABLE, FaultMode.BUSY])
def test_503_and_busy_are_retried_then_accepted(mode: FaultMode) -> None:
    with sandbox(faults=Faults(mode=mode, count=2)) as box, _client(box.url) as client:
        delivery = client.submit(BODY)
        assert delivery.kind is AttemptKind.ACCEPTED
        assert delivery.attempts == 3
        assert api_requests(box) == 3
        assert box.store.counts()["jobs"] == 1
        assert len(client.waits) == 2  # type: ignore[attr-defined]


def test_503_for_ever_gives_up_within_the_bounds() -> None:
    with sandbox(faults=Faults(mode=FaultMode.UNAVAILABLE)) as box, _client(box.url) as client:
        delivery = client.submit(BODY)
        assert delivery.kind is AttemptKind.UNAVAILABLE
        assert delivery.attempts == FAST.max_attempts == api_requests(box)
        assert box.store.counts()["jobs"] == 0


def test_refused_connection_is_retried_and_never_sent() -> None:
    with _client(f"http://127.0.0.1:{unused_port()}") as client:
        delivery = client.submit(BODY)
    assert delivery.kind is AttemptKind.NOT_SENT
    assert delivery.attempts == FAST.max_attempts
    assert "not sent" in delivery.last.error


@pytest.mark.parametrize("hold_s", [0.0, 3.0])
def test_dropped_or_unanswered_request_is_sent_exactly_once(hold_s: float) -> None:
    with BlackHole(hold_s=hold_s) as hole, _client(hole.url, timeout=(2.0, 0.3)) as client:
        delivery = client.submit(BODY)
        assert delivery.kind is AttemptKind.UNKNOWN
        assert delivery.attempts == 1
        assert hole.count == 1
        assert "sent" in delivery.last.error


def test_sandbox_drop_fault_is_unknown_and_not_resent() -> None:
    with sandbox(faults=Faults(mode=FaultMode.DROP)) as box, _client(box.url) as client:
        delivery = client.submit(BODY)
        assert delivery.kind is AttemptKind.UNKNOWN
        assert api_requests(box) == 1


def test_wrong_token_is_unauthorized() -> None:
    with sandbox(tokens=("the-right-token",)) as box, _client(box.url) as client:
        delivery = client.submit(BODY)
        assert delivery.kind is AttemptKind.UNAUTHORIZED
        assert delivery.attempts == 1


def test_lookups_against_the_sandbox() -> None:
    with sandbox() as box, _client(box.url) as client:
        reply = client.submit(BODY).last.reply
        assert reply is not None and reply.api_job_id
        job = client.lookup_job(reply.api_job_id)
        assert job.status_code is None and job.body["api_job_id"] == reply.api_job_id
        assert not api.check_callback_body(job.body)
        call = client.lookup_call(reply.results["35699000001"])
        assert call.body["data"][0]["to"] == "35699000001"
        missing = client.lookup_job("0" * 36)
        assert missing.status_code == Code.JOB_NOT_FOUND


def test_no_token_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with (
        sandbox(faults=Faults(mode=FaultMode.UNAVAILABLE, count=1)) as box,
        _client(box.url) as client,
    ):
        client.submit(BODY)
    assert caplog.text and TOKEN not in caplog.text
