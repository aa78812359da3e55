"""Audio fixtures for tests: real files made with ffmpeg, hand-built WAVs, and damage helpers.

Generators write into a directory the caller owns (a ``tmp_path``/``tmp_path_factory`` dir) and
return the new file's path. Damage helpers edit a file *in place* and return its path, so they
chain; when the original is shared (a session fixture), clone it first with :func:`copy_to`::

    cut = truncate(copy_to(clean_mp3, tmp_path, "cut.mp3"), 0.5)

ffmpeg is the project's own (:func:`audioprep.audio.ffmpeg.run`); nothing is downloaded, nothing
needs ffprobe, and random data is seeded so every run makes the same bytes. Import it as
``from tests.support.audio_factory import make_mp3, truncate, ...``; wrap generation in a
session-scoped fixture (``tmp_path_factory``) so each file is made once per run.
"""

from __future__ import annotations

import array
import math
import random
import shutil
import struct
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from audioprep.audio.ffmpeg import run

HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n"
    b"<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p>"
    b"</body></html>\n"
)

#: WAVE format tags (``wFormatTag``).
PCM = 0x0001
ADPCM_MS = 0x0002
FLOAT = 0x0003
ALAW = 0x0006
MULAW = 0x0007
ADPCM_IMA = 0x0011
MPEG_L3 = 0x0055
EXTENSIBLE = 0xFFFE


# --- generators (ffmpeg) --------------------------------------------------------------------


def _lavfi_source(source: str, rate: int, frequency: float) -> str:
    if source == "sine":
        return f"sine=frequency={frequency}:sample_rate={rate}"
    if source == "noise":
        return f"anoisesrc=color=pink:amplitude=0.3:seed=7:sample_rate={rate}"
    if source == "silence":
        return f"anullsrc=sample_rate={rate}"
    return source  # a raw lavfi graph


def ffmpeg_make(out: Path, args: Sequence[str]) -> Path:
    """Run ffmpeg with ``args`` (output path appended) and fail loudly if nothing came out.

    An input whose encoder the ffmpeg under test lacks (Debian's has no libopencore_amrnb) is
    made with the ``imageio-ffmpeg`` wheel's binary instead: the product still reads it with
    the ffmpeg it found. Where neither has the encoder, the test is skipped, saying why.
    """
    cmd = ["-v", "error", "-y", *args, str(out)]
    proc = run(cmd)
    if proc.returncode != 0 and b"Unknown encoder" in proc.stderr:
        proc = _with_bundled(cmd)
        if proc.returncode != 0 and b"Unknown encoder" in proc.stderr:
            reason = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1]
            pytest.skip(f"no ffmpeg here can make {out.name} ({reason})")
    if proc.returncode != 0 or not out.is_file():
        tail = proc.stderr.decode("utf-8", "replace")[-800:]
        raise RuntimeError(f"ffmpeg could not make {out.name}: {tail}")
    return out


def make_tone(
    directory: Path,
    name: str,
    *,
    seconds: float = 5.0,
    rate: int = 44100,
    channels: int = 1,
    codec: str | None = None,
    bitrate: str | None = None,
    quality: float | None = None,
    container: str | None = None,
    source: str = "sine",
    frequency: float = 440.0,
    extra: Sequence[str] = (),
) -> Path:
    """Encode ``seconds`` of a generated signal into ``directory/name``.

    Args:
        source: ``"sine"``, ``"noise"`` (seeded pink noise, makes VBR really vary),
            ``"silence"``, or any raw lavfi graph.
        codec: ``-c:a`` (``libmp3lame``, ``pcm_s16le``, ``pcm_mulaw``, ``adpcm_ms``...);
            ``None`` lets ffmpeg choose from the extension.
        bitrate: ``-b:a`` (``"128k"``); quality: ``-q:a`` (LAME VBR, 0 best .. 9).
        container: ``-f`` (e.g. ``"mp2"``, ``"wav"``) when the extension must not decide.
        extra: more output options, e.g. ``["-write_xing", "0", "-id3v2_version", "0"]``.
    """
    args = ["-f", "lavfi", "-i", _lavfi_source(source, rate, frequency), "-t", f"{seconds:g}"]
    args += ["-ac", str(channels), "-ar", str(rate)]
    if codec:
        args += ["-c:a", codec]
    if bitrate:
        args += ["-b:a", bitrate]
    if quality is not None:
        args += ["-q:a", f"{quality:g}"]
    args += list(extra)
    if container:
        args += ["-f", container]
    return ffmpeg_make(Path(directory) / name, args)


