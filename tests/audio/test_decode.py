"""decode.analyse on real ffmpeg-made files, damaged copies and non-audio; parse_analysis on the
stderr of both ffmpeg lines we meet (5.1 as in Debian 12, 9.0 as bundled by imageio-ffmpeg).

Every file is generated once per session. Levels are checked against how the file was made and
against ffmpeg's own ``ebur128`` run on its own, so the single-pass shortcuts stay honest.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from audioprep.audio import decode
from audioprep.audio.decode import AnalyseOptions, DecodeReport, analyse, parse_analysis
from audioprep.audio.ffmpeg import run
from audioprep.errors import ToolError, UsageError
from audioprep.models import Problem, Severity
from tests.support import audio_factory as af

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n"
    b"<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p>"
    b"</body></html>\n" * 8
)
SINE = "0.5*sin(2*PI*1000*t)"  # a 1 kHz sine peaking at -6.02 dBFS
MP3 = ("-c:a", "libmp3lame", "-b:a", "128k")


def _stereo(expr: str, rate: int = 44100) -> str:
    """Both channels the same (``-ac 2`` would upmix a mono source 3 dB down)."""
    return f"aevalsrc={expr}|{expr}:s={rate}:c=stereo"


def _make(out: Path, source: str, seconds: float, *args: str) -> Path:
    """Render lavfi ``source`` for ``seconds`` into ``out`` with output options ``args``."""
    cmd = ["-v", "error", "-y", "-f", "lavfi", "-i", source, "-t", f"{seconds:g}", *args, str(out)]
    proc = run(cmd)
    assert proc.returncode == 0 and out.is_file(), proc.stderr.decode()[-600:]
    return out


def _write(dst: Path, data: bytes) -> Path:
    dst.write_bytes(data)
    return dst


@dataclass(frozen=True)
class Media:
    """The session's generated files."""

    tone_mp3: Path  # 6 s, 44.1 kHz stereo 128k, 1 kHz sine at -6 dBFS peak
    tone_wav: Path  # 5 s, 16 kHz mono 16-bit, same sine
    long_mp3: Path  # 20 s, 44.1 kHz stereo 128k pink noise (CBR, with an Info frame)
    truncated: Path  # long_mp3 cut at 50 % of its bytes
    garbled: Path  # long_mp3 with 4 KiB of random bytes in the middle
    random_bytes: Path  # 200 kB of noise named .mp3
    html: Path  # an error page named .mp3
    silent: Path  # 4 s of digital silence, MP3
    quiet: Path  # 1 kHz sine at -50 dBFS peak, WAV
    clipped: Path  # 440 Hz sine pushed 20 dB into clipping, MP3
    padded: Path  # 5 s silence + 4 s tone + 5 s silence, MP3 stereo
    loud: Path  # two tones near -4 LUFS, stereo MP3
    gated: Path  # quiet tone bursts with pauses (the gate matters), mono WAV
    pink_stereo: Path  # decorrelated stereo pink noise (where the fast mode reads low)


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    d = tmp_path_factory.mktemp("decode")
    long_mp3 = _make(d / "long.mp3", "anoisesrc=c=pink:a=0.3:seed=7:r=44100", 20, "-ac", "2", *MP3)
    data = long_mp3.read_bytes()
    mid = len(data) // 2
    noise = random.Random(3).randbytes(4096)
    burst = "aevalsrc=0.02*sin(2*PI*700*t)*lt(mod(t\\,3)\\,1):s=16000"
    return Media(
        tone_mp3=_make(d / "tone.mp3", _stereo(SINE), 6, *MP3),
        tone_wav=_make(d / "tone.wav", f"aevalsrc={SINE}:s=16000", 5, "-c:a", "pcm_s16le"),
        long_mp3=long_mp3,
        truncated=_write(d / "truncated.mp3", data[:mid]),
        garbled=_write(d / "garbled.mp3", data[:mid] + noise + data[mid + 4096 :]),
        random_bytes=_write(d / "noise.mp3", random.Random(1).randbytes(200_000)),
        html=_write(d / "page.mp3", HTML_PAGE),
        silent=_make(d / "silent.mp3", "anullsrc=r=16000:cl=mono", 4, *MP3),
        quiet=_make(d / "quiet.wav", "aevalsrc=0.003162*sin(2*PI*1000*t):s=16000", 5),
        clipped=_make(d / "clipped.mp3", "sine=f=440:r=44100,volume=20dB", 5, *MP3),
        padded=_make(
            d / "padded.mp3",
            "sine=f=440:r=44100:d=4,volume=8dB,adelay=5000,apad=pad_dur=5",
            14,
            "-ac",
            "2",
            *MP3,
        ),
        loud=_make(d / "loud.mp3", _stereo("0.4*sin(2*PI*300*t)+0.4*sin(2*PI*2000*t)"), 8, *MP3),
        gated=_make(d / "gated.wav", burst, 12),
        pink_stereo=_make(
            d / "pink_stereo.wav",
            "anoisesrc=c=pink:a=0.2:seed=1:r=44100[l];anoisesrc=c=pink:a=0.2:seed=2:r=44100[r];"
            "[l][r]join=inputs=2:channel_layout=stereo",
            8,
        ),
    )


