#!/usr/bin/env python3
"""Speed and memory of ``audioprep inspect`` against the anchor tools, same files, same run.

What it shows (issue [2/7]):

1. ``audioprep inspect --quick`` over 300 files (one CLI process, start-up included) against
   ``ffprobe -v error -show_format -show_streams`` run once per file. Target: >= 20x faster.
2. ``audioprep inspect`` (decoding) against ``ffmpeg -v error -i F -f null -`` on the same
   files with the same parallelism (one file at a time, and two at a time). Target: <= 1.3x.
3. Peak memory of a decoding inspection of a 10- and a 20-minute file: flat in duration.

The bare ffmpeg is the very binary audioprep uses (``audioprep.audio.ffmpeg.ffmpeg_exe()``), so the
ratio is about audioprep's work, not about two builds. ffprobe comes from PATH (Debian:
``apt-get install ffmpeg``); without it part 1 is skipped with a note.

What earlier runs measured, and what was tried: ``docs/bench.md`` (*bench_inspect.py*).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from audioprep.audio.ffmpeg import ffmpeg_exe


def make_inputs(root: Path, count: int, seconds: int) -> list[Path]:
    """``count`` 44.1 kHz stereo 128k MP3s of ``seconds`` (10 distinct encodes, copied)."""
    root.mkdir(parents=True, exist_ok=True)
    distinct = []
    for i in range(min(10, count)):
        out = root / f"src{i}.mp3"
        graph = f"sine=frequency={300 + 40 * i}:sample_rate=44100"
        subprocess.run(
            [
                ffmpeg_exe(),
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                graph,
                "-t",
                str(seconds),
                "-ac",
                "2",
                "-c:a",
                "libmp3lame",
                "-b:a",
                "128k",
                str(out),
            ],
            check=True,
        )
        distinct.append(out)
    files = []
    for i in range(count):
        dst = root / "set" / f"prompt_{i:04d}.mp3"
        dst.parent.mkdir(exist_ok=True)
        shutil.copyfile(distinct[i % len(distinct)], dst)
        files.append(dst)
    return files


def timed(fn: Callable[[], object], repeat: int = 3) -> float:
    """Best wall time of ``repeat`` runs."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def run_all(cmds: Sequence[list[str]], jobs: int) -> None:
    def one(cmd: list[str]) -> None:
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, cmds))


def audioprep_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "audioprep", "inspect", "--json", *args]


def quick_vs_ffprobe(files: list[Path], root: Path) -> None:
    ffprobe = shutil.which("ffprobe")
    ours = timed(lambda: run_all([audioprep_cmd("--quick", str(root / "set"))], 1))
    print(f"quick: audioprep inspect --quick, {len(files)} files, one process: {ours:.3f} s")
    if not ffprobe:
        print("quick: ffprobe not on PATH; install it (apt-get install ffmpeg) for the ratio")
        return
    probe = [[ffprobe, "-v", "error", "-show_format", "-show_streams", str(f)] for f in files]
    theirs = timed(lambda: run_all(probe, 1), repeat=1)
    print(f"quick: ffprobe once per file, sequential: {theirs:.3f} s")
    print(f"quick: audioprep is {theirs / ours:.1f}x faster (target >= 20x)")


def decode_vs_ffmpeg(files: list[Path]) -> None:
    bare = [
        [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(f), "-f", "null", "-"] for f in files
    ]
    names = [str(f) for f in files]
    for jobs in (1, 2):
        theirs = timed(lambda j=jobs: run_all(bare, j))
        ours = timed(lambda j=jobs: run_all([audioprep_cmd("--jobs", str(j), *names)], 1))
        print(
            f"decode: {len(files)} files x {jobs} at a time: ffmpeg -f null {theirs:.2f} s,"
            f" audioprep inspect {ours:.2f} s, ratio {ours / theirs:.2f} (target <= 1.3)"
        )


def peak_memory(root: Path) -> None:
    for minutes in (10, 20):
        (path,) = make_inputs(root / f"m{minutes}", 1, minutes * 60)
        code = (
            "import resource, sys; from audioprep.audio.inspect import inspect_file;"
            f"inspect_file({str(path)!r});"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
            " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
        print(
            f"memory: {minutes}-min 44.1 kHz stereo MP3: python {int(out[0]) // 1024} MiB,"
            f" ffmpeg child {int(out[1]) // 1024} MiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--decode-files", type=int, default=40)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; ffmpeg {ffmpeg_exe()}")
    with tempfile.TemporaryDirectory(prefix="bench-inspect-") as tmp:
        root = Path(tmp)
        files = make_inputs(root, args.files, args.seconds)
        quick_vs_ffprobe(files, root)
        decode_vs_ffmpeg(files[: args.decode_files])
        peak_memory(root)


if __name__ == "__main__":
    main()