def _with_bundled(cmd: Sequence[str]) -> subprocess.CompletedProcess[bytes]:
    import imageio_ffmpeg

    return subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), *cmd], capture_output=True, check=False, timeout=120
    )


def make_mp3(
    directory: Path,
    name: str,
    *,
    seconds: float = 5.0,
    rate: int = 44100,
    channels: int = 2,
    bitrate: str | None = "128k",
    vbr_quality: float | None = None,
    xing: bool = True,
    id3: bool = True,
    source: str = "sine",
) -> Path:
    """An MP3 made by LAME: CBR at ``bitrate`` or VBR at ``vbr_quality`` (then bitrate is ignored).

    ``xing=False`` omits the Xing/Info frame, ``id3=False`` the ID3v2 tag ffmpeg writes.
    """
    extra = [] if xing else ["-write_xing", "0"]
    extra += [] if id3 else ["-id3v2_version", "0"]
    return make_tone(
        directory,
        name,
        seconds=seconds,
        rate=rate,
        channels=channels,
        codec="libmp3lame",
        bitrate=None if vbr_quality is not None else bitrate,
        quality=vbr_quality,
        source=source,
        extra=extra,
    )


def make_wav(
    directory: Path,
    name: str,
    *,
    seconds: float = 5.0,
    rate: int = 8000,
    channels: int = 1,
    codec: str = "pcm_s16le",
    source: str = "sine",
) -> Path:
    """A WAV written by ffmpeg's muxer (``codec``: ``pcm_s16le``, ``pcm_f32le``, ``pcm_mulaw``,
    ``pcm_alaw``, ``adpcm_ms``, ``adpcm_ima_wav``, ``libmp3lame``...)."""
    return make_tone(
        directory,
        name,
        seconds=seconds,
        rate=rate,
        channels=channels,
        codec=codec,
        source=source,
        container="wav",
    )


def add_cover_art(src: Path, dst: Path, *, size: int = 64) -> Path:
    """Copy MP3 ``src`` to ``dst`` with a ``size``×``size`` PNG as an ID3v2 APIC picture."""
    cover = ffmpeg_make(
        Path(dst).with_suffix(".cover.png"),
        ["-f", "lavfi", "-i", f"testsrc=size={size}x{size}", "-frames:v", "1"],
    )
    args = ["-i", str(src), "-i", str(cover), "-map", "0:a", "-map", "1:v", "-c:a", "copy"]
    args += ["-c:v", "png", "-disposition:v", "attached_pic", "-id3v2_version", "3"]
    return ffmpeg_make(Path(dst), args)


# --- plain files ----------------------------------------------------------------------------


def write_file(directory: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``directory/name``."""
    path = Path(directory) / name
    path.write_bytes(data)
    return path


def random_bytes(n: int, *, seed: int = 0) -> bytes:
    """``n`` reproducible pseudo-random bytes."""
    return random.Random(seed).randbytes(n)


def copy_to(src: Path, directory: Path, name: str) -> Path:
    """Copy ``src`` to ``directory/name`` (clone a shared fixture before damaging it)."""
    dst = Path(directory) / name
    shutil.copyfile(src, dst)
    return dst


def concat_files(dst: Path, *parts: Path | bytes) -> Path:
    """Write the bytes of ``parts`` (paths or raw bytes) one after another into ``dst``."""
    with open(dst, "wb") as out:
        for part in parts:
            out.write(part if isinstance(part, bytes) else Path(part).read_bytes())
    return Path(dst)


def repeat_to_size(src: Path, dst: Path, size: int) -> Path:
    """Repeat ``src``'s bytes until ``dst`` holds at least ``size`` bytes (big, fast fixtures)."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data * (size // len(data) + 1))
    return Path(dst)


# --- damage (in place) ----------------------------------------------------------------------


def truncate(path: Path, fraction: float | None = None, *, size: int | None = None) -> Path:
    """Keep only the first ``fraction`` of the file (or its first ``size`` bytes)."""
    total = Path(path).stat().st_size
    keep = size if size is not None else int(total * (fraction if fraction is not None else 1))
    with open(path, "r+b") as handle:
        handle.truncate(keep)
    return Path(path)


def drop_tail(path: Path, n: int) -> Path:
    """Cut the last ``n`` bytes."""
    return truncate(path, size=Path(path).stat().st_size - n)


def overwrite(path: Path, offset: int, data: bytes) -> Path:
    """Overwrite bytes at ``offset`` with ``data`` (the file keeps its size unless it grows)."""
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)
    return Path(path)