def _ids(report: DecodeReport) -> list[str]:
    return [p.id for p in report.problems]


def _problem(report: DecodeReport, pid: str) -> Problem:
    found = [p for p in report.problems if p.id == pid]
    assert found, f"no {pid} in {_ids(report)}"
    return found[0]


def _errors(report: DecodeReport) -> list[str]:
    return [p.id for p in report.problems if p.severity is ERROR]


def _standalone_lufs(path: Path) -> float:
    """What ffmpeg's ebur128 says on its own, full band, every channel."""
    proc = run(["-v", "info", "-nostats", "-i", str(path), "-af", "ebur128", "-f", "null", "-"])
    found = re.findall(r"^\s+I:\s+(\S+) LUFS", proc.stderr.decode(), re.MULTILINE)
    return float(found[-1])


# --- clean files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "seconds", "rate", "channels"),
    [
        ("tone_mp3", 6.0, 44100, 2),
        ("tone_wav", 5.0, 16000, 1),
    ],
)
def test_clean_file_facts(
    media: Media, name: str, seconds: float, rate: int, channels: int
) -> None:
    report = analyse(getattr(media, name))
    assert report.decodable and report.returncode == 0
    assert _errors(report) == [] and report.decoder_errors == ()
    assert report.decoded_duration_s == pytest.approx(seconds, abs=0.05)
    assert (report.sample_rate, report.channels) == (rate, channels)
    # LAME takes ~0.4 dB off this tone (astats agrees); a sine's RMS is 3 dB under its peak
    assert report.peak_dbfs == pytest.approx(-6.0, abs=0.5)
    assert report.rms_dbfs == pytest.approx(report.peak_dbfs - 3.0, abs=0.2)
    assert report.clipped_samples == 0 and not report.silent
    assert report.leading_silence_s == 0 and report.trailing_silence_s == 0
    assert _ids(report) == ["level.loudness"]
    assert _problem(report, "level.loudness").severity is INFO


def test_clean_file_names(media: Media) -> None:
    mp3, wav = analyse(media.tone_mp3), analyse(media.tone_wav)
    assert (mp3.container, mp3.codec) == ("mp3", "mp3")
    assert (wav.container, wav.codec) == ("wav", "pcm_s16le")
    assert mp3.decoded_samples == 6 * 44100


def test_report_is_json_ready(media: Media) -> None:
    for path in (media.tone_mp3, media.silent, media.html):
        data = analyse(path).to_dict()
        json.dumps(data, allow_nan=False)
        assert {"id", "severity", "message", "fixable"} == set(data["problems"][0])


