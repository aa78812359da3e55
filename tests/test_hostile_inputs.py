"""Each defect the trial outside our own world found, as a test: inputs a user's world has.

Digital silence, bodies that are not JSON (NaN, UTF-16, deep nesting, lone surrogates), long
integers, URLs that cannot be parsed, symlink loops, file names that are not UTF-8, oversized
manifest fields, and full or read-only disks. Each must give the README's exit code and a
message, never a traceback, a 500 or a dropped connection; every JSON output parses strictly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from audioprep import api, jsonio
from audioprep.errors import ExitCode
from audioprep.sandbox.postbacks import PostbackDispatcher
from audioprep.sandbox.store import PostbackRecord, Store
from audioprep.send.postbacks import PostbackOptions, PostbackServer
from tests.conftest import Cli
from tests.support import audio_factory as af
from tests.support.httpserver import LocalHTTPServer, Route
from tests.support.sandbox_fixtures import running, trigger

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
GOOD = {
    "destinations": [{"number": "35699000001", "custom_id": "c1"}],
    "voice_content": {"audio_file_url": "https://cdn.example.com/a.mp3"},
}
LONG = "9" * 5000


def _body(**content: object) -> dict[str, object]:
    return {**GOOD, "voice_content": {**GOOD["voice_content"], **content}}  # type: ignore[dict-item]


NOT_JSON = {
    "NaN": b'{"destinations": [], "job_id": NaN}',
    "Infinity": b'{"destinations": [{"number": Infinity}]}',
    "-Infinity": b'{"x": -Infinity}',
    "UTF-16": json.dumps(GOOD).encode("utf-16"),
    "UTF-32": json.dumps(GOOD).encode("utf-32"),
    "deep": b"[" * 1000 + b"]" * 1000,
    "surrogate": json.dumps(GOOD)[:-1].encode() + b', "job_id": "\\ud800x"}',
    "1e999": b'{"destinations": [{"number": 1e999}]}',
}


# --- JSON out ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def silent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return af.make_wav(tmp_path_factory.mktemp("silent"), "silent.wav", seconds=2, source="silence")


def test_digital_silence_has_a_null_peak_in_every_json(run_cli: Cli, silent: Path) -> None:
    (item,) = json.loads(run_cli("inspect", "--json", str(silent), expect=1).stdout)
    assert item["peak_dbfs"] is None and item["loudness_lufs"] is None
    (problem,) = [p for p in item["problems"] if p["id"] == "level.silent"]
    assert "digital silence" in problem["message"] and "null" in problem["message"]
    report = json.loads(run_cli("lint", "--report", "json", str(silent), expect=1).stdout)
    assert report["items"][0]["verdict"] == "unusable"
    sarif = run_cli("lint", "--report", "sarif", str(silent), expect=1).stdout
    assert "Infinity" not in sarif and json.loads(sarif)["runs"]


def test_the_encoder_refuses_what_json_has_no_word_for() -> None:
    with pytest.raises(ValueError, match="not a JSON number"):
        jsonio.dumps({"peak_dbfs": float("-inf")})
    assert jsonio.loads(jsonio.dumps({"p": "bad\udcffname.mp3"})) == {"p": "bad\ufffdname.mp3"}


# --- JSON in ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(NOT_JSON))
def test_validate_answers_minus_80_for_what_is_not_json(
    run_cli: Cli, tmp_path: Path, name: str
) -> None:
    path = tmp_path / "body.json"
    path.write_bytes(NOT_JSON[name])
    answer = json.loads(run_cli("validate", "--json", str(path), expect=1).stdout)
    assert answer["status_code"] == -80


def test_a_bom_is_tolerated_and_long_integers_are_numbers(run_cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "body.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode())
    assert json.loads(run_cli("validate", "--json", str(path)).stdout)["status_code"] == 0
    for field, code in [("number", -85), ("custom_id", 0)]:
        body = json.dumps(GOOD).replace('"35699000001"' if field == "number" else '"c1"', LONG)
        assert api.validate_request(body.encode()).code == code, field
    sender = json.dumps(_body(sender_id="X")).replace('"X"', LONG)
    assert api.validate_request(sender.encode()).code == -92


@pytest.mark.parametrize("value", [10**30, LONG, f'"{LONG}"'])
def test_a_timeout_beyond_any_clock_is_not_an_integer_the_service_takes(value: object) -> None:
    body = json.dumps(_body(ring_timeout_seconds="X")).replace('"X"', str(value))
    answer = api.validate_request(body.encode())
    assert (answer.code, answer.description) == (-104, "ring_timeout_seconds should be integer")


@pytest.mark.parametrize(
    "url", ["http://[::1/x.mp3", "http://h:99999/a.mp3", "https://h:0/a.mp3", "https://h:x/a.mp3"]
)
def test_a_url_that_cannot_be_parsed_is_minus_111_everywhere(run_cli: Cli, url: str) -> None:
    assert api.validate_request(json.dumps(_body(audio_file_url=url))).code == -111
    (found,) = json.loads(run_cli("check", "--json", url, expect=1).stdout)
    assert found["api_code"] == -111
    with running() as sandbox:
        answer = trigger(sandbox, _body(audio_file_url=url))
    assert answer.json()["result_info"]["status_code"] == -111


def test_the_sandbox_answers_minus_80_and_keeps_serving() -> None:
    with running() as sandbox:
        for name, body in NOT_JSON.items():
            answer = trigger(sandbox, body)
            assert answer.status_code < 500, name
            assert answer.json()["result_info"]["status_code"] == -80, name
        assert trigger(sandbox, b"{}").json()["result_info"]["status_code"] != -80


def test_the_receiver_answers_400_for_what_is_not_json(tmp_path: Path) -> None:
    with PostbackServer(PostbackOptions(port=0, db=tmp_path / "pb.sqlite3")) as server:
        for name, body in NOT_JSON.items():
            answer = requests.post(server.url + "/postback", data=body, timeout=10)
            assert (answer.status_code, answer.json()) == (400, {"error": "the body is not JSON"})
            assert name
        assert server.store.counts()["postbacks"] == 0


def test_a_postback_due_in_centuries_does_not_stop_the_scheduler() -> None:
    """The dispatcher ended itself on ``ring_timeout_seconds: 10**29``: its wait overflowed the
    clock. A real receiver counts what arrives after the far postback was scheduled."""
    with LocalHTTPServer() as server:
        server.route("/cb", Route(status=200, body=b"ok"))
        store = Store()
        dispatcher = PostbackDispatcher(store, timeout_s=2.0, backoff_s=0.05)
        dispatcher.start()
        try:
            url = server.url("/cb")
            dispatcher.submit([PostbackRecord("m1", url, "final", 1e29, {"n": 1})])
            time.sleep(0.2)
            dispatcher.submit([PostbackRecord("m2", url, "final", time.time(), {"n": 2})])
            deadline = time.monotonic() + 10
            while not server.requests_for("/cb") and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            dispatcher.stop()
            store.close()
        assert [json.loads(r.body) for r in server.requests_for("/cb")] == [{"n": 2}]


# --- files ------------------------------------------------------------------------------------


@pytest.fixture
def looped(tmp_path: Path) -> Path:
    """A folder with one good prompt beside a symlink loop and a dangling link."""
    folder = tmp_path / "prompts"
    folder.mkdir()
    shutil.copy(SAMPLES / "welcome.mp3", folder / "welcome.mp3")
    os.symlink("b.mp3", folder / "a.mp3")
    os.symlink("a.mp3", folder / "b.mp3")
    os.symlink("/nonexistent/x.wav", folder / "gone.wav")
    (folder / "sub").mkdir()
    os.symlink("..", folder / "sub" / "up")
    return folder


def test_a_symlink_loop_is_one_failed_entry_and_the_batch_goes_on(
    run_cli: Cli, looped: Path, tmp_path: Path
) -> None:
    fixed = json.loads(
        run_cli("fix", str(looped), "-o", str(tmp_path / "o"), "--json", expect=1).stdout
    )
    by_name = {Path(r["source"]).name: r for r in fixed}
    assert by_name["welcome.mp3"]["status"] in ("fixed", "unchanged")
    assert "symbolic links" in by_name["a.mp3"]["error"]
    run = run_cli(
        "run", str(looped), "-o", str(tmp_path / "r"), "--dry-run", "-q", "--report", "json",
        expect=1,
    )  # fmt: skip
    items = {Path(i["source"]).name: i for i in json.loads(run.stdout)["items"]}
    assert items["welcome.mp3"]["status"] == "ok"
    assert items["a.mp3"]["status"] == "failed" and len(items) == 4


def test_a_file_name_that_is_not_utf8_is_reported_everywhere(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path / "odd")
    os.mkdir(folder)
    shutil.copy(SAMPLES / "welcome.mp3", folder + b"/bad\xff name.mp3")
    out = str(tmp_path / "o")
    for args in (
        ["inspect", "--quick", "--json"],
        ["lint", "--quick", "--report", "sarif"],
        ["lint", "--quick", "--report", "json"],
        ["run", "-o", out, "-q", "--report", "json"],
    ):
        proc = _audioprep(*args, os.fsdecode(folder))
        assert "Traceback" not in proc.stderr, (args, proc.stderr)
        assert proc.returncode in (0, 1), (args, proc.stderr)
        assert "\ufffd" in json.dumps(jsonio.loads(proc.stdout), ensure_ascii=False)


def test_an_oversized_csv_field_is_a_manifest_error(run_cli: Cli, tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("audio,number\n" + "a" * 140_000 + ".mp3,35699000001\n")
    result = run_cli("run", "--manifest", str(manifest), "--dry-run", "-q", expect=2)
    assert "row 2: not CSV this reader takes: field larger than field limit" in result.stderr


@pytest.mark.parametrize(
    "text",
    ["[" * 2000 + "]" * 2000, '[{"audio": "a\\udcff.mp3"}]', '[{"audio": "a.mp3", "job_id": NaN}]'],
)
def test_a_json_manifest_that_is_not_json_says_where(
    run_cli: Cli, tmp_path: Path, text: str
) -> None:
    manifest = tmp_path / "m.json"
    manifest.write_text(text)
    result = run_cli("run", "--manifest", str(manifest), "--dry-run", "-q", expect=2)
    assert "not valid JSON at line 1, column" in result.stderr


# --- disks ------------------------------------------------------------------------------------


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs, filled to the brim (needs root and mount, as CI has)."""
    where = tmp_path / "tiny"
    where.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a full disk is made with a tmpfs mount, which needs root")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(where)], check=False
    )
    if made.returncode != 0:
        pytest.skip("this machine does not allow mounting a tmpfs")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(where: Path, leave: int = 0) -> None:
    """Fill the file system at ``where``, then free ``leave`` bytes of it."""
    fd = os.open(where / "fill", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            try:
                os.write(fd, b"\0" * 4096)
            except OSError:
                break
        os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
    finally:
        os.close(fd)


def test_a_full_disk_under_the_run_state_is_exit_120(mounted: Path, tmp_path: Path) -> None:
    _fill(mounted, leave=64 * 1024)
    proc = _audioprep(
        "run", str(SAMPLES), "-o", str(tmp_path / "o"), "--state", str(mounted / "s.sqlite3"), "-q"
    )
    assert proc.returncode == ExitCode.OUTPUT_FAILED, proc.stderr
    assert "Traceback" not in proc.stderr and "the disk is full" in proc.stderr


def test_a_read_only_place_for_a_database_is_exit_2(mounted: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(mounted)], check=True)
    for args in (["sandbox", "--port", "0"], ["postbacks", "serve", "--port", "0"]):
        proc = _audioprep(*args, "--db", str(mounted / "x.sqlite3"), timeout=20)
        assert proc.returncode == ExitCode.USAGE, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and "cannot write" in proc.stderr


def _audioprep(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "audioprep", *args],
        capture_output=True,
        text=True,
        errors="surrogateescape",
        timeout=timeout,
        check=False,
    )
