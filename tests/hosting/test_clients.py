"""``audioprep.hosting.clients``: a run's worker threads share one S3 client and one bucket check.

The S3 here is moto's S3 application served over HTTP on 127.0.0.1 by werkzeug, wrapped in a
WSGI layer that counts the requests it answers: the server's own count, not the client's.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from audioprep.errors import ServiceUnavailable
from audioprep.hosting import clients as runhosting
from audioprep.hosting.clients import HostingTarget
from tests.support.audio_factory import make_mp3

pytest.importorskip("moto")

BUCKET = "audioprep-runhosting"
CREDENTIALS = ("AKIARUNHOSTINGTEST00", "runhosting-secret-not-a-real-one")


class CountingS3:
    """moto's S3 on a loopback port, counting ``(method, path)`` of every request."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import create_backend_app
        from werkzeug.serving import make_server

        self.requests: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        app = create_backend_app("s3")

        def counted(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
            with self._lock:
                self.requests[(environ["REQUEST_METHOD"], environ["PATH_INFO"])] += 1
            result: Iterable[bytes] = app(environ, start)
            return result

        self._server = make_server("127.0.0.1", 0, counted, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join()


@pytest.fixture
def counting_s3() -> Iterator[CountingS3]:
    server = CountingS3()
    try:
        yield server
    finally:
        server.close()


def target_at(url: str, label: str, *, bucket: bool = True) -> HostingTarget:
    """A public-by-ACL target at ``url`` with the test's credentials (and its bucket made)."""
    target = HostingTarget(
        bucket=BUCKET,
        endpoint_url=url,
        region="us-east-1",
        public_mode="acl",
        label=label,
        credentials=CREDENTIALS,
    )
    if bucket:
        runhosting.make_client(target).create_bucket(Bucket=BUCKET)
    return target


def test_threads_share_one_bucket_check_and_every_upload_is_verified(
    counting_s3: CountingS3, tmp_path: Path
) -> None:
    target = target_at(counting_s3.url, "counting")
    files = [make_mp3(tmp_path, f"p{i}.mp3", seconds=0.5 + i / 10) for i in range(6)]
    try:
        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(lambda p: runhosting.uploader_for(target).upload(p), files))
    finally:
        runhosting.release(target)
    assert [r.ok for r in results] == [True] * 6
    for path, result in zip(files, results, strict=True):
        assert requests.get(result.url, timeout=5).content == path.read_bytes()
    assert counting_s3.requests[("HEAD", f"/{BUCKET}")] == 1  # not one per thread
    assert sum(n for (method, _), n in counting_s3.requests.items() if method == "PUT") == 7


def test_the_warmer_checks_the_bucket_once_before_any_upload_asks(
    counting_s3: CountingS3, tmp_path: Path
) -> None:
    target = target_at(counting_s3.url, "warmed")
    warmer = runhosting.Warmer(target)
    try:
        warmer.start()
        warmer.start()  # the second call does nothing
        warmer.join()
        assert counting_s3.requests[("HEAD", f"/{BUCKET}")] == 1  # done before any upload
        result = runhosting.uploader_for(target).upload(make_mp3(tmp_path, "w.mp3"))
    finally:
        runhosting.release(target)
    assert result.ok
    assert counting_s3.requests[("HEAD", f"/{BUCKET}")] == 1  # the upload used the warm client


def test_a_warmer_that_fails_leaves_the_error_to_the_first_upload(tmp_path: Path) -> None:
    # Nothing listens on the port a closed server had: connection refused.
    server = CountingS3()
    dead_url = server.url
    server.close()
    target = target_at(dead_url, "dead", bucket=False)
    warmer = runhosting.Warmer(target)
    try:
        warmer.start()
        warmer.join()  # no exception here: the warming thread only logs
        with pytest.raises(ServiceUnavailable):
            runhosting.uploader_for(target)
    finally:
        runhosting.release(target)