# --- damage -------------------------------------------------------------------------------


def test_truncation_is_measured_not_believed(media: Media) -> None:
    report = analyse(media.truncated, header_duration_s=20.0)
    assert report.decodable and report.decoder_error_count == 0  # ffmpeg says nothing...
    assert report.decoded_duration_s == pytest.approx(10.0, abs=0.3)  # ...but half is missing
    mismatch = _problem(report, "decode.duration_mismatch")
    assert mismatch.severity is ERROR and mismatch.fixable
    assert "20.00 s" in mismatch.message and "cannot be restored" in mismatch.message


def test_truncation_found_from_ffmpegs_own_header_reading(media: Media) -> None:
    report = analyse(media.truncated)  # no header duration given: the Info frame still claims 20 s
    assert report.header_duration_s == pytest.approx(20.0, abs=0.1)
    assert "decode.duration_mismatch" in _ids(report)
    assert any("filesize and duration do not match" in w for w in report.warnings)


def test_duration_within_tolerance_is_fine(media: Media) -> None:
    assert "decode.duration_mismatch" not in _ids(analyse(media.long_mp3, header_duration_s=20.9))
    longer = analyse(media.long_mp3, header_duration_s=8.0)  # a header that undercounts
    problem = _problem(longer, "decode.duration_mismatch")
    assert problem.severity is WARNING and problem.fixable


def test_garbage_mid_stream_is_a_decode_error(media: Media) -> None:
    report = analyse(media.garbled, header_duration_s=20.0)
    assert report.decodable and report.returncode == 0  # ffmpeg exits 0 all the same
    assert report.decoder_error_count >= 1
    assert any("Header missing" in e or "Invalid data" in e for e in report.decoder_errors)
    errors = _problem(report, "decode.errors")
    assert errors.severity is ERROR and errors.fixable  # salvage: re-encode what decodes
    assert report.decoded_duration_s == pytest.approx(20.0, abs=0.6)


@pytest.mark.parametrize("name", ["random_bytes", "html"])
def test_not_audio_cannot_be_opened(media: Media, name: str) -> None:
    report = analyse(getattr(media, name))
    assert not report.decodable
    assert report.decoded_duration_s is None and report.peak_dbfs is None
    assert _ids(report) == ["decode.open_failed"]
    problem = report.problems[0]
    assert problem.severity is ERROR and not problem.fixable
    assert "Task finished" not in problem.message and "(" in problem.message


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        analyse(tmp_path / "nope.mp3")
    with pytest.raises(UsageError):
        analyse(tmp_path)


# --- levels -------------------------------------------------------------------------------


def test_digital_silence(media: Media) -> None:
    report = analyse(media.silent)
    assert report.silent and report.peak_dbfs == -math.inf
    assert report.integrated_lufs is None
    assert _ids(report) == ["level.silent"]  # no edge-silence noise on top
    assert report.problems[0].severity is ERROR and not report.problems[0].fixable


def test_very_low_level(media: Media) -> None:
    report = analyse(media.quiet)
    assert report.peak_dbfs == pytest.approx(-50.0, abs=0.3)
    assert not report.silent
    low = _problem(report, "level.very_low")
    assert low.severity is WARNING and low.fixable
    assert "level.leading_silence" not in _ids(report)  # below the silence line end to end


def test_a_file_too_quiet_to_normalise_says_to_re_record_it(tmp_path: Path) -> None:
    # White noise at -70 dBFS RMS: 'audioprep fix' refuses the +50 dB it would need.
    graph = "anoisesrc=color=white:amplitude=0.0005:seed=1:sample_rate=16000"
    report = analyse(af.make_tone(tmp_path, "hiss.wav", seconds=3, rate=16000, source=graph))
    low = _problem(report, "level.very_low")
    assert low.severity is ERROR and not low.fixable  # unusable: re-record it
    assert "nearly silent" in low.message and "re-record" in low.message
    assert "40 dB" in low.message


