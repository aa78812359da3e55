"""Benchmark ``audioprep run --sandbox`` against bare ffmpeg doing the same conversions.

Standalone: ``python bench/bench_run.py [--files 100] [--seconds 20] [--reps 3] [--jobs 2]``.

1. Generates ``--files`` Ogg Vorbis prompts of ``--seconds`` (44.1 kHz stereo, pink noise under
   a tone, seeded) and serves them from a local HTTP server (a thread of this process, on
   127.0.0.1; nothing leaves loopback).
2. Times, alternating, ``--reps`` times each:

   * **bare**: ffmpeg converting the same files (already on disk) to 16 kHz mono 48 kbps MP3,
     ``--jobs`` at a time, with the same binary (``audioprep.ffmpeg.ffmpeg_exe()``); also at
     LAME ``-q 7`` (the voice profile's), the fairer comparison of the encoder's work;
   * **run**: ``python -m audioprep run URL... --sandbox --submit --to N --jobs J`` in a fresh
     output directory: a separate process that starts moto's S3, the Voice API sandbox and a
     postback receiver, downloads every file over HTTP, inspects it, fixes it (voice-mp3:
     transcode, downmix, resample, loudness, Xing header, closed-loop inspection), uploads it,
     proves the URL anonymously, submits one call per file (the sandbox downloads and judges
     the audio like the API), waits for the calls' postbacks and writes the JSON report.

   Every run must end with every item ``fixed`` and one accepted job per item.
3. Prints the medians and the ratio run / bare (target: at most 1.5).

Measured on the 2-core development VM (shared: other work ran on it at times, so wall times
vary by +-20 % between runs; the ratio of interleaved medians is steadier), bundled ffmpeg
n9.0.2, Python 3.11.7::

    100 files x 20 s, --jobs 2
    bare ffmpeg, 2 at a time               median   9.61 s   runs 9.67 9.61 9.10
    bare ffmpeg, 2 at a time, LAME -q 7    median   8.09 s   runs 8.05 8.21 8.09
    audioprep run --sandbox --jobs 2       median  19.52 s   runs 19.48 20.00 19.52
    ratio run / bare                       2.03
    ratio run / bare at the same LAME -q   2.41

    100 files x 60 s, --jobs 2 (--reps 2)
    bare ffmpeg, 2 at a time               median  23.38 s   runs 23.10 23.66
    bare ffmpeg, 2 at a time, LAME -q 7    median  18.09 s   runs 18.56 17.63
    audioprep run --sandbox --jobs 2       median  35.65 s   runs 35.89 35.40
    ratio run / bare                       1.52
    ratio run / bare at the same LAME -q   1.97

The 1.5x target is met from about a minute of audio per prompt, not for 20 s prompts. Both
cores are saturated throughout (both ffmpeg slots are busy 80 % of the executor's time and the
CPU used equals two cores for the whole run), so the ratio is the ratio of CPU work, in three
parts, per 20 s prompt:

* ffmpeg: the fix's single pass costs about 1.5x a bare conversion at the same LAME -q (the
  same decode and encode, plus soxr resampling and the loudness, peak and silence measurement
  that let the fix skip a second pass); about 180 ms against 145 ms at LAME's default -q;
* Python, about 95 ms of one core per item, more than half of it the in-process stand-ins for
  the remote services: moto answering the HEAD, PUT and anonymous GET of each upload and the
  sandbox's own download (about 35 ms), the Voice API sandbox judging the file and the postback
  receiver taking two postbacks per call (about 20 ms); the other 40 ms are the run's own
  client side (download, boto3, journal, state) and the fix's in-process checks;
* a fixed 2-3 s per run: interpreter and imports (moto, boto3), starting the three services,
  waiting for the last call's postbacks, stopping them.

Against real S3 and the real API the services' share runs elsewhere, which leaves the
ffmpeg work and about 40 ms of client-side Python per item.
"""

from __future__ import annotations

import argparse
import functools
import json
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

from audioprep.ffmpeg import ffmpeg_exe
from audioprep.profiles import VOICE_LAME_QUALITY

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
        try:
            run(urls[:5], root / "warm", jobs)  # page cache, pyc files
            times = _measure(inputs, urls, root, reps, jobs)
        finally:
            server.shutdown()
        _print(times, files, seconds, jobs)


def _measure(
    inputs: list[Path], urls: list[str], root: Path, reps: int, jobs: int
) -> dict[str, list[float]]:
    q7 = ("-compression_level", str(VOICE_LAME_QUALITY))
    times: dict[str, list[float]] = {"bare": [], "bare_q7": [], "run": []}
    for rep in range(reps):
        times["bare"].append(bare(inputs, root / f"bare{rep}", jobs))
        out = root / f"run{rep}"
        times["run"].append(run(urls, out, jobs))
        shutil.rmtree(out, ignore_errors=True)
        times["bare_q7"].append(bare(inputs, root / f"bareq{rep}", jobs, q7))
        print(f"  rep {rep + 1}: " + "  ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()))
    return times


def _print(times: dict[str, list[float]], files: int, seconds: float, jobs: int) -> None:
    labels = {
        "bare": f"bare ffmpeg, {jobs} at a time",
        "bare_q7": f"bare ffmpeg, {jobs} at a time, LAME -q {VOICE_LAME_QUALITY}",
        "run": f"audioprep run --sandbox --jobs {jobs}",
    }
    medians = {k: statistics.median(v) for k, v in times.items()}
    print(f"{files} files x {seconds:g} s, --jobs {jobs}")
    for key, label in labels.items():
        runs = " ".join(f"{t:.2f}" for t in times[key])
        print(f"{label:<38} median {medians[key]:6.2f} s   runs {runs}")
    print(f"{'ratio run / bare':<38} {medians['run'] / medians['bare']:.2f}")
    print(f"{'ratio run / bare at the same LAME -q':<38} {medians['run'] / medians['bare_q7']:.2f}")


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
