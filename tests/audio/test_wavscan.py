"""scan_wav on real ffmpeg-made WAVs, on damaged copies, on hand-built edge cases and on non-WAVs.

Every ffmpeg file is generated once per session; damage is applied to copies. Intact files must
give no error (no false alarms) and facts that match how they were made.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from audioprep.audio.ffmpeg import find_ffmpeg
from audioprep.audio.wavscan import WavScan, scan_wav
from audioprep.errors import ToolError
from audioprep.models import Severity
from tests.support.audio_factory import (
    FLOAT,
    HTML_PAGE,
    MULAW,
    PCM,
    append_bytes,
    chunk,
    copy_to,
    drop_tail,
    extensible_fmt,
    find_chunk,
    float_wav_bytes,
    fmt_body,
    make_mp3,
    make_wav,
    random_bytes,
    repeat_to_size,
    riff,
    set_data_size,
    set_fmt_field,
    set_riff_size,
    truncate,
    write_file,
)

SECONDS = 5.0
ERROR, WARNING = Severity.ERROR, Severity.WARNING


@dataclass(frozen=True)
class Clips:
    """The session's generated files (5 s each)."""

    pcm8k: Path  # 8 kHz mono 16-bit PCM
    mulaw: Path  # 8 kHz mono µ-law
    alaw: Path  # 8 kHz mono A-law
    float32: Path  # 44.1 kHz stereo 32-bit float (format tag 3), built here: ffmpeg's muxer
    # writes tag 3 or WAVE_FORMAT_EXTENSIBLE depending on its version
    s24: Path  # 44.1 kHz stereo 24-bit: ffmpeg writes WAVE_FORMAT_EXTENSIBLE
    adpcm_ms: Path  # 8 kHz mono MS ADPCM
    adpcm_ima: Path  # 8 kHz mono IMA ADPCM
    mp3_in_wav: Path  # format tag 0x55
    mp3: Path  # a real MP3 file, later copied under a .wav name


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Clips:
    try:
        find_ffmpeg()
    except ToolError as exc:
        pytest.skip(f"needs ffmpeg: {exc}")
    d = tmp_path_factory.mktemp("wav")
    return Clips(
        pcm8k=make_wav(d, "pcm8k.wav", seconds=SECONDS),
        mulaw=make_wav(d, "mulaw.wav", seconds=SECONDS, codec="pcm_mulaw"),
        alaw=make_wav(d, "alaw.wav", seconds=SECONDS, codec="pcm_alaw"),
        float32=write_file(d, "f32.wav", float_wav_bytes(SECONDS, 44100, 2)),
        s24=make_wav(d, "s24.wav", seconds=SECONDS, rate=44100, channels=2, codec="pcm_s24le"),
        adpcm_ms=make_wav(d, "ms.wav", seconds=SECONDS, codec="adpcm_ms"),
        adpcm_ima=make_wav(d, "ima.wav", seconds=SECONDS, codec="adpcm_ima_wav"),
        mp3_in_wav=make_wav(d, "mp3in.wav", seconds=SECONDS, rate=44100, codec="libmp3lame"),
        mp3=make_mp3(d, "real.mp3", seconds=2),
    )


def ids(scan: WavScan, severity: Severity | None = None) -> set[str]:
    return {p.id for p in scan.problems if severity is None or p.severity is severity}


def problem(scan: WavScan, pid: str) -> str:
    found = [p for p in scan.problems if p.id == pid]
    assert found, f"{pid} not in {ids(scan)}"
    return found[0].message