def test_clipping(media: Media) -> None:
    report = analyse(media.clipped)
    total = (report.decoded_samples or 0) * (report.channels or 0)
    assert report.clipped_samples is not None and report.clipped_samples > 0.2 * total
    assert report.peak_dbfs is not None and report.peak_dbfs >= -0.1
    clip = _problem(report, "level.clipping")
    assert clip.severity is WARNING and not clip.fixable
    assert "level.clipping" not in _ids(analyse(media.loud))  # loud is not clipped


def test_leading_and_trailing_silence(media: Media) -> None:
    report = analyse(media.padded)
    assert report.leading_silence_s == pytest.approx(5.0, abs=0.3)
    assert report.trailing_silence_s == pytest.approx(5.0, abs=0.3)
    assert report.decoded_duration_s == pytest.approx(14.0, abs=0.05)
    for pid in ("level.leading_silence", "level.trailing_silence"):
        assert _problem(report, pid).severity is WARNING
    short = analyse(media.padded, options=AnalyseOptions(edge_silence_warn_s=6.0))
    assert "level.leading_silence" not in _ids(short)


@pytest.mark.parametrize("name", ["loud", "gated", "tone_mp3"])
def test_loudness_matches_ebur128_on_its_own(media: Media, name: str) -> None:
    path = getattr(media, name)
    report = analyse(path)
    assert report.integrated_lufs is not None
    assert report.integrated_lufs == pytest.approx(_standalone_lufs(path), abs=1.0)
    assert "LUFS" in _problem(report, "level.loudness").message


def test_loud_and_gated_files_are_far_apart(media: Media) -> None:
    loud, gated = analyse(media.loud), analyse(media.gated)
    assert loud.integrated_lufs is not None and gated.integrated_lufs is not None
    assert loud.integrated_lufs > -12 and gated.integrated_lufs < -30
    assert "level.very_low" not in _ids(loud) and "level.very_low" not in _ids(gated)


def test_precise_mode_is_full_band_with_true_peak(media: Media) -> None:
    """The documented price of the fast mode: telephone band and a mono downmix read
    decorrelated full-band noise low; precise mode matches ebur128 exactly."""
    path = media.pink_stereo
    reference = _standalone_lufs(path)
    fast = analyse(path)
    precise = analyse(path, options=AnalyseOptions(precise=True))
    assert fast.true_peak_dbtp is None and fast.integrated_lufs is not None
    assert 1.0 < reference - fast.integrated_lufs < 8.0
    assert precise.integrated_lufs == pytest.approx(reference, abs=0.3)
    assert precise.true_peak_dbtp is not None and precise.peak_dbfs is not None
    assert precise.true_peak_dbtp >= precise.peak_dbfs - 0.2
    assert "telephone band" not in _problem(precise, "level.loudness").message


# --- one pass for a transcoder ------------------------------------------------------------


def test_split_filter_carries_the_analysis_in_a_transcode(media: Media, tmp_path: Path) -> None:
    out = tmp_path / "phone.wav"
    graph = (
        decode.split_filter(encode="enc") + ";[enc]aresample=8000,aformat=channel_layouts=mono[out]"
    )
    proc = run([
        *decode.LOG_ARGS, "-y", "-i", str(media.padded), "-filter_complex", graph,
        "-map", "[out]", "-c:a", "pcm_mulaw", str(out),
        "-map", f"[{decode.ANALYSIS_PAD}]", "-f", "null", "-",
    ])  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()[-800:]
    carried = parse_analysis(proc.stderr.decode(), returncode=proc.returncode)
    alone = analyse(media.padded)
    assert out.stat().st_size > 8000 * 13  # ~14 s of 8-bit 8 kHz audio was written
    for field in ("decoded_duration_s", "peak_dbfs", "integrated_lufs", "leading_silence_s"):
        assert getattr(carried, field) == getattr(alone, field), field
    assert _ids(carried) == _ids(alone)


