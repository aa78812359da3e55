"""Test doubles for submitting: a server that swallows requests, and a sandbox factory.

:class:`BlackHole` is the "answer lost" case made real: it reads each HTTP request completely
(headers and body), counts it, then closes the socket without a byte of answer — or holds it
open for ``hold_s`` seconds first, so a client's read timeout fires. Everything is 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from audioprep.sandbox import AudioVerdict, Sandbox, SandboxOptions

TOKEN = "test-token-5f1c2e9a-do-not-print"


class BlackHole:
    """Accepts connections, reads one request each, answers nothing. A context manager."""

    def __init__(self, *, hold_s: float = 0.0) -> None:
        self.hold_s = hold_s
        self.bodies: list[bytes] = []
        self.heads: list[bytes] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        """Base URL; the trigger endpoint is ``<url>/1/voice``."""
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    @property
    def count(self) -> int:
        """How many complete requests were received."""
        with self._lock:
            return len(self.bodies)

    def __enter__(self) -> BlackHole:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._swallow, args=(conn,), daemon=True).start()

    def _swallow(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            head, body = _read_request(conn)
            if head is None:
                return
            with self._lock:
                self.heads.append(head)
                self.bodies.append(body)
            self._stop.wait(self.hold_s)
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def _read_request(conn: socket.socket) -> tuple[bytes | None, bytes]:
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None, b""
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
    except OSError:
        return None, b""
    return head, body


def accept_all(url: str) -> AudioVerdict:
    """An audio judge that takes every file as 2 s of audio (no download in these tests)."""
    return AudioVerdict(None, 2.0)


@contextmanager
def sandbox(**options: Any) -> Iterator[Sandbox]:
    """A started sandbox with fast postbacks and no audio download."""
    settings: dict[str, Any] = {
        "time_scale": 0.005,
        "postback_backoff_s": 0.05,
        "audio_judge": accept_all,
    }
    settings.update(options)
    with Sandbox(SandboxOptions(**settings)) as running:
        yield running


def api_requests(box: Sandbox) -> int:
    """How many API requests (``/1/...``) the sandbox received."""
    counters: dict[str, int] = box.stats().get("counters", {})
    return counters.get("api_requests", 0)
