"""audioprep.audio.fetch against a real HTTP server on 127.0.0.1: outcomes, codes, files,
secrets."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3.response

from audioprep.api import MAX_AUDIO_BYTES, Code
from audioprep.audio import fetch as fetch_module
from audioprep.audio.fetch import API_CODES, FetchOptions, FetchProblem, FetchResult, fetch
from audioprep.audio.sniff import Container
from audioprep.errors import ToolError
from audioprep.models import Severity
from tests.support.httpserver import GeneratedBody, LocalHTTPServer, unused_port

SECRET = "X-Amz-Signature=deadbeefSECRET&X-Amz-Credential=AKIASECRETKEY"
FAST = FetchOptions(connect_timeout=1, read_timeout=1, total_timeout=5)
HUGE = 64 * 1024 * 1024  # more than any socket buffer: the server cannot finish unread


def _synthetic_mp3(frames: int = 40) -> bytes:
    # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no padding: 417-byte frames.
    return (b"\xff\xfb\x90\x00" + bytes(413)) * frames


@pytest.fixture(scope="module")
def mp3(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One second of sine as a real MP3 (synthetic frames if ffmpeg is unavailable)."""
    from audioprep.audio import ffmpeg

    out = tmp_path_factory.mktemp("mp3") / "out.mp3"
    try:
        ffmpeg.run(["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "libmp3lame", str(out)])
    except ToolError:
        return _synthetic_mp3()
    return out.read_bytes() if out.exists() else _synthetic_mp3()


@pytest.fixture(scope="module")
def wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(1600))
    return buf.getvalue()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy from the environment must not intercept requests to 127.0.0.1."""
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as srv:
        yield srv


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "downloads"


def _files(directory: Path) -> list[str]:
    """Everything in the download directory, hidden temp files included."""
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def _assert_failed(result: FetchResult, kind: FetchProblem, code: Code, dest: Path) -> None:
    assert not result.ok
    assert result.path is None
    assert result.problem is not None
    assert result.problem.id == kind.value
    assert result.problem.severity is Severity.ERROR
    assert result.api_code is code
    assert _files(dest) == []


# --------------------------------------------------------------------------------------------
# Success
# --------------------------------------------------------------------------------------------


def test_success_writes_the_exact_bytes_atomically(
    server: LocalHTTPServer, dest: Path, mp3: bytes
) -> None:
    server.serve_bytes("/prompts/Hello World.mp3", mp3, content_type="audio/mpeg")

    result = fetch(server.url("/prompts/Hello%20World.mp3"), dest, FAST)

    assert result.ok, result.problem
    assert result.problem is None and result.api_code is None and result.warnings == ()
    assert result.status == 200
    assert result.sniffed is Container.MP3
    assert result.size == len(mp3)
    assert result.sha256 == hashlib.sha256(mp3).hexdigest()
    assert result.header_content_type == "audio/mpeg"
    assert not result.truncated_over_cap
    assert result.path is not None and result.path.parent == dest
    assert result.path.read_bytes() == mp3
    assert result.path.name == f"Hello_World-{result.sha256[:12]}.mp3"
    assert _files(dest) == [result.path.name]  # no temp file left behind
    assert result.elapsed_s > 0
    request = server.requests_for("/prompts/Hello World.mp3")[0]
    assert request.headers["User-Agent"].startswith("audioprep/")
    assert request.headers["Accept-Encoding"] == "identity"


def test_success_wav_and_json_shape(server: LocalHTTPServer, dest: Path, wav: bytes) -> None:
    server.serve_bytes("/a.wav", wav, content_type="audio/x-wav")

    result = fetch(server.url("/a.wav"), dest, FAST)

    assert result.ok and result.sniffed is Container.WAV and result.warnings == ()
    data = result.to_dict()
    json.dumps(data)
    assert data["sniffed"] == "wav" and data["ok"] is True and data["problem"] is None


def test_refetch_of_same_content_replaces_the_file(
    server: LocalHTTPServer, dest: Path, mp3: bytes
) -> None:
    server.serve_bytes("/a.mp3", mp3, content_type="audio/mpeg")
    first = fetch(server.url("/a.mp3"), dest, FAST)
    second = fetch(server.url("/a.mp3"), dest, FAST)
    assert first.path is not None and first.path == second.path
    assert _files(dest) == [first.path.name]


# --------------------------------------------------------------------------------------------
# Size cap
# --------------------------------------------------------------------------------------------


def test_oversize_with_content_length_is_refused_before_reading(
    server: LocalHTTPServer, dest: Path, mp3: bytes
) -> None:
    server.serve_bytes("/big.mp3", GeneratedBody(HUGE, head=mp3), content_type="audio/mpeg")

    result = fetch(server.url("/big.mp3"), dest, FAST)

    _assert_failed(result, FetchProblem.TOO_LARGE, Code.AUDIO_PROBLEM, dest)
    assert result.truncated_over_cap
    assert result.declared_length == HUGE
    assert result.size == 0
    assert result.problem is not None and f"{HUGE:,}" in result.problem.message
    server.wait_idle()
    (request,) = server.requests_for("/big.mp3")
    assert not request.completed and request.bytes_sent < HUGE


def test_oversize_without_content_length_stops_at_the_cap(
    server: LocalHTTPServer, dest: Path, mp3: bytes
) -> None:
    body = GeneratedBody(HUGE, head=mp3)
    server.serve_bytes("/big.mp3", body, content_type="audio/mpeg", chunked=True)

    result = fetch(server.url("/big.mp3"), dest, FAST)

    _assert_failed(result, FetchProblem.TOO_LARGE, Code.AUDIO_PROBLEM, dest)
    cap = FAST.max_bytes
    assert result.truncated_over_cap and result.declared_length is None
    assert cap < result.size <= cap + 64 * 1024
    assert result.sha256 is None  # no hash of a part
    server.wait_idle()
    (request,) = server.requests_for("/big.mp3")
    assert not request.completed and request.bytes_sent < HUGE


def test_slightly_oversize_file_is_measured_exactly(server: LocalHTTPServer, dest: Path) -> None:
    size = MAX_AUDIO_BYTES + 1234
    body = GeneratedBody(size, head=_synthetic_mp3())
    server.serve_bytes("/a.mp3", body, content_type="audio/mpeg", content_length=None)

    result = fetch(server.url("/a.mp3"), dest, FAST)

    _assert_failed(result, FetchProblem.TOO_LARGE, Code.AUDIO_PROBLEM, dest)
    assert result.size == size and not result.truncated_over_cap
    assert result.problem is not None and "1,234 too many" in result.problem.message
    assert result.problem.fixable


def test_a_smaller_limit_is_honoured(server: LocalHTTPServer, dest: Path, mp3: bytes) -> None:
    server.serve_bytes("/a.mp3", mp3, content_type="audio/mpeg")
    options = FetchOptions(limit_bytes=1000, max_bytes=2000, total_timeout=5)
    result = fetch(server.url("/a.mp3"), dest, options)
    _assert_failed(result, FetchProblem.TOO_LARGE, Code.AUDIO_PROBLEM, dest)
    assert result.declared_length == len(mp3) and result.size == 0


# --------------------------------------------------------------------------------------------
# Time limits
# --------------------------------------------------------------------------------------------


def test_slow_drip_hits_the_total_deadline(server: LocalHTTPServer, dest: Path) -> None:
    body = _synthetic_mp3(100)  # 41,700 bytes, 1 KiB every 50 ms ≈ 2 s in all
    server.serve_bytes("/slow.mp3", body, content_type="audio/mpeg", chunk_size=1024, delay=0.05)
    options = FetchOptions(connect_timeout=1, read_timeout=1, total_timeout=0.4)

    result = fetch(server.url("/slow.mp3"), dest, options)

    _assert_failed(result, FetchProblem.TIMEOUT, Code.AUDIO_DOWNLOAD_FAILED, dest)
    assert result.elapsed_s < 1.2
    assert 0 < result.size < len(body)
    assert result.problem is not None and "0.4 s" in result.problem.message


def test_silent_server_hits_the_read_timeout(server: LocalHTTPServer, dest: Path) -> None:
    server.serve_bytes("/a.mp3", _synthetic_mp3(), header_delay=1.0)
    options = FetchOptions(connect_timeout=1, read_timeout=0.2, total_timeout=5)

    result = fetch(server.url("/a.mp3"), dest, options)

    _assert_failed(result, FetchProblem.TIMEOUT, Code.AUDIO_DOWNLOAD_FAILED, dest)
    assert result.elapsed_s < 0.9
    assert result.problem is not None and "sent nothing for 0.2 s" in result.problem.message


def test_stall_mid_body_hits_the_read_timeout(server: LocalHTTPServer, dest: Path) -> None:
    body = _synthetic_mp3(10)
    server.serve_bytes("/a.mp3", body, chunk_size=2000, delay=1.0)
    options = FetchOptions(connect_timeout=1, read_timeout=0.2, total_timeout=5)

    result = fetch(server.url("/a.mp3"), dest, options)

    _assert_failed(result, FetchProblem.TIMEOUT, Code.AUDIO_DOWNLOAD_FAILED, dest)
    assert result.size == 2000 and result.elapsed_s < 0.9


# --------------------------------------------------------------------------------------------
# Redirects and statuses
# --------------------------------------------------------------------------------------------


def test_redirect_chain_is_followed_and_recorded(
    server: LocalHTTPServer, dest: Path, mp3: bytes
) -> None:
    server.redirect("/r1", "/r2", status=301)
    server.redirect("/r2", server.url("/r3"), status=307)
    server.redirect("/r3", "/final.mp3?sig=abc", status=308)
    server.serve_bytes("/final.mp3", mp3, content_type="audio/mpeg")

    result = fetch(server.url("/r1"), dest, FAST)

    assert result.ok, result.problem
    assert result.redirects == (server.url("/r2"), server.url("/r3"), server.url("/final.mp3"))
    assert result.final_url == server.url("/final.mp3")
    assert [server.count(p) for p in ("/r1", "/r2", "/r3", "/final.mp3")] == [1, 1, 1, 1]
    assert result.path is not None and result.path.name.startswith("final-")


def test_redirect_loop_is_detected_without_going_round(server: LocalHTTPServer, dest: Path) -> None:
    server.redirect("/a.mp3", "/b.mp3")
    server.redirect("/b.mp3", "/a.mp3")

    result = fetch(server.url("/a.mp3"), dest, FAST)

    _assert_failed(result, FetchProblem.REDIRECTS, Code.AUDIO_DOWNLOAD_FAILED, dest)
    assert result.problem is not None and "loop" in result.problem.message
    assert server.count("/a.mp3") == 1 and server.count("/b.mp3") == 1


def test_too_many_redirects(server: LocalHTTPServer, dest: Path, mp3: bytes) -> None:
    for hop in range(6):
        server.redirect(f"/{hop}", f"/{hop + 1}")
    server.serve_bytes("/6", mp3, content_type="audio/mpeg")

    result = fetch(server.url("/0"), dest, FetchOptions(max_redirects=5))

    _assert_failed(result, FetchProblem.REDIRECTS, Code.AUDIO_DOWNLOAD_FAILED, dest)
    assert result.problem is not None and "more than 5 redirects" in result.problem.message
    assert server.count("/6") == 0
    assert fetch(server.url("/0"), dest, FetchOptions(max_redirects=6)).ok


def test_redirect_to_another_scheme_is_not_followed(server: LocalHTTPServer, dest: Path) -> None:
    server.redirect("/a.mp3", "file:///etc/passwd")
    result = fetch(server.url("/a.mp3"), dest, FAST)
    _assert_failed(result, FetchProblem.REDIRECTS, Code.AUDIO_DOWNLOAD_FAILED, dest)


@pytest.mark.parametrize(
    ("status", "hint"),
    [(404, "no file at this URL"), (500, "try again later"), (403, "not public")],
)
def test_http_error_status(server: LocalHTTPServer, dest: Path, status: int, hint: str) -> None:
    if status != 404:  # 404 is what any unknown path answers
        server.status("/a.mp3", status, b"<Error>nope</Error>")

    result = fetch(server.url("/a.mp3"), dest, FAST)

    _assert_failed(result, FetchProblem.HTTP_STATUS, Code.AUDIO_DOWNLOAD_FAILED, dest)
    assert result.status == status
    assert result.problem is not None
    assert f"HTTP {status}" in result.problem.message and hint in result.problem.message


# --------------------------------------------------------------------------------------------
# Content judged by bytes, not labels
# --------------------------------------------------------------------------------------------


def test_html_served_as_audio_is_not_audio(server: LocalHTTPServer, dest: Path) -> None:
    page = "<!DOCTYPE html><html><head><title>Sign in</title></head><body></body></html>"
    server.serve_html("/a.mp3", page, content_type="audio/mpeg")

    result = fetch(server.url("/a.mp3"), dest, FAST)

    _assert_failed(result, FetchProblem.NOT_AUDIO, Code.AUDIO_INVALID, dest)
    assert result.sniffed is Container.HTML
    assert result.problem is not None and "HTML page" in result.problem.message


def test_s3_xml_error_with_200_is_not_audio(server: LocalHTTPServer, dest: Path) -> None:
    xml = b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code></Error>'
    server.serve_bytes("/a.mp3", xml, content_type="application/xml")
    result = fetch(server.url("/a.mp3"), dest, FAST)
    _assert_failed(result, FetchProblem.NOT_AUDIO, Code.AUDIO_INVALID, dest)
    assert result.sniffed is Container.XML


def test_other_audio_is_wrong_format(server: LocalHTTPServer, dest: Path) -> None:
    server.serve_bytes("/a.mp3", b"OggS\x00\x02" + bytes(200), content_type="audio/mpeg")
    result = fetch(server.url("/a.mp3"), dest, FAST)
    _assert_failed(result, FetchProblem.WRONG_FORMAT, Code.AUDIO_INVALID, dest)
    assert result.sniffed is Container.OGG
    assert result.problem is not None and "Ogg" in result.problem.message


def test_other_audio_can_be_kept_for_conversion(server: LocalHTTPServer, dest: Path) -> None:
    flac = b"fLaC\x00\x00\x00\x22" + bytes(200)
    server.serve_bytes("/take 1.flac", flac, content_type="audio/mpeg")
    server.serve_html("/page.mp3", "<html></html>")
    options = FetchOptions(keep_other_audio=True, total_timeout=5)

    kept = fetch(server.url("/take 1.flac"), dest, options)
    page = fetch(server.url("/page.mp3"), dest, options)

    assert kept.ok and kept.sniffed is Container.FLAC and kept.warnings == ()
    assert kept.path is not None and kept.path.read_bytes() == flac
    assert kept.path.name == f"take_1-{kept.sha256[:12] if kept.sha256 else ''}.flac"
    assert not page.ok and page.problem is not None
    assert page.problem.id == FetchProblem.NOT_AUDIO.value
    assert _files(dest) == [kept.path.name]


def test_unrecognised_bytes(server: LocalHTTPServer, dest: Path) -> None:
    server.serve_bytes("/a.mp3", bytes(range(256)) * 4, content_type="audio/mpeg")
    result = fetch(server.url("/a.mp3"), dest, FAST)
    _assert_failed(result, FetchProblem.UNRECOGNISED, Code.AUDIO_CORRUPTED, dest)


def test_empty_body(server: LocalHTTPServer, dest: Path) -> None:
    server.serve_bytes("/a.mp3", b"", content_type="audio/mpeg")
    result = fetch(server.url("/a.mp3"), dest, FAST)
    _assert_failed(result, FetchProblem.EMPTY, Code.AUDIO_CORRUPTED, dest)
    assert result.size == 0 and result.sniffed is Container.EMPTY


@pytest.mark.parametrize("content_type", ["binary/octet-stream", "audio/x-wav", None])
def test_wrong_content_type_is_a_warning(
    server: LocalHTTPServer, dest: Path, mp3: bytes, content_type: str | None
) -> None:
    server.serve_bytes("/a.mp3", mp3, content_type=content_type)

    result = fetch(server.url("/a.mp3"), dest, FAST)

    assert result.ok and result.path is not None and result.path.exists()
    assert result.sniffed is Container.MP3
    (warning,) = result.warnings
    assert warning.id == FetchProblem.CONTENT_TYPE.value
    assert warning.severity is Severity.WARNING
    assert "audio/mpeg" in warning.message


def test_lying_content_length_is_an_incomplete_download(
    server: LocalHTTPServer, dest: Path, mp3: bytes
) -> None:
    server.serve_bytes("/a.mp3", mp3, content_type="audio/mpeg", content_length=len(mp3) + 500)
    result = fetch(server.url("/a.mp3"), dest, FAST)
    _assert_failed(result, FetchProblem.INCOMPLETE, Code.AUDIO_DOWNLOAD_FAILED, dest)
    assert result.declared_length == len(mp3) + 500


# --------------------------------------------------------------------------------------------
# URLs that never reach a server
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/a.mp3", "file:///etc/passwd", "s3://bucket/a.mp3", "a.mp3", "", " "],
)
def test_non_http_scheme(dest: Path, url: str) -> None:
    result = fetch(url, dest, FAST)
    _assert_failed(result, FetchProblem.SCHEME, Code.AUDIO_URL_SCHEME, dest)
    assert result.problem is not None and "http://" in result.problem.message


def test_connection_refused(dest: Path) -> None:
    result = fetch(f"http://127.0.0.1:{unused_port()}/a.mp3", dest, FAST)
    _assert_failed(result, FetchProblem.UNREACHABLE, Code.AUDIO_DOWNLOAD_FAILED, dest)
    assert result.problem is not None and "connection refused" in result.problem.message
    assert result.status is None


@pytest.mark.parametrize("url", ["http://[::1/a.mp3", "http:///a.mp3", "http://127.0.0.1:99999/"])
def test_unusable_urls_do_not_crash(dest: Path, url: str) -> None:
    result = fetch(url, dest, FAST)
    assert not result.ok and result.problem is not None
    assert result.api_code in (Code.AUDIO_INVALID, Code.AUDIO_DOWNLOAD_FAILED)
    assert _files(dest) == []


def test_spaces_in_the_url_are_fetched_anyway(
    server: LocalHTTPServer, dest: Path, mp3: bytes
) -> None:
    server.serve_bytes("/my prompt.mp3", mp3, content_type="audio/mpeg")
    result = fetch(server.url("/my prompt.mp3"), dest, FAST)
    assert result.ok, result.problem
    assert result.path is not None and result.path.name.startswith("my_prompt-")


# --------------------------------------------------------------------------------------------
# Secrets and interruption
# --------------------------------------------------------------------------------------------


def test_presigned_query_never_appears(
    server: LocalHTTPServer, dest: Path, mp3: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.serve_bytes("/ok.mp3", mp3, content_type="binary/octet-stream")
    server.redirect("/loop.mp3", f"/loop2.mp3?{SECRET}")
    server.redirect("/loop2.mp3", f"/loop.mp3?{SECRET}")
    server.serve_bytes("/big.mp3", GeneratedBody(HUGE), chunked=True)
    server.serve_html("/page.mp3", "<html></html>")
    server.serve_bytes("/slow.mp3", mp3, chunk_size=100, delay=0.05)
    urls = [
        server.url(f"/{name}?{SECRET}")
        for name in ("ok.mp3", "missing.mp3", "loop.mp3", "big.mp3", "page.mp3", "slow.mp3")
    ]
    urls.append(f"http://user:SECRETpw@127.0.0.1:{unused_port()}/a.mp3?{SECRET}")
    options = FetchOptions(read_timeout=1, total_timeout=0.3, max_bytes=100_000)

    results = [fetch(url, dest, options) for url in urls]

    assert [r.ok for r in results] == [True, False, False, False, False, False, False]
    assert all(r.warnings or r.problem for r in results)
    for result in results:
        assert "SECRET" not in json.dumps(result.to_dict())
    assert "SECRET" not in caplog.text
    assert server.requests_for("/ok.mp3")[0].query == SECRET  # it was sent, just never shown


def test_ctrl_c_mid_download_leaves_no_file(
    server: LocalHTTPServer, dest: Path, mp3: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.serve_bytes("/a.mp3", mp3 * 20, content_type="audio/mpeg", chunk_size=4096)
    calls = []

    def interrupted(self: object, data: bytes) -> None:
        calls.append(len(data))
        raise KeyboardInterrupt

    monkeypatch.setattr(fetch_module._TempFile, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fetch(server.url("/a.mp3"), dest, FAST)
    assert calls and dest.exists() and _files(dest) == []


def test_old_urllib3_without_read1_still_streams_and_caps(
    server: LocalHTTPServer, dest: Path, mp3: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    for cls in (urllib3.response.HTTPResponse, urllib3.response.BaseHTTPResponse):
        monkeypatch.delattr(cls, "read1")  # as in urllib3 1.26
    server.serve_bytes("/a.mp3", mp3, content_type="audio/mpeg", chunk_size=1000)
    server.serve_bytes("/big.mp3", GeneratedBody(HUGE), chunked=True)

    server.serve_bytes("/stall.mp3", mp3, chunk_size=1000, delay=1.0)
    stall_options = FetchOptions(read_timeout=0.2, total_timeout=5)

    assert fetch(server.url("/a.mp3"), dest, FAST).ok
    stalled = fetch(server.url("/stall.mp3"), dest, stall_options)
    assert stalled.problem is not None and stalled.problem.id == FetchProblem.TIMEOUT.value
    big = fetch(server.url("/big.mp3"), dest, FAST)
    assert big.problem is not None and big.problem.id == FetchProblem.TOO_LARGE.value
    assert big.truncated_over_cap


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="timeouts"):
        FetchOptions(read_timeout=0)
    with pytest.raises(ValueError):
        FetchOptions(max_bytes=0)
    defaults = FetchOptions()
    assert defaults.max_bytes > defaults.limit_bytes == MAX_AUDIO_BYTES
    assert defaults.user_agent.startswith("audioprep/")


def test_every_problem_has_a_code_decision() -> None:
    assert set(API_CODES) == set(FetchProblem)
    assert API_CODES[FetchProblem.CONTENT_TYPE] is None


# --------------------------------------------------------------------------------------------
# The test server itself (shared with the sandbox and S3 tests)
# --------------------------------------------------------------------------------------------


def test_server_handlers_see_method_query_and_body(server: LocalHTTPServer) -> None:
    import requests

    from tests.support.httpserver import RecordedRequest, Route

    def echo(request: RecordedRequest) -> Route:
        body = json.dumps({"method": request.method, "q": request.query}).encode() + request.body
        return Route(status=201, body=body, content_type="application/json")

    server.route("/api", echo)
    answer = requests.post(server.url("/api?x=1"), data=b"payload", timeout=2)
    head = requests.head(server.url("/api"), timeout=2)

    assert answer.status_code == 201
    assert answer.content == b'{"method": "POST", "q": "x=1"}payload'
    assert head.status_code == 201 and head.content == b""
    server.wait_idle()
    assert [r.method for r in server.requests_for("/api")] == ["POST", "HEAD"]
    assert all(r.completed for r in server.requests)
    assert requests.get(server.url("/nothing"), timeout=2).status_code == 404
