"""Profiles and policies as data, read from the project's own files (issue [5/5]).

Each test builds a temporary project folder with a ``pyproject.toml`` (or ``audioprep.toml``)
and runs the real commands from a folder inside it, as a repository's CI would.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from audioprep import config
from audioprep.audio.inspect import Verdict, inspect_file
from audioprep.audio.rules import RULES
from audioprep.audio.wavscan import scan_wav
from audioprep.errors import ExitCode
from tests.conftest import Cli
from tests.support import audio_factory as af

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
CONNECT = """
[tool.audioprep.profiles.connect]          # Amazon Connect
extends = "voice-wav"
codec = "pcm_mulaw"         # pcm_s16le | pcm_mulaw | pcm_alaw | mp3
sample_rate = 8000
channels = 1
loudness = -19.0            # LUFS; true_peak, bitrate, max_duration_s also settable
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder whose ``prompts/`` subfolder is the working directory."""
    root = tmp_path / "project"
    (root / "prompts").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "campaign"\n', encoding="utf-8")
    monkeypatch.chdir(root / "prompts")
    return root


def _configure(project: Path, text: str) -> None:
    (project / "pyproject.toml").write_text('[project]\nname = "campaign"\n' + text, "utf-8")


def test_a_user_profile_makes_fix_write_mulaw_8k_wavs(project: Path, run_cli: Cli) -> None:
    _configure(project, CONNECT)
    out = project / "out"
    found = json.loads(run_cli("fix", str(SAMPLES), "-o", str(out), "--profile", "connect",
                               "--json").stdout)  # fmt: skip
    assert len(found) == 5 and all(r["status"] == "fixed" and r["verdict"] == "ok" for r in found)
    for result in found:
        output = Path(result["output"])
        assert output.suffix == ".wav"
        scan = scan_wav(output)
        assert (scan.codec, scan.sample_rate, scan.channels) == ("pcm_mulaw", 8000, 1)
        again = inspect_file(output)  # the closed loop, from outside
        assert again.verdict is Verdict.OK, again.problems
        assert again.loudness_lufs is not None and abs(again.loudness_lufs + 19.0) <= 1.0
    listed = json.loads(run_cli("profiles", "--json").stdout)
    connect = next(p for p in listed if p["name"] == "connect")
    assert connect["codec"] == "pcm_mulaw" and connect["extends"] == "voice-wav"
    assert {p["name"] for p in listed} == {"voice-mp3", "voice-wav", "keep", "connect"}


def test_a_profile_limits_the_length(project: Path, run_cli: Cli) -> None:
    _configure(project, CONNECT + "max_duration_s = 3.0\n")
    sources = [str(SAMPLES / "welcome.mp3"), str(SAMPLES / "payment_due.mp3")]
    found = json.loads(run_cli("fix", *sources, "-o", str(project / "out"), "--profile",
                               "connect", "--json", expect=ExitCode.FINDINGS).stdout)  # fmt: skip
    by_name = {Path(r["source"]).name: r for r in found}
    assert by_name["welcome.mp3"]["status"] == "failed"  # 4.2 s of speech
    assert "max_duration_s (3 s)" in by_name["welcome.mp3"]["error"]
    assert by_name["payment_due.mp3"]["status"] == "fixed"  # 2.7 s


def test_a_profile_value_of_zero_is_kept() -> None:
    from audioprep.fix.profiles import user_profiles

    (profile,) = user_profiles({"loud": {"extends": "voice-mp3", "true_peak": 0.0}})
    assert profile.true_peak_dbtp == 0.0 and profile.loudness_lufs == -19.0  # -19: the base's


def test_a_profile_the_api_cannot_take_is_refused_at_load(project: Path, run_cli: Cli) -> None:
    _configure(project, '[tool.audioprep.profiles.opus]\nextends = "voice-mp3"\ncodec = "opus"\n')
    result = run_cli("profiles", expect=ExitCode.CONFIG)
    assert "[profiles.opus]" in result.stderr and "only MP3 and WAV" in result.stderr


@pytest.fixture
def hifi(tmp_path: Path) -> Path:
    """A 44.1 kHz mono MP3 with a legal name: lint passes it, with a phone.sample_rate warning."""
    made = af.make_mp3(tmp_path, "hifi_prompt.mp3", seconds=3, rate=44100, channels=1, id3=False)
    assert {p.id for p in inspect_file(made).problems} >= {"phone.sample_rate"}
    return made


def test_a_policy_promotes_a_warning_and_ignore_drops_it(
    project: Path, hifi: Path, run_cli: Cli
) -> None:
    run_cli("lint", str(hifi))  # passes: a warning is not a failure
    _configure(project, '[tool.audioprep.policy]\nerror = ["level.clipping", "phone.*"]\n')
    failed = run_cli("lint", str(hifi), "--report", "json", expect=ExitCode.FINDINGS)
    (item,) = json.loads(failed.stdout)["items"]
    promoted = {p["id"]: p["severity"] for p in item["problems"]}
    assert item["status"] == "failed" and promoted["phone.sample_rate"] == "error"
    run_cli("inspect", str(hifi), "--strict", expect=ExitCode.FINDINGS)
    _configure(project, '[tool.audioprep.policy]\nignore = ["phone.sample_rate"]\n')
    run_cli("lint", str(hifi), "--strict")  # the only warning is ignored: strict passes too
    ignored = json.loads(run_cli("lint", str(hifi), "--report", "json").stdout)
    assert "phone.sample_rate" not in {p["id"] for p in ignored["items"][0]["problems"]}


def test_a_policy_cannot_make_the_api_accept_a_file(project: Path, run_cli: Cli) -> None:
    _configure(project, '[tool.audioprep.policy]\nignore = ["name.*"]\nwarning = ["name.*"]\n')
    bad = SAMPLES / "Appointment Reminder (final).mp3"
    run_cli("lint", str(bad), expect=ExitCode.FINDINGS)  # -107 is the API's, not a policy's


def test_an_unknown_problem_id_names_the_closest(project: Path, run_cli: Cli) -> None:
    _configure(project, '[tool.audioprep.policy]\nerror = ["level.cliping"]\n')
    result = run_cli("lint", str(SAMPLES / "welcome.mp3"), expect=ExitCode.CONFIG)
    assert "'level.cliping' names no known problem" in result.stderr
    assert "did you mean 'level.clipping'?" in result.stderr


def test_precedence_flag_env_project_user_default(
    project: Path, tmp_path: Path, run_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = tmp_path / "user.toml"
    user.write_text('bucket = "from-user"\nprefix = "user-prefix"\nregion = "eu-user-1"\n', "utf-8")
    monkeypatch.setenv(config.CONFIG_ENV, str(user))
    _configure(project, '[tool.audioprep]\nbucket = "from-project"\nprefix = "project-prefix"\n')
    monkeypatch.setenv("AUDIOPREP_PREFIX", "env-prefix")
    report = json.loads(run_cli("doctor", "--json").stdout)
    details = {c["name"]: c["detail"] for c in report["checks"]}
    pyproject = project / "pyproject.toml"
    assert details["project file"] == str(pyproject)
    assert details["setting bucket"] == f"from-project [project file {pyproject}]"
    assert details["setting prefix"] == "env-prefix [env AUDIOPREP_PREFIX]"
    assert details["setting region"] == "eu-user-1 [config file]"
    assert details["setting api_url"].endswith("[default]")
    flagged = config.load_settings({"bucket": "from-flag"})
    assert (flagged.bucket, flagged.source("bucket")) == ("from-flag", "flag")


def test_audioprep_toml_wins_in_its_folder_and_foreign_pyprojects_are_passed_over(
    tmp_path: Path,
) -> None:
    outer, inner = tmp_path / "outer", tmp_path / "outer" / "inner"
    inner.mkdir(parents=True)
    (outer / "audioprep.toml").write_text('profile = "voice-wav"\n', "utf-8")
    (inner / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n", "utf-8")
    assert config.find_project_file(inner) == outer / "audioprep.toml"
    (outer / "pyproject.toml").write_text('[tool.audioprep]\nprofile = "keep"\n', "utf-8")
    assert config.find_project_file(inner) == outer / "audioprep.toml"
    settings = config.load_settings(project_dir=inner, env={})
    assert settings.profile == "voice-wav"


def test_rules_lists_every_id_the_source_can_report(run_cli: Cli) -> None:
    listed = {r["id"]: r for r in json.loads(run_cli("rules", "--json").stdout)}
    source = Path(__file__).resolve().parents[1] / "audioprep"
    pattern = re.compile(r"\"((?:api|name|url|file|format|mp3|wav|decode|level|phone|fetch|"
                         r"duration)\.[a-z0-9_]+)\"")  # fmt: skip
    used = {m for path in source.rglob("*.py") for m in pattern.findall(path.read_text("utf-8"))}
    used |= {"level.leading_silence", "level.trailing_silence"}  # made by an f-string
    assert used <= set(listed), used - set(listed)
    assert set(listed) == set(RULES) and listed["level.clipping"]["severity"] == "warning"
