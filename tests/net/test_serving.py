"""``audioprep.net.serving.wsgi_server``: a WSGI application on a loopback socket, over real HTTP.

The application here echoes what it was given as JSON, so each test checks what a WSGI
application (moto's S3, in a run) receives and what the client receives back.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from audioprep.net.serving import ServerThread, TrackingHTTPServer, WSGIServer

ECHOED = ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "HTTP_X_TWICE")


def echo(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/crash":
        raise RuntimeError("the application broke")
    body = environ["wsgi.input"].read()
    answer = {key: environ.get(key) for key in ECHOED}
    answer["body"] = body.decode("latin-1")
    answer["content_length"] = environ["CONTENT_LENGTH"]
    data = json.dumps(answer).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Connection", "close")])
    return [data[:10], data[10:]]


@pytest.fixture
def server() -> Iterator[str]:
    sock = socket.create_server(("127.0.0.1", 0))
    thread = ServerThread(WSGIServer(echo, sock, max_body_bytes=1000))
    try:
        yield thread.url
    finally:
        thread.stop()


def test_the_application_gets_method_path_query_body_and_headers(server: str) -> None:
    answer = requests.put(
        f"{server}/bucket/a%20b%2Bc.mp3?uploads=&x=1",
        data=b"\x00audio",
        headers={"Content-Type": "audio/mpeg"},
        timeout=5,
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "REQUEST_METHOD": "PUT",
        "PATH_INFO": "/bucket/a b+c.mp3",
        "QUERY_STRING": "uploads=&x=1",
        "CONTENT_TYPE": "audio/mpeg",
        "HTTP_X_TWICE": None,
        "body": "\x00audio",
        "content_length": "6",
    }


def test_chunked_bodies_and_repeated_headers_arrive_whole(server: str) -> None:
    connection = http.client.HTTPConnection(server.removeprefix("http://"), timeout=5)
    connection.putrequest("POST", "/chunked")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.putheader("X-Twice", "one")
    connection.putheader("X-Twice", "two")
    connection.endheaders()
    connection.send(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    answer = json.loads(connection.getresponse().read())
    connection.close()
    assert answer["body"] == "abcde" and answer["content_length"] == "5"
    assert answer["HTTP_X_TWICE"] == "one,two"


def test_one_connection_serves_many_requests(server: str) -> None:
    with requests.Session() as http:
        for i in range(4):
            answer = http.get(f"{server}/n{i}", timeout=5)
            assert answer.json()["PATH_INFO"] == f"/n{i}"
            assert "close" not in answer.headers.get("Connection", "").lower()
        pools = http.get_adapter(server).poolmanager.pools
        opened = [pools[key].num_connections for key in pools.keys()]  # noqa: SIM118 (no __iter__)
        assert opened == [1]


def test_head_answers_carry_no_body(server: str) -> None:
    answer = requests.head(f"{server}/object", timeout=5)
    assert answer.status_code == 200 and answer.content == b""


def test_a_crash_is_a_500_and_a_too_large_body_a_413(server: str) -> None:
    assert requests.get(f"{server}/crash", timeout=5).status_code == 500
    assert requests.put(f"{server}/big", data=b"x" * 1001, timeout=5).status_code == 413
    assert requests.get(f"{server}/still-serving", timeout=5).status_code == 200


def _raw_exchange(server: str, request: bytes) -> bytes:
    """Send ``request`` as is, half-close, and read the whole answer."""
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(request)
        conn.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := conn.recv(4096):
            reply += chunk
    return reply


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: ten\r\n\r\nabc",
        b"Content-Length: -1\r\n\r\nabc",
        b"Content-Length: 10\r\n\r\nabc",  # the client stopped after 3 of 10 bytes
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        b"Transfer-Encoding: chunked\r\n\r\n5\r\nabc",  # a chunk cut short
        b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcde\r\n0\r\n\r\n",  # longer than said
    ],
    ids=[
        "length-no-number",
        "length-negative",
        "body-short",
        "chunk-size-no-number",
        "chunk-short",
        "chunk-long",
    ],
)
def test_a_badly_framed_body_is_a_400_and_never_reaches_the_application(
    server: str, framing: bytes
) -> None:
    reply = _raw_exchange(server, b"PUT /bucket/key HTTP/1.1\r\nHost: x\r\n" + framing)
    assert reply.startswith(b"HTTP/1.1 400 "), reply
    assert b"PATH_INFO" not in reply  # the echo application never ran


def test_a_too_large_chunked_body_is_a_413(server: str) -> None:
    chunks = b"".join(b"%x\r\n" % 400 + b"x" * 400 + b"\r\n" for _ in range(3))
    reply = _raw_exchange(
        server,
        b"PUT /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunks
        + b"0\r\n\r\n",
    )
    assert reply.startswith(b"HTTP/1.1 413 "), reply


def test_a_client_expecting_100_continue_gets_it_before_sending_the_body(server: str) -> None:
    """botocore sends ``Expect: 100-continue`` with every PutObject and waits up to a second."""
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(
            b"PUT /bucket/key HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        conn.settimeout(0.5)
        assert conn.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n")
        conn.settimeout(5)
        conn.sendall(b"hello")
        reply = b""
        while b'"content_length": "5"' not in reply:
            chunk = conn.recv(4096)
            assert chunk, reply
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 ")


def test_a_connection_broken_mid_answer_is_logged_not_printed(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """socketserver's default prints a traceback to stderr; a sender that gave up waiting
    (the sandbox's postbacks, under load) must not put one in front of the user. The
    receiver, the sandbox and the WSGI server all inherit the quiet handler."""
    from audioprep.sandbox.server import SandboxHTTPServer
    from audioprep.send.postbacks import PostbackOptions, PostbackServer

    assert issubclass(SandboxHTTPServer, TrackingHTTPServer)
    assert issubclass(WSGIServer, TrackingHTTPServer)
    receiver = PostbackServer(PostbackOptions(host="127.0.0.1", port=0, db=tmp_path / "p.db"))
    receiver.start()
    try:
        server = receiver._server
        assert isinstance(server, TrackingHTTPServer)
        with caplog.at_level("DEBUG", logger="audioprep.net.serving"):
            try:
                raise BrokenPipeError(32, "Broken pipe")
            except BrokenPipeError:
                server.handle_error(None, ("127.0.0.1", 1))
    finally:
        receiver.stop()
    assert capfd.readouterr().err == ""
    assert "ended with an error" in caplog.text