def test_analysis_args_are_one_process_one_decode(tmp_path: Path) -> None:
    args = decode.analysis_args(tmp_path / "x.mp3")
    assert args.count("-i") == 1 and args.count("-filter_complex") == 1
    graph = args[args.index("-filter_complex") + 1]
    for name in ("volumedetect", "ebur128", "silencedetect", "aresample"):
        assert f"{name}@{decode.TAG}" in graph
    assert "peak=true" not in graph and "astats" not in graph and "loudnorm" not in graph
    assert "peak=true" in decode.analysis_filter(AnalyseOptions(precise=True))


def test_timeout_grows_with_size_from_a_floor() -> None:
    options = AnalyseOptions(timeout_floor_s=30, timeout_s_per_mib=10)
    assert decode.timeout_for(0, options) == 30
    assert decode.timeout_for(5 * 2**20, options) == 80


# --- parsing both ffmpeg lines ------------------------------------------------------------

# Trimmed stderr of ffmpeg 5.1.9 (Debian 12) on a 15 s MP3 with a garbled frame and silences.
# 5.1 configures the graph twice (the first ebur128/volumedetect reports are empty), prints
# decode errors without a context, and its silencedetect ignores the instance name.
STDERR_51 = """\
[info] Input #0, mp3, from 'x.mp3':
[info]   Duration: 00:00:15.05, start: 0.025057, bitrate: 128 kb/s
[info]   Stream #0:0: Audio: mp3, 44100 Hz, stereo, fltp, 128 kb/s
[ebur128@audioprep @ 0x5632] [info] Summary:

  Integrated loudness:
    I:         -70.0 LUFS
    Threshold:   0.0 LUFS
[volumedetect@audioprep @ 0x5633] [info] n_samples: 0
[info] Stream mapping:
[info]   Stream #0:0 (mp3float) -> volume:default
[info] Output #0, null, to 'pipe:':
[info]   Stream #0:0: Audio: pcm_s16le, 8000 Hz, mono, s16, 128 kb/s
[mp3float @ 0x5634] [error] Header missing
[error] Error while decoding stream #0:0: Invalid data found when processing input
[mp3float @ 0x5634] [info] overread, skip -6 enddists: -2 -2
[silencedetect @ 0x5635] [info] silence_start: 0
[silencedetect @ 0x5635] [info] silence_end: 5.00012 | silence_duration: 5.00012
[silencedetect @ 0x5635] [info] silence_start: 10.0001
[info] size=N/A time=00:00:15.00 bitrate=N/A speed= 224x
[info] video:0kB audio:234kB subtitle:0kB other streams:0kB global headers:0kB
[silencedetect @ 0x5635] [info] silence_end: 15 | silence_duration: 4.99988
[ebur128@audioprep @ 0x5636] [info] Summary:

  Integrated loudness:
    I:         -26.1 LUFS
    Threshold: -36.2 LUFS

  Loudness range:
    LRA:         8.8 LU
[volumedetect@audioprep @ 0x5637] [info] n_samples: 1323000
[volumedetect@audioprep @ 0x5637] [info] mean_volume: -30.1 dB
[volumedetect@audioprep @ 0x5637] [info] max_volume: -21.4 dB
[volumedetect@audioprep @ 0x5637] [info] histogram_21db: 24680
"""

