"""A real S3-compatible server on loopback for tests: moto's, started once per session.

Use it from a test module with ``pytest_plugins = ("tests.support.s3_fixtures",)`` (importing the
fixtures by name would trip ruff's F811 wherever they are used as arguments).

``moto_endpoint`` is the server's base URL (session scope); ``aws_credentials`` sets fake,
distinctive credentials and region in the environment (after conftest's isolation fixture has
removed the real ones); ``s3`` gives a fresh, uniquely named bucket and a client for it (an
:class:`S3`; import that name only under ``TYPE_CHECKING``, so pytest can rewrite this module);
``closed_endpoint`` is a loopback URL where nothing listens.

What moto does and does not do (research/probe.md §6): anonymous GETs honour object ACLs and
bucket policies; presigned URLs work; path-style addressing works. It does NOT enforce Object
Ownership (never answers AccessControlListNotSupported) or Block Public Access, and it accepts
wrong ``x-amz-checksum-sha256`` and ``Content-MD5`` values; test those paths with Stubber.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

#: Fake credentials, distinctive so tests can assert they never leak into output or logs.
ACCESS_KEY = "AKIAAUDIOPREPFAKE001"
SECRET_KEY = "audioprep-fake-secret-never-print-me"
REGION = "us-east-1"


@dataclass(frozen=True, slots=True)
class S3:
    """A bucket on the moto server: its endpoint, name, and a path-style client for setup."""

    endpoint: str
    bucket: str
    client: Any

    def url(self, key: str) -> str:
        """The path-style public URL of ``key``."""
        return f"{self.endpoint}/{self.bucket}/{key}"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """Start moto's S3 server on 127.0.0.1 (a free port) for the whole session."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request lines in test output
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """Fake credentials and region in the environment; instance-metadata lookups off (they
    would hang). Returns (access key id, secret key) so tests can check they never leak."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return ACCESS_KEY, SECRET_KEY


@pytest.fixture
def s3(moto_endpoint: str, aws_credentials: tuple[str, str]) -> S3:
    """A new bucket with a unique name on the moto server."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    bucket = f"audioprep-test-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3(moto_endpoint, bucket, client)


@pytest.fixture
def closed_endpoint() -> str:
    """An http URL on loopback where nothing listens (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
