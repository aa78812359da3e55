"""``audioprep fix``: every operation, judged on the OUTPUT with independent ffmpeg measurements.

Inputs are generated once per session (tests/audio_factory.py) and fixed in one batch per
profile; each test then checks what came out: it decodes without a single ffmpeg error, its
loudness (ffmpeg's own ``ebur128``, full band) is within 1 LU of the target, its duration
matches the salvageable input within 2 % (beyond trimmed silence), it is under 5 MB with a
legal name, and it has the profile's shape. Originals must be untouched.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from audioprep import api, models
from audioprep.audio import decode, ffmpeg, levels, mp3scan, wavscan
from audioprep.audio.decode import AnalyseOptions
from audioprep.audio.inspect import Verdict, inspect_file
from audioprep.cli import prepare as cli
from audioprep.errors import UsageError
from audioprep.fix import mp3gain, profiles
from audioprep.fix.batch import fix_targets, output_names
from audioprep.fix.job import SILENCE_DBFS
from audioprep.fix.model import FixOptions, FixResult, Source, Status
from tests.conftest import Cli
from tests.support import audio_factory as af
from tests.support.httpserver import LocalHTTPServer

TARGET = -19.0


# --- independent measurements ---------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    errors: str
    lufs: float | None
    true_peak: float | None
    duration: float
    rate: int
    channels: str


def measure(path: Path) -> Measured:
    """Decode with ffmpeg itself: error lines, full-band loudness, true peak, exact duration."""
    proc = ffmpeg.run(["-v", "error", "-i", str(path), "-f", "null", "-"])
    errors = proc.stderr.decode("utf-8", "replace").strip()
    graph = "ebur128=peak=true,volumedetect"
    text = ffmpeg.run(["-i", str(path), "-af", graph, "-f", "null", "-"]).stderr.decode()
    lufs = re.search(r"^\s+I:\s+(\S+) LUFS", text, re.MULTILINE)
    peak = re.search(r"True peak:\s*\n\s*Peak:\s+(\S+) dBFS", text)
    samples = int(re.findall(r"n_samples: (\d+)", text)[-1])
    stream = re.search(r"Audio: [^,]+, (\d+) Hz, (\w+)", text)
    assert stream, text
    rate = int(stream.group(1))
    return Measured(
        errors=errors,
        lufs=float(lufs.group(1)) if lufs else None,
        true_peak=float(peak.group(1)) if peak else None,
        duration=samples / rate / (2 if stream.group(2) == "stereo" else 1),
        rate=rate,
        channels=stream.group(2),
    )


def assert_phone_ready(result: FixResult, expected_s: float, *, wav: bool = False) -> Measured:
    """The output contract of the voice profiles."""
    assert result.status is Status.FIXED, result
    assert result.verdict == "ok" and result.error is None
    out = Path(result.output or "")
    assert out.is_file()
    assert not api.check_file_name(out.name), out.name
    assert out.stat().st_size < api.MAX_AUDIO_BYTES
    m = measure(out)
    assert m.errors == "", m.errors
    assert m.lufs is not None and abs(m.lufs - TARGET) <= 1.0, (m, result.details)
    assert m.true_peak is not None and m.true_peak <= -1.0, m
    assert m.duration == pytest.approx(expected_s, rel=0.02), (m, result.details)
    assert inspect_file(out).verdict is Verdict.OK
    if wav:
        scan = wavscan.scan_wav(out)
        assert tuple(c.id for c in scan.chunks) == ("fmt ", "data") and not scan.problems
        assert scan.chunks[0].size == 16 and scan.format_tag == wavscan.PCM
        assert (scan.sample_rate, scan.channels, scan.bits_per_sample) == (8000, 1, 16)
    else:
        scan3 = mp3scan.scan_mp3(out)
        assert (scan3.mpeg_version, scan3.layer, scan3.sample_rate) == ("2", 3, 16000)
        assert scan3.channels == 1 and scan3.bitrate_mode is mp3scan.BitrateMode.CBR
        assert scan3.vbr_header is not None and scan3.vbr_header.kind == "Info"
        assert not (scan3.id3v2_size or scan3.id3v1 or scan3.apev2_size or scan3.picture_bytes)
    return m


# --- the corpus -----------------------------------------------------------------------------------


def _speechy(d: Path, name: str, graph: str, seconds: float = 6, **kw: object) -> Path:
    return af.make_tone(d, name, seconds=seconds, source=graph, **kw)  # type: ignore[arg-type]


def _padded(d: Path) -> Path:
    graph = "sine=frequency=440:sample_rate=16000:duration=4,adelay=5000,apad=pad_dur=5"
    return _speechy(
        d, "padded.mp3", graph, 14, rate=16000, codec="libmp3lame", bitrate="48k",
        extra=["-id3v2_version", "0"],
    )  # fmt: skip


def _scratch(d: Path) -> Path:
    """A sibling directory for intermediate files (the input directory is walked)."""
    scratch = d.parent / f"{d.name}-scratch"
    scratch.mkdir(exist_ok=True)
    return scratch


def _quiet(d: Path) -> Path:
    graph = "sine=f=440:r=16000,volume=-30dB"
    extra = ["-id3v2_version", "0"]
    return _speechy(
        d, "quiet.mp3", graph, rate=16000, codec="libmp3lame", bitrate="48k", extra=extra
    )


def _garbled(d: Path) -> Path:
    src = af.make_mp3(_scratch(d), "garble_src.mp3", seconds=20, source="noise")
    return af.overwrite_random(af.copy_to(src, d, "garbled.mp3"), 120_000, 6000, seed=3)


def _half(d: Path) -> Path:
    src = af.make_mp3(_scratch(d), "half_src.mp3", seconds=20)
    return af.truncate(af.copy_to(src, d, "half.mp3"), 0.5)


def _streaming(d: Path) -> Path:
    wav = af.make_wav(d, "streaming.wav", seconds=4)
    af.set_riff_size(wav, 0xFFFFFFFF)
    return af.set_data_size(wav, 0xFFFFFFFF)


def _cover(d: Path) -> Path:
    scratch = _scratch(d)
    src = af.make_tone(
        scratch, "art_src.mp3", seconds=5, rate=16000, codec="libmp3lame", bitrate="48k",
        extra=["-metadata", "title=Welcome"],
    )  # fmt: skip
    return af.add_cover_art(src, scratch / "with_art.mp3", size=300).rename(d / "with_art.mp3")


def _peaky(d: Path) -> Path:
    """A tone with short full-scale clicks: normalising it needs the limiter."""
    graph = (
        "sine=f=300:r=44100,volume=-6dB[a];"
        "aevalsrc='0.9*between(mod(t,1),0,0.001)':s=44100[b];[a][b]amix=inputs=2:normalize=0"
    )
    return _speechy(d, "peaky.wav", graph, 6, rate=44100, codec="pcm_s16le", container="wav")


#: name -> (maker, expected output duration in seconds for voice profiles)
CORPUS: dict[str, tuple[object, float | None]] = {
    "hifi.mp3": (lambda d: af.make_mp3(d, "hifi.mp3", seconds=6, source="noise"), 6.0),
    "song.ogg": (lambda d: af.make_tone(d, "song.ogg", seconds=5, codec="libvorbis"), 5.0),
    "song.flac": (lambda d: af.make_tone(d, "song.flac", seconds=5, rate=48000), 5.0),
    "voice.m4a": (lambda d: af.make_tone(d, "voice.m4a", seconds=5, codec="aac"), 5.0),
    "voice.opus": (lambda d: af.make_tone(d, "voice.opus", seconds=5, rate=48000), 5.0),
    "take.aiff": (lambda d: af.make_tone(d, "take.aiff", seconds=5, channels=2), 5.0),
    "memo.amr": (
        lambda d: af.make_tone(d, "memo.amr", seconds=5, rate=8000, codec="libopencore_amrnb"),
        5.0,
    ),
    "quiet.mp3": (_quiet, 6.0),
    "padded.mp3": (_padded, 4.5),
    "half.mp3": (_half, None),  # None: what ffmpeg itself decodes from the damaged input
    "garbled.mp3": (_garbled, None),
    "streaming.wav": (_streaming, 4.0),
    "with_art.mp3": (_cover, 5.0),
    "peaky.wav": (_peaky, 6.0),
    "My Prompt (v2).wav": (
        lambda d: af.make_wav(d, "My Prompt (v2).wav", seconds=3, rate=22050, channels=2),
        3.0,
    ),
}
UNUSABLE = {
    "page.mp3": lambda d: af.write_file(d, "page.mp3", af.HTML_PAGE),
    "empty.wav": lambda d: af.write_file(d, "empty.wav", b""),
    "noise.mp3": lambda d: af.write_file(d, "noise.mp3", af.random_bytes(50_000)),
    "silent.mp3": lambda d: af.make_tone(d, "silent.mp3", seconds=3, source="silence"),
}


@dataclass(frozen=True)
class Batch:
    inputs: Path
    before: dict[str, tuple[bytes, int]]
    mp3: dict[str, FixResult]
    wav: dict[str, FixResult]
    mp3_dir: Path
    wav_dir: Path


def _snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in directory.iterdir()}


def _by_name(results: list[FixResult]) -> dict[str, FixResult]:
    return {Path(r.source).name: r for r in results}


@pytest.fixture(scope="session")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    inputs = tmp_path_factory.mktemp("fix_inputs")
    for maker, _ in CORPUS.values():
        maker(inputs)  # type: ignore[operator]
    for make in UNUSABLE.values():
        make(inputs)
    before = _snapshot(inputs)
    out = tmp_path_factory.mktemp("fix_out")
    mp3 = fix_targets([str(inputs)], FixOptions(outdir=str(out / "mp3"), jobs=2))
    wav_opts = FixOptions(outdir=str(out / "wav"), profile="voice-wav", jobs=2)
    wav = fix_targets([str(inputs)], wav_opts)
    return Batch(inputs, before, _by_name(mp3), _by_name(wav), out / "mp3", out / "wav")


# --- every operation, on the output ---------------------------------------------------------------


def _expected(batch: Batch, name: str) -> float:
    """The salvageable duration: as generated (trimmed silence excluded), or for damaged
    inputs what a plain ffmpeg decode of the input yields."""
    nominal = CORPUS[name][1]
    return nominal if nominal is not None else measure(batch.inputs / name).duration


@pytest.mark.parametrize("name", list(CORPUS))
def test_voice_mp3_outputs_are_phone_ready(batch: Batch, name: str) -> None:
    assert_phone_ready(batch.mp3[name], _expected(batch, name))


@pytest.mark.parametrize("name", list(CORPUS))
def test_voice_wav_outputs_are_canonical_and_phone_ready(batch: Batch, name: str) -> None:
    assert_phone_ready(batch.wav[name], _expected(batch, name), wav=True)


@pytest.mark.parametrize("profile", ["voice-mp3", "voice-wav"])
def test_reported_loudness_is_the_files(batch: Batch, profile: str) -> None:
    """The pass measures what it hands the encoder; for MP3 the fix adds LAME's level change
    (profiles.LAME_LEVEL_DB). A decode of every written file must agree within 0.2 LU."""
    results = batch.mp3 if profile == "voice-mp3" else batch.wav
    options = AnalyseOptions(
        analysis_rate=profiles.PROFILES[models.ProfileName(profile)].sample_rate or 8000,
        silence_threshold_dbfs=SILENCE_DBFS,
    )
    compared = 0
    for name, result in results.items():
        if result.status is not Status.FIXED or result.loudness_lufs is None:
            continue
        decoded = decode.analyse(Path(result.output or ""), options=options).integrated_lufs
        assert decoded is not None
        assert decoded == pytest.approx(result.loudness_lufs, abs=0.2), (name, result.details)
        compared += 1
    assert compared >= 8


def test_operations_are_reported(batch: Batch) -> None:
    acts = {name: set(r.actions) for name, r in batch.mp3.items()}
    assert {"transcoded", "resampled"} <= acts["song.ogg"]
    assert {"reencoded", "downmixed", "resampled", "normalised"} <= acts["hifi.mp3"]
    assert "trimmed" in acts["padded.mp3"]
    assert {"stripped_artwork", "stripped_tags"} <= acts["with_art.mp3"]
    assert "limited" in acts["peaky.wav"]
    assert acts["quiet.mp3"] == {"normalised"}  # lossless global_gain, no re-encode
    assert "renamed" in acts["My Prompt (v2).wav"]
    assert Path(batch.mp3["My Prompt (v2).wav"].output or "").name == "My_Prompt_v2.mp3"
    assert batch.mp3["hifi.mp3"].bitrate_kbps == 48


def test_salvage_reports_what_was_lost(batch: Batch) -> None:
    half = batch.mp3["half.mp3"]
    assert "salvaged" in half.actions
    assert half.lost_s == pytest.approx(10.0, abs=0.5)
    garbled = batch.mp3["garbled.mp3"]
    assert "salvaged" in garbled.actions and garbled.decoder_errors > 0
    assert garbled.lost_s is not None and 0 < garbled.lost_s < 1.0


@pytest.mark.parametrize("name", list(UNUSABLE))
def test_unusable_inputs_fail_with_a_reason_and_no_output(batch: Batch, name: str) -> None:
    for results, outdir in ((batch.mp3, batch.mp3_dir), (batch.wav, batch.wav_dir)):
        result = results[name]
        assert result.status is Status.FAILED and result.output is None
        assert result.error and len(result.error) > 20
        assert not list(outdir.glob(Path(name).stem + ".*"))


def test_failure_reasons_say_why(batch: Batch) -> None:
    assert "not audio" in (batch.mp3["page.mp3"].error or "")
    assert "empty" in (batch.mp3["empty.wav"].error or "")
    assert "decode" in (batch.mp3["noise.mp3"].error or "")
    assert "silent" in (batch.mp3["silent.mp3"].error or "")


def test_originals_are_never_modified(batch: Batch) -> None:
    assert _snapshot(batch.inputs) == batch.before


def test_no_temporary_files_are_left(batch: Batch) -> None:
    for outdir in (batch.mp3_dir, batch.wav_dir):
        assert not [p for p in outdir.iterdir() if p.name.startswith(".")]


# --- idempotence ----------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["voice-mp3", "voice-wav"])
def test_fixing_a_fixed_file_changes_nothing(batch: Batch, tmp_path: Path, profile: str) -> None:
    first = batch.mp3_dir if profile == "voice-mp3" else batch.wav_dir
    again = fix_targets([str(first)], FixOptions(outdir=str(tmp_path), profile=profile, jobs=2))
    assert again and all(r.status is Status.UNCHANGED for r in again), [
        (r.source, r.details) for r in again if r.status is not Status.UNCHANGED
    ]
    for r in again:
        out = Path(r.output or "")
        assert out.read_bytes() == Path(r.source).read_bytes()


def test_only_an_illegal_name_means_a_renamed_copy(tmp_path: Path) -> None:
    src = af.make_mp3(tmp_path, "x.mp3", seconds=3, rate=16000, channels=1, bitrate="48k")
    fixed = fix_targets([str(src)], FixOptions(outdir=str(tmp_path / "a"), jobs=1))[0]
    ready = Path(fixed.output or "")
    odd = shutil.copy(ready, tmp_path / "Good Prompt!.mp3")
    result = fix_targets([str(odd)], FixOptions(outdir=str(tmp_path / "b"), jobs=1))[0]
    assert result.status is Status.FIXED and result.actions == ("renamed",)
    assert Path(result.output or "").name == "Good_Prompt.mp3"
    assert Path(result.output or "").read_bytes() == ready.read_bytes()


# --- size -----------------------------------------------------------------------------------------


def test_a_long_file_gets_a_lower_bitrate_under_5_mb(tmp_path: Path) -> None:
    src = af.make_tone(tmp_path, "long.wav", seconds=900, rate=8000, source="noise")
    result = fix_targets([str(src)], FixOptions(outdir=str(tmp_path / "o"), jobs=1))[0]
    assert result.bitrate_kbps == 40 and "bitrate_lowered" in result.actions
    m = assert_phone_ready(result, 900.0)
    assert m.duration == pytest.approx(900, abs=1)


def test_impossible_fits_fail_clearly_with_no_output(tmp_path: Path) -> None:
    src = af.make_tone(tmp_path, "long.wav", seconds=130, rate=8000, source="noise")
    small = FixOptions(outdir=str(tmp_path / "o"), jobs=1, max_bytes=100_000)
    result = fix_targets([str(src)], small)[0]
    assert result.status is Status.FAILED and "8 kbps" in (result.error or "")
    assert "at most 1 min" in (result.error or "")
    wav = FixOptions(outdir=str(tmp_path / "w"), profile="voice-wav", jobs=1, max_bytes=200_000)
    result = fix_targets([str(src)], wav)[0]
    assert result.status is Status.FAILED and "--profile voice-mp3" in (result.error or "")
    assert not any((tmp_path / "o").iterdir()) and not any((tmp_path / "w").iterdir())


def test_a_nearly_silent_file_is_not_raised_into_loud_noise(tmp_path: Path, run_cli: Cli) -> None:
    # White noise at -70 dBFS RMS (room noise, a muted microphone): normalising it needed
    # +49.7 dB and the hiss came out "ok". The fix refuses more than --max-gain (40 dB).
    graph = "anoisesrc=color=white:amplitude=0.0005:seed=1:sample_rate=16000"
    src = af.make_tone(tmp_path, "hiss.wav", seconds=3, rate=16000, source=graph)
    outdir = tmp_path / "o"
    refused = fix_targets([str(src)], FixOptions(outdir=str(outdir), jobs=1))[0]
    assert refused.status is Status.FAILED and refused.output is None
    error = refused.error or ""
    assert "nearly silent" in error and "more than the 40 dB" in error
    assert "--max-gain 50" in error  # how to allow it, rounded up from the gain it needs
    assert not outdir.exists() or not any(outdir.iterdir())
    # Allowed, it is fixed to the target and the output is what inspect calls ok.
    out = json.loads(
        run_cli("fix", str(src), "-o", str(outdir), "--max-gain", "50", "--json").stdout
    )[0]
    assert out["status"] == "fixed" and 45 < out["gain_db"] < 50
    assert inspect_file(out["output"]).verdict is Verdict.OK
    # A recording far too quiet but not empty (a tone at -52 LUFS) stays within the cap.
    tone = af.make_tone(tmp_path, "soft.wav", seconds=3, rate=16000, extra=["-af", "volume=-30dB"])
    soft = fix_targets([str(tone)], FixOptions(outdir=str(tmp_path / "s"), jobs=1))[0]
    assert soft.status is Status.FIXED and 30 < (soft.gain_db or 0) <= 40
    with pytest.raises(UsageError, match="gain cap"):
        FixOptions(outdir=str(outdir), max_gain_db=61)
    # The CLI's defaults are the library's.
    defaults = {p.name: p.default for p in cli.fix_cmd.params}
    assert defaults["max_gain_db"] == levels.MAX_GAIN_DB
    assert defaults["target_lufs"] == FixOptions(outdir=".").target_lufs == levels.TARGET_LUFS


def test_bitrate_arithmetic() -> None:
    cap = api.MAX_AUDIO_BYTES
    assert profiles.fit_mp3_kbps(600, profiles.MPEG2_LADDER, 16000, cap) == 48
    assert profiles.fit_mp3_kbps(1200, profiles.MPEG2_LADDER, 16000, cap) == 32
    assert profiles.fit_mp3_kbps(6000, profiles.MPEG2_LADDER, 16000, cap) is None
    longest = profiles.max_mp3_seconds(8, 16000, cap)
    assert profiles.mp3_bytes(longest, 8, 16000) <= cap
    assert 4800 < longest < 5000
    with pytest.raises(UsageError):
        profiles.get_profile("lofi")


# --- writing safely -------------------------------------------------------------------------------


def test_dry_run_writes_nothing(batch: Batch, tmp_path: Path) -> None:
    out = tmp_path / "never"
    src = batch.inputs / "song.ogg"
    result = fix_targets([str(src)], FixOptions(outdir=str(out), dry_run=True))[0]
    assert result.planned and result.status is Status.FIXED and result.verdict is None
    assert result.output == str(out / "song.mp3") and "normalised" in result.actions
    assert not out.exists()


def test_existing_outputs_need_overwrite(batch: Batch, tmp_path: Path) -> None:
    src = batch.inputs / "song.flac"
    taken = tmp_path / "song.mp3"
    taken.write_bytes(b"somebody else's file")
    options = FixOptions(outdir=str(tmp_path), jobs=1)
    result = fix_targets([str(src)], options)[0]
    assert result.status is Status.FAILED and "--overwrite" in (result.error or "")
    assert taken.read_bytes() == b"somebody else's file"
    again = fix_targets([str(src)], FixOptions(outdir=str(tmp_path), jobs=1, overwrite=True))[0]
    assert again.status is Status.FIXED and taken.read_bytes() != b"somebody else's file"
    same = fix_targets([str(src)], options)[0]  # identical bytes already there: fine
    assert same.status is Status.FIXED and same.verdict == "ok"


def test_name_collisions_are_resolved_deterministically(tmp_path: Path) -> None:
    sources = [Source(t, t, Path(t).name) for t in ("d/a b.mp3", "d/a_b.wav", "d/A-b.ogg")]
    names = output_names(sources, profiles.get_profile("voice-mp3"))
    assert names == ["a_b.mp3", "a_b-2.mp3", "A-b.mp3"]
    assert output_names(sources[::-1], profiles.get_profile("voice-mp3")) == names[::-1]


def test_url_targets_are_downloaded_and_named_after_the_url(batch: Batch, tmp_path: Path) -> None:
    data = (batch.inputs / "song.ogg").read_bytes()
    with LocalHTTPServer() as server:
        server.serve_bytes("/p/Hello World.ogg", data, content_type="audio/ogg")
        url = server.url("/p/Hello%20World.ogg") + "?X-Amz-Signature=secret"
        result = fix_targets([url], FixOptions(outdir=str(tmp_path), jobs=1))[0]
    assert result.output == str(tmp_path / "Hello_World.mp3") and result.verdict == "ok"
    assert "secret" not in json.dumps(result.to_dict())


# --- the keep profile -----------------------------------------------------------------------------


def test_keep_changes_only_what_breaks_the_rules(batch: Batch, tmp_path: Path) -> None:
    names = ["song.ogg", "streaming.wav", "half.mp3", "My Prompt (v2).wav", "hifi.mp3"]
    targets = [str(batch.inputs / n) for n in names]
    got = _by_name(fix_targets(targets, FixOptions(outdir=str(tmp_path), profile="keep")))
    assert all(r.verdict == "ok" for r in got.values()), got
    assert got["hifi.mp3"].status is Status.UNCHANGED
    assert got["My Prompt (v2).wav"].actions == ("renamed",)
    assert got["streaming.wav"].actions == ("header_rewritten",)
    assert "transcoded" in got["song.ogg"].actions
    ogg = measure(Path(got["song.ogg"].output or ""))
    assert (ogg.rate, ogg.channels) == (44100, "mono")
    half = measure(Path(got["half.mp3"].output or ""))
    assert (half.rate, half.channels, half.errors) == (44100, "stereo", "")
    assert half.duration == pytest.approx(10.0, rel=0.02)
    wav = wavscan.scan_wav(Path(got["streaming.wav"].output or ""))
    assert not wav.streaming_header and not wav.problems


# --- lossless gain --------------------------------------------------------------------------------


def test_global_gain_steps_are_exact(tmp_path: Path) -> None:
    for rate, channels in ((16000, 1), (44100, 2)):
        src = af.make_mp3(tmp_path, f"g{rate}.mp3", seconds=3, rate=rate, channels=channels)
        data = bytearray(src.read_bytes())
        assert mp3gain.apply_steps(data, 4) > 0
        louder = tmp_path / f"g{rate}_loud.mp3"
        louder.write_bytes(data)
        before, after = measure(src), measure(louder)
        assert after.errors == ""
        assert after.lufs is not None and before.lufs is not None
        assert after.lufs - before.lufs == pytest.approx(4 * mp3gain.STEP_DB, abs=0.15)
    with pytest.raises(mp3gain.GainError):
        mp3gain.apply_steps(bytearray(af.HTML_PAGE), 2)


# --- the command line -----------------------------------------------------------------------------


def test_cli_json_contract_and_exit_codes(run_cli: Cli, batch: Batch, tmp_path: Path) -> None:
    good = str(batch.inputs / "song.ogg")
    bad = str(batch.inputs / "page.mp3")
    out = json.loads(run_cli("fix", good, bad, "-o", str(tmp_path), "--json", expect=1).stdout)
    keys = {"source", "output", "status", "actions", "verdict", "error"}
    assert [keys <= set(item) for item in out] == [True, True]
    assert [o["status"] for o in out] == ["fixed", "failed"]
    assert out[1]["output"] is None and out[1]["verdict"] is None and out[1]["error"]
    text = run_cli("fix", good, "-o", str(tmp_path), "--profile", "voice-wav").stdout
    assert "song.wav" in text and "1 file(s)" in text
    dry = run_cli("fix", good, "-o", str(tmp_path / "dry"), "--dry-run").stdout
    assert "dry run" in dry and not (tmp_path / "dry").exists()


def test_cli_profile_comes_from_the_environment(
    run_cli: Cli, batch: Batch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIOPREP_PROFILE", "voice-wav")
    out = json.loads(
        run_cli("fix", str(batch.inputs / "song.flac"), "-o", str(tmp_path), "--json").stdout
    )
    assert out[0]["profile"] == "voice-wav" and out[0]["output"].endswith("song.wav")
