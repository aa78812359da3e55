"""audioprep.sniff: containers from bytes, on synthetic heads and on real ffmpeg output."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import pytest

from audioprep.audio import ffmpeg
from audioprep.audio.sniff import (
    SNIFF_BYTES,
    Container,
    content_type_for,
    content_type_matches,
    is_accepted,
    is_audio,
    sniff,
    sniff_file,
)
from audioprep.errors import ToolError
from tests.support.audio_factory import write_file


def _mpeg_frames(header: bytes, length: int, count: int = 3) -> bytes:
    return (header + bytes(length - 4)) * count


# MPEG-1 Layer III 128 kbit/s 44.1 kHz: 417-byte frames.
MP3_FRAMES = _mpeg_frames(b"\xff\xfb\x90\x00", 417)
# MPEG-2.5 Layer III 8 kbit/s 8 kHz: 72 * 8000 / 8000 = 72-byte frames.
MP3_25_FRAMES = _mpeg_frames(b"\xff\xe3\x18\x00", 72)
# MPEG-1 Layer II 128 kbit/s 44.1 kHz: 417-byte frames.
MP2_FRAMES = _mpeg_frames(b"\xff\xfd\x80\x00", 417)


def _adts(count: int = 3, length: int = 100) -> bytes:
    # AAC-LC, 44.1 kHz (index 4), stereo, no CRC; 13-bit frame length in bytes 3-5.
    header = bytes(
        [0xFF, 0xF1, 0x50, 0x80 | (length >> 11), (length >> 3) & 0xFF, ((length & 7) << 5) | 0x1F]
    )
    return (header + b"\xfc" + bytes(length - 7)) * count


def _id3(size: int, then: bytes = b"") -> bytes:
    synchsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x04\x00\x00" + synchsafe + bytes(size) + then


def _wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(160))
    return buf.getvalue()


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"", Container.EMPTY),
        (MP3_FRAMES, Container.MP3),
        (MP3_25_FRAMES, Container.MP3),
        (b"\xff\xfb\x90\x00" + bytes(413), Container.MP3),  # a one-frame file
        (MP3_FRAMES[:417] + b"TAG" + bytes(125), Container.MP3),  # one frame + ID3v1
        (bytes(300) + MP3_FRAMES, Container.MP3),  # padding before the first frame
        (_id3(20, MP3_FRAMES), Container.MP3),
        (_id3(100_000), Container.MP3),  # tag larger than the head: trust it
        (_id3(20, _adts()), Container.AAC),  # ID3 in front of AAC is still AAC
        (_id3(20, b"fLaC\x00\x00\x00\x22"), Container.FLAC),
        (MP2_FRAMES, Container.MP2),
        (_adts(), Container.AAC),
        (_wav(), Container.WAV),
        (b"RF64\xff\xff\xff\xffWAVEds64", Container.RF64),
        (b"BW64\xff\xff\xff\xffWAVEds64", Container.RF64),
        (b"RIFF\x24\x00\x00\x00AVI LIST", Container.UNKNOWN),
        (b"OggS\x00\x02" + bytes(20), Container.OGG),
        (b"fLaC\x00\x00\x00\x22", Container.FLAC),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00", Container.MP4),
        (b"FORM\x00\x00\x10\x00AIFFCOMM", Container.AIFF),
        (b"FORM\x00\x00\x10\x00AIFCFVER", Container.AIFF),
        (b"#!AMR\n" + bytes(10), Container.AMR),
        (b"#!AMR-WB\n" + bytes(10), Container.AMR),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", Container.MATROSKA),
        (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9", Container.ASF),
        (b".snd\x00\x00\x00\x18", Container.AU),
        (b"<!DOCTYPE html>\n<html><body>404</body></html>", Container.HTML),
        (b"\xef\xbb\xbf  <HTML><HEAD><TITLE>Login</TITLE>", Container.HTML),
        (b'<?xml version="1.0"?>\n<Error><Code>AccessDenied</Code></Error>', Container.XML),
        (b'<?xml version="1.0"?><!DOCTYPE html><html xmlns="x">', Container.HTML),
        (b'{"error": "not found"}', Container.JSON),
        (b'[{"a": 1}]', Container.JSON),
        (b"Not Found\n", Container.TEXT),
        (b"I'm free text, caf\xc3\xa9", Container.TEXT),
        (b"I'm free text, caf\xc3", Container.TEXT),  # cut mid-character by the head
        (b"<html><body>caf\xe9 (latin-1)</body></html>", Container.HTML),
        (b"caf\xe9 caf\xe9 caf\xe9", Container.UNKNOWN),  # not UTF-8
        (bytes(range(256)) * 16, Container.UNKNOWN),
        (bytes(4096), Container.ZEROS),  # named for what it is, not "unknown"
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", Container.IMAGE),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", Container.IMAGE),
        (b"GIF89a\x01\x00", Container.IMAGE),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", Container.IMAGE),
        (b"PK\x03\x04\x14\x00", Container.ARCHIVE),
        (b"\x1f\x8b\x08\x00", Container.ARCHIVE),
        (b"%PDF-1.7\n", Container.PDF),
        (b"RIFX\x00\x00\x00\x24WAVEfmt ", Container.RIFX),
        (b"BMW prompt text", Container.TEXT),
    ],
)
def test_sniff(head: bytes, expected: Container) -> None:
    assert sniff(head) is expected


def test_adts_is_never_mp3() -> None:
    assert sniff(_adts()) is Container.AAC
    assert sniff(bytes(10) + _adts()) is Container.AAC


def test_a_lone_sync_word_is_not_mp3() -> None:
    # A plausible header whose "next frame" is garbage: a false sync, common in binary data.
    fake = b"\xff\xfb\x90\x00" + bytes(413) + b"\x12\x34\x56\x78" + bytes(100)
    assert sniff(fake) is Container.UNKNOWN


def test_frames_must_agree() -> None:
    # Second header present but with another sample rate: not a stream.
    mixed = b"\xff\xfb\x90\x00" + bytes(413) + b"\xff\xfb\x94\x00" + bytes(100)
    assert sniff(mixed) is Container.UNKNOWN


def test_reserved_and_free_format_headers_are_rejected() -> None:
    for header in (
        b"\xff\xfb\xf0\x00",
        b"\xff\xfb\x00\x00",
        b"\xff\xfb\x9c\x00",
        b"\xff\xeb\x90\x00",
    ):
        assert sniff(_mpeg_frames(header, 417)) is Container.UNKNOWN


def test_sniff_is_fast_on_hostile_bytes() -> None:
    # Every byte a sync candidate: still linear and quick.
    assert sniff(b"\xff" * SNIFF_BYTES) is Container.UNKNOWN
    assert sniff(b"\xff\xfb\x90\x00" * (SNIFF_BYTES // 4)) is Container.UNKNOWN


def test_only_the_head_counts() -> None:
    # A 100 KB tag (cover art) hides what follows it; the whole file sniffs like its head.
    tagged_aac = _id3(100_000, _adts())
    assert sniff(tagged_aac) is sniff(tagged_aac[:SNIFF_BYTES]) is Container.MP3


def test_sniff_file_reads_only_the_head(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(MP3_FRAMES * 1000)
    assert sniff_file(path) is Container.MP3
    assert sniff_file(str(path)) is Container.MP3
    with pytest.raises(FileNotFoundError):
        sniff_file(tmp_path / "missing.mp3")


def test_helpers() -> None:
    assert content_type_for(Container.MP3) == "audio/mpeg"
    assert content_type_for(Container.WAV) == "audio/wav"
    assert content_type_for(Container.UNKNOWN) is None
    assert content_type_for(Container.EMPTY) is None
    assert content_type_matches(Container.MP3, "audio/mpeg")
    assert content_type_matches(Container.MP3, "Audio/MPEG; charset=binary")
    assert content_type_matches(Container.WAV, "audio/x-wav")
    assert not content_type_matches(Container.MP3, "audio/x-wav")
    assert not content_type_matches(Container.MP3, "binary/octet-stream")
    assert not content_type_matches(Container.MP3, None)
    assert is_accepted(Container.MP3) and is_accepted(Container.WAV)
    assert not is_accepted(Container.RF64) and not is_accepted(Container.OGG)
    assert is_audio(Container.OGG) and is_audio(Container.MP2)
    assert not is_audio(Container.HTML) and not is_audio(Container.UNKNOWN)
    assert all(container.label for container in Container)


# Real encoder output: (file name, ffmpeg output options, expected container).
REAL = [
    ("cbr.mp3", ["-c:a", "libmp3lame", "-b:a", "128k"], Container.MP3),
    ("vbr-noid3.mp3", ["-c:a", "libmp3lame", "-q:a", "5", "-id3v2_version", "0"], Container.MP3),
    ("mono8k.mp3", ["-c:a", "libmp3lame", "-ar", "8000", "-ac", "1", "-b:a", "16k"], Container.MP3),
    (
        "noxing.mp3",
        ["-c:a", "libmp3lame", "-write_xing", "0", "-id3v2_version", "0"],
        Container.MP3,
    ),
    ("pcm.wav", ["-c:a", "pcm_s16le"], Container.WAV),
    ("ulaw.wav", ["-c:a", "pcm_mulaw", "-ar", "8000"], Container.WAV),
    ("rf64.wav", ["-c:a", "pcm_s16le", "-rf64", "always"], Container.RF64),
    ("a.flac", ["-c:a", "flac"], Container.FLAC),
    ("a.ogg", ["-c:a", "libvorbis"], Container.OGG),
    ("a.opus", ["-c:a", "libopus"], Container.OGG),
    ("a.m4a", ["-c:a", "aac"], Container.MP4),
    ("a.aac", ["-c:a", "aac", "-f", "adts"], Container.AAC),
    ("a.aiff", ["-c:a", "pcm_s16be"], Container.AIFF),
    ("a.mp2", ["-c:a", "mp2"], Container.MP2),
    ("a.au", ["-c:a", "pcm_mulaw"], Container.AU),
    ("a.wma", ["-c:a", "wmav2"], Container.ASF),
    ("a.webm", ["-c:a", "libopus"], Container.MATROSKA),
]


@pytest.mark.parametrize(("name", "options", "expected"), REAL, ids=[r[0] for r in REAL])
def test_real_files(tmp_path: Path, name: str, options: list[str], expected: Container) -> None:
    codec = options[options.index("-c:a") + 1]
    try:
        if codec not in ffmpeg.encoders():
            pytest.skip(f"this ffmpeg has no {codec} encoder")
    except ToolError:
        pytest.skip("no ffmpeg")
    out = tmp_path / name
    proc = ffmpeg.run(["-v", "error", "-f", "lavfi", "-i", "sine=duration=0.5", *options, str(out)])
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert sniff_file(out) is expected


def test_by_signature_reads_only_what_the_first_bytes_announce() -> None:
    from audioprep.audio.sniff import by_signature

    assert by_signature(b"") is None
    assert by_signature(MP3_FRAMES) is None  # frames are found by scanning, not announced
    assert sniff(MP3_FRAMES) is Container.MP3
    assert by_signature(_id3(20, MP3_FRAMES)) is Container.MP3
    assert by_signature(b"RIFF\x00\x00\x00\x00WAVE") is Container.WAV
    assert by_signature(b'  {"error": "gone"}') is Container.JSON
    assert by_signature(bytes(SNIFF_BYTES) + b"OggS") is None  # past the sniffed head


# -- the scanners name a file that is not theirs as sniff does ------------------------------


@pytest.mark.parametrize(
    ("head", "container"),
    [
        (b'{"error": "not found"}', Container.JSON),
        (b"<!DOCTYPE html><html><body>gone</body></html>", Container.HTML),
        (b"fLaC" + bytes(60), Container.FLAC),
        (b"OggS" + bytes(60), Container.OGG),
        (b".snd" + bytes(60), Container.AU),
        (b"\x1a\x45\xdf\xa3" + bytes(60), Container.MATROSKA),
    ],
    ids=lambda value: value.value if isinstance(value, Container) else "",
)
def test_wav_and_mp3_scans_name_foreign_files_like_sniff(
    tmp_path: Path, head: bytes, container: Container
) -> None:
    from audioprep.audio.mp3scan import scan_mp3
    from audioprep.audio.wavscan import scan_wav

    assert sniff(head) is container
    (wav_problem,) = scan_wav(write_file(tmp_path, "prompt.wav", head)).problems
    assert wav_problem.message == f"not a RIFF/WAVE file: it is {container.label}"
    assert wav_problem.fixable is is_audio(container)
    mp3 = scan_mp3(write_file(tmp_path, "prompt.mp3", head))
    assert mp3.foreign_format is container
    (mp3_problem,) = mp3.problems
    assert f"the file is {container.label}, not an MP3" in mp3_problem.message
    assert mp3_problem.fixable is is_audio(container)
