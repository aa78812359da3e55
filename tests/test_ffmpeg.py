"""``audioprep.ffmpeg.limit``: at most N ffmpeg processes at once, as the processes saw it.

The "ffmpeg" here is a real executable (a Python script given through ``AUDIOPREP_FFMPEG``)
that writes when it starts and ends and sleeps in between, so the overlap is measured from the
processes' side, not from the threads waiting for a slot.
"""

from __future__ import annotations

import stat
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from audioprep import ffmpeg

SCRIPT = """#!{python}
import sys, time
with open({log!r}, "a") as log:
    log.write(f"{{time.time()}} 1\\n")
time.sleep(0.3)
with open({log!r}, "a") as log:
    log.write(f"{{time.time()}} -1\\n")
"""


@pytest.fixture
def sleeper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fake ffmpeg that logs its start and end; yields the log."""
    log = tmp_path / "runs.log"
    fake = tmp_path / "ffmpeg"
    fake.write_text(SCRIPT.format(python=sys.executable, log=str(log)))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv(ffmpeg.ENV_VAR, str(fake))
    ffmpeg.find_ffmpeg.cache_clear()
    yield log
    ffmpeg.find_ffmpeg.cache_clear()


def most_at_once(log: Path) -> int:
    events = sorted(
        (float(t), int(d)) for t, d in (line.split() for line in log.read_text().splitlines())
    )
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


def run_six() -> None:
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: ffmpeg.run([]), range(6)))
    assert all(r.returncode == 0 for r in results)


def test_limit_caps_the_processes_running_at_once(sleeper: Path) -> None:
    with ffmpeg.limit(2):
        run_six()
    assert most_at_once(sleeper) == 2


def test_without_a_limit_they_all_run_together(sleeper: Path) -> None:
    run_six()
    assert most_at_once(sleeper) >= 3


def test_the_previous_limit_comes_back_and_nonsense_is_refused() -> None:
    with ffmpeg.limit(3):
        outer = ffmpeg._slots
        with ffmpeg.limit(1):
            assert ffmpeg._slots is not outer
        assert ffmpeg._slots is outer
    assert ffmpeg._slots is None
    with pytest.raises(ValueError), ffmpeg.limit(0):
        pass


def test_workers_asking_for_the_capabilities_together_start_one_ffmpeg(sleeper: Path) -> None:
    from audioprep import convert

    convert._read_capabilities.cache_clear()
    try:
        with ThreadPoolExecutor(6) as pool:
            found = set(pool.map(lambda _: convert.capabilities(), range(6)))
    finally:
        convert._read_capabilities.cache_clear()
    assert len(found) == 1
    assert sleeper.read_text().count(" 1\n") == 1  # one process started, not one per worker
