"""The ``--sandbox`` world's local S3 (:class:`audioprep.run.sandbox_world.LocalS3`), over real
HTTP.

It binds its socket at once and starts moto in the background when first needed, so these
check what a run relies on: a request sent before moto serves waits in the backlog and succeeds
against the bucket (created before the first request is served); a run that never uploads
never builds moto; a start that fails is reported and closes the socket instead of leaving
clients waiting; a client's requests share one keep-alive connection.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
import requests

from audioprep.errors import ConfigError, ServiceUnavailable
from audioprep.run.sandbox_world import LocalS3

BUCKET = "audioprep-sandbox-test"
PUBLIC = {"x-amz-acl": "public-read"}


def test_requests_sent_at_once_wait_for_moto_and_find_the_bucket() -> None:
    s3 = LocalS3(BUCKET)
    url = s3.start()
    try:
        key = f"{url}/{BUCKET}/prompt.mp3"
        put = requests.put(key, data=b"ID3 bytes", headers={"x-amz-acl": "public-read"}, timeout=30)
        assert put.status_code == 200, put.text
        s3.wait()
        got = requests.get(key, timeout=10)
        assert got.status_code == 200 and got.content == b"ID3 bytes"
    finally:
        s3.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)


def test_a_failed_start_is_reported_and_refuses_connections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: LocalS3) -> Any:
        raise RuntimeError("moto exploded")

    monkeypatch.setattr(LocalS3, "_build", broken)
    s3 = LocalS3(BUCKET)
    url = s3.start()
    try:
        with pytest.raises(ServiceUnavailable, match="moto exploded"):
            s3.wait()
        with pytest.raises(requests.ConnectionError):
            requests.get(url, timeout=5)
    finally:
        s3.stop()


def test_without_moto_the_sandbox_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "moto" else real(name, *a),
    )
    with pytest.raises(ConfigError) as caught:
        LocalS3(BUCKET).start()
    assert "audioprep[sandbox]" in (caught.value.hint or "")


def test_moto_is_built_on_first_use_and_never_for_a_run_that_does_not_upload(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    builds: list[str] = []
    real_build = LocalS3._build

    def counted(self: LocalS3) -> Any:
        builds.append(self.bucket)
        return real_build(self)

    monkeypatch.setattr(LocalS3, "_build", counted)
    unused = LocalS3(BUCKET)
    unused.start()
    unused.stop()
    assert builds == []
    used = LocalS3(BUCKET)
    url = used.start()
    try:
        assert requests.head(f"{url}/{BUCKET}", timeout=30).status_code == 200
    finally:
        used.stop()
    assert builds == [BUCKET]


def test_one_client_keeps_one_connection() -> None:
    s3 = LocalS3(BUCKET)
    url = s3.start()
    try:
        with requests.Session() as http:
            for i in range(5):
                key = f"{url}/{BUCKET}/p{i}.mp3"
                put = http.put(key, data=b"x" * (i + 1), headers=PUBLIC, timeout=30)
                assert put.status_code == 200
                got = http.get(key, timeout=10)
                assert got.content == b"x" * (i + 1)
                assert got.headers.get("Connection", "").lower() != "close"
            pools = http.get_adapter(url).poolmanager.pools
            opened = [pools[key].num_connections for key in pools.keys()]  # noqa: SIM118 (no __iter__)
            assert opened == [1]  # ten requests, one TCP connection
    finally:
        s3.stop()


def test_the_run_sandbox_plays_the_account_it_is_given(tmp_path: Any) -> None:
    from audioprep import api
    from audioprep.run.sandbox_world import TOKEN, SandboxEnv

    limits = api.AccountLimits(account_type=api.AccountType.TEST, personal_number="35699000031")
    body = {
        "destinations": [{"number": "35699000032"}],
        "voice_content": {"audio_file_url": "http://127.0.0.1:9/a.mp3"},
    }
    with SandboxEnv(tmp_path / "sandbox", limits=limits) as env:
        answer = requests.post(
            f"{env.api_url}/1/voice",
            json=body,
            headers={"Authorization": f"Token {TOKEN}"},
            timeout=10,
        )
    assert answer.json()["result_info"]["status_code"] == api.Code.TEST_PERSONAL_NUMBER