# --- intact files: facts, and no false alarms ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "codec", "tag", "rate", "channels", "bits", "align"),
    [
        ("pcm8k", "pcm_s16le", PCM, 8000, 1, 16, 2),
        ("mulaw", "pcm_mulaw", MULAW, 8000, 1, 8, 1),
        ("alaw", "pcm_alaw", 6, 8000, 1, 8, 1),
        ("float32", "pcm_f32le", FLOAT, 44100, 2, 32, 8),
        ("s24", "pcm_s24le", 0xFFFE, 44100, 2, 24, 6),
    ],
)
def test_intact_files_have_no_errors_and_exact_facts(
    clips: Clips,
    name: str,
    codec: str,
    tag: int,
    rate: int,
    channels: int,
    bits: int,
    align: int,
) -> None:
    path = getattr(clips, name)
    scan = scan_wav(path)
    assert ids(scan, ERROR) == set()
    assert (scan.codec, scan.format_tag, scan.sample_rate) == (codec, tag, rate)
    assert (scan.channels, scan.bits_per_sample, scan.block_align) == (channels, bits, align)
    assert scan.byte_rate == rate * align
    assert scan.duration == scan.declared_duration == SECONDS
    assert scan.data_present == scan.data_declared == SECONDS * rate * align
    assert scan.riff_size == path.stat().st_size - 8 == scan.file_size - 8
    assert (scan.container, scan.form_type) == ("RIFF", "WAVE")
    assert not scan.streaming_header and scan.trailing_junk == 0
    assert scan.data_offset == find_chunk(path, b"data") + 8
    assert scan.chunks[0].id == "fmt " and "data" in {c.id for c in scan.chunks}


def test_plain_pcm_is_completely_clean(clips: Clips) -> None:
    assert scan_wav(clips.pcm8k).problems == ()


@pytest.mark.parametrize(("name", "says"), [("mulaw", "µ-law"), ("float32", "float")])
def test_float_and_law_formats_are_warnings(clips: Clips, name: str, says: str) -> None:
    scan = scan_wav(getattr(clips, name))
    assert ids(scan) == {"wav.non_pcm"}
    assert says in problem(scan, "wav.non_pcm")


def test_extensible_header_is_a_warning(clips: Clips) -> None:
    scan = scan_wav(clips.s24)
    assert ids(scan) == {"wav.extensible"}
    assert scan.subformat == PCM and scan.codec_tag == PCM


def test_extensible_float_names_both(tmp_path: Path) -> None:
    data = chunk(b"data", bytes(32000))
    path = write_file(
        tmp_path, "xf.wav", riff([chunk(b"fmt ", extensible_fmt(1, 8000, 32, 3)), data])
    )
    scan = scan_wav(path)
    assert ids(scan) == {"wav.extensible", "wav.non_pcm"}
    assert (scan.format_tag, scan.subformat, scan.codec) == (0xFFFE, FLOAT, "pcm_f32le")
    assert scan.duration == 1.0


@pytest.mark.parametrize(
    ("name", "codec"), [("adpcm_ms", "adpcm_ms"), ("adpcm_ima", "adpcm_ima_wav")]
)
def test_adpcm_is_compressed_and_timed_from_fact(clips: Clips, name: str, codec: str) -> None:
    scan = scan_wav(getattr(clips, name))
    assert ids(scan) == {"wav.compressed"}
    assert scan.codec == codec and scan.samples_per_block
    # The encoder's last block is padded; ffmpeg 5.1 counts the padding in ``fact``, later
    # versions do not. The scanner times the file by what ``fact`` says, either way.
    assert SECONDS * 8000 <= (scan.fact_samples or 0) < SECONDS * 8000 + scan.samples_per_block
    assert scan.duration == pytest.approx((scan.fact_samples or 0) / 8000)


def test_mp3_in_wav_is_compressed(clips: Clips) -> None:
    scan = scan_wav(clips.mp3_in_wav)
    assert ids(scan, ERROR) == {"wav.compressed"}
    assert scan.codec == "mp3" and "MP3" in problem(scan, "wav.compressed")
    assert scan.duration == pytest.approx(SECONDS, abs=0.1)


# --- damage ---------------------------------------------------------------------------------


def test_cut_in_half_is_truncated_data(clips: Clips, tmp_path: Path) -> None:
    scan = scan_wav(truncate(copy_to(clips.pcm8k, tmp_path, "half.wav"), 0.5))
    assert ids(scan) == {"wav.data_truncated"}
    assert scan.declared_duration == SECONDS
    assert scan.duration == pytest.approx(SECONDS / 2, abs=0.01)
    assert "5.00 s" in problem(scan, "wav.data_truncated")


