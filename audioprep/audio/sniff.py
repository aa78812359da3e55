"""Content sniffing: what container a file really is, from its first bytes.

This module owns one question: *what kind of file is this?*, answered from magic numbers and
frame headers, never from a name, an extension or a Content-Type. It is pure (no I/O except
:func:`sniff_file` reading one small head), allocation-light and fast enough to run on every
download. It does not judge the audio (sample rate, codec inside a WAV, damage further in):
that belongs to the inspector and :mod:`audioprep.audio.mp3scan`.

MP3 is recognised by an ID3v2 tag, or by an MPEG audio frame header that is plausible *and*
followed by a second one exactly where the first frame's length says. ADTS AAC (also
``0xFFF``-synced) and MPEG Layer I/II are told apart from MP3.
"""

from __future__ import annotations

import codecs
import os
from enum import StrEnum
from typing import NamedTuple

from audioprep.api import AUDIO_EXTENSIONS

#: How many leading bytes :func:`sniff` needs to decide; :func:`sniff_file` reads this many.
SNIFF_BYTES = 4096


class Container(StrEnum):
    """What a byte stream is. Values are short, lower-case and stable (used in JSON)."""

    MP3 = "mp3"
    WAV = "wav"
    RF64 = "rf64"
    OGG = "ogg"
    FLAC = "flac"
    MP4 = "mp4"
    AIFF = "aiff"
    AMR = "amr"
    MATROSKA = "matroska"
    AAC = "aac"
    MP2 = "mp2"
    ASF = "asf"
    AU = "au"
    RIFX = "rifx"
    HTML = "html"
    XML = "xml"
    JSON = "json"
    TEXT = "text"
    IMAGE = "image"
    ARCHIVE = "archive"
    PDF = "pdf"
    ZEROS = "zeros"
    EMPTY = "empty"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        """A human description for messages (``"Ogg audio (Vorbis/Opus)"``)."""
        return _LABELS[self]


_LABELS: dict[Container, str] = {
    Container.MP3: "MP3 audio",
    Container.WAV: "WAV audio",
    Container.RF64: "RF64 (64-bit WAV) audio",
    Container.OGG: "Ogg audio (Vorbis/Opus)",
    Container.FLAC: "FLAC audio",
    Container.MP4: "MP4/M4A audio",
    Container.AIFF: "AIFF audio",
    Container.AMR: "AMR audio",
    Container.MATROSKA: "Matroska/WebM media",
    Container.AAC: "raw AAC (ADTS) audio",
    Container.MP2: "MPEG Layer I/II audio (not MP3)",
    Container.ASF: "WMA/ASF media",
    Container.AU: "Sun/NeXT .au audio",
    Container.RIFX: "big-endian WAV (RIFX) audio",
    Container.HTML: "an HTML page",
    Container.XML: "an XML document",
    Container.JSON: "a JSON document",
    Container.TEXT: "plain text",
    Container.IMAGE: "an image (PNG, JPEG, GIF or WebP)",
    Container.ARCHIVE: "an archive (ZIP, gzip, 7-Zip, RAR or xz)",
    Container.PDF: "a PDF document",
    Container.ZEROS: "only zero bytes (a file never written, or wiped)",
    Container.EMPTY: "nothing (0 bytes)",
    Container.UNKNOWN: "unrecognised binary data",
}

_AUDIO = frozenset(
    {
        Container.MP3,
        Container.WAV,
        Container.RF64,
        Container.OGG,
        Container.FLAC,
        Container.MP4,
        Container.AIFF,
        Container.AMR,
        Container.MATROSKA,
        Container.AAC,
        Container.MP2,
        Container.ASF,
        Container.AU,
        Container.RIFX,
    }
)

# The canonical Content-Type first, then aliases servers commonly send for the same format.
_CONTENT_TYPES: dict[Container, tuple[str, ...]] = {
    Container.MP3: (
        "audio/mpeg",
        "audio/mp3",
        "audio/mpeg3",
        "audio/mpg",
        "audio/x-mp3",
        "audio/x-mpeg",
        "audio/x-mpeg-3",
    ),
    Container.WAV: ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "audio/x-pn-wav"),
    Container.OGG: ("audio/ogg", "application/ogg", "audio/opus", "audio/vorbis"),
    Container.FLAC: ("audio/flac", "audio/x-flac"),
    Container.MP4: ("audio/mp4", "audio/m4a", "audio/x-m4a", "video/mp4"),
    Container.AIFF: ("audio/aiff", "audio/x-aiff"),
    Container.AMR: ("audio/amr", "audio/amr-wb"),
    Container.MATROSKA: ("audio/x-matroska", "audio/webm", "video/webm", "video/x-matroska"),
    Container.AAC: ("audio/aac", "audio/aacp", "audio/x-aac"),
    Container.MP2: ("audio/mpeg",),
    Container.ASF: ("audio/x-ms-wma", "video/x-ms-asf"),
    Container.AU: ("audio/basic", "audio/au"),
    Container.HTML: ("text/html", "application/xhtml+xml"),
    Container.XML: ("application/xml", "text/xml"),
    Container.JSON: ("application/json",),
    Container.TEXT: ("text/plain",),
}


