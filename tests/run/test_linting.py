"""``audioprep lint`` on real generated files: exit codes, annotations, report files, pre-commit."""

from __future__ import annotations

import json
import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from audioprep.audio.inspect import AUDIO_LOOKING
from audioprep.run.linting import lint, relative_path
from audioprep.run.model import ItemStatus, Stage, StageStatus
from tests.conftest import Cli
from tests.support.audio_factory import copy_to, make_mp3, truncate

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """good.mp3 (16 kHz mono: ok, no warnings), stereo.mp3 (ok with warnings), cut.mp3 (the
    first half of good.mp3) and 'Bad Name.mp3' (good audio, illegal name)."""
    directory = tmp_path_factory.mktemp("lint")
    good = make_mp3(directory, "good.mp3", seconds=2, rate=16000, channels=1, bitrate="32k")
    make_mp3(directory, "stereo.mp3", seconds=2, rate=44100, channels=2)
    truncate(copy_to(good, directory, "cut.mp3"), 0.5)
    copy_to(good, directory, "Bad Name.mp3")
    return directory


@pytest.fixture
def in_audio_dir(audio_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work inside the audio directory (relative paths, as pre-commit passes them)."""
    monkeypatch.chdir(audio_dir)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    return audio_dir


# --- the library ----------------------------------------------------------------------------


@pytest.mark.usefixtures("in_audio_dir")
def test_lint_builds_a_run_report() -> None:
    report = lint(["good.mp3", "cut.mp3", "Bad Name.mp3"], quick=True)
    assert report.command == "lint"
    assert report.stages_requested == (Stage.CHECK, Stage.INSPECT)
    good, cut, bad = report.items
    assert (good.status, good.failed_stage, good.path) == (ItemStatus.OK, None, "good.mp3")
    assert [s.status for s in good.stages] == [StageStatus.DONE, StageStatus.DONE]
    assert good.stages[1].detail["format"] == "mp3"
    assert (cut.status, cut.failed_stage) == (ItemStatus.FAILED, Stage.INSPECT)
    assert "mp3.truncated_frame" in {p.id for p in cut.problems}
    assert cut.error is not None and cut.error.startswith("verdict fixable")
    assert (bad.status, bad.failed_stage, bad.api_code) == (ItemStatus.FAILED, Stage.CHECK, -107)
    assert bad.stages[0].status is StageStatus.FAILED
    assert bad.stages[1].status is StageStatus.DONE  # the audio itself is fine
    assert not report.ok


def test_lint_walks_directories_and_relativises_paths(
    audio_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(audio_dir.parent)
    report = lint([str(audio_dir)], quick=True)
    assert [i.source for i in report.items] == [
        f"{audio_dir.name}/{name}" for name in ("Bad Name.mp3", "cut.mp3", "good.mp3", "stereo.mp3")
    ]
    assert relative_path("/nowhere/else.mp3") == "/nowhere/else.mp3"


@pytest.mark.usefixtures("in_audio_dir")
def test_strict_makes_warnings_fail() -> None:
    (lenient,) = lint(["stereo.mp3"], quick=True).items
    (strict,) = lint(["stereo.mp3"], quick=True, strict=True).items
    assert lenient.status is ItemStatus.OK
    assert (strict.status, strict.failed_stage) == (ItemStatus.FAILED, Stage.INSPECT)
    assert strict.error is not None and "--strict" in strict.error


# --- the command ----------------------------------------------------------------------------


@pytest.mark.usefixtures("in_audio_dir")
def test_good_mp3_exits_0_with_a_full_decode(run_cli: Cli) -> None:
    out = run_cli("lint", "good.mp3").stdout
    assert out.splitlines()[0].startswith("STATUS")
    assert out.splitlines()[1].startswith("ok      good.mp3")
    assert out.splitlines()[-1] == "1 item(s): 1 ok, 0 fixed, 0 failed"


@pytest.mark.usefixtures("in_audio_dir")
def test_truncated_and_badly_named_files_exit_1_with_annotations(run_cli: Cli) -> None:
    result = run_cli(
        "lint", "--quick", "--report", "github", "good.mp3", "cut.mp3", "Bad Name.mp3", expect=1
    )
    lines = result.stdout.splitlines()
    assert any(
        line.startswith("::error file=cut.mp3,title=audioprep mp3.truncated_frame::")
        for line in lines
    )
    assert any(
        line.startswith("::error file=Bad Name.mp3,title=audioprep name.characters::")
        for line in lines
    )
    assert not any("file=good.mp3" in line for line in lines)
    assert lines[-1] == "audioprep lint: 3 item(s): 1 ok, 0 fixed, 2 failed"


def test_github_is_the_default_inside_github_actions(
    run_cli: Cli, in_audio_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli("lint", "--quick", "cut.mp3", expect=1).stdout.startswith("STATUS")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    out = run_cli("lint", "--quick", "cut.mp3", expect=1).stdout
    assert out.startswith("::error file=cut.mp3,")
    assert run_cli("lint", "--quick", "--report", "text", "cut.mp3", expect=1).stdout.startswith(
        "STATUS"
    )


@pytest.mark.usefixtures("in_audio_dir")
def test_strict_flag(run_cli: Cli) -> None:
    run_cli("lint", "--quick", "stereo.mp3")
    out = run_cli("lint", "--quick", "--strict", "--report", "github", "stereo.mp3", expect=1)
    assert "::error file=stereo.mp3,title=audioprep phone.sample_rate::" in out.stdout


def test_report_file_is_written_atomically(
    run_cli: Cli, in_audio_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "audioprep.sarif"
    target.write_text("stale", encoding="utf-8")
    result = run_cli(
        "lint", "--quick", "--report", "sarif", "--report-file", str(target), "cut.mp3", expect=1
    )
    assert result.stdout.startswith("STATUS")  # stdout keeps the readable default
    sarif = json.loads(target.read_text(encoding="utf-8"))
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
    }
    assert uris == {"cut.mp3"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audioprep.sarif"]  # no temp left

    junit = tmp_path / "junit.xml"
    run_cli("lint", "--quick", "--report", "junit", "--report-file", str(junit), "good.mp3")
    assert ET.parse(junit).getroot().tag == "testsuites"


@pytest.mark.usefixtures("in_audio_dir")
def test_report_file_in_a_missing_directory_is_a_usage_error(run_cli: Cli) -> None:
    result = run_cli("lint", "--quick", "--report-file", "no/such/dir/r.json", "good.mp3", expect=2)
    assert "cannot write no/such/dir/r.json" in result.stderr


def test_nothing_to_lint_is_a_usage_error(run_cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no audio here", encoding="utf-8")
    result = run_cli("lint", str(tmp_path), expect=2)
    assert "no audio-looking files" in result.stderr


@pytest.mark.usefixtures("in_audio_dir")
def test_json_report_has_every_fact(run_cli: Cli) -> None:
    data = json.loads(run_cli("lint", "--quick", "--report", "json", "good.mp3").stdout)
    assert data["command"] == "lint" and data["ok"] is True
    (item,) = data["items"]
    assert item["stages"][1]["detail"]["sample_rate"] == 16000


# --- pre-commit -----------------------------------------------------------------------------


def _hook() -> dict[str, object]:
    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert isinstance(hooks, list) and len(hooks) == 1
    hook = hooks[0]
    assert isinstance(hook, dict)
    return hook


def test_pre_commit_hook_definition() -> None:
    hook = _hook()
    assert hook["id"] == "audioprep-lint"
    assert hook["entry"] == "audioprep lint --quick"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is True
    files = re.compile(str(hook["files"]))
    for name in ("a.mp3", "dir/B.WAV", "x/y.Ogg", "p.aiff", "q.flac"):
        assert files.search(name), name
    for name in ("a.mp3.bak", "notes.txt", "video.mp4", "mp3"):
        assert not files.search(name), name
    extensions = set(re.findall(r"[a-z0-9]+", str(hook["files"]).split("(", 2)[2]))
    assert extensions <= AUDIO_LOOKING  # lint walks directories for the same files


def test_pre_commit_invocation_form(run_cli: Cli, in_audio_dir: Path) -> None:
    """pre-commit runs ``entry`` followed by the staged file names."""
    args = shlex.split(str(_hook()["entry"]))[1:]
    run_cli(*args, "good.mp3", "stereo.mp3")
    result = run_cli(*args, "good.mp3", "Bad Name.mp3", "cut.mp3", expect=1)
    assert "name.characters" in result.stdout and "mp3.truncated_frame" in result.stdout
