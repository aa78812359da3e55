"""Shared fixtures: isolation from the user's config and environment, and a CLI runner."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from audioprep.audio import ffmpeg
from audioprep.cli.app import cli
from audioprep.errors import ExitCode
from tests.support import fake_ffmpeg, strict_json

strict_json.install()  # every JSON document a test reads is parsed as RFC 8259 demands


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-golden`` rewrites golden files (tests/run/golden/) instead of comparing."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Regenerate golden files from the current output (review the diff before committing).",
    )


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never read the developer's config, state or AWS files; no AUDIOPREP_* leaks in."""
    home = tmp_path_factory.mktemp("home")
    for var in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "aws-credentials"))
    for var in list(os.environ):
        if (
            var.startswith("AUDIOPREP_")
            or var.startswith("AWS_ACCESS")
            or var
            in (
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
                "AWS_PROFILE",
            )
        ):
            monkeypatch.delenv(var, raising=False)


class Cli:
    """Runs ``audioprep`` in-process and fails loudly on an unexpected exit code."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(
        self, *args: str, expect: int = ExitCode.OK, input: str | bytes | None = None
    ) -> Result:
        result = self.runner.invoke(cli, list(args), input=input, catch_exceptions=False)
        assert result.exit_code == expect, (
            f"audioprep {' '.join(args)} exited {result.exit_code}, expected {expect}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
        return result


@pytest.fixture
def run_cli() -> Iterator[Cli]:
    """``run_cli("check", "x.mp3", expect=1)`` → click Result."""
    yield Cli()


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write text to a file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def sleeper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The fake ffmpeg of :mod:`tests.support.fake_ffmpeg` as the run's ffmpeg; yields its log."""
    fake, log = fake_ffmpeg.install(tmp_path)
    monkeypatch.setenv(ffmpeg.ENV_VAR, str(fake))
    ffmpeg.find_ffmpeg.cache_clear()
    yield log
    ffmpeg.find_ffmpeg.cache_clear()
