"""scan_mp3 on real ffmpeg-made MP3s, on damaged copies of them, and on files that are not MP3.

Every file is generated once per session; damage is applied to copies. Intact files must give
no error (no false alarms) and facts that match how they were made.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from audioprep.audio.ffmpeg import find_ffmpeg
from audioprep.audio.mp3scan import BitrateMode, Mp3Scan, scan_mp3
from audioprep.audio.sniff import Container
from audioprep.errors import ToolError
from audioprep.models import Severity
from tests.support.audio_factory import (
    HTML_PAGE,
    add_cover_art,
    apev2_tag,
    append_bytes,
    concat_files,
    copy_to,
    drop_tail,
    id3v1_tag,
    id3v2_tag,
    insert_bytes,
    make_mp3,
    make_tone,
    make_wav,
    overwrite_random,
    random_bytes,
    repeat_to_size,
    truncate,
    write_file,
    zero_range,
)

SECONDS = 10.0
LAME_DELAY = 1105  # samples LAME puts before the audio (576 + 529)


@dataclass(frozen=True)
class Clips:
    """The session's generated files."""

    cbr: Path  # 10 s, 44.1 kHz stereo, 128k CBR, ID3v2 + LAME Info frame
    cbr_bare: Path  # same signal, no Xing frame, no ID3 tag
    mono16: Path  # 5 s, 16 kHz mono 32k: MPEG-2
    vbr: Path  # 10 s pink noise, -q:a 2, Xing frame
    vbr_bare: Path  # same without Xing frame
    other_rate: Path  # 5 s, 22.05 kHz stereo, no Xing, no ID3
    mp2: Path  # MPEG-1 Layer II named .mp3
    ogg: Path  # Vorbis named .mp3
    wav: Path  # PCM WAV named .mp3
    mp3_in_wav: Path  # RIFF/WAVE holding MPEG audio (format tag 0x55)


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Clips:
    try:
        find_ffmpeg()
    except ToolError as exc:
        pytest.skip(f"needs ffmpeg: {exc}")
    d = tmp_path_factory.mktemp("mp3")
    return Clips(
        cbr=make_mp3(d, "cbr.mp3", seconds=SECONDS),
        cbr_bare=make_mp3(d, "cbr_bare.mp3", seconds=SECONDS, xing=False, id3=False),
        mono16=make_mp3(d, "mono16.mp3", seconds=5, rate=16000, channels=1, bitrate="32k"),
        vbr=make_mp3(d, "vbr.mp3", seconds=SECONDS, vbr_quality=2, source="noise"),
        vbr_bare=make_mp3(
            d, "vbr_bare.mp3", seconds=SECONDS, vbr_quality=2, source="noise", xing=False
        ),
        other_rate=make_mp3(d, "r22.mp3", seconds=5, rate=22050, xing=False, id3=False),
        mp2=make_tone(d, "mp2.mp3", seconds=5, rate=44100, codec="mp2", container="mp2"),
        ogg=make_tone(d, "ogg.mp3", seconds=5, codec="libvorbis", container="ogg"),
        wav=make_wav(d, "pcm.mp3", seconds=5),
        mp3_in_wav=make_wav(d, "mp3in.wav", seconds=5, rate=44100, codec="libmp3lame"),
    )


def ids(scan: Mp3Scan, severity: Severity | None = None) -> set[str]:
    return {p.id for p in scan.problems if severity is None or p.severity is severity}


def frame_seconds(scan: Mp3Scan) -> float:
    return scan.duration / scan.frames


def problem(scan: Mp3Scan, pid: str) -> str:
    found = [p for p in scan.problems if p.id == pid]
    assert found, f"{pid} not in {ids(scan)}"
    return found[0].message


# --- intact files: facts, and no false alarms ------------------------------------------------


