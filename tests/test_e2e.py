"""End to end: the README's first command in a fresh virtual environment, and runs killed midway.

Both drive the real console script in subprocesses, on loopback only. They are marked ``slow``
(about a minute each) and run in CI with the rest.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import wave
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
ANSWERS = "35699000002"
#: The README's first command, after ``pip install . &&``.
README_RUN = ["run", "samples/", "--sandbox", "--submit", "--to", ANSWERS]

#: What pip prints when it cannot get packages at all (no index, no cache): a skip, not a bug.
OFFLINE_SIGNS = (
    "No matching distribution found",
    "Could not find a version that satisfies",
    "NewConnectionError",
    "Temporary failure in name resolution",
)

pytestmark = pytest.mark.slow


def test_readme_first_command_works_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first = "pip install . && audioprep " + " ".join(README_RUN)
    assert first in readme.split("```")[1], "the README's first command changed"
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md", "audioprep", "samples"):
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy
        copy(REPO / name, project / name)
    venv = tmp_path / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot create a virtual environment here: {made.stderr.decode()[-300:]}")
    env = _real_pip_cache(dict(os.environ))
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "."]
    installed = subprocess.run(pip, cwd=project, env=env, capture_output=True, timeout=240)
    errors = installed.stderr.decode(errors="replace")
    if installed.returncode != 0 and any(sign in errors for sign in OFFLINE_SIGNS):
        pytest.skip(f"pip cannot reach a package index or cache here: {errors[-300:]}")
    assert installed.returncode == 0, errors[-2000:]
    run = [str(venv / "bin" / "audioprep"), *README_RUN, "--report", "json", "-q"]
    proc = subprocess.run(run, cwd=project, env=env, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    items = {Path(i["source"]).name: i for i in json.loads(proc.stdout)["items"]}
    expected = {
        "welcome.mp3": ("ok", []),
        "opening_hours.wav": ("ok", []),
        "Appointment Reminder (final).mp3": ("fixed", ["renamed"]),
        "callback_notice.ogg": ("fixed", ["transcoded"]),
        "payment_due.mp3": ("fixed", ["salvaged"]),
    }
    assert set(items) == set(expected)
    for name, (status, actions) in expected.items():
        item = items[name]
        done = {words.split()[0] for words in item["actions"]}  # "renamed 'a' to 'b'"
        assert item["status"] == status and set(actions) <= done, name
        assert item["submit_outcome"] == "accepted", name
        assert [(c["number"], c["status"]) for c in item["calls"]] == [(ANSWERS, "DELIVRD")]


def _real_pip_cache(env: dict[str, str]) -> dict[str, str]:
    """The tests' HOME is a temporary one; let pip use the real user's wheel cache."""
    real_home = pwd.getpwuid(os.getuid()).pw_dir
    env.setdefault("PIP_CACHE_DIR", os.path.join(real_home, ".cache", "pip"))
    return env


# --------------------------------------------------------------------------------------------
# Killed midway
# --------------------------------------------------------------------------------------------


def make_prompts(folder: Path, count: int) -> list[Path]:
    """``count`` distinct half-second stereo 44.1 kHz WAVs (a tone each) with illegal names:
    every one needs a fix."""
    import math
    from array import array

    made = []
    for n in range(count):
        step = 2 * math.pi * (300 + 5 * n) / 44100
        samples = array("h", (int(6000 * math.sin(i * step)) for i in range(22050) for _ in "lr"))
        path = folder / f"prompt {n:03d}.wav"
        with wave.open(str(path), "wb") as out:
            out.setnchannels(2)
            out.setsampwidth(2)
            out.setframerate(44100)
            out.writeframes(samples.tobytes())
        made.append(path)
    return made


def start_run(folder: Path, out: Path) -> subprocess.Popen[bytes]:
    """``audioprep run FOLDER --sandbox --submit`` in its own process group."""
    cmd = [sys.executable, "-m", "audioprep", "run", str(folder), "--sandbox", "--submit"]
    cmd += ["--to", ANSWERS, "--jobs", "2", "-o", str(out), "--report", "json", "-q"]
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )


def finished_items(out: Path) -> int:
    """Items the run's state records as finished (read while it runs)."""
    state = out.with_name(out.name + ".state.sqlite3")
    if not state.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute("SELECT COUNT(*) FROM items WHERE status IS NOT NULL").fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0])


def kill_midway(proc: subprocess.Popen[bytes], out: Path, sig: int, after: int) -> None:
    """Send ``sig`` once ``after`` items finished (bounded wait)."""
    deadline = time.monotonic() + 180
    while finished_items(out) < after:
        assert proc.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)
    os.kill(proc.pid, sig)


def run_to_end(folder: Path, out: Path) -> dict[str, Any]:
    """A run that must finish: its JSON report."""
    proc = start_run(folder, out)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr.decode()[-3000:]
    report: dict[str, Any] = json.loads(stdout)
    return report


def sandbox_jobs(out: Path) -> Counter[str]:
    """Jobs the runs' sandbox stored per job id (it keeps them beside the state)."""
    db = out.with_name(out.name + ".state.work") / "sandbox" / "voice-api.sqlite3"
    with sqlite3.connect(db) as conn:
        return Counter(str(row[0]) for row in conn.execute("SELECT client_job_id FROM jobs"))


def assert_complete(report: dict[str, Any], out: Path, count: int) -> None:
    """Every item fixed (in this run or, all its stages kept, an earlier one) and sent, and
    the sandbox saw exactly one job per item."""
    summary = report["summary"]
    assert (summary["ok"], summary["failed"], summary["fixed"] + summary["reused"]) == (0, 0, count)
    job_ids = [item["job_ids"][0] for item in report["items"]]
    assert len(set(job_ids)) == count
    assert all(item["submit_outcome"] in ("accepted", "skipped") for item in report["items"])
    jobs = sandbox_jobs(out)
    assert set(jobs) == set(job_ids) and set(jobs.values()) == {1}, jobs.most_common(3)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_a_run_killed_midway_finishes_on_rerun_without_sending_twice(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, sig: int
) -> None:
    folder = tmp_path_factory.getbasetemp() / "prompts"
    if not folder.is_dir():
        folder.mkdir()
        make_prompts(folder, 100)
    out = tmp_path / "out"
    proc = start_run(folder, out)
    kill_midway(proc, out, sig, after=35)
    stdout, stderr = proc.communicate(timeout=120)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, stderr.decode()[-3000:]
        interrupted = json.loads(stdout)
        assert interrupted["interrupted"] is True
        assert 35 <= sum(i["status"] != "failed" for i in interrupted["items"]) < 100
    else:
        assert proc.returncode == -signal.SIGKILL
    assert 35 <= sum(sandbox_jobs(out).values()) < 100  # stopped midway indeed
    report = run_to_end(folder, out)
    assert_complete(report, out, 100)
    reused = [i for i in report["items"] if _status(i, "submit") == "reused"]
    assert len(reused) >= 35  # what the first run sent was not sent again


def _status(item: dict[str, Any], stage: str) -> str:
    return str(next(s["status"] for s in item["stages"] if s["stage"] == stage))
