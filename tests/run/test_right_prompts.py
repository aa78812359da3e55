"""``run`` makes every prompt right before it is sent, checks the cheap things first, and says
what it did (issue [4/5]).

Real components throughout: ffmpeg makes the prompts, ``run --sandbox --submit`` hosts them on
moto's S3 and sends them to the sandbox Voice API in the process; what was hosted is the file
whose SHA-256 the anonymous download proved (``sha256`` in the report), re-inspected here.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from audioprep.audio import levels
from audioprep.audio.inspect import Verdict, inspect_file
from audioprep.errors import ExitCode
from tests.conftest import Cli
from tests.support import audio_factory as af
from tests.support.report_schema import report_validator

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
NUMBER = "35699000002"


def _extensible_wav(directory: Path) -> Path:
    """A plain 8 kHz mono PCM WAV rewritten with a WAVE_FORMAT_EXTENSIBLE header."""
    plain = af.make_wav(directory, "plain.wav", seconds=4, rate=8000)
    data = plain.read_bytes()
    at = af.find_chunk(plain, b"data")
    size = int.from_bytes(data[at + 4 : at + 8], "little")
    audio = data[at + 8 : at + 8 + size]
    body = af.riff([af.chunk(b"fmt ", af.extensible_fmt(1, 8000, 16, 1)), af.chunk(b"data", audio)])
    plain.unlink()
    return af.write_file(directory, "extensible.wav", body)


@pytest.fixture(scope="module")
def prompts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("prompts")
    quiet = af.make_tone(d, "quiet.mp3", seconds=4, rate=16000, codec="libmp3lame", bitrate="48k",
                         source="sine=frequency=440:sample_rate=16000,volume=-28dB")  # fmt: skip
    late = af.make_tone(d, "late.wav", seconds=8, rate=8000, codec="pcm_s16le",
                        source="sine=frequency=440:sample_rate=8000:duration=3,"
                               "adelay=delays=5000:all=1,apad")  # fmt: skip
    made = {
        "quiet": quiet,
        "late": late,
        "extensible": _extensible_wav(d),
        "clean": shutil.copy(SAMPLES / "welcome.mp3", d / "clean.mp3"),
    }
    found = {name: {p.id for p in inspect_file(path).problems} for name, path in made.items()}
    assert "level.very_low" in found["quiet"] and "level.leading_silence" in found["late"]
    assert "wav.extensible" in found["extensible"]  # the inputs are what the test says
    assert all(inspect_file(path).verdict is Verdict.OK for path in made.values())
    return {name: Path(path) for name, path in made.items()}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(run_cli: Cli, out: Path, sources: list[Path], *extra: str) -> dict[str, Any]:
    result = run_cli(
        "run", *map(str, sources), "--sandbox", "--submit", "--to", NUMBER, "-o", str(out),
        "-q", "--report", "json", *extra,
    )  # fmt: skip
    report: dict[str, Any] = json.loads(result.stdout)
    report_validator().validate(report)
    return {Path(item["source"]).stem: item for item in report["items"]}


def test_warnings_a_fix_repairs_are_fixed_before_hosting(
    prompts: dict[str, Path], tmp_path: Path, run_cli: Cli
) -> None:
    items = _run(run_cli, tmp_path / "out", list(prompts.values()))
    for name in ("quiet", "late", "extensible"):
        item = items[name]
        assert item["status"] == "fixed" and item["submit_outcome"] == "accepted", name
        hosted = Path(item["output"])
        assert item["sha256"] == _sha256(hosted) != _sha256(prompts[name]), name
        found = inspect_file(hosted)
        assert found.verdict is Verdict.OK, (name, found.problems)
        assert found.loudness_lufs is not None
        assert abs(found.loudness_lufs - levels.TARGET_LUFS) <= 1.0, (name, found.loudness_lufs)
        assert item["after"]["format"] == found.format and item["actions"], name
    late = inspect_file(Path(items["late"]["output"]))
    assert not {"level.leading_silence", "level.trailing_silence"} & {p.id for p in late.problems}
    assert any(
        a.startswith("trimmed 4.") and "leading silence" in a for a in items["late"]["actions"]
    )
    quiet = items["quiet"]
    assert quiet["before"]["loudness_lufs"] < -40 and quiet["after"]["loudness_lufs"] > -20.5
    assert any("lossless MP3 gain" in a for a in quiet["actions"])  # its frames were kept
    clean = items["clean"]
    assert clean["status"] == "ok" and clean["output"] is None and clean["actions"] == []
    assert clean["sha256"] == _sha256(prompts["clean"])  # hosted byte for byte
    assert clean["before"] == clean["after"]


def test_no_fix_warnings_hosts_them_as_they_are(
    prompts: dict[str, Path], tmp_path: Path, run_cli: Cli
) -> None:
    items = _run(run_cli, tmp_path / "out", list(prompts.values()), "--no-fix-warnings")
    for name, path in prompts.items():
        item = items[name]
        assert item["status"] == "ok" and item["sha256"] == _sha256(path), name
        assert item["submit_outcome"] == "accepted", name


def test_strict_fails_what_no_fix_repairs_before_upload(tmp_path: Path, run_cli: Cli) -> None:
    long = af.make_mp3(tmp_path, "long.mp3", seconds=12, rate=16000, channels=1, bitrate="32k")
    out = tmp_path / "out"
    common = ["run", str(long), "--sandbox", "-o", str(out), "-q", "--report", "json"]
    warned = json.loads(run_cli(*common, "--max-duration", "10").stdout)["items"][0]
    assert warned["status"] in ("ok", "fixed") and "duration.long" in _ids(warned)
    shutil.rmtree(out)
    failed = run_cli(*common, "--max-duration", "10", "--strict", expect=ExitCode.FINDINGS)
    item = json.loads(failed.stdout)["items"][0]
    assert item["failed_stage"] == "fix" and "duration.long" in item["error"]
    assert item["url"] is None and _status(item, "upload") == "skipped"
    assert "duration.long" not in _ids(json.loads(run_cli(*common).stdout)["items"][0])


def _ids(item: dict[str, Any]) -> set[str]:
    return {p["id"] for p in item["problems"]}


def _status(item: dict[str, Any], stage: str) -> str:
    return str(next(s["status"] for s in item["stages"] if s["stage"] == stage))


def test_a_prompt_too_quiet_for_the_gain_cap_is_unusable(tmp_path: Path, run_cli: Cli) -> None:
    noise = "anoisesrc=color=pink:amplitude=0.0005:seed=3:sample_rate=16000"
    hiss = af.make_tone(
        tmp_path, "hiss.mp3", seconds=3, rate=16000, codec="libmp3lame", source=noise
    )
    found = inspect_file(hiss)
    assert found.verdict is Verdict.UNUSABLE, found.problems
    (problem,) = [p for p in found.errors if p.id == "level.very_low"]
    assert "re-record" in problem.message
    assert run_cli("lint", str(hiss), expect=ExitCode.FINDINGS)
    common = ["run", str(hiss), "--sandbox", "-o", str(tmp_path / "out"), "-q", "--report", "json"]
    item = json.loads(run_cli(*common, expect=ExitCode.FINDINGS).stdout)["items"][0]
    assert item["verdict"] == "unusable" and item["failed_stage"] == "inspect"


# --- cheap checks first ---------------------------------------------------------------------


def _nothing_done(tmp_path: Path, before: set[str]) -> None:
    after = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")}
    assert after == before, after - before


@pytest.mark.parametrize(
    "bad",
    [
        ["--to", "123"],
        ["--to", NUMBER, "--to-file", "{dir}/audience.csv"],
        ["--to", NUMBER, "--report-file", "{dir}/audience.csv/report.json"],
        ["--to", NUMBER, "--report-file", "{dir}"],
    ],
    ids=["short number", "to-file row", "report under a file", "report is a folder"],
)
def test_bad_destinations_and_unwritable_reports_stop_before_any_work(
    prompts: dict[str, Path], tmp_path: Path, run_cli: Cli, bad: list[str]
) -> None:
    audience = tmp_path / "audience.csv"
    audience.write_text(f"number\n{NUMBER}\nnotanumber\n35699000003\n", encoding="utf-8")
    before = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")}
    args = [arg.replace("{dir}", str(tmp_path)) for arg in bad]
    source = f"http://127.0.0.1:9/{prompts['clean'].name}"  # fetched, it would fail loudly
    result = run_cli("run", str(prompts["clean"]), source, "--sandbox", "--submit",
                     "-o", str(tmp_path / "out"), *args, expect=ExitCode.USAGE)  # fmt: skip
    _nothing_done(tmp_path, before)
    assert "Traceback" not in result.stderr
    if bad[1] == "123":
        assert "'123': a number has 7-15 digits (-85)" in result.stderr
    if "--to-file" in bad:
        assert "'notanumber': not a phone number" in result.stderr


def test_every_bad_destination_is_reported_at_once(tmp_path: Path, run_cli: Cli) -> None:
    result = run_cli("run", str(SAMPLES / "welcome.mp3"), "--sandbox", "--submit",
                     "--to", "123", "--to", "abc", "--to", NUMBER, "-o", str(tmp_path / "out"),
                     expect=ExitCode.USAGE)  # fmt: skip
    assert "2 destination(s)" in result.stderr
    assert "'123'" in result.stderr and "'abc'" in result.stderr
    assert not (tmp_path / "out").exists()


def test_submit_without_a_token_stops_before_any_work(
    tmp_path: Path, run_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUDIOPREP_API_TOKEN", raising=False)
    run_cli("run", str(SAMPLES / "welcome.mp3"), "--bucket", "b", "--endpoint-url",
            "http://127.0.0.1:9", "--submit", "--to", NUMBER, "-o", str(tmp_path / "out"),
            expect=ExitCode.CONFIG)  # fmt: skip
    assert not (tmp_path / "out").exists()


# --- what a person reads --------------------------------------------------------------------


def test_the_text_report_fits_80_columns_and_says_what_was_done(
    tmp_path: Path, run_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = tmp_path / "out"
    args = ["run", str(SAMPLES), "--sandbox", "--submit", "--to", NUMBER, "-o", str(out), "-q"]
    text = run_cli(*args).stdout
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert "renamed" in text and "downmixed to mono" in text
    assert "error name.characters" not in text  # a fixed item's DETAIL is what was done
    assert "5 item(s): 2 ok, 3 fixed, 0 reused, 0 failed" in text
    again = run_cli(*args, "-v").stdout
    assert max(len(line) for line in again.splitlines()) <= 80, again
    assert "5 item(s): 0 ok, 0 fixed, 5 reused, 0 failed" in again
    assert again.count("before: ") == 5 and "error name.characters:" in again
    assert "http://127.0.0.1:" in again and os.environ["COLUMNS"] == "80"