@pytest.mark.parametrize("name", ["cbr", "cbr_bare", "mono16", "vbr"])
def test_intact_files_have_no_errors_and_honest_durations(clips: Clips, name: str) -> None:
    path = getattr(clips, name)
    scan = scan_mp3(path)
    assert ids(scan, Severity.ERROR) == set()
    assert ids(scan, Severity.WARNING) == set()
    expected = 5.0 if name == "mono16" else SECONDS
    # Counted frames also play LAME's 1105-sample delay and the padding of the last frame.
    rate = scan.sample_rate or 1
    spf = frame_seconds(scan) * rate
    assert expected <= scan.duration <= expected + (LAME_DELAY + spf) / rate
    assert scan.resyncs == scan.trailing_junk == scan.junk_before == 0
    assert scan.truncated_frame is None
    assert scan.file_size == path.stat().st_size
    if scan.vbr_header is not None:
        assert scan.vbr_header.frames == scan.frames
        assert scan.vbr_header.stream_bytes == scan.stream_bytes


def test_cbr_stereo_facts(clips: Clips) -> None:
    scan = scan_mp3(clips.cbr)
    assert (scan.mpeg_version, scan.layer, scan.sample_rate) == ("1", 3, 44100)
    assert (scan.channels, scan.channel_mode) == (2, "joint_stereo")
    assert scan.bitrate_mode is BitrateMode.CBR
    assert scan.avg_bitrate == scan.min_bitrate == scan.max_bitrate == 128_000
    assert scan.vbr_header is not None and scan.vbr_header.kind == "Info"
    assert scan.id3v2_size > 0 and scan.id3v2_version == "2.4"
    assert scan.first_frame_offset == scan.id3v2_size
    assert scan.audio_bytes == scan.stream_bytes - scan.vbr_header.frame_length
    assert not scan.has_picture and not scan.id3v1 and scan.apev2_size == 0


def test_mpeg2_mono_facts(clips: Clips) -> None:
    scan = scan_mp3(clips.mono16)
    assert (scan.mpeg_version, scan.sample_rate, scan.channels) == ("2", 16000, 1)
    assert scan.channel_mode == "mono"
    assert scan.avg_bitrate == 32_000
    assert scan.duration == pytest.approx(scan.frames * 576 / 16000)


def test_vbr_with_xing_facts(clips: Clips) -> None:
    scan = scan_mp3(clips.vbr)
    assert scan.bitrate_mode is BitrateMode.VBR
    assert scan.min_bitrate < scan.avg_bitrate < scan.max_bitrate
    assert scan.vbr_header is not None and scan.vbr_header.kind == "Xing"


def test_vbr_without_header_is_a_warning(clips: Clips) -> None:
    scan = scan_mp3(clips.vbr_bare)
    assert ids(scan, Severity.WARNING) == {"mp3.vbr_without_header"}
    assert ids(scan, Severity.ERROR) == set()
    assert scan.frames == scan_mp3(clips.vbr).frames


def test_tags_at_both_ends_are_not_junk(clips: Clips, tmp_path: Path) -> None:
    path = concat_files(tmp_path / "tags.mp3", clips.cbr, apev2_tag(), id3v1_tag())
    scan = scan_mp3(path)
    assert scan.id3v1 and scan.apev2_size == 84
    assert scan.problems == ()
    assert scan.frames == scan_mp3(clips.cbr).frames


def test_cover_art_is_measured(clips: Clips, tmp_path: Path) -> None:
    scan = scan_mp3(add_cover_art(clips.cbr, tmp_path / "art.mp3"))
    assert scan.has_picture and scan.picture_bytes > 100
    assert ids(scan) == {"mp3.embedded_picture"}
    assert ids(scan, Severity.INFO) == {"mp3.embedded_picture"}


def test_picture_size_from_a_handmade_tag(clips: Clips, tmp_path: Path) -> None:
    path = concat_files(tmp_path / "pic.mp3", id3v2_tag(picture_bytes=5000), clips.cbr_bare)
    scan = scan_mp3(path)
    assert scan.picture_bytes == 5000
    assert scan.id3v2_version == "2.3" and scan.first_frame_offset == scan.id3v2_size


# --- damage ---------------------------------------------------------------------------------


