"""WAV structural scanner: walks the RIFF chunks of a file and measures the audio really present.

This module owns the byte-level truth about a WAV file: the RIFF header against the file size,
every chunk and where it ends, the ``fmt `` fields and whether they agree with each other, and
how many bytes of audio the ``data`` chunk really holds, which gives the exact duration. It
trusts no size field: header-trusting readers report a cut file at full length and a
streaming recorder's file as empty or hours long, and this scanner exists to catch that. It
reads headers only (through ``mmap``), spawns no process and never modifies the file. Damage is
reported as :class:`~audioprep.models.Problem` values in :attr:`WavScan.problems`; only an
unreadable file raises (``OSError``).
"""

from __future__ import annotations

import logging
import mmap
import os
import re
import struct
from dataclasses import dataclass, field, replace

from audioprep.audio.sniff import SNIFF_BYTES, Container, is_audio, sniff
from audioprep.models import Problem, Severity

log = logging.getLogger(__name__)

_U32 = struct.Struct("<I")
_U16 = struct.Struct("<H")
_PLACEHOLDERS = (0, 0xFFFFFFFF)
_CHUNK_ID = re.compile(rb"[\x20-\x7e]{4}")
#: No real WAV has this many chunks; past it the rest of the file counts as junk, so crafted
#: input cannot make a scan slow.
_MAX_CHUNKS = 4096

#: WAVE format tags (``wFormatTag``) this module names.
PCM = 0x0001
ADPCM_MS = 0x0002
FLOAT = 0x0003
ALAW = 0x0006
MULAW = 0x0007
ADPCM_IMA = 0x0011
MPEG_L3 = 0x0055
EXTENSIBLE = 0xFFFE
#: Formats whose samples have a fixed size, so duration is bytes / block align / rate.
_FIXED_SIZE = frozenset({PCM, FLOAT, ALAW, MULAW})
_ADPCM = frozenset({ADPCM_MS, ADPCM_IMA})
_CODEC_IDS = {
    ADPCM_MS: "adpcm_ms",
    ALAW: "pcm_alaw",
    MULAW: "pcm_mulaw",
    ADPCM_IMA: "adpcm_ima_wav",
    0x31: "gsm_ms",
    0x50: "mp2",
    MPEG_L3: "mp3",
}
_CODEC_NAMES = {
    ADPCM_MS: "MS ADPCM",
    ALAW: "A-law (G.711)",
    MULAW: "µ-law (G.711)",
    ADPCM_IMA: "IMA ADPCM",
    0x31: "GSM 6.10",
    0x50: "MPEG Layer I/II",
    MPEG_L3: "MPEG Layer III (MP3 in WAV)",
}


@dataclass(frozen=True, slots=True)
class Chunk:
    """One RIFF chunk: its four-character id, the offset of its header, its declared size."""

    id: str
    offset: int
    size: int


@dataclass(frozen=True, slots=True)
class WavScan:
    """Facts measured from the chunks of one file, and the problems they reveal.

    ``format_tag`` is the ``fmt `` chunk's tag and ``subformat`` the tag inside a
    WAVE_FORMAT_EXTENSIBLE GUID; :attr:`codec_tag` is whichever applies, :attr:`codec` its
    ffmpeg name and :attr:`codec_name` a readable one. ``data_offset`` is where
    the first audio byte is. ``duration`` comes from the bytes really present and
    ``declared_duration`` from the size fields, i.e. what a metadata reader will believe
    (seconds; ``None`` when the format does not allow computing it). ``chunks_end`` is where
    the last chunk ends by its size field (beyond ``file_size`` when the file was cut);
    ``unpadded_chunks`` lists odd-sized chunks missing their pad byte and ``cut_chunk`` a
    non-audio chunk that runs past the end of the file.
    """

    path: str
    file_size: int
    container: str | None = None
    form_type: str | None = None
    riff_size: int | None = None
    chunks: tuple[Chunk, ...] = ()
    format_tag: int | None = None
    subformat: int | None = None
    channels: int | None = None
    sample_rate: int | None = None
    byte_rate: int | None = None
    block_align: int | None = None
    bits_per_sample: int | None = None
    samples_per_block: int | None = None
    data_offset: int | None = None
    data_declared: int | None = None
    data_present: int = 0
    fact_samples: int | None = None
    duration: float | None = None
    declared_duration: float | None = None
    streaming_header: bool = False
    chunks_end: int = 12
    trailing_junk: int = 0
    unpadded_chunks: tuple[str, ...] = ()
    cut_chunk: str | None = None
    fmt_after_data: bool = False
    problems: tuple[Problem, ...] = ()

    @property
    def codec_tag(self) -> int | None:
        """The effective format tag: the subformat of an extensible header, else the tag."""
        if self.format_tag == EXTENSIBLE and self.subformat is not None:
            return self.subformat
        return self.format_tag

    @property
    def codec(self) -> str | None:
        """ffmpeg's name for the audio encoding, e.g. ``"pcm_s16le"``, ``"pcm_mulaw"``."""
        tag = self.codec_tag
        return None if tag is None else _codec_id(tag, self.bits_per_sample or 0)

    @property
    def codec_name(self) -> str | None:
        """A readable name of the audio encoding, e.g. ``"PCM 16-bit"`` or ``"µ-law (G.711)"``."""
        tag = self.codec_tag
        return None if tag is None else _codec_name(tag, self.bits_per_sample)