def is_audio(container: Container) -> bool:
    """True for any audio/media container (accepted by the API or not)."""
    return container in _AUDIO


def is_accepted(container: Container) -> bool:
    """True for the containers the Voice API takes (MP3 and WAV, per :mod:`audioprep.api`)."""
    return container.value in AUDIO_EXTENSIONS


def content_type_for(container: Container) -> str | None:
    """The Content-Type to serve ``container`` with (``audio/mpeg``, ``audio/wav``...).

    ``None`` when there is no meaningful type (empty, unknown, RF64).
    """
    types = _CONTENT_TYPES.get(container)
    return types[0] if types else None


def content_type_matches(container: Container, header: str | None) -> bool:
    """Whether a Content-Type header value (parameters ignored) fits ``container``.

    Aliases count as a match (``audio/x-wav`` for WAV); a generic type such as
    ``application/octet-stream`` or a missing header does not.
    """
    if not header:
        return False
    media_type = header.split(";", 1)[0].strip().lower()
    return media_type in _CONTENT_TYPES.get(container, ())


def sniff_file(path: str | os.PathLike[str]) -> Container:
    """Sniff the first :data:`SNIFF_BYTES` of the file at ``path`` (``OSError`` if unreadable)."""
    with open(path, "rb") as fh:
        return sniff(fh.read(SNIFF_BYTES))


def sniff(head: bytes) -> Container:
    """Identify the container from the first bytes of a file.

    Only the first :data:`SNIFF_BYTES` are looked at, so passing a whole file gives the same
    answer as :func:`sniff_file`. Never raises; what it cannot place is ``UNKNOWN``.
    """
    if not head:
        return Container.EMPTY
    head = head[:SNIFF_BYTES]
    if not head.strip(b"\x00"):
        return Container.ZEROS
    found = _by_magic(head) or _by_frames(head, 0)
    if found is not None:
        return found
    text = _by_text(head)
    if text is not None:
        return text
    return _scan_frames(head) or Container.UNKNOWN


def by_signature(head: bytes) -> Container | None:
    """What ``head`` announces by its leading bytes alone (a magic number, an ID3v2 tag, a
    RIFF form, an ISO-BMFF box, markup or JSON), without looking for audio frames in it;
    ``None`` when it announces nothing. :mod:`audioprep.audio.mp3scan` uses it to name the other
    container a file starts as (MPEG audio found by scanning does not count)."""
    head = head[:SNIFF_BYTES]
    if not head:
        return None
    return _by_magic(head) or _by_text(head)


# --------------------------------------------------------------------------------------------
# Magic numbers
# --------------------------------------------------------------------------------------------

_PREFIXES: tuple[tuple[bytes, Container], ...] = (
    (b"OggS", Container.OGG),
    (b"fLaC", Container.FLAC),
    (b"#!AMR", Container.AMR),
    (b"\x1a\x45\xdf\xa3", Container.MATROSKA),
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", Container.ASF),
    (b".snd", Container.AU),
    (b"\x89PNG\r\n\x1a\n", Container.IMAGE),
    (b"\xff\xd8\xff", Container.IMAGE),
    (b"GIF87a", Container.IMAGE),
    (b"GIF89a", Container.IMAGE),
    (b"PK\x03\x04", Container.ARCHIVE),
    (b"PK\x05\x06", Container.ARCHIVE),
    (b"\x1f\x8b", Container.ARCHIVE),
    (b"7z\xbc\xaf\x27\x1c", Container.ARCHIVE),
    (b"Rar!\x1a\x07", Container.ARCHIVE),
    (b"\xfd7zXZ\x00", Container.ARCHIVE),
    (b"%PDF-", Container.PDF),
)
_RIFF_LIKE: tuple[tuple[bytes, bytes, Container], ...] = (
    (b"RIFF", b"WAVE", Container.WAV),
    (b"RF64", b"WAVE", Container.RF64),
    (b"BW64", b"WAVE", Container.RF64),
    (b"RIFX", b"WAVE", Container.RIFX),
    (b"RIFF", b"WEBP", Container.IMAGE),
    (b"FORM", b"AIFF", Container.AIFF),
    (b"FORM", b"AIFC", Container.AIFF),
)
_MP4_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide")


def _by_magic(head: bytes) -> Container | None:
    prefixed = _by_magic_prefix(head)
    if prefixed is not None:
        return prefixed
    for magic, form, container in _RIFF_LIKE:
        if head.startswith(magic) and head[8:12] == form:
            return container
    # An ISO-BMFF box: a 32-bit big-endian size (first byte 0 for any sane box), then its type.
    if head[0] == 0 and head[4:8] in _MP4_BOXES:
        return Container.MP4
    return _by_id3(head)


