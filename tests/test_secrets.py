"""Secrets stay secret: no URL password, postback secret or presigned signature in any output
or log, and the files that hold them are readable by their owner only."""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from audioprep.send.postbacks import PostbackOptions, PostbackServer
from tests.conftest import Cli
from tests.support.sandbox_fixtures import TOKEN, running, trigger

if TYPE_CHECKING:
    from tests.support.s3_fixtures import S3

pytest_plugins = ("tests.support.s3_fixtures",)

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
SECRET = "s3cr3t-callback-token"


def test_check_never_shows_a_url_password(run_cli: Cli) -> None:
    url = "https://user:PassW0rd@cdn.example.com/a.mp3"
    text = run_cli("check", url, "http://u:PassW0rd@[::1/x.mp3", expect=1).stdout
    found = run_cli("check", "--json", url).stdout
    assert "PassW0rd" not in text + found
    assert json.loads(found)[0]["target"] == "https://cdn.example.com/a.mp3"


def test_no_postback_secret_in_any_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    options = PostbackOptions(port=0, db=tmp_path / "pb.sqlite3", secret=SECRET)
    with PostbackServer(options) as receiver, running() as sandbox:
        job = {
            "destinations": [{"number": "35699000001"}],
            "voice_content": {"tts_text": "Hello, this is a test call", "tts_voice": "man"},
            "callback_url": f"{receiver.url}/postback/{SECRET}",
        }
        assert trigger(sandbox, job).status_code == 200
        deadline = time.monotonic() + 15
        while receiver.store.counts()["postbacks"] < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert receiver.store.counts()["postbacks"] >= 2  # the postbacks did go through
    assert "postback" in caplog.text and SECRET not in caplog.text


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_journal_and_stores_are_private(run_cli: Cli, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        out = tmp_path / "out"
        run_cli("run", str(SAMPLES / "welcome.mp3"), "-o", str(out), "-q", "--sandbox",
                "--submit", "--to", "35699000002")  # fmt: skip
    finally:
        os.umask(old)
    databases = [p for p in tmp_path.rglob("*.sqlite3*") if not p.name.endswith(".lock")]
    names = {p.name for p in databases}
    assert {"out.state.sqlite3", "journal.sqlite3", "postbacks.sqlite3"} <= names
    assert {p.name: _mode(p) for p in databases} == {p.name: 0o600 for p in databases}


def test_no_presigned_signature_in_any_output_or_log(
    run_cli: Cli,
    s3: S3,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real presigned URL (moto) goes through ``run -vv`` to a sandbox that fetches it: the
    signature is in the journal (0600, it is what was sent) and nowhere a person reads."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("AUDIOPREP_API_TOKEN", TOKEN)
    report = tmp_path / "report.json"
    with running() as sandbox:
        result = run_cli(
            "-vv", "run", str(SAMPLES / "welcome.mp3"), "-o", str(tmp_path / "out"),
            "--bucket", s3.bucket, "--endpoint-url", s3.endpoint, "--public-mode", "presign",
            "--submit", "--to", "35699000002", "--api-url", sandbox.url,
            "--journal", str(tmp_path / "journal.sqlite3"), "--report", "json",
            "--report-file", str(report),
        )  # fmt: skip
        logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("audioprep"))
        texts = [result.stdout, result.stderr, logged, report.read_text("utf-8")]
        texts += [run_cli("status", "--job-id", _job_id(report), "--journal",
                          str(tmp_path / "journal.sqlite3"), "--json").stdout]  # fmt: skip
    journal = (tmp_path / "journal.sqlite3").read_bytes()
    assert b"X-Amz-Signature=" in journal  # the URL really was presigned
    signature = journal.split(b"X-Amz-Signature=")[1][:64].decode()
    for text in texts:
        assert signature not in text and "X-Amz-Credential" not in text
    assert "welcome" in result.stderr and "welcome" in logged  # the logs did speak of it


def _job_id(report: Path) -> str:
    items = json.loads(report.read_text("utf-8"))["items"]
    return str(items[0]["job_ids"][0])