def test_one_byte_missing_is_truncated_data(clips: Clips, tmp_path: Path) -> None:
    scan = scan_wav(drop_tail(copy_to(clips.pcm8k, tmp_path, "minus1.wav"), 1))
    assert ids(scan) == {"wav.data_truncated"}
    assert scan.data_declared is not None and scan.data_present == scan.data_declared - 1


def test_truncated_adpcm_is_timed_from_blocks(clips: Clips, tmp_path: Path) -> None:
    scan = scan_wav(truncate(copy_to(clips.adpcm_ms, tmp_path, "ms_half.wav"), 0.5))
    assert ids(scan, ERROR) == {"wav.data_truncated", "wav.compressed"}
    assert scan.duration == pytest.approx(SECONDS / 2, rel=0.05)


def test_header_only_is_truncated_and_empty(clips: Clips, tmp_path: Path) -> None:
    path = copy_to(clips.pcm8k, tmp_path, "header_only.wav")
    scan = scan_wav(truncate(path, size=find_chunk(path, b"data") + 8))
    assert ids(scan, ERROR) == {"wav.data_truncated", "wav.empty_audio"}
    assert scan.duration == 0.0 and scan.declared_duration == SECONDS


@pytest.mark.parametrize(
    ("riff_value", "data_value"), [(0, 0), (None, 0), (0xFFFFFFFF, 0xFFFFFFFF)]
)
def test_streaming_recorder_placeholders(
    clips: Clips, tmp_path: Path, riff_value: int | None, data_value: int
) -> None:
    path = set_data_size(copy_to(clips.pcm8k, tmp_path, "stream.wav"), data_value)
    if riff_value is not None:
        set_riff_size(path, riff_value)
    scan = scan_wav(path)
    assert ids(scan) == {"wav.data_size_placeholder"}
    assert all(p.fixable for p in scan.problems)
    assert scan.streaming_header and scan.duration == SECONDS
    assert scan.declared_duration == (0.0 if data_value == 0 else 0xFFFFFFFF // 2 / 8000)


def test_empty_data_chunk_followed_by_a_chunk_is_empty_audio(tmp_path: Path) -> None:
    chunks = [chunk(b"fmt ", fmt_body()), chunk(b"data", b""), chunk(b"LIST", b"INFOabcd")]
    scan = scan_wav(write_file(tmp_path, "empty_data.wav", riff(chunks)))
    assert ids(scan) == {"wav.empty_audio"}
    assert not scan.streaming_header and scan.duration == 0.0


@pytest.mark.parametrize("delta", [-70_000, +500])
def test_wrong_riff_size(clips: Clips, tmp_path: Path, delta: int) -> None:
    path = copy_to(clips.pcm8k, tmp_path, "riff.wav")
    scan = scan_wav(set_riff_size(path, path.stat().st_size - 8 + delta))
    assert ids(scan) == {"wav.riff_size_mismatch"}
    assert scan.duration == SECONDS


def test_riff_placeholder_alone_is_a_size_mismatch(clips: Clips, tmp_path: Path) -> None:
    scan = scan_wav(set_riff_size(copy_to(clips.pcm8k, tmp_path, "r0.wav"), 0))
    assert ids(scan) == {"wav.riff_size_mismatch"}
    assert scan.streaming_header and "placeholder" in problem(scan, "wav.riff_size_mismatch")


def test_trailing_junk(clips: Clips, tmp_path: Path) -> None:
    path = append_bytes(copy_to(clips.pcm8k, tmp_path, "tail.wav"), random_bytes(333, seed=1))
    scan = scan_wav(path)
    assert ids(scan) == {"wav.trailing_junk"}
    assert scan.trailing_junk == 333


def test_data_size_too_small_leaves_audio_as_trailing_junk(clips: Clips, tmp_path: Path) -> None:
    scan = scan_wav(set_data_size(copy_to(clips.pcm8k, tmp_path, "small.wav"), 40_000))
    assert ids(scan) == {"wav.trailing_junk"}
    assert scan.trailing_junk == 40_000 and scan.duration == SECONDS / 2
    assert "2.5 s at this format" in problem(scan, "wav.trailing_junk")


def test_chunk_cut_after_the_audio_is_only_a_warning(tmp_path: Path) -> None:
    chunks = [chunk(b"fmt ", fmt_body()), chunk(b"data", bytes(16000)), chunk(b"LIST", bytes(400))]
    path = truncate(write_file(tmp_path, "cut_list.wav", riff(chunks)), size=16044 + 8 + 100)
    scan = scan_wav(path)
    assert ids(scan) == {"wav.chunk_past_eof"}
    assert scan.cut_chunk == "LIST" and scan.duration == 1.0


@pytest.mark.parametrize("at_eof", [False, True])
def test_odd_chunk_without_pad_byte(tmp_path: Path, at_eof: bool) -> None:
    chunks = [
        chunk(b"fmt ", fmt_body(MULAW, 1, 8000, 8)),
        chunk(b"data", b"\x55" * 8001, pad=False),
    ]
    if not at_eof:
        chunks.append(chunk(b"LIST", b"INFOabcd"))
    scan = scan_wav(write_file(tmp_path, "odd.wav", riff(chunks)))
    assert ids(scan) == {"wav.odd_chunk_no_pad", "wav.non_pcm"}
    assert scan.unpadded_chunks == ("data",)
    assert [c.id for c in scan.chunks] == ["fmt ", "data"] + ([] if at_eof else ["LIST"])
    assert scan.duration == pytest.approx(8001 / 8000)


def test_partial_sample_frame(tmp_path: Path) -> None:
    chunks = [chunk(b"fmt ", fmt_body(PCM, 2, 8000, 16)), chunk(b"data", b"\x01" * 8002)]
    scan = scan_wav(write_file(tmp_path, "partial.wav", riff(chunks)))
    assert ids(scan) == {"wav.partial_sample_frame"}
    assert scan.duration == 0.25


@pytest.mark.parametrize(
    ("offset", "value", "width", "pid"),
    [(12, 4, 2, "wav.block_align_mismatch"), (8, 12345, 4, "wav.byte_rate_mismatch")],
)
def test_inconsistent_fmt_fields(
    clips: Clips, tmp_path: Path, offset: int, value: int, width: int, pid: str
) -> None:
    path = copy_to(clips.pcm8k, tmp_path, "fmt.wav")
    scan = scan_wav(set_fmt_field(path, offset, value, width=width))
    assert ids(scan) == {pid}
    assert scan.problems[0].severity is ERROR and scan.problems[0].fixable
    assert scan.duration == SECONDS


def test_zero_channels_is_an_invalid_fmt(clips: Clips, tmp_path: Path) -> None:
    scan = scan_wav(set_fmt_field(copy_to(clips.pcm8k, tmp_path, "ch0.wav"), 2, 0))
    assert ids(scan) == {"wav.fmt_invalid"}


# --- structure edge cases (hand-built) -------------------------------------------------------


def _built(
    chunks: list[bytes], *, size: int | None = None, magic: bytes = b"RIFF"
) -> Callable[[Path], Path]:
    def build(directory: Path) -> Path:
        return write_file(directory, "built.wav", riff(chunks, size=size, magic=magic))

    return build


_DS64 = chunk(b"ds64", struct.pack("<QQQI", 0, 16000, 8000, 0))


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (_built([chunk(b"data", bytes(16000))]), {("wav.no_fmt", ERROR)}),
        (_built([chunk(b"fmt ", fmt_body())]), {("wav.no_data", ERROR)}),
        (_built([chunk(b"fmt ", b"\x01\x00"), chunk(b"data", bytes(8))]), {("wav.no_fmt", ERROR)}),
        (
            _built([chunk(b"data", bytes(16000)), chunk(b"fmt ", fmt_body())]),
            {("wav.fmt_after_data", WARNING)},
        ),
        (
            _built(
                [_DS64, chunk(b"fmt ", fmt_body()), chunk(b"data", bytes(16000), size=0xFFFFFFFF)],
                magic=b"RF64",
                size=0xFFFFFFFF,
            ),
            {("wav.rf64", ERROR)},
        ),
    ],
    ids=["no_fmt", "no_data", "short_fmt", "fmt_after_data", "rf64"],
)
def test_structure_edge_cases(
    tmp_path: Path, build: Callable[[Path], Path], expected: set[tuple[str, Severity]]
) -> None:
    scan = scan_wav(build(tmp_path))
    assert {(p.id, p.severity) for p in scan.problems} == expected