def _codec_id(tag: int, bits: int) -> str:
    if tag == PCM:
        return "pcm_u8" if bits <= 8 else f"pcm_s{(bits + 7) // 8 * 8}le"
    if tag == FLOAT:
        return f"pcm_f{64 if bits > 32 else 32}le"
    return _CODEC_IDS.get(tag, f"0x{tag:04x}")


def _codec_name(codec: int, bits: int | None) -> str:
    if codec == PCM:
        return f"PCM {bits}-bit"
    if codec == FLOAT:
        return f"IEEE float {bits}-bit"
    return _CODEC_NAMES.get(codec, f"format 0x{codec:04X}")


@dataclass(slots=True)
class _Walk:
    """Mutable findings collected while walking the chunks."""

    chunks: list[Chunk] = field(default_factory=list)
    fmt: tuple[int, int] | None = None
    data: tuple[int, int, int] | None = None
    fact: int | None = None
    ds64_data: int | None = None
    data_placeholder: bool = False
    fmt_after_data: bool = False
    odd_without_pad: list[str] = field(default_factory=list)
    cut_chunk: Chunk | None = None
    end: int = 12
    trailing: int = 0


def _chunk_name(raw: bytes) -> str:
    return raw.decode("latin-1")


def _u32(mm: mmap.mmap, pos: int) -> int:
    return int(_U32.unpack_from(mm, pos)[0])


def _u16(mm: mmap.mmap, pos: int) -> int:
    return int(_U16.unpack_from(mm, pos)[0])


def _is_chunk_at(mm: mmap.mmap, pos: int, size: int) -> bool:
    """Whether a plausible chunk header (printable id, size within the file) starts at ``pos``."""
    if pos + 8 > size or not _CHUNK_ID.fullmatch(mm[pos : pos + 4]):
        return False
    return pos + 8 + _u32(mm, pos + 4) <= size + 1


def _walk_chunks(mm: mmap.mmap, size: int, limit: int) -> _Walk:
    """Walk the chunks after the 12-byte RIFF header up to ``limit`` (RIFF end or file end)."""
    walk = _Walk()
    pos = 12
    while pos + 8 <= limit:
        raw_id, declared = mm[pos : pos + 4], _u32(mm, pos + 4)
        if not _CHUNK_ID.fullmatch(raw_id) or len(walk.chunks) >= _MAX_CHUNKS:
            break
        walk.chunks.append(Chunk(_chunk_name(raw_id), pos, declared))
        body = pos + 8
        if raw_id == b"data" and declared == 0xFFFFFFFF and walk.ds64_data is not None:
            declared = walk.ds64_data
        elif raw_id == b"data" and walk.data is None and _is_placeholder(mm, body, declared, size):
            walk.data = (body, declared, size - body)
            walk.data_placeholder = True
            pos = size
            break
        _record(mm, raw_id, body, declared, size, walk)
        pos = _next_chunk(mm, pos, declared, size, walk)
    walk.end = pos
    walk.trailing = max(0, size - pos)
    return walk


