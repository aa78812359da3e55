"""Benchmark ``audioprep fix`` against bare ffmpeg doing the same conversion, and its memory.

Standalone: ``python bench/bench_fix.py [--files 40] [--seconds 30] [--reps 3]``.

1. Generates ``--files`` MP3s of ``--seconds`` (44.1 kHz stereo, 128 kbps CBR, pink noise
   under a tone, overall levels from -6 to -41 dB) in a temporary directory.
2. Times, in the same run and with the same ffmpeg binary (``audioprep.audio.ffmpeg.ffmpeg_exe()``),
   bare ffmpeg two at a time (what ``xargs -P2 ffmpeg -i F -ac 1 -ar 16000 -b:a 48k OUT``
   does) against ``python -m audioprep fix --jobs 2 -o OUT DIR`` (profile voice-mp3: integrity
   check, loudness normalisation, trimming, Xing header, closed-loop inspection). Runs
   alternate, ``--reps`` times each; the medians and their ratio are printed.
3. Peak memory of fixing one 10-minute and one 20-minute 44.1 kHz stereo MP3: the Python
   process's own peak RSS plus the largest ffmpeg child's (they do not overlap more than that:
   one file is one ffmpeg at a time), read with ``resource.getrusage`` in a child process.

What earlier runs measured, and what was tried: ``docs/bench.md`` (*bench_fix.py*).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from audioprep.audio.ffmpeg import ffmpeg_exe
from audioprep.fix.profiles import VOICE_LAME_QUALITY


def make_inputs(directory: Path, files: int, seconds: float) -> list[Path]:
    """``files`` stereo MP3s at varied levels (seeded, so every run makes the same bytes)."""
    exe = ffmpeg_exe()
    made = []
    for i in range(files):
        level = 6 - (i * 3) % 30  # about -19 .. -46 LUFS
        graph = (
            f"anoisesrc=color=pink:amplitude=0.5:seed={i}:sample_rate=44100[n];"
            f"sine=frequency={220 + 20 * i}:sample_rate=44100,volume=-12dB[s];"
            f"[n][s]amix=inputs=2:normalize=0,volume={level}dB,aformat=channel_layouts=stereo"
        )
        out = directory / f"prompt_{i:02d}.mp3"
        cmd = [exe, "-nostdin", "-v", "error", "-y", "-filter_complex", graph]
        cmd += ["-t", f"{seconds:g}", "-c:a", "libmp3lame", "-b:a", "128k", str(out)]
        subprocess.run(cmd, check=True)
        made.append(out)
    return made


def bare(inputs: list[Path], outdir: Path, extra: tuple[str, ...] = ()) -> float:
    """The same conversion with bare ffmpeg, two at a time (``xargs -P2``)."""
    outdir.mkdir(parents=True, exist_ok=True)
    exe = ffmpeg_exe()

    def one(path: Path) -> None:
        cmd = [exe, "-nostdin", "-v", "error", "-y", "-i", str(path)]
        cmd += ["-ac", "1", "-ar", "16000", "-b:a", "48k", *extra, str(outdir / path.name)]
        subprocess.run(cmd, check=True)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(one, inputs))
    return time.perf_counter() - start


def fix(indir: Path, outdir: Path) -> float:
    """``python -m audioprep fix --jobs 2`` on the whole directory."""
    cmd = [sys.executable, "-m", "audioprep", "fix", "--jobs", "2", "-o", str(outdir), "--json"]
    start = time.perf_counter()
    proc = subprocess.run([*cmd, str(indir)], capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    results = json.loads(proc.stdout)
    bad = [r for r in results if r["verdict"] != "ok"]
    if proc.returncode or bad:
        raise SystemExit(f"fix failed (exit {proc.returncode}): {bad[:2]}")
    return elapsed


def speed(files: int, seconds: float, reps: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-fix-") as tmp:
        root = Path(tmp)
        indir = root / "in"
        indir.mkdir()
        print(f"generating {files} x {seconds:g} s 44.1 kHz stereo 128k MP3 ...", flush=True)
        inputs = make_inputs(indir, files, seconds)
        fix(indir, root / "warm")  # page cache, pyc files
        q7 = ("-compression_level", str(VOICE_LAME_QUALITY))
        times: dict[str, list[float]] = {"bare": [], "bare_q7": [], "fix": []}
        for rep in range(reps):
            times["bare"].append(bare(inputs, root / f"bare{rep}"))
            times["fix"].append(fix(indir, root / f"fix{rep}"))
            times["bare_q7"].append(bare(inputs, root / f"bareq{rep}", q7))
        medians = {k: statistics.median(v) for k, v in times.items()}
        print(f"{files} files x {seconds:g} s, --jobs 2")
        for key, label in _LABELS.items():
            runs = " ".join(f"{t:.2f}" for t in times[key])
            print(f"{label:<36} median {medians[key]:6.2f} s   runs {runs}")
        print(f"{'ratio fix / bare':<36} {medians['fix'] / medians['bare']:.2f}")
        same_q = medians["fix"] / medians["bare_q7"]
        print(f"{'ratio fix / bare at the same LAME -q':<36} {same_q:.2f}")


_LABELS = {
    "bare": "bare ffmpeg, 2 at a time",
    "bare_q7": f"bare ffmpeg, 2 at a time, LAME -q {VOICE_LAME_QUALITY}",
    "fix": "audioprep fix --jobs 2",
}


_PEAK = """
import resource, sys
from audioprep.cli.app import main
sys.argv = ["audioprep", "fix", "--jobs", "1", "-o", sys.argv[1], sys.argv[2]]
try:
    main()
except SystemExit as exc:
    code = exc.code
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(code, me, kids, file=sys.stderr)
"""


def memory(minutes: tuple[int, ...] = (10, 20)) -> None:
    exe = ffmpeg_exe()
    with tempfile.TemporaryDirectory(prefix="bench-fix-mem-") as tmp:
        for length in minutes:
            src = Path(tmp) / f"long_{length}min.mp3"
            graph = "anoisesrc=color=pink:amplitude=0.2:seed=1:sample_rate=44100"
            cmd = [exe, "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", graph]
            cmd += ["-t", str(length * 60), "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k"]
            subprocess.run([*cmd, str(src)], check=True)
            proc = subprocess.run(
                [sys.executable, "-c", _PEAK, str(Path(tmp) / f"out{length}"), str(src)],
                capture_output=True,
                text=True,
                check=False,
            )
            code, me, kids = proc.stderr.split()[-3:]
            py_mb, ff_mb = int(me) / 1024, int(kids) / 1024
            print(
                f"peak RSS fixing {length:>2} min: python {py_mb:.0f} MB + ffmpeg {ff_mb:.0f} MB"
                f" = {py_mb + ff_mb:.0f} MB (exit {code})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    print(f"ffmpeg: {ffmpeg_exe()}  cores: {os.cpu_count()}")
    speed(args.files, args.seconds, args.reps)
    if not args.skip_memory:
        memory()


if __name__ == "__main__":
    main()
