"""Inspection: every damage kind gets the right verdict and problem; intact files get no error.

The corpus is generated once per session with ffmpeg (tests/audio_factory.py). Each entry
names the verdict, the API code and the problem ids it must produce; ``absent`` ids must not
appear (no false alarms). Quick mode is checked on the same corpus where structure suffices.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from audioprep.audio.inspect import (
    Inspection,
    InspectOptions,
    Verdict,
    inspect_file,
    inspect_targets,
)
from audioprep.models import Severity
from tests.conftest import Cli
from tests.support import audio_factory as af
from tests.support.httpserver import LocalHTTPServer

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@dataclass(frozen=True)
class Case:
    make: Callable[[Path], Path]
    verdict: Verdict
    api_code: int | None
    ids: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    quick_ids: tuple[str, ...] | None = None  # ids quick mode must find too (default: none)


def _phone_mp3(d: Path, name: str = "clean_prompt.mp3") -> Path:
    return af.make_mp3(d, name, seconds=6, rate=16000, channels=1, bitrate="48k", id3=False)


def _speechy(d: Path, name: str, graph: str, seconds: float = 6) -> Path:
    return af.make_tone(
        d,
        name,
        seconds=seconds,
        rate=16000,
        codec="libmp3lame",
        bitrate="48k",
        source=graph,
        extra=["-id3v2_version", "0"],
    )


def _silence_padded(d: Path) -> Path:
    graph = "sine=frequency=440:sample_rate=16000:duration=4,adelay=5000,apad=pad_dur=5"
    return _speechy(d, "padded.mp3", graph, seconds=14)


def _hifi_mp3(d: Path) -> Path:
    return af.make_mp3(d, "hifi_stereo.mp3", seconds=6)


def _cut(src_maker: Callable[[Path], Path], name: str, fraction: float) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        return af.truncate(af.copy_to(src_maker(d), d, name), fraction)

    return make


def _garbled(d: Path) -> Path:
    src = af.make_mp3(d, "garble_src.mp3", seconds=20, rate=16000, channels=1, bitrate="48k")
    return af.overwrite_random(af.copy_to(src, d, "garbled.mp3"), 40_000, 4096, seed=3)


def _oversize(d: Path) -> Path:
    return af.make_mp3(
        d, "long_prompt.mp3", seconds=330, rate=44100, channels=1, bitrate="128k", source="noise"
    )


def _streaming_wav(d: Path) -> Path:
    wav = af.make_wav(d, "streaming.wav", seconds=4)
    af.set_riff_size(wav, 0xFFFFFFFF)
    return af.set_data_size(wav, 0xFFFFFFFF)


def _sizes_zero_wav(d: Path) -> Path:
    wav = af.make_wav(d, "recorder.wav", seconds=4)
    af.set_riff_size(wav, 0)
    return af.set_data_size(wav, 0)


def _cover_art(d: Path) -> Path:
    return af.add_cover_art(_phone_mp3(d, "art_src.mp3"), d / "with_art.mp3", size=700)


CASES: dict[str, Case] = {
    "phone-ready mp3": Case(
        _phone_mp3,
        Verdict.OK,
        None,
        absent=("decode.errors", "decode.duration_mismatch", "phone.channels"),
    ),
    "phone-ready wav": Case(
        lambda d: af.make_wav(d, "clean.wav", seconds=5),
        Verdict.OK,
        None,
        absent=("wav.non_pcm", "decode.errors"),
    ),
    "mu-law wav": Case(
        lambda d: af.make_wav(d, "mulaw.wav", codec="pcm_mulaw"),
        Verdict.OK,
        None,
        absent=("decode.errors",),
    ),
    "hi-fi stereo mp3": Case(
        _hifi_mp3, Verdict.OK, None, ids=("phone.sample_rate", "phone.channels")
    ),
    "bad name": Case(
        lambda d: af.copy_to(_phone_mp3(d), d, "My Prompt (v2).mp3"),
        Verdict.FIXABLE,
        -107,
        ids=("name.characters",),
        quick_ids=("name.characters",),
    ),
    "oversize": Case(
        _oversize, Verdict.FIXABLE, -110, ids=("api.too_large",), quick_ids=("api.too_large",)
    ),
    "ogg behind .mp3": Case(
        lambda d: af.make_tone(d, "vorbis.mp3", codec="libvorbis", container="ogg"),
        Verdict.FIXABLE,
        -107,
        ids=("format.not_mp3_wav",),
        quick_ids=("format.not_mp3_wav",),
    ),
    "flac named .flac": Case(
        lambda d: af.make_tone(d, "song.flac"),
        Verdict.FIXABLE,
        -107,
        ids=("format.not_mp3_wav", "name.extension"),
    ),
    "html page as .mp3": Case(
        lambda d: af.write_file(d, "error_page.mp3", af.HTML_PAGE),
        Verdict.UNUSABLE,
        -107,
        ids=("format.not_audio",),
        quick_ids=("format.not_audio",),
    ),
    "random bytes as .mp3": Case(
        lambda d: af.write_file(d, "noise.mp3", af.random_bytes(200_000)),
        Verdict.UNUSABLE,
        -107,
        ids=("format.not_audio",),
    ),
    "empty file": Case(
        lambda d: af.write_file(d, "empty.wav", b""),
        Verdict.UNUSABLE,
        -108,
        ids=("file.empty",),
        quick_ids=("file.empty",),
    ),
    "mp3 cut in half": Case(
        _cut(lambda d: af.make_mp3(d, "full.mp3", seconds=20), "half.mp3", 0.5),
        Verdict.FIXABLE,
        None,
        ids=("mp3.xing_frames_mismatch", "decode.duration_mismatch"),
        quick_ids=("mp3.xing_frames_mismatch",),
    ),
    "mp3 garbled mid-stream": Case(
        _garbled, Verdict.FIXABLE, None, ids=("mp3.resync",), quick_ids=("mp3.resync",)
    ),
    "vbr without xing": Case(
        lambda d: af.make_mp3(
            d, "vbr_noxing.mp3", seconds=20, vbr_quality=2, xing=False, source="noise"
        ),
        Verdict.OK,
        None,
        ids=("mp3.vbr_without_header",),
        absent=("decode.errors",),
    ),
    "wav cut in half": Case(
        _cut(lambda d: af.make_wav(d, "w.wav", seconds=8), "w_half.wav", 0.5),
        Verdict.FIXABLE,
        None,
        ids=("wav.data_truncated",),
        quick_ids=("wav.data_truncated",),
    ),
    "streaming wav 0xFFFFFFFF": Case(
        _streaming_wav,
        Verdict.FIXABLE,
        None,
        ids=("wav.data_size_placeholder",),
        quick_ids=("wav.data_size_placeholder",),
    ),
    "recorder wav sizes 0": Case(
        _sizes_zero_wav,
        Verdict.FIXABLE,
        -108,
        ids=("meta.unreadable",),
        quick_ids=("meta.unreadable",),
    ),
    "float wav": Case(
        lambda d: af.make_wav(d, "float.wav", codec="pcm_f32le"),
        Verdict.OK,
        None,
        ids=("wav.non_pcm",),
    ),
    "adpcm wav": Case(
        lambda d: af.make_wav(d, "adpcm.wav", codec="adpcm_ms"),
        Verdict.FIXABLE,
        None,
        ids=("wav.compressed",),
        quick_ids=("wav.compressed",),
    ),
    "cover art": Case(_cover_art, Verdict.OK, None, ids=("mp3.embedded_picture",)),
    "silence": Case(
        lambda d: _speechy(d, "silent.mp3", "anullsrc=sample_rate=16000"),
        Verdict.UNUSABLE,
        None,
        ids=("level.silent",),
    ),
    "very quiet": Case(
        lambda d: _speechy(d, "quiet.mp3", "sine=f=440:r=16000,volume=-25dB"),
        Verdict.OK,
        None,
        ids=("level.very_low",),
    ),
    "too quiet to normalise": Case(
        lambda d: _speechy(d, "hiss.mp3", "sine=f=440:r=16000,volume=-45dB"),
        Verdict.UNUSABLE,
        None,
        ids=("level.very_low",),
    ),
    "clipping": Case(
        lambda d: _speechy(d, "clipped.mp3", "sine=f=440:r=16000,volume=24dB"),
        Verdict.OK,
        None,
        ids=("level.clipping",),
    ),
    "long silences": Case(
        _silence_padded, Verdict.OK, None, ids=("level.leading_silence", "level.trailing_silence")
    ),
}


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    made: dict[str, Path] = {}
    for name, case in CASES.items():
        made[name] = case.make(tmp_path_factory.mktemp("corpus"))
    return made


@pytest.fixture(scope="session")
def inspected(corpus: dict[str, Path]) -> dict[str, Inspection]:
    return {name: inspect_file(path) for name, path in corpus.items()}


def _ids(item: Inspection) -> set[str]:
    return {p.id for p in item.problems}


@pytest.mark.parametrize("name", list(CASES))
def test_verdict_code_and_problems(name: str, inspected: dict[str, Inspection]) -> None:
    case, item = CASES[name], inspected[name]
    detail = json.dumps(item.to_dict(), indent=1)
    assert item.verdict is case.verdict, detail
    assert item.api_code == case.api_code, detail
    assert set(case.ids) <= _ids(item), detail
    assert not set(case.absent) & _ids(item), detail
    if case.verdict is Verdict.OK:
        assert not item.errors, detail
    assert item.decoded or item.format in ("html", "empty")


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.quick_ids is not None])
def test_quick_mode_finds_structural_damage(name: str, corpus: dict[str, Path]) -> None:
    case = CASES[name]
    item = inspect_file(corpus[name], options=InspectOptions(quick=True))
    assert not item.decoded
    assert set(case.quick_ids or ()) <= _ids(item), json.dumps(item.to_dict(), indent=1)
    assert item.verdict is case.verdict


def test_facts_of_a_clean_file(inspected: dict[str, Inspection]) -> None:
    item = inspected["phone-ready mp3"]
    assert (item.format, item.codec, item.sample_rate, item.channels) == ("mp3", "mp3", 16000, 1)
    assert item.bitrate == 48000 and item.bitrate_mode == "cbr"
    assert item.duration_s == pytest.approx(6.0, abs=0.15)
    assert item.loudness_lufs is not None and item.peak_dbfs is not None
    wav = inspected["phone-ready wav"]
    assert (wav.format, wav.codec, wav.bit_depth, wav.sample_rate) == ("wav", "pcm_s16le", 16, 8000)


def test_truncation_is_measured_not_believed(inspected: dict[str, Inspection]) -> None:
    half = inspected["mp3 cut in half"]
    assert half.header_duration_s == pytest.approx(20.0, abs=0.2)  # what the header claims
    assert half.duration_s == pytest.approx(10.0, abs=0.5)  # what is really there


def test_original_files_are_never_modified(corpus: dict[str, Path]) -> None:
    path = corpus["mp3 cut in half"]
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    inspect_file(path)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_directory_targets_are_walked_recursively(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    _phone_mp3(tmp_path / "a" / "b", "deep.mp3")
    af.make_wav(tmp_path / "a", "top.wav")
    (tmp_path / "notes.txt").write_text("not audio")
    items = inspect_targets([str(tmp_path)], InspectOptions(quick=True))
    assert [Path(i.path).name for i in items] == ["top.wav", "deep.mp3"]


def test_cli_json_contract_and_exit_codes(run_cli: Cli, corpus: dict[str, Path]) -> None:
    good = str(corpus["phone-ready mp3"])
    bad = str(corpus["html page as .mp3"])
    out = json.loads(run_cli("inspect", good, bad, "--json", expect=1).stdout)
    keys = {
        "path",
        "verdict",
        "api_code",
        "format",
        "codec",
        "duration_s",
        "sample_rate",
        "channels",
        "size_bytes",
        "problems",
    }
    assert all(keys <= set(item) for item in out)
    assert [o["verdict"] for o in out] == ["ok", "unusable"]
    assert set(out[1]["problems"][0]) == {"id", "severity", "message", "fixable"}
    run_cli("inspect", good)
    text = run_cli("inspect", bad, expect=1).stdout
    assert "unusable" in text and "format.not_audio" in text and "1 inspected" in text


def test_cli_strict_fails_on_warnings(run_cli: Cli, corpus: dict[str, Path]) -> None:
    hifi = str(corpus["hi-fi stereo mp3"])
    run_cli("inspect", hifi)
    run_cli("inspect", hifi, "--strict", expect=1)


def test_cli_no_audio_found_is_a_usage_error(run_cli: Cli, tmp_path: Path) -> None:
    run_cli("inspect", str(tmp_path), expect=2)


def test_missing_file_is_reported_not_raised(run_cli: Cli, tmp_path: Path) -> None:
    """The library reports it as a finding; the command stops with exit 2 naming it."""
    item = inspect_file(tmp_path / "gone.mp3")
    assert item.verdict is Verdict.UNUSABLE and item.problems[0].id == "file.unreadable"
    result = run_cli("inspect", str(tmp_path / "gone.mp3"), "--json", expect=2)
    assert "gone.mp3: no such file or directory" in result.stderr and result.stdout == ""


def test_a_pipe_or_device_is_unreadable_not_empty(tmp_path: Path) -> None:
    """A FIFO named like a prompt (no writer: reading it would block forever) and a device
    report size 0; they are not files, and no read is attempted."""
    fifo = tmp_path / "prompt.mp3"
    os.mkfifo(fifo)
    for target in (fifo, Path(os.devnull)):
        item = inspect_file(target)
        assert item.verdict is Verdict.UNUSABLE
        assert [p.id for p in item.problems] == ["file.unreadable"]
        assert "not a regular file" in item.problems[0].message


def test_url_targets_are_fetched_and_judged(corpus: dict[str, Path]) -> None:
    mp3 = corpus["phone-ready mp3"].read_bytes()
    with LocalHTTPServer() as server:
        server.serve_bytes("/prompts/clean_prompt.mp3", mp3, content_type="audio/mpeg")
        server.serve_bytes("/prompts/My Prompt.mp3", mp3, content_type="audio/mpeg")
        server.serve_html("/prompts/page.mp3", af.HTML_PAGE.decode(), content_type="audio/mpeg")
        vorbis = corpus["ogg behind .mp3"].read_bytes()
        server.serve_bytes("/prompts/vorbis.mp3", vorbis, content_type="audio/ogg")
        paths = ["clean_prompt.mp3", "My%20Prompt.mp3", "page.mp3", "vorbis.mp3"]
        urls = [server.url(f"/prompts/{p}") + "?X-Amz-Signature=secret" for p in paths]
        items = inspect_targets(urls)
    by_name = {i.path.rsplit("/", 1)[-1]: i for i in items}
    assert all("secret" not in i.path and "secret" not in json.dumps(i.to_dict()) for i in items)
    assert by_name["clean_prompt.mp3"].verdict is Verdict.OK
    assert by_name["My%20Prompt.mp3"].api_code == -107
    assert by_name["page.mp3"].verdict is Verdict.UNUSABLE
    assert by_name["vorbis.mp3"].verdict is Verdict.FIXABLE
    missing = inspect_targets(["http://127.0.0.1:9/nothing.mp3"])[0]
    assert missing.verdict is Verdict.UNUSABLE and missing.api_code == -106


def test_no_error_on_intact_files_in_quick_mode(corpus: dict[str, Path]) -> None:
    for name in ("phone-ready mp3", "phone-ready wav", "mu-law wav", "hi-fi stereo mp3"):
        item = inspect_file(corpus[name], options=InspectOptions(quick=True))
        assert not [p for p in item.problems if p.severity is Severity.ERROR], name


def test_what_the_telephone_band_cuts_away_is_measured(tmp_path: Path) -> None:
    """Energy above 3.4 kHz: a 6 kHz whistle loses most of it (level.narrowband), speech and
    a 440 Hz tone almost none; quick mode does not decode, so it does not say."""
    whistle = af.make_tone(tmp_path, "whistle.wav", seconds=2, rate=44100, frequency=6000)
    tone = af.make_tone(tmp_path, "tone.wav", seconds=2, rate=44100)
    high = inspect_file(whistle)
    assert high.above_band_share is not None and high.above_band_share > 0.5
    (problem,) = [p for p in high.problems if p.id == "level.narrowband"]
    assert problem.severity is Severity.WARNING and "preview" in problem.message
    for quiet in (tone, SAMPLES / "welcome.mp3", SAMPLES / "opening_hours.wav"):
        found = inspect_file(quiet)
        assert found.above_band_share is not None and found.above_band_share < 0.1, quiet
        assert "level.narrowband" not in {p.id for p in found.problems}
    assert inspect_file(whistle, options=InspectOptions(quick=True)).above_band_share is None
