"""Benchmark: ``decode.analyse()`` against a bare ``ffmpeg -v error -i F -f null -`` decode.

The budget: the default analysis may cost at most 1.3x the wall time of the bare decode of the
same files. Both run here on the same files, in the same run, one file at a time, rounds
interleaved, best of N rounds; child CPU time is shown too (it is steadier on a shared box).
Peak RSS of the ffmpeg child is measured for a 10- and a 20-minute file to show that memory does
not grow with length (nothing decoded ever reaches Python).

Without paths it generates its inputs with ffmpeg in a temporary directory: 20 x 30 s and
3 x 10 min 44.1 kHz stereo 128 kb/s MP3 (pink noise plus a tone, a different seed each), and a
20-minute one for the memory check.

What earlier runs measured, and what was tried: ``docs/bench.md`` (*bench_decode.py*).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

SOURCE = "anoisesrc=c=pink:a=0.15:seed={seed}:r=44100[n];sine=f=440:r=44100[s];[n][s]amix"


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


def _ffmpeg() -> str:
    from audioprep.audio.ffmpeg import ffmpeg_exe

    return ffmpeg_exe()


def make_inputs(directory: Path, count: int, seconds: int, prefix: str) -> list[Path]:
    """``count`` stereo 128k MP3s of ``seconds`` each, every one a different noise seed."""
    made = []
    for i in range(count):
        out = directory / f"{prefix}{i:02d}.mp3"
        graph = SOURCE.format(seed=i + 1) + ",aformat=channel_layouts=stereo"
        cmd = [_ffmpeg(), "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", graph]
        cmd += ["-t", str(seconds), "-c:a", "libmp3lame", "-b:a", "128k", str(out)]
        subprocess.run(cmd, check=True)
        made.append(out)
    return made


def bare(path: Path) -> None:
    cmd = [_ffmpeg(), "-nostdin", "-hide_banner", "-v", "error", "-i", str(path), "-f", "null", "-"]
    subprocess.run(cmd, capture_output=True, check=False)


def analysed(path: Path) -> None:
    from audioprep.audio.decode import analyse

    analyse(path)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(run: Callable[[Path], None], files: Sequence[Path]) -> Timing:
    cpu0, t0 = _children_cpu(), time.perf_counter()
    for path in files:
        run(path)
    return Timing(time.perf_counter() - t0, _children_cpu() - cpu0)


def compare(files: Sequence[Path], rounds: int) -> tuple[Timing, Timing]:
    """Best-of-``rounds`` totals (wall and CPU each at its minimum) for bare and analyse."""
    runs: dict[str, list[Timing]] = {"bare": [], "analyse": []}
    for _ in range(rounds):
        runs["bare"].append(timed(bare, files))
        runs["analyse"].append(timed(analysed, files))

    def best(key: str) -> Timing:
        return Timing(min(t.wall for t in runs[key]), min(t.cpu for t in runs[key]))

    return best("bare"), best("analyse")


_RSS_PROBE = """
import resource, sys
self0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
from audioprep.audio.decode import analyse
analyse(sys.argv[1])
child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
self1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(child, self1)
"""


def peak_rss_mib(path: Path) -> tuple[float, float]:
    """Peak RSS (MiB) of analyse's ffmpeg child, and of the Python process, in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, str(path)], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]) / 1024, int(out[1]) / 1024


def _row(name: str, base: Timing, ours: Timing) -> str:
    ratio = ours.wall / base.wall if base.wall else float("nan")
    return (
        f"{name:20s} {base.wall:8.2f} {ours.wall:10.2f} {ratio:7.2f}"
        f" {base.cpu:10.2f} {ours.cpu:12.2f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="files to time (default: generate)")
    parser.add_argument("--rounds", type=int, default=3, help="best of N (default 3)")
    parser.add_argument("--ffmpeg", help="ffmpeg binary to use (sets AUDIOPREP_FFMPEG)")
    parser.add_argument("--no-memory", action="store_true", help="skip the RSS check")
    args = parser.parse_args(argv)
    if args.ffmpeg:
        os.environ["AUDIOPREP_FFMPEG"] = args.ffmpeg
    with tempfile.TemporaryDirectory(prefix="bench_decode_") as tmp:
        return _bench(args, Path(tmp))


def _bench(args: argparse.Namespace, tmp: Path) -> int:
    from audioprep.audio.ffmpeg import version

    print(f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{version()} ({_ffmpeg()})")
    if args.paths:
        sets = {"given files": list(args.paths)}
    else:
        print("generating inputs...", flush=True)
        sets = {
            "20 x 30 s MP3": make_inputs(tmp, 20, 30, "short"),
            "3 x 10 min MP3": make_inputs(tmp, 3, 600, "long"),
        }
    print(f"{'set':20s} {'bare s':>8s} {'analyse s':>10s} {'ratio':>7s} {'bare cpu':>10s} "
          f"{'analyse cpu':>12s}")  # fmt: skip
    for name, files in sets.items():
        print(_row(name, *compare(files, args.rounds)), flush=True)
    if not args.no_memory:
        _memory(tmp, sets)
    return 0


def _memory(tmp: Path, sets: dict[str, list[Path]]) -> None:
    ten = sets.get("3 x 10 min MP3", [None])[0]
    if ten is None:
        ten = make_inputs(tmp, 1, 600, "ten")[0]
    twenty = make_inputs(tmp, 1, 1200, "twenty")[0]
    for label, path in (("10 min", ten), ("20 min", twenty)):
        child, own = peak_rss_mib(path)
        print(f"peak RSS {label}: ffmpeg child {child:.1f} MiB, Python process {own:.1f} MiB")


if __name__ == "__main__":
    raise SystemExit(main())
