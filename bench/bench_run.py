"""Benchmark ``audioprep run --sandbox`` against bare ffmpeg doing the same conversions.

Standalone: ``python bench/bench_run.py [--files 100] [--seconds 20] [--reps 3] [--jobs 2]``.

1. Generates ``--files`` Ogg Vorbis prompts of ``--seconds`` (44.1 kHz stereo, pink noise under
   a tone, seeded) and serves them from a local HTTP server (a thread of this process, on
   127.0.0.1; nothing leaves loopback).
2. Times, alternating, ``--reps`` times each:

   * **bare**: ffmpeg converting the same files (already on disk) to 16 kHz mono 48 kbps MP3,
     ``--jobs`` at a time, with the same binary (``audioprep.audio.ffmpeg.ffmpeg_exe()``); also at
     LAME ``-q 7`` (the voice profile's), the fairer comparison of the encoder's work;
   * **bare, measure then encode**: the fix's job done by hand with bare ffmpeg, the cheap
     way: measure the loudness at 16 kHz mono (``ebur128``), then encode with the gain that
     reaches -19 LUFS (two passes, as ``ffmpeg-normalize`` and ``loudnorm`` also take);
     the outputs land at -19.4 LUFS. Not the issue's target, which names the plain transcode:
     what a user doing the same job without audioprep would wait;
   * **run**: ``python -m audioprep run URL... --sandbox --submit --to N --jobs J`` in a fresh
     output directory: a separate process that starts moto's S3, the Voice API sandbox and a
     postback receiver, downloads every file over HTTP, inspects it, fixes it (voice-mp3:
     transcode, downmix, resample, loudness, Xing header, closed-loop inspection), uploads it,
     proves the URL anonymously, submits one call per file (the sandbox downloads and judges
     the audio like the API), waits for the calls' postbacks and writes the JSON report.

   Every run must end with every item ``fixed`` and one accepted job per item.
3. Prints the medians and the ratio run / bare (target: at most 1.5), and the ratio within
   each rep (bare and run timed back to back), whose median is less exposed to the drift of a
   shared machine.

What earlier runs measured, and what was tried: ``docs/bench.md`` (*bench_run.py*).
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from audioprep.audio.ffmpeg import ffmpeg_exe
from audioprep.fix.profiles import VOICE_LAME_QUALITY

NUMBER = "35699000002"
#: Longest a run may take before the benchmark gives up (bounded, whatever happens).
RUN_TIMEOUT_S = 900


def make_inputs(directory: Path, files: int, seconds: float, jobs: int) -> list[Path]:
    """``files`` stereo Ogg Vorbis prompts (seeded, so every run makes the same bytes)."""
    exe = ffmpeg_exe()

    def one(i: int) -> Path:
        graph = (
            f"anoisesrc=color=pink:amplitude=0.3:seed={i}:sample_rate=44100[n];"
            f"sine=frequency={220 + 7 * i}:sample_rate=44100,volume=-10dB[s];"
            "[n][s]amix=inputs=2:normalize=0,volume=-8dB,aformat=channel_layouts=stereo"
        )
        out = directory / f"prompt_{i:03d}.ogg"
        cmd = [exe, "-nostdin", "-v", "error", "-y", "-filter_complex", graph]
        cmd += ["-t", f"{seconds:g}", "-c:a", "libvorbis", "-q:a", "4", str(out)]
        subprocess.run(cmd, check=True, timeout=120)
        return out

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, range(files)))


def serve(directory: Path) -> ThreadingHTTPServer:
    """A static file server on 127.0.0.1 (a free port), in a daemon thread."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def bare(inputs: list[Path], outdir: Path, jobs: int, extra: tuple[str, ...] = ()) -> float:
    """The same conversion with bare ffmpeg, ``jobs`` at a time (``xargs -P``)."""
    outdir.mkdir(parents=True, exist_ok=True)
    exe = ffmpeg_exe()

    def one(path: Path) -> None:
        cmd = [exe, "-nostdin", "-v", "error", "-y", "-i", str(path)]
        cmd += ["-ac", "1", "-ar", "16000", "-b:a", "48k", *extra]
        subprocess.run([*cmd, str(outdir / (path.stem + ".mp3"))], check=True, timeout=120)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, inputs))
    return time.perf_counter() - start


_INTEGRATED = re.compile(rb"I:\s+(-?[0-9.]+) LUFS")


def bare_normalised(inputs: list[Path], outdir: Path, jobs: int) -> float:
    """The same job as the fix, by hand with bare ffmpeg: measure the loudness (``ebur128``,
    the cheapest filter that gives it), then encode with the gain that reaches -19 LUFS; 16 kHz
    mono 48 kbps at the voice profile's LAME ``-q``. Two passes, as ``ffmpeg-normalize`` and
    ``loudnorm``'s documented two-pass mode also need (both cost more: ``loudnorm`` resamples
    to 192 kHz)."""
    outdir.mkdir(parents=True, exist_ok=True)
    exe = ffmpeg_exe()

    def one(path: Path) -> None:
        measure = [exe, "-nostdin", "-hide_banner", "-nostats", "-i", str(path)]
        measure += ["-af", "aresample=16000,aformat=channel_layouts=mono,ebur128=framelog=quiet"]
        measure += ["-f", "null", "-"]  # measured as it will be encoded: 16 kHz mono
        found = _INTEGRATED.findall(subprocess.run(measure, capture_output=True).stderr)
        gain = -19.0 - float(found[-1]) if found else 0.0
        cmd = [exe, "-nostdin", "-v", "error", "-y", "-i", str(path), "-af", f"volume={gain}dB"]
        cmd += ["-ac", "1", "-ar", "16000", "-b:a", "48k"]
        cmd += ["-compression_level", str(VOICE_LAME_QUALITY)]
        subprocess.run([*cmd, str(outdir / (path.stem + ".mp3"))], check=True, timeout=120)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, inputs))
    return time.perf_counter() - start


