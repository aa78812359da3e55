"""The receiver when it faces the network: waitress, a connection limit, idle timeouts.

Nothing may leave loopback here, so waitress is chosen with ``server="waitress"`` on
127.0.0.1 (on any other address ``auto`` chooses it, which ``faces_network`` shows).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from audioprep.send.postbacks import PostbackOptions, PostbackServer
from tests.send.test_postbacks import SAMPLE

SECRET = "tok-3f9a2c"


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[PostbackServer]:
    options = PostbackOptions(
        port=0, db=tmp_path / "pb.sqlite3", server="waitress", idle_timeout_s=1.0, secret=SECRET
    )
    with PostbackServer(options) as server:
        yield server


def _port(server: PostbackServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


@pytest.mark.parametrize(
    ("host", "server", "faces"),
    [
        ("127.0.0.1", "auto", False),
        ("::1", "auto", False),
        ("localhost", "auto", False),
        ("0.0.0.0", "auto", True),
        ("192.0.2.10", "auto", True),
        ("127.0.0.1", "waitress", True),
        ("0.0.0.0", "threads", False),
    ],
)
def test_waitress_serves_whatever_faces_the_network(host: str, server: str, faces: bool) -> None:
    assert PostbackOptions(host=host, server=server).faces_network() is faces


def test_it_answers_like_the_light_server(receiver: PostbackServer) -> None:
    health = requests.get(receiver.url + "/health", timeout=5)
    assert (health.status_code, health.headers["Server"].split("/")[0]) == (
        200,
        "audioprep-postbacks",
    )
    url = f"{receiver.url}/postback/{SECRET}"
    assert requests.post(url, json=SAMPLE, timeout=5).json() == {"ok": True, "duplicate": False}
    assert (
        requests.post(receiver.url + "/postback/wrong", json=SAMPLE, timeout=5).status_code == 403
    )
    for bad in (b"not json", b"[" * 500, b'{"a": NaN}', json.dumps(SAMPLE).encode("utf-16")):
        answer = requests.post(url, data=bad, timeout=5)
        assert (answer.status_code, answer.json()) == (400, {"error": "the body is not JSON"})
    assert requests.post(url, data=b" " * 1_000_001, timeout=5).status_code == 413
    assert receiver.store.counts()["postbacks"] == 1


def test_idle_and_half_sent_connections_are_closed(receiver: PostbackServer) -> None:
    idle = [socket.create_connection(("127.0.0.1", _port(receiver))) for _ in range(60)]
    half = socket.create_connection(("127.0.0.1", _port(receiver)))
    half.sendall(b"POST /postback/" + SECRET.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Le")
    time.sleep(3.0)  # twice the idle timeout, and a sweep
    closed = 0
    for sock in [*idle, half]:
        sock.settimeout(2.0)
        try:
            closed += sock.recv(16) == b""
        except OSError:
            closed += 1  # reset by the server
        finally:
            sock.close()
    assert closed == 61
    assert receiver.store.counts()["postbacks"] == 0  # the cut request was never dispatched
    assert requests.get(receiver.url + "/health", timeout=5).status_code == 200
