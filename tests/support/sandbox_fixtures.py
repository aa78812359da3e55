"""Helpers for the sandbox tests: real audio files, a host serving them, a postback receiver.

Everything runs on 127.0.0.1. Audio is made with the project's ffmpeg; the audio host and the
postback receiver are :class:`tests.support.httpserver.LocalHTTPServer` instances.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from audioprep.audio.ffmpeg import run
from audioprep.sandbox import Sandbox, SandboxOptions
from audioprep.sandbox.calls import plan_call
from tests.support.httpserver import (
    GeneratedBody,
    LocalHTTPServer,
    RecordedRequest,
    Route,
    wait_until,
)

TOKEN = "bcdd900c-79f3-4b8d-8bbc-6ef30c3d7e79779"
AUTH = {"Authorization": f"Token {TOKEN}"}
HTML_PAGE = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Login</body></html>"


def make_audio(directory: Path) -> dict[str, Path]:
    """A 2 s MP3 and a 1 s WAV (real, via ffmpeg) and a file of random bytes."""
    files = {
        "valid.mp3": ["-f", "lavfi", "-i", "sine=duration=2", "-c:a", "libmp3lame", "-b:a", "64k"],
        "valid.wav": ["-f", "lavfi", "-i", "sine=duration=1:sample_rate=8000", "-c:a", "pcm_s16le"],
    }
    made = {}
    for name, args in files.items():
        out = directory / name
        proc = run(["-v", "error", "-y", *args, str(out)])
        assert proc.returncode == 0 and out.is_file(), proc.stderr.decode(errors="replace")
        made[name] = out
    corrupted = directory / "corrupted.mp3"
    corrupted.write_bytes(random.Random(7).randbytes(20_000))
    made["corrupted.mp3"] = corrupted
    return made


def serve_audio(server: LocalHTTPServer, files: dict[str, Path]) -> None:
    """Serve the made files, an HTML page, an oversize body; ``/missing.mp3`` stays 404."""
    server.serve_bytes("/valid.mp3", files["valid.mp3"].read_bytes(), content_type="audio/mpeg")
    server.serve_bytes("/valid.wav", files["valid.wav"].read_bytes(), content_type="audio/wav")
    server.serve_bytes("/corrupted.mp3", files["corrupted.mp3"].read_bytes())
    server.serve_html("/login.mp3", HTML_PAGE.decode())
    head = files["valid.mp3"].read_bytes()
    server.serve_bytes("/huge.mp3", GeneratedBody(6_000_000, head=head), content_type="audio/mpeg")


@dataclass
class Receiver:
    """A postback receiver: records every body and when it came; ``script`` statuses are
    answered first (then 200)."""

    server: LocalHTTPServer
    path: str = "/callback"
    script: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    times: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server.route(self.path, self._answer)

    @property
    def url(self) -> str:
        """Where the sandbox should POST."""
        return self.server.url(self.path)

    def _answer(self, request: RecordedRequest) -> Route:
        with self.lock:
            self.times.append(time.monotonic())
            status = self.script.pop(0) if self.script else 200
        return Route(status=status, body=b"ok", content_type="text/plain")

    def requests(self) -> list[RecordedRequest]:
        """Every POST received, oldest first."""
        return self.server.requests_for(self.path)

    def bodies(self, *, ok_only: bool = True) -> list[dict[str, Any]]:
        """The JSON bodies received (by default only those answered 2xx)."""
        self.server.wait_idle()
        found = self.requests()
        return [json.loads(r.body) for r in found if not ok_only or r.status == 200]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until ``count`` postbacks were answered 200; returns their bodies."""
        assert wait_until(lambda: len(self._ok()) >= count, timeout), (
            f"expected {count} postbacks, got {len(self._ok())}"
        )
        return self.bodies()

    def _ok(self) -> list[RecordedRequest]:
        return [r for r in self.requests() if r.status == 200]


@contextmanager
def running(**options: Any) -> Iterator[Sandbox]:
    """A started sandbox on an ephemeral port with ``options`` (fast postbacks by default)."""
    settings: dict[str, Any] = {"time_scale": 0.005, "postback_backoff_s": 0.05}
    settings.update(options)
    with Sandbox(SandboxOptions(**settings)) as sandbox:
        yield sandbox


def trigger(
    sandbox: Sandbox, body: object, *, headers: dict[str, str] | None = None
) -> requests.Response:
    """POST a trigger body (a dict as JSON, bytes/str as they are) with the test token."""
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    sent = {"Content-Type": "application/json; charset=utf-8", **AUTH, **(headers or {})}
    return requests.post(sandbox.url + "/1/voice", data=data, headers=sent, timeout=30)


def get(sandbox: Sandbox, path: str) -> requests.Response:
    """GET a sandbox path with the test token."""
    return requests.get(sandbox.url + path, headers=AUTH, timeout=30)


def audio_job(url: str, numbers: Sequence[str] = ("35699000001",), **outer: Any) -> dict[str, Any]:
    """A trigger body for an audio job calling ``numbers`` (custom ids c0, c1...)."""
    body: dict[str, Any] = {
        "destinations": [{"number": n, "custom_id": f"c{i}"} for i, n in enumerate(numbers)],
        "voice_content": {"audio_file_url": url},
    }
    body.update(outer)
    return body


def numbers_by_outcome(seed: int, wanted: set[str]) -> dict[str, str]:
    """One destination number per wanted outcome (``answered``, ``busy``...) under ``seed``."""
    found: dict[str, str] = {}
    for n in range(35699100000, 35699100500):
        outcome = plan_call(seed, str(n), audio_s=2.0, ring_timeout_s=60).outcome.value
        if outcome in wanted and outcome not in found:
            found[outcome] = str(n)
        if len(found) == len(wanted):
            return found
    raise AssertionError(f"seed {seed}: no numbers for {wanted - set(found)}")