def overwrite_random(path: Path, offset: int, n: int, *, seed: int = 0) -> Path:
    """Overwrite ``n`` bytes at ``offset`` with seeded random garbage."""
    return overwrite(path, offset, random_bytes(n, seed=seed))


def zero_range(path: Path, offset: int, n: int) -> Path:
    """Overwrite ``n`` bytes at ``offset`` with zeroes."""
    return overwrite(path, offset, bytes(n))


def insert_bytes(path: Path, offset: int, data: bytes) -> Path:
    """Insert ``data`` at ``offset``, shifting the rest of the file."""
    raw = Path(path).read_bytes()
    Path(path).write_bytes(raw[:offset] + data + raw[offset:])
    return Path(path)


def append_bytes(path: Path, data: bytes) -> Path:
    """Append ``data`` at the end of the file."""
    with open(path, "ab") as handle:
        handle.write(data)
    return Path(path)


def set_u32le(path: Path, offset: int, value: int) -> Path:
    """Write a little-endian 32-bit value at ``offset`` (RIFF sizes, sample rates...)."""
    return overwrite(path, offset, struct.pack("<I", value))


def set_u16le(path: Path, offset: int, value: int) -> Path:
    """Write a little-endian 16-bit value at ``offset`` (format tag, block align...)."""
    return overwrite(path, offset, struct.pack("<H", value))


# --- WAV anatomy ----------------------------------------------------------------------------


def find_chunk(path: Path, chunk_id: bytes) -> int:
    """Offset of the header of the first ``chunk_id`` chunk in a RIFF file (walks the chunks)."""
    raw = Path(path).read_bytes()
    pos = 12
    while pos + 8 <= len(raw):
        if raw[pos : pos + 4] == chunk_id:
            return pos
        size = struct.unpack_from("<I", raw, pos + 4)[0]
        pos += 8 + size + (size & 1)
    raise LookupError(f"no {chunk_id!r} chunk in {path}")


def set_riff_size(path: Path, value: int) -> Path:
    """Overwrite the RIFF header's size field."""
    return set_u32le(path, 4, value)


def set_data_size(path: Path, value: int) -> Path:
    """Overwrite the ``data`` chunk's size field."""
    return set_u32le(path, find_chunk(path, b"data") + 4, value)


def set_fmt_field(path: Path, field_offset: int, value: int, *, width: int = 2) -> Path:
    """Overwrite a ``fmt `` field at ``field_offset`` inside the chunk body (0 = format tag,
    2 = channels, 4 = sample rate, 8 = byte rate, 12 = block align, 14 = bits per sample)."""
    offset = find_chunk(path, b"fmt ") + 8 + field_offset
    return set_u32le(path, offset, value) if width == 4 else set_u16le(path, offset, value)