def test_rf64_is_measured_from_ds64(tmp_path: Path) -> None:
    chunks = [_DS64, chunk(b"fmt ", fmt_body()), chunk(b"data", bytes(16000), size=0xFFFFFFFF)]
    scan = scan_wav(_built(chunks, magic=b"RF64", size=0xFFFFFFFF)(tmp_path))
    assert scan.container == "RF64" and scan.data_declared == 16000 and scan.duration == 1.0


# --- not WAV at all -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fixable", "says"),
    [
        ("empty", False, "empty"),
        ("html", False, "HTML"),
        ("random", False, "starts with"),
        ("mp3", True, "MP3"),
        ("rifx", True, "RIFX"),
    ],
)
def test_not_riff(clips: Clips, tmp_path: Path, name: str, fixable: bool, says: str) -> None:
    made = {
        "empty": lambda: write_file(tmp_path, "empty.wav", b""),
        "html": lambda: write_file(tmp_path, "page.wav", HTML_PAGE),
        "random": lambda: write_file(tmp_path, "random.wav", b"\x00\x01" + random_bytes(5000)),
        "mp3": lambda: copy_to(clips.mp3, tmp_path, "really_mp3.wav"),
        "rifx": lambda: write_file(tmp_path, "rifx.wav", b"RIFX" + bytes(40)),
    }
    scan = scan_wav(made[name]())
    assert [(p.id, p.severity, p.fixable) for p in scan.problems] == [
        ("wav.not_riff", ERROR, fixable)
    ]
    assert says in scan.problems[0].message
    assert scan.duration is None and scan.chunks == ()


