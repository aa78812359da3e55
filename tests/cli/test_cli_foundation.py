"""`audioprep check`, `validate`, `doctor`, `--version` through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audioprep.api import Code
from audioprep.errors import ExitCode
from audioprep.version import __version__
from tests.conftest import Cli

GOOD_URL = "https://cdn.example.com/prompts/hello-1.mp3"


def body(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "destinations": [{"number": "35699000001", "custom_id": "c1"}],
        "voice_content": {"audio_file_url": GOOD_URL},
    }
    request.update(overrides)
    return request


def content(**fields: Any) -> dict[str, Any]:
    return body(voice_content={"audio_file_url": GOOD_URL, **fields})


def tts(**fields: Any) -> dict[str, Any]:
    return body(voice_content={"tts_text": "Hello there, caller", **fields})


# One request per code the API can decide without the network, with the description expected.
CASES: list[tuple[Any, Code, str | None]] = [
    ("{not json", Code.INVALID_JSON, "Invalid JSON Body"),
    ("[1, 2]", Code.INVALID_JSON, None),
    (
        body(voice_content={"audio_file_url": GOOD_URL, "tts_text": "Hello caller"}),
        Code.AUDIO_AND_TTS,
        None,
    ),
    (body(priority=1), Code.PARAM_NOT_ALLOWED, "priority is not allowed"),
    (
        body(destinations=[{"number": "35699000001", "name": "x"}]),
        Code.PARAM_NOT_ALLOWED,
        "name is not allowed",
    ),
    (content(volume=3), Code.PARAM_NOT_ALLOWED, "volume is not allowed"),
    (body(destinations={"number": "35699000001"}), Code.DESTINATIONS_TYPE, None),
    (body(destinations=[{"custom_id": "x"}]), Code.NUMBER_MISSING, None),
    (body(destinations=[{"number": "123456"}]), Code.DESTINATION_LENGTH, None),
    (body(destinations=[{"number": "1234567890123456"}]), Code.DESTINATION_LENGTH, None),
    (body(destinations=[{"number": "unknown"}]), Code.NO_VALID_DESTINATIONS, None),
    (body(destinations=[]), Code.NO_VALID_DESTINATIONS, None),
    ({"voice_content": {"audio_file_url": GOOD_URL}}, Code.DESTINATIONS_MISSING, None),
    (body(voice_content={"sender_id": "35699000000"}), Code.CONTENT_REQUIRED, None),
    (content(tts_voice="MAN"), Code.TTS_IN_AUDIO_CALL, None),
    (tts(audio_file_url=""), Code.AUDIO_IN_TTS_CALL, None),
    (
        content(sender_id="12345"),
        Code.SENDER_LENGTH,
        "The 'sender_id' number 12345 should at least have 7 digits and a maximum of 15 digits",
    ),
    (content(enable_menu_response="yes"), Code.MENU_RESPONSE_BOOL, None),
    (tts(tts_text="Hi"), Code.TTS_TEXT_LENGTH, None),
    (tts(tts_voice="ROBOT"), Code.TTS_VOICE, None),
    (tts(tts_lang="english"), Code.TTS_LANGUAGE, None),
    ({"destinations": [{"number": "35699000001"}]}, Code.VOICE_CONTENT_MISSING, None),
    (body(job_id="short"), Code.JOB_ID_LENGTH, None),
    (body(job_id="x" * 16), Code.JOB_ID_LENGTH, None),
    (
        body(
            destinations=[
                {"number": "35699000001", "custom_id": "a"},
                {"number": "35699000002", "custom_id": "a"},
            ]
        ),
        Code.CUSTOM_ID_NOT_UNIQUE,
        "Custom ID a is not unique",
    ),
    (
        content(ring_timeout_seconds=10),
        Code.SECONDS_TOO_SMALL,
        "ring_timeout_seconds should be bigger than 10",
    ),
    (
        content(ring_timeout_seconds="sixty"),
        Code.SECONDS_NOT_INTEGER,
        "ring_timeout_seconds should be integer",
    ),
    (content(ring_timeout_seconds=30.5), Code.SECONDS_NOT_INTEGER, None),
    (
        tts(time_limit_seconds=5),
        Code.SECONDS_TOO_SMALL,
        "time_limit_seconds should be bigger than 10",
    ),
    (
        body(voice_content={"audio_file_url": "https://example.com/my prompt.mp3"}),
        Code.AUDIO_INVALID,
        None,
    ),
    (
        body(voice_content={"audio_file_url": "https://example.com/prompt.ogg"}),
        Code.AUDIO_INVALID,
        None,
    ),
    (
        body(voice_content={"audio_file_url": "ftp://example.com/prompt.mp3"}),
        Code.AUDIO_URL_SCHEME,
        "The 'audio_file_url' must be valid (starting with http or https)",
    ),
    (body(voice_content={"audio_file_url": 42}), Code.AUDIO_URL_SCHEME, None),
]


@pytest.mark.parametrize(("request_body", "code", "description"), CASES)
def test_validate_answers_like_the_api(
    run_cli: Cli,
    write: Callable[[str, str], Path],
    request_body: Any,
    code: Code,
    description: str | None,
) -> None:
    text = request_body if isinstance(request_body, str) else json.dumps(request_body)
    path = write("request.json", text)
    result = run_cli("validate", str(path), "--json", expect=ExitCode.FINDINGS)
    answer = json.loads(result.stdout)
    assert answer["valid"] is False
    assert answer["status_code"] == int(code)
    assert answer["http_status"] == 403
    if description is not None:
        assert answer["description"] == description


def test_validate_account_limits_through_cli(
    run_cli: Cli, write: Callable[[str, str], Path]
) -> None:
    two = write(
        "two.json",
        json.dumps(
            body(
                destinations=[
                    {"number": "35699000001"},
                    {"number": "35699000002"},
                    {"number": "35699000003"},
                ]
            )
        ),
    )
    out = run_cli("validate", str(two), "--max-destinations", "2", "--json", expect=1)
    assert json.loads(out.stdout)["description"] == "There can only be 2 destination numbers"
    test_args = ["--account-type", "test", "--personal-number", "35699000009", "--json"]
    out = run_cli("validate", str(two), *test_args, expect=1)
    assert json.loads(out.stdout)["status_code"] == Code.TEST_ONE_DESTINATION
    one = write("one.json", json.dumps(body()))
    out = run_cli("validate", str(one), *test_args, expect=1)
    answer = json.loads(out.stdout)
    assert answer["status_code"] == Code.TEST_PERSONAL_NUMBER
    assert "35699000009" in answer["description"]
    run_cli("validate", str(one), "--account-type", "test", expect=ExitCode.USAGE)


def test_validate_success_from_stdin(run_cli: Cli) -> None:
    request = content(ring_timeout_seconds="60", sender_id="+356 123 456")
    result = run_cli("validate", "-", "--json", input=json.dumps(request))
    answer = json.loads(result.stdout)
    assert answer == {
        "valid": True,
        "http_status": 200,
        "status_code": 0,
        "description": "Job has been queued, Please check the progress via the HTTP Postbacks",
        "job_id": None,
        "notes": [],
    }
    human = run_cli("validate", "-", input=json.dumps(request)).stdout
    assert human.startswith("valid: HTTP 200, status_code 0")


def test_validate_human_output_names_the_rule(run_cli: Cli) -> None:
    result = run_cli("validate", "-", input=json.dumps(body(job_id="abc")), expect=1)
    assert "status_code -99" in result.stdout
    assert "'job_id' parameter should at least have 7 characters" in result.stdout


def test_validate_missing_file_is_a_usage_error(run_cli: Cli, tmp_path: Path) -> None:
    run_cli("validate", str(tmp_path / "nope.json"), expect=ExitCode.USAGE)


def test_check_json_contract(run_cli: Cli) -> None:
    result = run_cli(
        "check",
        "My Greeting (final).MP3",
        "ok_name.wav",
        "ftp://h.example/x.mp3",
        "https://h.example/a/My Prompt.wav",
        "--json",
        expect=ExitCode.FINDINGS,
    )
    items = {item["target"]: item for item in json.loads(result.stdout)}
    bad = items["My Greeting (final).MP3"]
    assert bad["ok"] is False and bad["api_code"] == -107
    assert bad["suggested_name"] == "My_Greeting_final.mp3"
    assert {p["id"] for p in bad["problems"]} == {"name.characters"}
    assert set(bad["problems"][0]) >= {"id", "severity", "message"}
    good = items["ok_name.wav"]
    assert good == {
        "target": "ok_name.wav",
        "ok": True,
        "api_code": None,
        "problems": [],
        "suggested_name": None,
    }
    ftp = items["ftp://h.example/x.mp3"]
    assert ftp["api_code"] == -111 and ftp["suggested_name"] is None
    spaced = items["https://h.example/a/My Prompt.wav"]
    assert spaced["api_code"] == -107 and spaced["suggested_name"] == "My_Prompt.wav"


def test_check_all_ok_exits_zero_and_is_aligned(run_cli: Cli) -> None:
    result = run_cli("check", "a.mp3", "https://x.example/b_2.wav", "Upper.MP3")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok   a.mp3")
    assert "name.extension_case" in lines[2]
    assert lines[-1] == "3 checked: 3 ok, 0 with problems"


def test_suggested_name_passes_check(run_cli: Cli) -> None:
    first = json.loads(run_cli("check", "Ünïcode prompt!.wav", "--json", expect=1).stdout)[0]
    run_cli("check", first["suggested_name"])


def test_version_and_module_entry_point() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "audioprep", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and __version__ in proc.stdout


@pytest.mark.parametrize(
    ("names", "code"),
    [(["ok_name.mp3"], 0), (["bad name.mp3"], 1), ([], 2)],
)
def test_the_entry_point_keeps_exit_codes_and_every_line_of_output(
    names: list[str], code: int
) -> None:
    """The process leaves with ``os._exit`` after flushing; nothing written may be lost."""
    many = [f"prompt_{i:04d}.mp3" for i in range(3000)] if names else []
    proc = subprocess.run(
        [sys.executable, "-m", "audioprep", "check", *names, *many, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == code, proc.stderr
    if names:
        assert len(json.loads(proc.stdout)) == 1 + len(many)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_a_full_disk_for_the_output_is_a_message_not_a_traceback(extra: list[str]) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "audioprep", "check", "ok_name.mp3", *extra],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert proc.returncode == ExitCode.OUTPUT_FAILED == 120
    assert "could not write the output: No space left on device" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_run_freezes_its_imports_only_in_its_own_process(
    run_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``gc.freeze`` is process-wide: the console entry point may use it, a caller running
    the command in its own process (here click's runner) must not get it."""
    import gc

    from audioprep.cli import app as cli

    sample = str(Path(__file__).resolve().parents[2] / "samples" / "welcome.mp3")
    callers: list[str] = []
    monkeypatch.setattr(gc, "freeze", lambda: callers.append(sys._getframe(1).f_code.co_name))
    monkeypatch.setattr(cli, "_owns_process", False)
    run_cli("run", sample, "--dry-run", "-o", str(tmp_path / "a"), "-q")
    assert "_freeze_imports" not in callers

    class Left(Exception):
        pass

    def leave(code: int) -> None:
        raise Left(code)

    monkeypatch.setattr(cli.os, "_exit", leave)
    monkeypatch.setattr(cli.atexit, "_run_exitfuncs", lambda: None)
    monkeypatch.setattr(sys, "argv", ["audioprep", "run", sample, "--dry-run", "-q"])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Left) as left:
        cli.main()
    assert left.value.args == (0,)
    assert "_freeze_imports" in callers