def _is_placeholder(mm: mmap.mmap, body: int, declared: int, size: int) -> bool:
    """Whether a ``data`` size is a streaming recorder's placeholder (0 or 0xFFFFFFFF) with
    audio after it, rather than a real (possibly empty) chunk."""
    if declared == 0xFFFFFFFF:
        return True
    return declared == 0 and body < size and not _is_chunk_at(mm, body, size)


def _record(mm: mmap.mmap, raw_id: bytes, body: int, declared: int, size: int, w: _Walk) -> None:
    present = max(0, min(declared, size - body))
    if raw_id == b"fmt " and w.fmt is None:
        w.fmt = (body, present)
        w.fmt_after_data = w.data is not None
    elif raw_id == b"data" and w.data is None:
        w.data = (body, declared, present)
    elif raw_id == b"fact" and present >= 4:
        w.fact = _u32(mm, body)
    elif raw_id == b"ds64" and present >= 16:
        w.ds64_data = int.from_bytes(mm[body + 8 : body + 16], "little")


def _next_chunk(mm: mmap.mmap, pos: int, declared: int, size: int, w: _Walk) -> int:
    """Offset of the chunk after the one at ``pos`` (beyond ``size`` when the file ends in it)."""
    nxt = pos + 8 + declared
    if nxt > size:
        if w.chunks[-1].id != "data":
            w.cut_chunk = w.chunks[-1]
        return nxt + (declared & 1)
    if declared & 1:
        if nxt == size or (not _is_chunk_at(mm, nxt + 1, size) and _is_chunk_at(mm, nxt, size)):
            w.odd_without_pad.append(w.chunks[-1].id)
            return nxt
        nxt += 1
    return nxt


def _describe(head: bytes) -> tuple[str, bool]:
    """Say what a file that is not RIFF/WAVE looks like, and whether it is some other audio."""
    if not head:
        return "the file is empty (0 bytes)", False
    if head.startswith((b"RIFF", b"RF64")):
        return f"its RIFF header is cut short ({len(head)} bytes)", False
    if head.startswith(b"RIFX"):
        return "it is a big-endian RIFX file, which common readers do not support", True
    found = sniff(head)
    if found is Container.UNKNOWN:
        return f"it starts with {head[:4]!r}", False
    return f"it is {found.label}", is_audio(found)


