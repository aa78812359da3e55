"""Loopback traffic never goes through a proxy; everything else still does (real HTTP, local).

The "proxy" is a :class:`LocalHTTPServer` on 127.0.0.1 that records what it is asked, and the
dead proxy is a port where nothing listens, so nothing leaves loopback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from audioprep.hosting import upload as hosting
from audioprep.hosting.upload import UploadOptions
from audioprep.net import sessions
from audioprep.run.pipeline import RunOptions, run_pipeline
from audioprep.send.submit import Destination
from tests.support.httpserver import LocalHTTPServer, Route

pytest_plugins = ("tests.support.s3_fixtures",)  # closed_endpoint

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8080/a.mp3", True),
        ("http://127.9.9.9/a.mp3", True),
        ("http://localhost/a.mp3", True),
        ("http://[::1]:9000/a.mp3", True),
        ("http://s3.localhost/a.mp3", True),
        ("https://cdn.example.com/a.mp3", False),
        ("http://10.0.0.1/a.mp3", False),
        ("http://127.0.0.1.example.com/a.mp3", False),
        ("not a url", False),
    ],
)
def test_loopback_hosts(url: str, loopback: bool) -> None:
    assert sessions.is_loopback(url) is loopback


@pytest.fixture
def dead_proxy(monkeypatch: pytest.MonkeyPatch, closed_endpoint: str) -> str:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, closed_endpoint)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return closed_endpoint


def test_loopback_requests_go_direct_even_with_a_proxy_set(dead_proxy: str) -> None:
    with LocalHTTPServer() as server:
        server.route("/a.mp3", Route(body=b"ID3"))
        assert sessions.session().get(server.url("/a.mp3"), timeout=5).content == b"ID3"
        with pytest.raises(requests.exceptions.ProxyError):
            requests.Session().get(server.url("/a.mp3"), timeout=5)  # what we had before


def test_other_hosts_still_use_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    with LocalHTTPServer() as proxy:
        proxy.route("/a.mp3", Route(body=b"via proxy"))
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        monkeypatch.setenv("http_proxy", proxy.base_url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        answer = sessions.session().get("http://audio.example.invalid/a.mp3", timeout=5)
        assert answer.content == b"via proxy"
        proxy.wait_idle()
        assert proxy.requests_for("/a.mp3")[0].headers["Host"] == "audio.example.invalid"


def test_s3_clients_skip_the_proxy_only_for_a_loopback_endpoint() -> None:
    local = hosting.s3_config(UploadOptions(bucket="b", endpoint_url="http://127.0.0.1:9000"))
    remote = hosting.s3_config(UploadOptions(bucket="b", endpoint_url="https://r2.example.com"))
    assert local.proxies == {} and remote.proxies is None


def test_the_sandbox_run_works_behind_a_proxy(dead_proxy: str, tmp_path: Path) -> None:
    options = RunOptions(
        outdir=str(tmp_path / "out"),
        sandbox=True,
        submit=True,
        destinations=(Destination("35699000002"),),
    )
    report = run_pipeline([str(SAMPLES / "welcome.mp3")], options)
    (item,) = report.items
    assert item.status.value == "ok" and item.url and item.submit_outcome == "accepted"
