"""A seeded fuzz harness: hostile bodies, files and manifests against the real components.

Hypothesis draws request bodies (JSON values of every shape, and bytes mutated from valid
bodies); seeded mutations of real MP3s and WAVs (bytes flipped, cut, zeroed, repeated, headers
rewritten) go through inspection (quick and full) and the fix; mutated manifests through the
reader. The sandbox and the postback receiver answer each body over real HTTP on loopback.
Asserted every time: no exception escapes (so no traceback), every answer is a status below
500 on a connection that answered, and every JSON produced parses as RFC 8259 demands. Seeds
are fixed (``derandomize``), so a failure reproduces; ``AUDIOPREP_FUZZ_EXAMPLES`` draws more.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audioprep import api, jsonio
from audioprep.audio.inspect import InspectOptions, Verdict, inspect_file
from audioprep.errors import AudioprepError, UsageError
from audioprep.fix.batch import fix_source
from audioprep.fix.model import FixOptions, Source
from audioprep.run.manifest import read_manifest
from audioprep.sandbox import Sandbox
from audioprep.send.postbacks import PostbackOptions, PostbackServer
from tests.support import audio_factory as af
from tests.support.sandbox_fixtures import running, trigger

EXAMPLES = int(os.environ.get("AUDIOPREP_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SAMPLES = Path(__file__).resolve().parents[1] / "samples"
GOOD_BODY = {
    "destinations": [{"number": "35699000001", "custom_id": "c1"}, {"number": "+356 9900 0002"}],
    "job_id": "fuzz-0001",
    "voice_content": {
        "audio_file_url": "https://cdn.example.com/p/welcome.mp3",
        "sender_id": "35699000009",
        "ring_timeout_seconds": 30,
        "enable_menu_response": False,
    },
    "callback_url": "https://example.com/postback",
}
KEYS = ["destinations", "number", "custom_id", "job_id", "voice_content", "audio_file_url",
        "tts_text", "tts_lang", "tts_voice", "sender_id", "ring_timeout_seconds",
        "time_limit_seconds", "enable_menu_response", "callback_url", "x"]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**20, max_value=10**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["35699000001", "https://h/a.mp3", "http://[::1/a.mp3", "60", "9" * 30]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)


def _mutations(data: bytes, rng: random.Random) -> bytes:
    """One seeded mutation of ``data``: flip, cut, zero, repeat, insert or splice."""
    data = bytearray(data)
    kind = rng.choice(["flip", "cut", "zero", "repeat", "insert", "splice"])
    at = rng.randrange(len(data)) if data else 0
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == "cut":
        del data[at:]
    elif kind == "zero":
        data[at : at + rng.randint(1, 4096)] = bytes(min(len(data) - at, rng.randint(1, 4096)))
    elif kind == "repeat":
        data[at:at] = data[at : at + rng.randint(1, 512)] * rng.randint(2, 20)
    elif kind == "insert":
        data[at:at] = rng.choice(
            [b"NaN", b"\\ud800", b"[" * 200, b"\xff\xfe", b"\x00", b"9" * 5000]
        )
    else:
        data[at : at + 4] = rng.choice([b"RIFF", b"data", b"\xff\xfb\x90\x00", b"ID3\x04", b"fmt "])
    return bytes(data)


def _strict(text: str) -> Any:
    return json.loads(text)  # strict for the whole suite (tests/support/strict_json.py)


# --- validate ---------------------------------------------------------------------------------


@FUZZ
@given(body=values)
def test_validate_answers_any_json_value(body: Any) -> None:
    answer = api.validate_request(json.dumps(body).encode())
    assert isinstance(answer.code, api.Code)
    _strict(jsonio.dumps(answer.to_dict()))


@FUZZ
@given(seed=st.integers(0, 2**32 - 1))
def test_validate_answers_any_mutated_body(seed: int) -> None:
    rng = random.Random(seed)
    body = json.dumps(GOOD_BODY).encode()
    for _ in range(rng.randint(1, 3)):
        body = _mutations(body, rng)
    answer = api.validate_request(body)
    _strict(jsonio.dumps(answer.to_dict()))
    if answer.code is api.Code.INVALID_JSON:  # the parser refused it, or it is not an object
        try:
            parsed = jsonio.loads(body)
        except jsonio.JSONError:
            return
        assert not isinstance(parsed, dict)


# --- the servers ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with running() as found:
        yield found


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostbackServer]:
    db = tmp_path_factory.mktemp("receiver") / "pb.sqlite3"
    with PostbackServer(PostbackOptions(port=0, db=db)) as server:
        yield server


def _bodies(seed: int, count: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    base = json.dumps(GOOD_BODY).encode()
    for _ in range(count):
        body = base
        for _ in range(rng.randint(1, 3)):
            body = _mutations(body, rng)
        yield body


def test_the_sandbox_answers_every_mutated_body(sandbox: Sandbox) -> None:
    for body in _bodies(seed=7, count=EXAMPLES):
        answer = trigger(sandbox, body)  # a dropped connection raises here
        assert answer.status_code < 500, body[:200]
        _strict(answer.text)
    assert trigger(sandbox, b"{}").status_code < 500  # still serving


def test_the_receiver_answers_every_mutated_body(receiver: PostbackServer) -> None:
    sample = json.dumps({"type": "CALLBACK_INFO", "data": [{"message_id": "1" * 20}]}).encode()
    rng = random.Random(11)
    for body in _bodies(seed=11, count=EXAMPLES // 2):
        for sent in (body, _mutations(sample, rng)):
            answer = requests.post(receiver.url + "/postback", data=sent, timeout=10)
            assert answer.status_code in (200, 400, 413), sent[:200]
            _strict(answer.text)


# --- files ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    d = tmp_path_factory.mktemp("seeds")
    made = [
        af.make_mp3(d, "cbr.mp3", seconds=2, rate=16000, channels=1, bitrate="32k"),
        af.make_wav(d, "pcm.wav", seconds=1),
        af.write_file(d, "float.wav", af.float_wav_bytes(0.5, 8000, 1)),
    ]
    return [p.read_bytes() for p in [*made, SAMPLES / "welcome.mp3", SAMPLES / "opening_hours.wav"]]


def _mutants(seeds: list[bytes], folder: Path) -> Iterator[Path]:
    """The seeded mutants the inspection tests read, written to ``folder`` one by one."""
    rng = random.Random(3)
    folder.mkdir(exist_ok=True)
    for index in range(EXAMPLES // 3):
        data = rng.choice(seeds)
        for _ in range(rng.randint(1, 3)):
            data = _mutations(data, rng)
        path = folder / f"m{index}.{rng.choice(['mp3', 'wav'])}"
        path.write_bytes(data)
        yield path


def test_inspection_of_mutated_files_never_raises(seeds: list[bytes], tmp_path: Path) -> None:
    """...and costs what the bytes cost: at most 2 s each (memory: the test below)."""
    for index, path in enumerate(_mutants(seeds, tmp_path)):
        started = time.monotonic()
        quick = inspect_file(path, options=InspectOptions(quick=True))
        full = inspect_file(path) if index % 2 == 0 else quick
        assert time.monotonic() - started < 2.0, path.name
        for item in (quick, full):
            assert isinstance(item.verdict, Verdict)
            _strict(jsonio.dumps(item.to_dict()))
        if quick.verdict is Verdict.OK:  # quick mode never passes what cannot be opened
            assert full.verdict is not Verdict.UNUSABLE, (path.name, full.errors)


#: Runs its arguments and prints the peak RSS (kB) of them and everything they reaped. A small
#: process of its own: a child forked from pytest (hundreds of MB by then) would count
#: pytest's pages as its own.
_WRAPPER = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:], stdout=-3).returncode; "
    "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def _peak_mb(*args: str) -> float:
    """Peak RSS of ``audioprep ARGS`` and every ffmpeg it ran, in MB."""
    command = [sys.executable, "-m", "audioprep", *args]
    proc = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        check=True,
    )
    code, peak_kb = proc.stdout.split()[-2:]
    assert int(code) in (0, 1), (args, code)  # findings, never a crash
    return int(peak_kb) / 1024


def test_mutated_files_cost_at_most_150_mb(seeds: list[bytes], tmp_path: Path) -> None:
    """The memory bound of [3/5] over every mutant, ffmpeg children included: one process
    inspects them all (full and quick) and fixes a third of them, each at most 150 MB."""
    folder = tmp_path / "mutants"
    paths = list(_mutants(seeds, folder))
    some = [str(p) for p in paths[::3]]
    peaks = {
        "inspect": _peak_mb("inspect", str(folder), "--jobs", "1", "--json"),
        "inspect --quick": _peak_mb("inspect", str(folder), "--quick", "--json"),
        "fix": _peak_mb("fix", *some, "-o", str(tmp_path / "out"), "--jobs", "1", "--json"),
    }
    assert max(peaks.values()) < 150, peaks


def test_fix_of_mutated_files_never_raises(seeds: list[bytes], tmp_path: Path) -> None:
    rng = random.Random(5)
    options = FixOptions(outdir=str(tmp_path / "out"), jobs=1)
    for index in range(max(6, EXAMPLES // 15)):
        data = _mutations(rng.choice(seeds), rng)
        path = tmp_path / f"f{index}.wav"
        path.write_bytes(data)
        result = fix_source(
            Source(str(path), str(path), path.name), tmp_path / "out" / f"f{index}.mp3", options
        )
        _strict(jsonio.dumps(result.to_dict()))
        if result.ok and result.output:
            assert inspect_file(result.output).verdict is Verdict.OK
    leftovers = [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
    assert leftovers == []


# --- manifests --------------------------------------------------------------------------------


def test_mutated_manifests_are_read_or_refused(tmp_path: Path) -> None:
    rng = random.Random(9)
    shutil.copy(SAMPLES / "welcome.mp3", tmp_path / "welcome.mp3")
    csv_text = b"audio,number,custom_id,job_id\nwelcome.mp3,35699000001,c1,spring-2024\n"
    json_text = json.dumps(
        [
            {
                "audio": "welcome.mp3",
                "destinations": [{"number": "35699000001"}],
                "job_id": "j-123456",
            }
        ]
    ).encode()
    for index in range(EXAMPLES):
        name, base = rng.choice([("m.csv", csv_text), ("m.json", json_text)])
        path = tmp_path / f"{index}{name}"
        path.write_bytes(_mutations(base, rng))
        try:
            entries = read_manifest(path)
        except UsageError as exc:
            assert exc.message.startswith(("manifest ", "cannot read manifest"))
        except AudioprepError as exc:  # pragma: no cover - a manifest error of another kind
            pytest.fail(f"{path.name}: {type(exc).__name__}: {exc.message}")
        else:
            assert all(e.audio for e in entries)


# --- the command line -------------------------------------------------------------------------

#: The exit codes the README's table lists.
EXIT_CODES = {0, 1, 2, 3, 4, 5, 120, 130}


def test_the_commands_exit_with_the_readmes_codes(seeds: list[bytes], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from audioprep.cli.app import cli

    runner = CliRunner()
    rng = random.Random(13)
    for index in range(max(10, EXAMPLES // 10)):
        audio = tmp_path / f"c{index}.{rng.choice(['mp3', 'wav'])}"
        audio.write_bytes(_mutations(rng.choice(seeds), rng))
        body = tmp_path / f"c{index}.json"
        body.write_bytes(next(_bodies(seed=index, count=1)))
        for args in (
            ["inspect", "--quick", "--json", str(audio)],
            ["check", "--json", str(audio)],
            ["validate", "--json", str(body)],
            ["lint", "--quick", "--report", "sarif", str(audio)],
        ):
            result = runner.invoke(cli, args)
            assert result.exception is None or isinstance(result.exception, SystemExit), args
            assert result.exit_code in EXIT_CODES, (args, result.exit_code)
            _strict(result.stdout)