def scan_wav(path: str | os.PathLike[str]) -> WavScan:
    """Scan a WAV file's chunks and measure the audio it really holds.

    Args:
        path: the file to read; it is never modified.

    Returns:
        The measured facts and the problems found (``problems`` is empty for a clean file).

    Raises:
        OSError: the file cannot be opened or read.
    """
    name = os.fspath(path)
    with open(name, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < 12:
            head = handle.read(SNIFF_BYTES)
            return _with_problems(WavScan(path=name, file_size=size), head)
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return _scan(mm, name, size)


def _scan(mm: mmap.mmap, path: str, size: int) -> WavScan:
    magic, riff_size = mm[0:4], _u32(mm, 4)
    scan = WavScan(path=path, file_size=size)
    if magic not in (b"RIFF", b"RF64", b"BW64"):
        return _with_problems(scan, mm[:SNIFF_BYTES])
    form = _chunk_name(mm[8:12])
    scan = replace(scan, container=magic.decode(), form_type=form, riff_size=riff_size)
    if scan.form_type != "WAVE":
        return _with_problems(scan, mm[:16])
    plain = magic == b"RIFF" and riff_size not in _PLACEHOLDERS and riff_size + 8 <= size
    walk = _walk_chunks(mm, size, riff_size + 8 if plain else size)
    scan = _with_format(scan, mm, walk)
    scan = _with_data(scan, walk)
    log.debug("scanned %s: %d chunks, %s s", path, len(scan.chunks), scan.duration)
    return _with_problems(scan, mm[:16])


def _with_format(scan: WavScan, mm: mmap.mmap, walk: _Walk) -> WavScan:
    """Fill the ``fmt `` fields (left ``None`` when the chunk is missing or too short)."""
    if walk.fmt is None or walk.fmt[1] < 14:
        return scan
    body, n = walk.fmt
    tag, channels, rate, byte_rate, align = struct.unpack_from("<HHIIH", mm, body)
    return replace(
        scan,
        format_tag=tag,
        channels=channels,
        sample_rate=rate,
        byte_rate=byte_rate,
        block_align=align,
        bits_per_sample=_u16(mm, body + 14) if n >= 16 else 0,
        samples_per_block=_u16(mm, body + 18) if tag in _ADPCM and n >= 20 else None,
        subformat=_u16(mm, body + 24) if tag == EXTENSIBLE and n >= 26 else None,
    )


def _with_data(scan: WavScan, walk: _Walk) -> WavScan:
    """Fill the chunk list, the ``data`` facts and both durations."""
    riff_placeholder = scan.container == "RIFF" and scan.riff_size in _PLACEHOLDERS
    scan = replace(
        scan,
        chunks=tuple(walk.chunks),
        fact_samples=walk.fact,
        streaming_header=walk.data_placeholder or riff_placeholder,
        chunks_end=walk.end,
        trailing_junk=walk.trailing,
        unpadded_chunks=tuple(walk.odd_without_pad),
        cut_chunk=None if walk.cut_chunk is None else walk.cut_chunk.id,
        fmt_after_data=walk.fmt_after_data,
    )
    if walk.data is None:
        return scan
    body, declared, present = walk.data
    complete = present >= declared and not walk.data_placeholder
    return replace(
        scan,
        data_offset=body,
        data_declared=declared,
        data_present=present,
        duration=_seconds(scan, present, complete=complete),
        declared_duration=_seconds(scan, declared, complete=True),
    )


def _sample_frame(scan: WavScan) -> int:
    """Bytes per sample frame of a fixed-size format, from channels and bits (0 if unknown)."""
    channels, bits = scan.channels or 0, scan.bits_per_sample or 0
    return channels * ((bits + 7) // 8) if channels and bits else scan.block_align or 0


def _seconds(scan: WavScan, nbytes: int, *, complete: bool) -> float | None:
    """Play time of ``nbytes`` of audio; ``complete`` allows trusting the ``fact`` chunk."""
    rate, codec = scan.sample_rate, scan.codec_tag
    if not rate or codec is None:
        return None
    if codec in _FIXED_SIZE:
        frame = _sample_frame(scan)
        return nbytes // frame / rate if frame else None
    if complete and scan.fact_samples is not None:
        return scan.fact_samples / rate
    spb, align = scan.samples_per_block, scan.block_align
    if codec in _ADPCM and spb and align:
        blocks, rest = divmod(nbytes, align)
        return (blocks * spb + rest * spb // align) / rate
    return nbytes / scan.byte_rate if scan.byte_rate else None


def _error(pid: str, message: str, *, fixable: bool = True) -> Problem:
    return Problem(pid, Severity.ERROR, message, fixable)


def _warning(pid: str, message: str, *, fixable: bool = True) -> Problem:
    return Problem(pid, Severity.WARNING, message, fixable)


def _secs(value: float | None) -> str:
    return "an unknown length" if value is None else f"{value:.2f} s"


def _with_problems(scan: WavScan, head: bytes) -> WavScan:
    return replace(scan, problems=tuple(_problems(scan, head)))


def _problems(scan: WavScan, head: bytes) -> list[Problem]:
    if scan.container is None:
        what, audio = _describe(head)
        return [_error("wav.not_riff", f"not a RIFF/WAVE file: {what}", fixable=audio)]
    if scan.form_type != "WAVE":
        return [
            _error(
                "wav.not_wave",
                f"RIFF file of form type {scan.form_type!r}, not WAVE: not an audio file",
                fixable=False,
            )
        ]
    found = []
    if scan.container != "RIFF":
        found.append(
            _error(
                "wav.rf64",
                f"{scan.container} (64-bit WAV) container, not plain RIFF/WAVE: most "
                "telephony readers and metadata readers cannot open it",
            )
        )
    return [*found, *_chunk_problems(scan), *_data_problems(scan), *_format_problems(scan)]


def _unpadded(scan: WavScan) -> Problem:
    """Odd-sized chunks without their pad byte. Before the ``data`` chunk this is an error:
    a reader that follows the RIFF rules (ffmpeg, and so any decode or fix) lands one byte
    off and never finds the audio, though this walk does."""
    names = ", ".join(repr(name) for name in scan.unpadded_chunks)
    ids = [chunk.id for chunk in scan.chunks]
    data_at = ids.index("data") if "data" in ids else len(ids)
    if any(ids.index(name) < data_at for name in scan.unpadded_chunks if name in ids):
        return _error(
            "wav.odd_chunk_no_pad",
            f"odd-sized chunk(s) {names} before the audio lack the RIFF pad byte: decoders"
            " (ffmpeg among them) lose their place and never find the audio (re-export it)",
            fixable=False,
        )
    return _warning(
        "wav.odd_chunk_no_pad",
        f"odd-sized chunk(s) {names} lack the RIFF pad byte: strict readers lose "
        "their place in the file",
    )


def _chunk_problems(scan: WavScan) -> list[Problem]:
    found = _riff_size_problems(scan)
    if scan.trailing_junk:
        found.append(_trailing_junk(scan))
    if scan.unpadded_chunks:
        found.append(_unpadded(scan))
    if scan.cut_chunk is not None:
        found.append(
            _warning(
                "wav.chunk_past_eof",
                f"the {scan.cut_chunk!r} chunk runs past the end of the file (cut short)",
            )
        )
    return found


def _trailing_junk(scan: WavScan) -> Problem:
    extra = scan.trailing_junk
    message = f"{extra} bytes after the last chunk (offset {scan.file_size - extra}) "
    message += "are not part of the WAV"
    if scan.byte_rate and extra >= scan.byte_rate:
        message += (
            f"; that is {extra / scan.byte_rate:.1f} s at this format: if it is audio, the "
            "data size field is too small and readers stop early"
        )
    return _warning("wav.trailing_junk", message)


def _data_is_placeholder(scan: WavScan) -> bool:
    declared = scan.data_declared
    return declared == 0xFFFFFFFF or (declared == 0 and scan.data_present > 0)


def _data_is_truncated(scan: WavScan) -> bool:
    declared = scan.data_declared
    return declared is not None and declared > scan.data_present and not _data_is_placeholder(scan)


def _riff_size_explained(scan: WavScan, riff_end: int) -> bool:
    """Whether a RIFF end that differs from the file size is already explained (or harmless):
    a chunk cut by the end of the file, a missing final pad byte, or bytes appended after a
    consistent RIFF."""
    size = scan.file_size
    if riff_end > size and (_data_is_truncated(scan) or scan.cut_chunk is not None):
        return True
    if riff_end == size + 1 and scan.chunks_end == size and scan.unpadded_chunks:
        return True
    return riff_end < size and riff_end == scan.chunks_end


def _riff_size_problems(scan: WavScan) -> list[Problem]:
    if scan.container != "RIFF" or scan.riff_size is None or _data_is_placeholder(scan):
        return []
    riff_end, size = scan.riff_size + 8, scan.file_size
    if scan.riff_size in _PLACEHOLDERS:
        detail = f"is a placeholder (0x{scan.riff_size:08X}) left by a streaming recorder"
    elif riff_end == size or _riff_size_explained(scan, riff_end):
        return []
    elif riff_end > size:
        detail = f"declares {riff_end} bytes but the file has only {size}"
    else:
        detail = f"declares {riff_end} bytes but the chunks run to {min(scan.chunks_end, size)}"
    return [
        _error(
            "wav.riff_size_mismatch",
            f"the RIFF size field {detail}: header-trusting readers mis-read the file",
        )
    ]


def _data_problems(scan: WavScan) -> list[Problem]:
    if scan.data_declared is None:
        return [_error("wav.no_data", "no 'data' chunk: the file holds no audio", fixable=False)]
    present, declared = scan.data_present, scan.data_declared
    found = []
    if _data_is_placeholder(scan):
        found.append(
            _error(
                "wav.data_size_placeholder",
                f"the data size field is a placeholder (0x{declared:08X}) left by a streaming "
                f"recorder; {present} bytes ({_secs(scan.duration)}) of audio follow it, but "
                f"header-trusting readers see {_secs(scan.declared_duration)}",
            )
        )
    elif declared > present:
        found.append(
            _error(
                "wav.data_truncated",
                f"data chunk declares {declared} bytes ({_secs(scan.declared_duration)}) but "
                f"only {present} are present ({_secs(scan.duration)}): the file was cut short; "
                f"the API will read {_secs(scan.declared_duration)} from the header",
            )
        )
    if present == 0:
        found.append(
            _error("wav.empty_audio", "the data chunk holds 0 bytes of audio", fixable=False)
        )
    return found


#: Sample rates a real WAV has. Outside them the header lies, and trusting it multiplies the
#: cost of a decode: a 12 KB ADPCM file claiming 1 Hz decoded as 24,432 s (1.2 GB, 31 s).
MIN_RATE = 1_000
MAX_RATE = 768_000


def _format_problems(scan: WavScan) -> list[Problem]:
    if scan.format_tag is None:
        return [_no_fmt(scan)]
    if not (scan.channels and scan.sample_rate and scan.block_align):
        return [
            _error(
                "wav.fmt_invalid",
                f"fmt chunk declares {scan.channels} channel(s), {scan.sample_rate} Hz, "
                f"block align {scan.block_align}: no reader can play that",
                fixable=False,
            )
        ]
    if not MIN_RATE <= scan.sample_rate <= MAX_RATE:
        return [
            _error(
                "wav.sample_rate",
                f"fmt chunk declares {scan.sample_rate:,} Hz, a rate no recorder writes"
                f" ({MIN_RATE:,}-{MAX_RATE:,} Hz): the header lies, so the length and"
                " the sound are unknown (re-export it)",
                fixable=False,
            )
        ]
    found = [*_codec_problems(scan), *_layout_problems(scan)]
    if scan.fmt_after_data:
        found.append(
            _warning(
                "wav.fmt_after_data",
                "the fmt chunk comes after the data chunk: streaming readers cannot decode it",
            )
        )
    return found


def _no_fmt(scan: WavScan) -> Problem:
    short = [c for c in scan.chunks if c.id == "fmt "]
    if scan.cut_chunk == "fmt ":
        why = "the 'fmt ' chunk is cut off by the end of the file"
    else:
        why = f"the 'fmt ' chunk is only {short[0].size} bytes" if short else "no 'fmt ' chunk"
    return _error("wav.no_fmt", f"{why}: the audio format is unknown", fixable=False)


def _codec_problems(scan: WavScan) -> list[Problem]:
    found = []
    name = scan.codec_name
    if scan.format_tag == EXTENSIBLE:
        found.append(
            _warning(
                "wav.extensible",
                f"WAVE_FORMAT_EXTENSIBLE header (0xFFFE, {name}): Python's wave module and "
                "many telephony parsers reject it, and the API's metadata reader may too",
            )
        )
    if scan.codec_tag in (FLOAT, ALAW, MULAW):
        found.append(
            _warning(
                "wav.non_pcm",
                f"audio is {name}, not linear integer PCM: some phone systems and players "
                "cannot play it; 16-bit PCM is the safe choice",
            )
        )
    elif scan.codec_tag != PCM:
        found.append(
            _error(
                "wav.compressed",
                f"audio is {name} inside a WAV: header readers get its length wrong and "
                "most phone systems cannot play it",
            )
        )
    return found


def _layout_problems(scan: WavScan) -> list[Problem]:
    """Block align, byte rate and sample-frame checks for fixed-size sample formats."""
    if scan.codec_tag not in _FIXED_SIZE:
        return []
    frame, rate = _sample_frame(scan), scan.sample_rate or 0
    found = []
    if scan.block_align != frame:
        found.append(
            _error(
                "wav.block_align_mismatch",
                f"block align is {scan.block_align} but {scan.channels} channel(s) of "
                f"{scan.bits_per_sample}-bit samples need {frame}: readers mis-step through "
                "the audio",
            )
        )
    if scan.byte_rate != rate * frame:
        found.append(
            _error(
                "wav.byte_rate_mismatch",
                f"byte rate is {scan.byte_rate} but {rate} Hz × {frame} bytes = {rate * frame}: "
                "readers that trust it get the duration wrong",
            )
        )
    return [*found, *_partial_frame(scan, frame)]


def _partial_frame(scan: WavScan, frame: int) -> list[Problem]:
    if _data_is_truncated(scan) or scan.data_declared is None or not frame:
        return []
    nbytes = scan.data_present if _data_is_placeholder(scan) else scan.data_declared
    extra = nbytes % frame
    if not extra:
        return []
    return [
        _warning(
            "wav.partial_sample_frame",
            f"data holds {nbytes} bytes, not a multiple of the {frame}-byte sample frame: "
            f"the last {extra} byte(s) are a partial sample",
        )
    ]
