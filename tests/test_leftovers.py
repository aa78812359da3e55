"""What a killed ``fix`` or ``run`` leaves is removed by the next one on the same output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audioprep import tempfiles
from tests.support import audio_factory as af


@pytest.fixture(scope="module")
def long_prompt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three minutes of 44.1 kHz stereo noise: a fix of it takes long enough to be killed."""
    folder = tmp_path_factory.mktemp("long")
    return af.make_wav(folder, "long.wav", seconds=180, rate=44100, channels=2, source="noise")


def _killed_while_working(args: list[str], where: Path) -> list[Path]:
    """Start ``audioprep args``, SIGKILL it once its fix's work folder exists in ``where``."""
    proc = subprocess.Popen([sys.executable, "-m", "audioprep", *args])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            found = list(where.glob(".audioprep-fix-*")) if where.is_dir() else []
            if found:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
    finally:
        proc.kill()
        proc.wait()  # reaped: its pid no longer runs
    left = list(where.glob(".audioprep-fix-*"))
    assert left, "the process was not caught while fixing"
    return left


def test_the_next_fix_removes_what_a_killed_one_left(long_prompt: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    left = _killed_while_working(["fix", str(long_prompt), "-o", str(out)], out)
    done = subprocess.run(
        [sys.executable, "-m", "audioprep", "fix", str(long_prompt), "-o", str(out)], check=False
    )
    assert done.returncode == 0
    assert not any(p.exists() for p in left)
    assert sorted(p.name for p in out.iterdir()) == ["long.mp3"]


def test_the_next_run_removes_what_a_killed_one_left(long_prompt: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["run", str(long_prompt), "-o", str(out), "-q"]
    left = _killed_while_working(args, out)
    done = subprocess.run([sys.executable, "-m", "audioprep", *args], check=False)
    assert done.returncode == 0
    assert not any(p.exists() for p in left)
    assert not list(out.glob(".audioprep-*"))


def test_only_our_own_names_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    mine = tmp_path / f"{tempfiles.prefix('fix')}abc"
    theirs = tmp_path / f".audioprep-fix-{dead.pid}-abc"
    part = tmp_path / f".audioprep-part-{dead.pid}-xyz"
    other = tmp_path / ".audioprep-fix-notapid"
    keep = tmp_path / "prompt.mp3"
    for folder in (mine, theirs, other):
        folder.mkdir()
    (theirs / "pass1.out").write_bytes(b"partial")
    part.write_bytes(b"partial")
    keep.write_bytes(b"audio")
    removed = tempfiles.remove_leftovers(tmp_path)
    assert sorted(removed) == sorted([theirs, part])
    assert mine.is_dir() and other.is_dir() and keep.is_file()
    assert os.getpid() != dead.pid
