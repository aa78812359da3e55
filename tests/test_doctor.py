"""``audioprep doctor`` on the ffmpeg it finds: a release older than any tested is a warning."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from audioprep.audio import ffmpeg
from audioprep.errors import ExitCode
from tests.conftest import Cli

FAKE = """#!{python}
# Stubbed ffmpeg: no real old release can be installed here; it answers -version as
# Ubuntu 22.04's ffmpeg 4.4 does, and "encodes" by writing bytes.
import sys
if "-version" in sys.argv:
    print("ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021 the FFmpeg developers")
elif "-encoders" not in sys.argv:
    sys.stdout.buffer.write(b"\\xff\\xfb" * 64)
"""


@pytest.mark.parametrize(
    ("line", "number", "older"),
    [
        ("ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026", (5, 1), False),
        ("ffmpeg version n9.0.2 Copyright (c) 2000-2025", (9, 0), False),
        ("ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright", (4, 4), True),
        ("ffmpeg version N-112233-g0123abcd Copyright", None, False),
        ("unknown", None, False),
    ],
)
def test_release_numbers(line: str, number: tuple[int, int] | None, older: bool) -> None:
    assert ffmpeg.version_number(line) == number
    assert ffmpeg.older_than_tested(line) is older


def test_an_old_ffmpeg_is_a_warning_not_a_failure(
    run_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "ffmpeg"
    fake.write_text(FAKE.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("AUDIOPREP_FFMPEG", str(fake))
    ffmpeg.find_ffmpeg.cache_clear()
    ffmpeg.version.cache_clear()
    try:
        out = run_cli("doctor", "--json", expect=ExitCode.OK).stdout
    finally:
        ffmpeg.find_ffmpeg.cache_clear()
        ffmpeg.version.cache_clear()
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    warning = checks["ffmpeg version"]
    assert not warning["ok"] and not warning["required"]
    assert warning["detail"].startswith("4.4 is older than any release audioprep is tested with")
    assert checks["ffmpeg"]["ok"]


def test_the_ffmpeg_in_use_is_a_tested_release_or_a_build() -> None:
    assert not ffmpeg.older_than_tested()