def test_usage_errors_exit_two(run_cli: Cli) -> None:
    run_cli("check", expect=ExitCode.USAGE)
    run_cli("no-such-command", expect=ExitCode.USAGE)


def test_doctor_reports_ffmpeg_and_never_prints_secrets(
    run_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIOPREP_API_TOKEN", "tok-very-secret-123")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLESECRET")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-very-secret-456")
    result = run_cli("doctor", "--json")
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["ok"] is True
    assert checks["ffmpeg encodes MP3"]["ok"] is True
    assert checks["setting api_token"]["detail"] == "set (hidden) [env AUDIOPREP_API_TOKEN]"
    assert checks["AWS credentials"]["detail"] == "found (via env)"
    text = run_cli("doctor").stdout
    for secret in ("tok-very-secret-123", "AKIAEXAMPLESECRET", "aws-very-secret-456"):
        assert secret not in result.stdout and secret not in text


def test_config_file_precedence(
    run_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "audioprep.toml"
    cfg.write_text('bucket = "from-file"\nregion = "eu-west-1"\n', encoding="utf-8")
    monkeypatch.setenv("AUDIOPREP_REGION", "us-east-2")
    report = json.loads(run_cli("--config", str(cfg), "doctor", "--json").stdout)
    details = {c["name"]: c["detail"] for c in report["checks"]}
    assert details["setting bucket"] == "from-file [config file]"
    assert details["setting region"] == "us-east-2 [env AUDIOPREP_REGION]"
    assert details["config file"] == str(cfg)


def test_bad_config_file_exits_three(run_cli: Cli, tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('buckett = "typo"\n', encoding="utf-8")
    result = run_cli("--config", str(cfg), "doctor", expect=ExitCode.CONFIG)
    assert "unknown setting(s) buckett" in result.stderr
    run_cli("--config", str(tmp_path / "missing.toml"), "doctor", expect=ExitCode.CONFIG)


def test_help_names_environment_variables(run_cli: Cli) -> None:
    assert "AUDIOPREP_CONFIG" in run_cli("--help").stdout