# The same from ffmpeg 9.0 (threaded CLI): contexts on decode errors, a "dec:" prefix, and
# a filter graph that reports in a different order.
STDERR_90 = """\
[volumedetect@audioprep @ 0x55ff] [info] n_samples: 0
[info] Input #0, mp3, from 'x.mp3':
[info]   Duration: 00:00:15.00, start: 0.025057, bitrate: 128 kb/s
[info]   Stream #0:0: Audio: mp3 (mp3float), 44100 Hz, stereo, fltp, 128 kb/s, start 0.025057
[info] Stream mapping:
[info] Output #0, null, to 'pipe:':
[info]   Stream #0:0: Audio: pcm_s16le, 8000 Hz, mono, s16, 128 kb/s
[mp3float @ 0x5600] [error] Header missing
[aist#0:0/mp3 @ 0x5601] [dec:mp3float @ 0x5602] [error] Error submitting packet to decoder: \
Invalid data found when processing input
[silencedetect@audioprep @ 0x7f84] [info] silence_start: 0
[silencedetect@audioprep @ 0x7f84] [info] silence_end: 5.000125 | silence_duration: 5.000125
[silencedetect@audioprep @ 0x7f84] [info] silence_start: 10.000125
[silencedetect@audioprep @ 0x7f84] [info] silence_end: 15 | silence_duration: 4.999875
[ebur128@audioprep @ 0x7f85] [info] Summary:

  Integrated loudness:
    I:         -26.1 LUFS
    Threshold: -36.2 LUFS
[volumedetect@audioprep @ 0x7f86] [info] n_samples: 1323000
[volumedetect@audioprep @ 0x7f86] [info] mean_volume: -30.1 dB
[volumedetect@audioprep @ 0x7f86] [info] max_volume: -21.4 dB
[volumedetect@audioprep @ 0x7f86] [info] histogram_21db: 24680
[out#0/null @ 0x5603] [info] video:0KiB audio:234KiB subtitle:0KiB other streams:0KiB
"""


@pytest.mark.parametrize("stderr", [STDERR_51, STDERR_90], ids=["ffmpeg5.1", "ffmpeg9.0"])
def test_parse_analysis_reads_both_ffmpeg_lines(stderr: str) -> None:
    report = parse_analysis(stderr, header_duration_s=15.0)
    assert report.decodable
    assert (report.container, report.codec, report.sample_rate, report.channels) == (
        "mp3",
        "mp3",
        44100,
        2,
    )
    assert report.decoded_duration_s == 15.0 and report.decoded_samples == 661500
    assert report.peak_dbfs == pytest.approx(-20.5) and report.rms_dbfs == pytest.approx(-29.2)
    # -26.1 on the (L+R)/2 downmix, +0.9 analysis gain, +3.01 for a two-channel source
    assert report.integrated_lufs == pytest.approx(-22.2)
    assert (report.leading_silence_s, report.trailing_silence_s) == pytest.approx(
        (5.0, 5.0), abs=0.01
    )
    assert report.decoder_error_count == 2
    assert report.decoder_errors[0] == "mp3float: Header missing"
    assert "Invalid data found" in report.decoder_errors[1]
    assert _ids(report) == [
        "decode.errors",
        "level.leading_silence",
        "level.trailing_silence",
        "level.loudness",
    ]


def test_parse_analysis_falls_back_to_progress_for_odd_layouts() -> None:
    stderr = STDERR_90.replace("stereo, fltp", "weird layout, fltp")
    report = parse_analysis(
        stderr, "out_time_us=7000000\nprogress=continue\nout_time_us=15000000\n"
    )
    assert report.channels is None and report.decoded_duration_s == 15.0


@pytest.mark.parametrize(("layout", "channels"), [
    ("mono", 1), ("stereo", 2), ("5.1(side)", 6), ("3 channels", 3), ("FL+FR+LFE", 3), ("??", None),
])  # fmt: skip
def test_channel_layouts(layout: str, channels: int | None) -> None:
    assert decode._channels(layout) == channels


