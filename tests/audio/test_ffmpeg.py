"""``audioprep.audio.ffmpeg.limit``: at most N ffmpeg processes at once, as the processes saw it.

The "ffmpeg" here is a real executable (a Python script given through ``AUDIOPREP_FFMPEG``)
that writes when it starts and ends and sleeps in between, so the overlap is measured from the
processes' side, not from the threads waiting for a slot.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from audioprep.audio import ffmpeg
from tests.support.fake_ffmpeg import most_at_once


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
    from audioprep.fix import convert

    convert._read_capabilities.cache_clear()
    try:
        with ThreadPoolExecutor(6) as pool:
            found = set(pool.map(lambda _: convert.capabilities(), range(6)))
    finally:
        convert._read_capabilities.cache_clear()
    assert len(found) == 1
    assert sleeper.read_text().count(" 1\n") == 1  # one process started, not one per worker
