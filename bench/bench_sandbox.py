"""Load test of the sandbox: N concurrent clients for D seconds on loopback, no error, no lost job.

Starts, in this process, a static HTTP server holding a small real MP3 (made by ffmpeg) and a
sandbox (ephemeral ports, in-memory store). The file is served with ``max-age=60``, so the
sandbox's audio judge downloads and inspects it once and then answers from its cache: the
numbers are about the server, not about ffmpeg or the audio host. Each client
is a thread with its own ``requests.Session`` posting audio jobs until the deadline. At the end
every accepted ``api_job_id`` must be in the sandbox's store (``GET /_sandbox/jobs``).

    python bench/bench_sandbox.py [--clients 50] [--seconds 10] [--destinations 1]

Prints requests per second, latency percentiles, errors and lost jobs; exits 1 unless both of
the last two are 0.
"""

from __future__ import annotations

import argparse
import functools
import logging
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from audioprep.audio.ffmpeg import run
from audioprep.sandbox import Sandbox, SandboxOptions

AUTH = {"Authorization": "Token bench-token"}


@dataclass
class Tally:
    """What the clients saw; guarded by ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class _AudioServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops SYNs under load: 1 s/3 s retransmit stalls


class _QuietHandler(SimpleHTTPRequestHandler):
    """Static files, cacheable for a minute (like a CDN), without a line per request."""

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "public, max-age=60")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def make_mp3(directory: Path) -> Path:
    """A 1 s mono MP3 (about 8 kB)."""
    out = directory / "bench-prompt.mp3"
    args = ["-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1", "-ac", "1"]
    proc = run([*args, "-c:a", "libmp3lame", "-b:a", "64k", str(out)])
    if proc.returncode != 0:
        raise SystemExit(f"ffmpeg failed: {proc.stderr.decode(errors='replace')[-400:]}")
    return out


def job_body(audio_url: str, client: int, n: int, destinations: int) -> dict[str, object]:
    numbers = [{"number": str(35699000000 + d), "custom_id": f"d{d}"} for d in range(destinations)]
    return {
        "job_id": f"b{client:03d}-{n:07d}"[:15],
        "destinations": numbers,
        "voice_content": {"audio_file_url": audio_url},
    }


def client(url: str, audio_url: str, index: int, deadline: float, tally: Tally, dests: int) -> None:
    """Post jobs until ``deadline`` (a bounded loop: every request has a timeout)."""
    with requests.Session() as session:
        session.trust_env = False  # loopback only: skip per-request proxy/netrc lookups
        n = 0
        while time.monotonic() < deadline:
            body = job_body(audio_url, index, n, dests)
            started = time.perf_counter()
            try:
                response = session.post(url, json=body, headers=AUTH, timeout=30)
                ok = response.status_code == 200
                outcome = response.json()["api_job_id"] if ok else f"HTTP {response.status_code}"
            except (requests.RequestException, ValueError, KeyError) as exc:
                ok, outcome = False, type(exc).__name__
            elapsed = time.perf_counter() - started
            with tally.lock:
                tally.latencies.append(elapsed)
                (tally.accepted if ok else tally.errors).append(outcome)
            n += 1


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of non-empty ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--destinations", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        mp3 = make_mp3(Path(tmp))
        handler = functools.partial(_QuietHandler, directory=tmp)
        audio = _AudioServer(("127.0.0.1", 0), handler)
        threading.Thread(target=audio.serve_forever, daemon=True).start()
        audio_url = f"http://127.0.0.1:{audio.server_address[1]}/{mp3.name}"
        try:
            with Sandbox(SandboxOptions(time_scale=0.01)) as sandbox:
                tally, elapsed = run_clients(sandbox, audio_url, args)
                return report(tally, elapsed, sandbox, args)
        finally:
            audio.shutdown()
            audio.server_close()


def run_clients(sandbox: Sandbox, audio_url: str, args: argparse.Namespace) -> tuple[Tally, float]:
    """Run the clients to the deadline; the tally and the seconds it took."""
    tally = Tally()
    deadline = time.monotonic() + args.seconds
    url = sandbox.url + "/1/voice"
    threads = [
        threading.Thread(
            target=client, args=(url, audio_url, i, deadline, tally, args.destinations)
        )
        for i in range(args.clients)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally, time.monotonic() - started


def report(tally: Tally, elapsed: float, sandbox: Sandbox, args: argparse.Namespace) -> int:
    """Print the numbers; 0 when there were requests, no error and no lost job."""
    if not tally.latencies:
        print("no request completed")
        return 1
    stored = set(requests.get(sandbox.url + "/_sandbox/jobs", timeout=60).json()["api_job_ids"])
    lost = [job for job in tally.accepted if job not in stored]
    total = len(tally.accepted) + len(tally.errors)
    ms = [s * 1000 for s in tally.latencies]
    print(f"clients {args.clients}, {elapsed:.1f} s, {args.destinations} destination(s)/job")
    print(f"requests {total}, {total / elapsed:.0f} req/s")
    print(
        f"latency ms: p50 {percentile(ms, 50):.1f}  p90 {percentile(ms, 90):.1f}  "
        f"p99 {percentile(ms, 99):.1f}  max {max(ms):.1f}  mean {statistics.fmean(ms):.1f}"
    )
    print(f"accepted {len(tally.accepted)}, stored {len(stored)}")
    print(f"errors {len(tally.errors)}, lost jobs {len(lost)}")
    for error in sorted(set(tally.errors))[:5]:
        print(f"  error: {error} x{tally.errors.count(error)}")
    return 0 if not tally.errors and not lost and tally.accepted else 1


if __name__ == "__main__":
    sys.exit(main())