def fmt_body(
    tag: int = PCM,
    channels: int = 1,
    rate: int = 8000,
    bits: int = 16,
    *,
    block_align: int | None = None,
    byte_rate: int | None = None,
    extension: bytes | None = None,
) -> bytes:
    """A ``fmt `` chunk body; ``extension`` (after cbSize) makes it an 18+ byte WAVEFORMATEX."""
    align = block_align if block_align is not None else channels * ((bits + 7) // 8)
    rate_bytes = byte_rate if byte_rate is not None else rate * align
    body = struct.pack("<HHIIHH", tag, channels, rate, rate_bytes, align, bits)
    if extension is not None:
        body += struct.pack("<H", len(extension)) + extension
    return body


def extensible_fmt(channels: int, rate: int, bits: int, subformat: int) -> bytes:
    """A WAVE_FORMAT_EXTENSIBLE ``fmt `` body whose GUID holds ``subformat`` (1 PCM, 3 float)."""
    guid = (
        struct.pack("<H", subformat) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    )
    ext = struct.pack("<HI", bits, 0) + guid
    return fmt_body(EXTENSIBLE, channels, rate, bits, extension=ext)


def chunk(chunk_id: bytes, body: bytes, *, size: int | None = None, pad: bool = True) -> bytes:
    """One RIFF chunk; ``size`` overrides the declared size, ``pad=False`` drops the pad byte."""
    declared = len(body) if size is None else size
    tail = b"\x00" if pad and len(body) % 2 else b""
    return chunk_id + struct.pack("<I", declared) + body + tail


def riff(chunks: Sequence[bytes], *, size: int | None = None, magic: bytes = b"RIFF") -> bytes:
    """A RIFF/WAVE file from ready-made ``chunks``; ``size`` overrides the RIFF size field."""
    body = b"WAVE" + b"".join(chunks)
    return magic + struct.pack("<I", len(body) if size is None else size) + body


def pcm_wav_bytes(seconds: float = 1.0, rate: int = 8000, channels: int = 1) -> bytes:
    """A plain 16-bit PCM WAV (44-byte header) of a quiet square wave, built in Python."""
    frames = int(seconds * rate)
    one = struct.pack("<h", 3000) * channels
    other = struct.pack("<h", -3000) * channels
    audio = b"".join(one if (i // 20) % 2 else other for i in range(frames))
    return riff([chunk(b"fmt ", fmt_body(PCM, channels, rate, 16)), chunk(b"data", audio)])


def float_wav_bytes(seconds: float = 1.0, rate: int = 44100, channels: int = 2) -> bytes:
    """A 32-bit float WAV (format tag 3, with the ``fact`` chunk non-PCM formats carry) of a
    440 Hz tone at half scale, built in Python: ffmpeg's muxer writes tag 3 or
    WAVE_FORMAT_EXTENSIBLE depending on its version."""
    frames = int(seconds * rate)
    tone = array.array(
        "f",
        (
            0.5 * math.sin(2 * math.pi * 440 * i / rate)
            for i in range(frames)
            for _ in range(channels)
        ),
    )
    fmt = fmt_body(FLOAT, channels, rate, 32, extension=b"")
    fact = chunk(b"fact", struct.pack("<I", frames))
    return riff([chunk(b"fmt ", fmt), fact, chunk(b"data", tone.tobytes())])


def id3v2_tag(*, title: str = "prompt", picture_bytes: int = 0, padding: int = 0) -> bytes:
    """A minimal ID3v2.3 tag with a TIT2 frame and, if asked, an APIC frame of that size."""

    def frame(frame_id: bytes, body: bytes) -> bytes:
        return frame_id + struct.pack(">I", len(body)) + b"\x00\x00" + body

    frames = frame(b"TIT2", b"\x00" + title.encode("latin-1"))
    if picture_bytes:
        head = b"\x00image/png\x00\x03\x00"
        frames += frame(b"APIC", head + bytes(max(0, picture_bytes - len(head))))
    body = frames + bytes(padding)
    size = len(body)
    syncsafe = bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))
    return b"ID3\x03\x00\x00" + syncsafe + body


def id3v1_tag(title: str = "prompt") -> bytes:
    """A 128-byte ID3v1 tag (as appended at the end of an MP3)."""
    return b"TAG" + title.encode("latin-1")[:30].ljust(30, b"\x00") + bytes(94) + b"\xff"


def apev2_tag(value: str = "prompt") -> bytes:
    """An APEv2 tag with a header, one ``Title`` item and a footer (as appended to an MP3)."""
    item = struct.pack("<II", len(value), 0) + b"Title\x00" + value.encode()
    size = len(item) + 32

    def block(flags: int) -> bytes:
        return b"APETAGEX" + struct.pack("<IIII", 2000, size, 1, flags) + bytes(8)

    return block(0xA0000000) + item + block(0x80000000)