def _by_id3(head: bytes, depth: int = 0) -> Container | None:
    """An ID3v2 tag means MP3, unless the bytes after it are clearly another format."""
    if not (head.startswith(b"ID3") and len(head) >= 10 and head[3] in (2, 3, 4)):
        return None
    if head[4] == 0xFF or any(b & 0x80 for b in head[6:10]):
        return None
    size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
    end = 10 + size + (10 if head[5] & 0x10 else 0)
    rest = head[end:]
    if not rest or depth >= 3:
        return Container.MP3
    after = _by_id3(rest, depth + 1) or _by_magic_prefix(rest) or _scan_frames(rest)
    if after is not None and is_audio(after):
        return after
    return Container.MP3


def _by_magic_prefix(data: bytes) -> Container | None:
    for magic, container in _PREFIXES:
        if data.startswith(magic):
            return container
    return None


# --------------------------------------------------------------------------------------------
# MPEG audio and ADTS frames
# --------------------------------------------------------------------------------------------


class _Frame(NamedTuple):
    """The parts of a frame header that must repeat, plus where the next frame starts."""

    kind: Container
    stream: tuple[int, int, int]
    length: int


# Sample rates by the header's 2-bit version field (3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5).
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
# kbit/s by (is MPEG-1, layer), indexed by the 4-bit bitrate field; 0 (free format) and 15
# (invalid) are rejected before lookup.
_KBPS: dict[tuple[bool, int], tuple[int, ...]] = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_ADTS_RATES = 13  # sampling-frequency indexes 0..12 are defined


def _mpeg_frame(data: bytes, pos: int) -> _Frame | None:
    """Parse an MPEG audio frame header at ``pos``; None unless every field is plausible."""
    if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    b1, b2, b3 = data[pos + 1], data[pos + 2], data[pos + 3]
    version, layer = (b1 >> 3) & 3, 4 - ((b1 >> 1) & 3)  # layer field 3/2/1 → Layer I/II/III
    bitrate_index, rate_index = b2 >> 4, (b2 >> 2) & 3
    if version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    if b3 & 3 == 2:  # reserved emphasis
        return None
    mpeg1 = version == 3
    bitrate = _KBPS[(mpeg1, layer)][bitrate_index] * 1000
    rate = _MPEG_RATES[version][rate_index]
    padding = (b2 >> 1) & 1
    if layer == 1:
        length = (12 * bitrate // rate + padding) * 4
    else:
        factor = 72 if layer == 3 and not mpeg1 else 144
        length = factor * bitrate // rate + padding
    kind = Container.MP3 if layer == 3 else Container.MP2
    return _Frame(kind, (version, layer, rate_index), length)


def _adts_frame(data: bytes, pos: int) -> _Frame | None:
    """Parse an ADTS (AAC) header at ``pos``: 12-bit sync, layer 0, a sane frame length."""
    if pos + 7 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xF6 != 0xF0:
        return None
    rate_index = (data[pos + 2] >> 2) & 0x0F
    length = ((data[pos + 3] & 0x03) << 11) | (data[pos + 4] << 3) | (data[pos + 5] >> 5)
    if rate_index >= _ADTS_RATES or length < 7:
        return None
    return _Frame(Container.AAC, (0, 0, rate_index), length)


def _confirmed(data: bytes, pos: int, first: _Frame | None) -> Container | None:
    """``first`` at ``pos`` counts only if the next header sits where its length says."""
    if first is None:
        return None
    nxt = pos + first.length
    if pos == 0 and (nxt == len(data) or data.startswith(b"TAG", nxt)):
        return first.kind  # a one-frame file, or one frame then an ID3v1 tag
    parse = _adts_frame if first.kind is Container.AAC else _mpeg_frame
    second = parse(data, nxt)
    if second is not None and second.stream == first.stream:
        return first.kind
    return None


def _by_frames(data: bytes, pos: int) -> Container | None:
    return _confirmed(data, pos, _mpeg_frame(data, pos)) or _confirmed(
        data, pos, _adts_frame(data, pos)
    )


def _scan_frames(data: bytes) -> Container | None:
    """Find the first confirmed frame pair anywhere in ``data`` (junk or padding before it)."""
    pos = data.find(b"\xff")
    while pos != -1:
        found = _by_frames(data, pos)
        if found is not None:
            return found
        pos = data.find(b"\xff", pos + 1)
    return None


# --------------------------------------------------------------------------------------------
# Text: HTML error pages, XML (S3 errors), JSON, plain text
# --------------------------------------------------------------------------------------------

# Bytes that never occur in text: C0 controls except tab, LF, FF, CR; and DEL.
_BINARY_BYTES = bytes([*range(0, 9), 11, *range(14, 32), 127])
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body")


def _by_text(head: bytes) -> Container | None:
    """Markup in any 8-bit encoding; JSON and plain text only when valid UTF-8."""
    data = head.removeprefix(b"\xef\xbb\xbf")
    if any(b in data for b in _BINARY_BYTES):
        return None
    start = data.lstrip()[:1024].lower()
    if start.startswith(b"<"):
        if any(marker in start for marker in _HTML_MARKERS):
            return Container.HTML
        return Container.XML
    if not _is_utf8(data):
        return None
    if start.startswith((b"{", b"[")):
        return Container.JSON
    return Container.TEXT


def _is_utf8(data: bytes) -> bool:
    """Valid UTF-8, allowing the head to end in the middle of a character."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True