def test_riff_that_is_not_wave(tmp_path: Path) -> None:
    scan = scan_wav(
        write_file(tmp_path, "clip.wav", b"RIFF\x10\x00\x00\x00AVI LIST\x04\x00\x00\x00abcd")
    )
    assert ids(scan) == {"wav.not_wave"} and scan.form_type == "AVI "


# --- speed ----------------------------------------------------------------------------------


def test_five_megabytes_scan_fast(clips: Clips, tmp_path: Path) -> None:
    src = make_wav(tmp_path, "long.wav", seconds=320, source="silence")
    path = repeat_to_size(src, tmp_path / "big.wav", 5_000_000) if src.stat().st_size < 5e6 else src
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        scan = scan_wav(path)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 0.01
    assert scan.file_size >= 5_000_000 and scan.duration == 320.0


def test_unreadable_path_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        scan_wav(tmp_path / "missing.wav")


def test_an_unpadded_odd_chunk_before_the_audio_is_an_error(tmp_path: Path) -> None:
    """Quick mode said ``ok`` for this WAV, which ffmpeg cannot open: one byte off after the
    odd-sized LIST chunk, it never finds ``data``. Padded, or after the audio, it is fine."""
    from audioprep.audio.inspect import InspectOptions, Verdict, inspect_file

    fmt, audio = chunk(b"fmt ", fmt_body(PCM, 1, 8000, 16)), chunk(b"data", bytes(16000))
    odd = chunk(b"LIST", b"INFOabcde", pad=False)
    before = write_file(tmp_path, "before.wav", riff([fmt, odd, audio]))
    quick = inspect_file(before, options=InspectOptions(quick=True))
    assert quick.verdict is Verdict.UNUSABLE
    assert [p.id for p in quick.errors] == ["wav.odd_chunk_no_pad"]
    assert inspect_file(before).verdict is Verdict.UNUSABLE  # ffmpeg agrees
    padded = write_file(tmp_path, "padded.wav", riff([fmt, chunk(b"LIST", b"INFOabcde"), audio]))
    after = write_file(tmp_path, "after.wav", riff([fmt, audio, odd]))
    assert ids(scan_wav(padded)) == set()
    assert ids(scan_wav(after), ERROR) == set() and "wav.odd_chunk_no_pad" in ids(scan_wav(after))