def run(urls: list[str], outdir: Path, jobs: int) -> float:
    """``audioprep run --sandbox --submit`` over every URL; checks every item's outcome."""
    cmd = [sys.executable, "-m", "audioprep", "run", *urls, "--sandbox", "--submit"]
    cmd += ["--to", NUMBER, "--jobs", str(jobs), "-o", str(outdir), "-q", "--report", "json"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, check=False, timeout=RUN_TIMEOUT_S)
    elapsed = time.perf_counter() - start
    report = json.loads(proc.stdout or b"{}")
    items = report.get("items", [])
    fixed = [i for i in items if i["status"] == "fixed" and i["submit_outcome"] == "accepted"]
    if proc.returncode or len(fixed) != len(urls):
        tail = proc.stderr.decode(errors="replace")[-2000:]
        raise SystemExit(f"run failed (exit {proc.returncode}, {len(fixed)} ok): {tail}")
    return elapsed


def speed(files: int, seconds: float, reps: int, jobs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        root = Path(tmp)
        indir = root / "in"
        indir.mkdir()
        print(f"generating {files} x {seconds:g} s 44.1 kHz stereo Ogg Vorbis ...", flush=True)
        inputs = make_inputs(indir, files, seconds, jobs)
        server = serve(indir)
        base = f"http://127.0.0.1:{server.server_address[1]}"
        urls = [f"{base}/{path.name}" for path in inputs]
        compile_package()
        try:
            run(urls[:5], root / "warm", jobs)  # page cache
            times = _measure(inputs, urls, root, reps, jobs)
        finally:
            server.shutdown()
        _print(times, files, seconds, jobs)


def compile_package() -> None:
    """Byte-compile audioprep, as ``pip install`` does: a checkout run with
    ``PYTHONDONTWRITEBYTECODE=1`` (set on the development VM) would otherwise compile every
    module again in each timed run (about 0.15 s)."""
    import compileall

    import audioprep

    compileall.compile_dir(Path(audioprep.__file__).parent, quiet=1)


def _measure(
    inputs: list[Path], urls: list[str], root: Path, reps: int, jobs: int
) -> dict[str, list[float]]:
    q7 = ("-compression_level", str(VOICE_LAME_QUALITY))
    times: dict[str, list[float]] = {"bare": [], "bare_q7": [], "bare_2pass": [], "run": []}
    for rep in range(reps):
        times["bare"].append(bare(inputs, root / f"bare{rep}", jobs))
        out = root / f"run{rep}"
        times["run"].append(run(urls, out, jobs))
        shutil.rmtree(out, ignore_errors=True)
        times["bare_q7"].append(bare(inputs, root / f"bareq{rep}", jobs, q7))
        times["bare_2pass"].append(bare_normalised(inputs, root / f"bare2{rep}", jobs))
        print(f"  rep {rep + 1}: " + "  ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()))
    return times


def _print(times: dict[str, list[float]], files: int, seconds: float, jobs: int) -> None:
    labels = {
        "bare": f"bare ffmpeg, {jobs} at a time",
        "bare_q7": f"bare ffmpeg, {jobs} at a time, LAME -q {VOICE_LAME_QUALITY}",
        "bare_2pass": "bare ffmpeg, measure then encode",
        "run": f"audioprep run --sandbox --jobs {jobs}",
    }
    medians = {k: statistics.median(v) for k, v in times.items()}
    print(f"{files} files x {seconds:g} s, --jobs {jobs}")
    for key, label in labels.items():
        runs = " ".join(f"{t:.2f}" for t in times[key])
        print(f"{label:<38} median {medians[key]:6.2f} s   runs {runs}")
    print(f"{'ratio run / bare':<38} {medians['run'] / medians['bare']:.2f}")
    print(f"{'ratio run / bare at the same LAME -q':<38} {medians['run'] / medians['bare_q7']:.2f}")
    same_job = medians["run"] / medians["bare_2pass"]
    print(f"{'ratio run / bare doing the same job':<38} {same_job:.2f}")
    # Each rep times bare, run and bare at -q 7 back to back: the ratio within a rep is less
    # exposed to the machine's drift than the ratio of medians taken over the whole script.
    paired = [r / b for r, b in zip(times["run"], times["bare"], strict=True)]
    shown = " ".join(f"{p:.2f}" for p in paired)
    middle = statistics.median(paired)
    print(f"{'ratio run / bare, per rep':<38} median {middle:.2f}   reps {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    speed(args.files, args.seconds, args.reps, args.jobs)


if __name__ == "__main__":
    main()
