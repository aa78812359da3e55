"""Secrets stay secret: no URL password, postback secret or presigned signature in any output
or log, and the files that hold them are readable by their owner only."""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from pathlib import Path

import pytest

from audioprep.send.postbacks import PostbackOptions, PostbackServer
from tests.conftest import Cli
from tests.support.sandbox_fixtures import running, trigger

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