def test_cbr_cut_in_half_is_caught_by_the_info_frame(clips: Clips, tmp_path: Path) -> None:
    full = scan_mp3(clips.cbr)
    scan = scan_mp3(truncate(copy_to(clips.cbr, tmp_path, "half.mp3"), 0.5))
    assert ids(scan, Severity.ERROR) >= {"mp3.xing_frames_mismatch"}
    assert scan.vbr_header is not None and scan.vbr_header.frames == full.frames
    assert scan.duration == pytest.approx(full.duration / 2, abs=2 * frame_seconds(full))
    assert f"claims {full.frames} frames" in problem(scan, "mp3.xing_frames_mismatch")


def test_vbr_cut_in_half_is_caught(clips: Clips, tmp_path: Path) -> None:
    full = scan_mp3(clips.vbr)
    scan = scan_mp3(truncate(copy_to(clips.vbr, tmp_path, "vhalf.mp3"), 0.5))
    assert "mp3.xing_frames_mismatch" in ids(scan, Severity.ERROR)
    assert scan.frames < full.frames * 0.75


def test_last_frame_truncated(clips: Clips, tmp_path: Path) -> None:
    scan = scan_mp3(drop_tail(copy_to(clips.cbr_bare, tmp_path, "cut.mp3"), 100))
    assert ids(scan, Severity.ERROR) == {"mp3.truncated_frame"}
    cut = scan.truncated_frame
    assert cut is not None and cut.expected in (417, 418)
    assert cut.present == cut.expected - 100
    assert f"{cut.present} of {cut.expected} bytes present" in problem(scan, "mp3.truncated_frame")
    assert scan.frames == scan_mp3(clips.cbr_bare).frames - 1


