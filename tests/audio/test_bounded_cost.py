"""Cost bounded by the bytes, not the headers: files whose headers lie are judged cheaply.

Time and peak memory are measured from the outside (``resource.getrusage`` of the children:
the CLI and the ffmpeg it starts), on the kinds that cost seconds and a gigabyte before.
``bench/bench_lying_headers.py`` prints the same measurements beside a plain 5 MB prompt.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audioprep.audio.inspect import InspectOptions, Verdict, inspect_file
from tests.support import audio_factory as af

#: The budget of [3/5] for a file of at most 5 MB: seconds, megabytes (children included).
BUDGET_S, BUDGET_MB = 2.0, 150


def _rate(path: Path, rate: int) -> Path:
    data = bytearray(path.read_bytes())
    fmt = data.find(b"fmt ") + 8
    data[fmt + 4 : fmt + 8] = struct.pack("<I", rate)
    path.write_bytes(bytes(data))
    return path


@pytest.fixture(scope="module")
def liars(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("liars")
    adpcm = af.make_wav(d, "one_hz.wav", seconds=3, rate=8000, codec="adpcm_ima_wav")
    huge = af.write_file(d, "huge_rate.wav", af.float_wav_bytes(1.0, 48000, 1))
    zeros = d / "zeros.mp3"
    with zeros.open("wb") as fh:
        fh.truncate(1 << 30)  # sparse: a gigabyte that costs no disk
    headed = d / "headed.mp3"  # real MP3 frames, then a gigabyte of zeros
    with headed.open("wb") as fh:
        fh.write(af.make_mp3(d, "head.mp3", seconds=5).read_bytes())
        fh.truncate(1 << 30)
    return {
        "1 Hz": _rate(adpcm, 1),
        "536 MHz": _rate(huge, 536_000_000),
        "1 GB": zeros,
        "1 GB after MP3": headed,
    }


@pytest.mark.parametrize(
    ("kind", "command"),
    [
        (kind, command)
        for kind in ("1 Hz", "536 MHz", "1 GB", "1 GB after MP3")
        for command in ("inspect", "fix")
    ],
)
def test_a_lying_header_costs_what_the_bytes_cost(
    liars: dict[str, Path], tmp_path: Path, kind: str, command: str
) -> None:
    args = [str(liars[kind])] + (["-o", str(tmp_path / "out")] if command == "fix" else [])
    code = "import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
    code += "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", code, sys.executable, "-m", "audioprep", command, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    elapsed = time.monotonic() - started
    peak_mb = int(proc.stdout.strip().splitlines()[-1]) / 1024
    if kind == "1 GB after MP3" and command == "fix":  # the 5 s of frames are the prompt
        assert (tmp_path / "out" / "headed.mp3").stat().st_size < 100_000
    assert elapsed < BUDGET_S and peak_mb < BUDGET_MB, (kind, command, elapsed, peak_mb)


def test_an_implausible_rate_is_unusable_without_a_decode(liars: dict[str, Path]) -> None:
    for kind in ("1 Hz", "536 MHz"):
        full = inspect_file(liars[kind])
        assert full.verdict is Verdict.UNUSABLE and not full.decoded
        assert [p.id for p in full.errors] == ["wav.sample_rate"]
        quick = inspect_file(liars[kind], options=InspectOptions(quick=True))
        assert quick.verdict is Verdict.UNUSABLE


def test_a_file_over_the_cap_is_judged_without_decoding_all_of_it(tmp_path: Path) -> None:
    """60 MB of real MP3 (an hour): only the first 5 MB are decoded, as the API would take."""
    source = af.make_mp3(tmp_path, "s.mp3", seconds=30, rate=44100, channels=2, id3=False)
    big = af.repeat_to_size(source, tmp_path / "hour.mp3", 60_000_000)
    started = time.monotonic()
    found = inspect_file(big)
    elapsed = time.monotonic() - started
    assert found.decoded and found.verdict is Verdict.FIXABLE
    ids = {p.id for p in found.problems}
    assert {"api.too_large", "decode.partial"} <= ids and "decode.duration_mismatch" not in ids
    assert elapsed < BUDGET_S, elapsed  # a whole decode of the hour takes several seconds
