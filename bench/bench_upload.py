"""Benchmark: ``audioprep upload`` (with its anonymous verification) against plain boto3.

Everything stays on loopback: moto's S3 server runs in this process on 127.0.0.1 and the
credentials are fake. N small, distinct MP3s (~20 KB, made with ffmpeg) are uploaded

1. with ``boto3``'s ``upload_file`` in a loop (one PutObject each, no Content-Type, no check),
   and, as the stricter floor, with a bare ``put_object`` loop (``upload_file`` adds
   s3transfer's per-call overhead);
2. with :func:`audioprep.hosting.upload.upload_files` (HeadObject + PutObject with metadata and a
   SHA-256 checksum + an anonymous GET that re-hashes the object), in ``policy`` mode on a
   bucket whose policy makes the prefix public;
3. again with audioprep, where every file is reused (HeadObject + anonymous GET, no PutObject).

It prints the wall time of each, the audioprep/boto3 ratio, and the share of audioprep's time
spent verifying. Median of ``--rounds`` rounds; each round uses fresh keys.

    python bench/bench_upload.py [--files 100] [--rounds 3] [--inspect]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

BUCKET_PLAIN = "bench-plain"
BUCKET_AUDIOPREP = "bench-audioprep"


def fake_aws_environment() -> None:
    """Fake credentials only: nothing here may ever reach a real AWS account."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
        os.environ.pop(name, None)


def make_mp3s(folder: Path, count: int) -> list[Path]:
    """``count`` distinct 2.5 s mono MP3s (a different tone each), ~20 KB apiece."""
    from audioprep.audio import ffmpeg

    def one(i: int) -> Path:
        out = folder / f"prompt_{i:04d}.mp3"
        sine = f"sine=frequency={200 + 7 * i}:duration=2.5"
        args = ["-v", "error", "-f", "lavfi", "-i", sine, "-ac", "1", "-ar", "22050"]
        proc = ffmpeg.run([*args, "-c:a", "libmp3lame", "-b:a", "64k", str(out)], timeout=60)
        if proc.returncode != 0:
            raise SystemExit(f"ffmpeg failed: {proc.stderr.decode(errors='replace')}")
        return out

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, range(count)))


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class VerifyTimer:
    """Wraps ``hosting.verify_url`` to add up the time spent in anonymous verification."""

    def __init__(self) -> None:
        from audioprep.hosting import upload as hosting

        self.hosting, self.real, self.seconds = hosting, hosting.verify_url, 0.0

    def __enter__(self) -> VerifyTimer:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return self.real(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        self.hosting.verify_url = wrapper
        return self

    def __exit__(self, *exc: object) -> None:
        self.hosting.verify_url = self.real


def run_round(endpoint: str, client: Any, files: list[Path], n: int, inspect: bool) -> dict:
    from audioprep.hosting.keys import PublicMode
    from audioprep.hosting.upload import UploadOptions, upload_files

    def plain() -> None:
        for path in files:
            client.upload_file(str(path), BUCKET_PLAIN, f"r{n}/{path.name}")

    def bare() -> None:
        for path in files:
            client.put_object(Bucket=BUCKET_PLAIN, Key=f"p{n}/{path.name}", Body=path.read_bytes())

    options = UploadOptions(
        bucket=BUCKET_AUDIOPREP,
        endpoint_url=endpoint,
        prefix=f"bench/r{n}",
        public_mode=PublicMode.POLICY,
        inspect=inspect,
    )
    results: list[Any] = []
    with VerifyTimer() as fresh_timer:
        fresh = timed(lambda: results.extend(upload_files(files, options)))
    if not all(r.ok and not r.reused for r in results):
        raise SystemExit(f"audioprep upload failed: {[r.error for r in results if not r.ok]}")
    with VerifyTimer() as reuse_timer:
        reused = timed(lambda: results.extend(upload_files(files, options)))
    if not all(r.ok and r.reused for r in results[len(files) :]):
        raise SystemExit("second audioprep run did not reuse every object")
    return {
        "plain": timed(plain),
        "bare": timed(bare),
        "audioprep": fresh,
        "verify": fresh_timer.seconds,
        "reuse": reused,
        "reuse_verify": reuse_timer.seconds,
    }


def report(rounds: list[dict], count: int, size: int) -> None:
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}

    def line(label: str, seconds: float) -> str:
        return f"{label:<44} {seconds:7.3f} s  {1000 * seconds / count:6.2f} ms/file"

    print(f"{count} files, {size / count / 1024:.1f} KiB average, median of {len(rounds)} rounds")
    print(line("boto3 upload_file (1 PutObject, no checks)", med["plain"]))
    print(line("boto3 put_object (1 PutObject, no checks)", med["bare"]))
    print(line("audioprep upload (HEAD + PUT + anon GET)", med["audioprep"]))
    print(line("  of which anonymous verification", med["verify"]))
    print(line("audioprep upload, all reused (HEAD + GET)", med["reuse"]))
    ratio, floor = med["audioprep"] / med["plain"], med["audioprep"] / med["bare"]
    share = med["verify"] / med["audioprep"]
    print(f"ratio audioprep/upload_file: {ratio:.2f}x (audioprep/put_object: {floor:.2f}x)")
    per_file = 1000 * med["verify"] / count
    print(f"verification is {share:.0%} of audioprep's time ({per_file:.1f} ms/file)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100, choices=range(1, 1001), metavar="N")
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, 11), metavar="R")
    parser.add_argument("--inspect", action="store_true", help="inspect each file first")
    args = parser.parse_args()
    fake_aws_environment()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    import boto3
    from botocore.config import Config
    from moto.server import ThreadedMotoServer

    from audioprep.hosting.keys import policy_snippet

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        config = Config(s3={"addressing_style": "path"}, signature_version="s3v4")
        client = boto3.client("s3", endpoint_url=endpoint, config=config)
        for bucket in (BUCKET_PLAIN, BUCKET_AUDIOPREP):
            client.create_bucket(Bucket=bucket)
        policy = policy_snippet(BUCKET_AUDIOPREP, "bench")
        client.put_bucket_policy(Bucket=BUCKET_AUDIOPREP, Policy=policy)
        with tempfile.TemporaryDirectory(prefix="audioprep-bench-") as folder:
            files = make_mp3s(Path(folder), args.files)
            size = sum(p.stat().st_size for p in files)
            rounds = [
                run_round(endpoint, client, files, n, args.inspect) for n in range(args.rounds)
            ]
        report(rounds, args.files, size)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