def test_random_garbage_mid_file_forces_a_resync(clips: Clips, tmp_path: Path) -> None:
    size = clips.cbr.stat().st_size
    path = overwrite_random(copy_to(clips.cbr, tmp_path, "garbled.mp3"), size // 2, 4096, seed=1)
    scan = scan_mp3(path)
    assert ids(scan, Severity.ERROR) == {"mp3.resync", "mp3.xing_frames_mismatch"}
    assert scan.resyncs == 1
    assert 4096 - 418 <= scan.resync_bytes <= 4096 + 418
    assert scan.frames < scan_mp3(clips.cbr).frames


def test_zeroed_region_forces_a_resync(clips: Clips, tmp_path: Path) -> None:
    size = clips.cbr.stat().st_size
    scan = scan_mp3(zero_range(copy_to(clips.cbr, tmp_path, "zeroed.mp3"), size // 3, 20_000))
    assert "mp3.resync" in ids(scan, Severity.ERROR)
    assert 20_000 - 418 <= scan.resync_bytes <= 20_000 + 418


def test_junk_before_first_frame(clips: Clips, tmp_path: Path) -> None:
    path = copy_to(clips.cbr, tmp_path, "junk_before.mp3")
    tag_size = scan_mp3(path).id3v2_size
    scan = scan_mp3(insert_bytes(path, tag_size, random_bytes(300, seed=3)))
    assert ids(scan) == {"mp3.junk_before"}
    assert scan.junk_before == 300
    assert scan.first_frame_offset == tag_size + 300


def test_trailing_junk(clips: Clips, tmp_path: Path) -> None:
    path = append_bytes(copy_to(clips.cbr, tmp_path, "tail.mp3"), random_bytes(500, seed=4))
    scan = scan_mp3(path)
    assert ids(scan) == {"mp3.trailing_junk"}
    assert scan.trailing_junk == 500


def test_glued_files_show_inner_tag_and_wrong_count(clips: Clips, tmp_path: Path) -> None:
    scan = scan_mp3(concat_files(tmp_path / "glued.mp3", clips.cbr, clips.cbr))
    single = scan_mp3(clips.cbr)
    assert scan.inner_tags == 1 and scan.frames == 2 * single.frames
    assert ids(scan, Severity.WARNING) == {"mp3.inner_tag"}
    assert ids(scan, Severity.ERROR) == {"mp3.xing_frames_mismatch"}


def test_sample_rate_change_is_a_mixed_stream(clips: Clips, tmp_path: Path) -> None:
    path = concat_files(tmp_path / "mixed.mp3", clips.cbr_bare, clips.other_rate)
    scan = scan_mp3(path)
    assert ids(scan, Severity.ERROR) == {"mp3.mixed_stream"}
    assert scan.stream_changes == 1
    expected = scan_mp3(clips.cbr_bare).duration + scan_mp3(clips.other_rate).duration
    assert scan.duration == pytest.approx(expected)


def test_layer_2_is_not_mp3(clips: Clips) -> None:
    scan = scan_mp3(clips.mp2)
    assert scan.layer == 2 and scan.frames > 100
    assert ids(scan, Severity.ERROR) == {"mp3.layer_not_3"}


def test_mp3_wrapped_in_riff(clips: Clips) -> None:
    scan = scan_mp3(clips.mp3_in_wav)
    assert scan.frames > 100 and scan.foreign_format is Container.WAV
    assert ids(scan, Severity.ERROR) == {"mp3.not_mpeg_file"}


# --- not MP3 at all -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fixable", "says"),
    [
        ("empty", False, "empty"),
        ("id3_only", False, "only an ID3v2 tag"),
        ("random", False, "parses as MPEG audio"),
        ("html", False, "HTML"),
        ("ogg", True, "Ogg"),
        ("wav", True, "is WAV audio"),
    ],
)
def test_not_mp3_gives_no_frames(
    clips: Clips, tmp_path: Path, name: str, fixable: bool, says: str
) -> None:
    made = {
        "empty": lambda: write_file(tmp_path, "empty.mp3", b""),
        "id3_only": lambda: write_file(tmp_path, "tag.mp3", id3v2_tag(padding=1000)),
        "random": lambda: write_file(tmp_path, "random.mp3", random_bytes(500_000, seed=5)),
        "html": lambda: write_file(tmp_path, "page.mp3", HTML_PAGE * 50),
        "ogg": lambda: clips.ogg,
        "wav": lambda: clips.wav,
    }
    scan = scan_mp3(made[name]())
    assert scan.frames == 0 and scan.duration == 0.0
    assert [(p.id, p.severity, p.fixable) for p in scan.problems] == [
        ("mp3.no_frames", Severity.ERROR, fixable)
    ]
    assert says in scan.problems[0].message


def test_id3_tag_larger_than_the_file(tmp_path: Path) -> None:
    scan = scan_mp3(truncate(write_file(tmp_path, "t.mp3", id3v2_tag(padding=4000)), size=500))
    assert ids(scan) == {"mp3.no_frames"}
    assert "claims" in scan.problems[0].message


# --- speed and shape ------------------------------------------------------------------------


def test_five_megabytes_scan_fast(clips: Clips, tmp_path: Path) -> None:
    path = repeat_to_size(clips.cbr_bare, tmp_path / "big.mp3", 5_000_000)
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        scan = scan_mp3(path)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 0.1
    assert scan.problems == () and scan.frames > 11_000


def test_five_megabytes_of_random_bytes_scan_fast(tmp_path: Path) -> None:
    path = write_file(tmp_path, "noise.mp3", random_bytes(5_000_000, seed=9))
    start = time.perf_counter()
    scan = scan_mp3(path)
    assert time.perf_counter() - start < 0.5
    assert ids(scan) == {"mp3.no_frames"}


def test_problem_ids_are_stable_names(clips: Clips, tmp_path: Path) -> None:
    paths = [clips.vbr_bare, clips.mp2, clips.ogg, clips.mp3_in_wav]
    paths.append(truncate(copy_to(clips.cbr, tmp_path, "h.mp3"), 0.5))
    for path in paths:
        for found in scan_mp3(path).problems:
            assert found.id.startswith("mp3.") and found.id.islower()
            assert found.message and "\n" not in found.message


def test_unreadable_path_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        scan_mp3(tmp_path / "missing.mp3")