def test_open_failure_names_the_cause_not_the_bookkeeping() -> None:
    stderr = """\
[in#0 @ 0x55] [warning] Format mp3 detected only with low score of 1, misdetection possible!
[in#0 @ 0x55] [error] Failed to find two consecutive MPEG audio frames.
[in#0 @ 0x56] [error] Error opening input: Invalid data found when processing input
[error] Error opening input file page.mp3.
[fatal] Error opening input files: Invalid data found when processing input
"""
    report = parse_analysis(stderr, returncode=183)
    assert not report.decodable and report.returncode == 183
    assert report.decoder_errors == (
        "input: Failed to find two consecutive MPEG audio frames.",
        "input: Error opening input: Invalid data found when processing input",
    )
    assert report.warnings == (
        "Format mp3 detected only with low score of 1, misdetection possible!",
    )
    assert "two consecutive MPEG audio frames" in report.problems[0].message


def test_decoder_messages_are_deduplicated_but_counted() -> None:
    errors = "[mp3float @ 0x1] [error] Header missing\n" * 50
    report = parse_analysis(STDERR_90 + errors, options=AnalyseOptions(max_error_lines=3))
    assert report.decoder_error_count == 52
    assert len(report.decoder_errors) == 2


def test_only_ffmpegs_text_comes_back(media: Media, monkeypatch: pytest.MonkeyPatch) -> None:
    """Python never holds decoded audio: one ffmpeg run, a few kB of text, whatever the length."""
    seen: list[int] = []
    real_run = decode.ffmpeg.run

    def spy(args: Sequence[str], *, timeout: float | None = None) -> CompletedProcess[bytes]:
        proc = real_run(args, timeout=timeout)
        seen.append(len(proc.stdout) + len(proc.stderr))
        return proc

    monkeypatch.setattr(decode.ffmpeg, "run", spy)
    analyse(media.long_mp3)
    assert len(seen) == 1 and seen[0] < 20_000


def test_a_blip_too_short_for_a_loudness_block_is_judged_by_rms(tmp_path: Path) -> None:
    blip = _make(tmp_path / "blip.wav", f"aevalsrc={SINE}:s=8000", 0.3)
    report = analyse(blip)
    assert report.integrated_lufs is None and report.decoded_duration_s == pytest.approx(0.3)
    assert _ids(report) == []  # loud enough by RMS; no loudness figure to report


@pytest.mark.parametrize(
    "line",
    [
        "[AVFilterGraph @ 0x56] [error] No such filter: 'ebur128'",
        "[fc#0 @ 0x55] [error] Error applying option 'rematrix_maxval' to filter 'aresample': "
        "Option not found",
    ],
)
def test_an_ffmpeg_without_the_filters_is_a_tool_error(line: str) -> None:
    with pytest.raises(ToolError, match="cannot run the analysis"):
        parse_analysis(line + "\n[fatal] Error : Filter not found\n", returncode=1)


def test_branch_format_for_a_transcoder_that_resamples_first(media: Media, tmp_path: Path) -> None:
    """A transcoder may resample/downmix before splitting: the counts then follow the branch."""
    out = tmp_path / "phone.wav"
    pre = "[0:a:0]aresample=16000,aformat=channel_layouts=mono[pre];"
    graph = pre + decode.split_filter(source="pre", encode="enc") + ";[enc]anull[out]"
    proc = run([
        *decode.LOG_ARGS, "-y", "-i", str(media.padded), "-filter_complex", graph,
        "-map", "[out]", "-c:a", "pcm_s16le", str(out),
        "-map", f"[{decode.ANALYSIS_PAD}]", "-f", "null", "-",
    ])  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()[-800:]
    report = parse_analysis(proc.stderr.decode(), branch_format=(16000, 1))
    alone = analyse(media.padded)
    assert (report.sample_rate, report.channels) == (44100, 2)  # still the input's
    assert report.decoded_samples == 14 * 16000
    assert report.decoded_duration_s == pytest.approx(14.0, abs=0.01)
    assert report.leading_silence_s == pytest.approx(alone.leading_silence_s, abs=0.05)
    # the input is dual mono, so its mono rendition measures the same loudness
    assert report.integrated_lufs == pytest.approx(alone.integrated_lufs, abs=0.3)
