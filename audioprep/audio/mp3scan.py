"""MP3 structural scanner: walks every MPEG audio frame header of a file, never decodes audio.

This module owns the byte-level truth about an MP3 file: tags at both ends, where the first frame
really is, how many frames there are and how long they play, whether the stream loses sync,
ends in a cut frame, or disagrees with its own Xing/Info/VBRI header. It trusts no header: the
duration comes from counted frames. It reads through ``mmap`` (memory stays flat for any file
size), spawns no process and never modifies the file. Damage is reported as
:class:`~audioprep.models.Problem` values in :attr:`Mp3Scan.problems`; only an unreadable file
raises (``OSError``).
"""

from __future__ import annotations

import logging
import mmap
import os
import re
import struct
from dataclasses import dataclass, field, replace
from enum import StrEnum

from audioprep.audio.sniff import SNIFF_BYTES, Container, by_signature, is_audio
from audioprep.models import Problem, Severity

log = logging.getLogger(__name__)

_U32 = struct.Struct(">I")

#: Header bits that must stay constant inside one stream: sync, version, layer, sample rate,
#: channel mode. Bitrate, padding, CRC flag and emphasis may vary from frame to frame.
_SIG_MASK = 0xFFFE0CC0
#: Header bits whose change means a different stream (version, layer, sample rate).
_CORE_MASK = 0xFFFE0C00
#: A chain of this many consecutive frames confirms sync (false sync words are common).
_CONFIRM_FRAMES = 4
#: False sync candidates examined in one search before giving up (random data has about one
#: per kilobyte, so this only stops adversarial input).
_MAX_CANDIDATES = 5_000
#: Tolerated difference between a VBR header's frame count and the counted frames (encoders
#: disagree on whether the header frame counts itself).
_COUNT_SLACK = 1

_VERSION_NAMES = {0: "2.5", 2: "2", 3: "1"}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_KBPS = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448, 0),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 0),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256, 0),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0),
}
_CHANNEL_MODES = ("stereo", "joint_stereo", "dual_channel", "mono")

# A candidate frame header: 0xFF, then 111VVLLP with VV != 01 and LL != 00, then a byte whose
# bitrate index is neither 0 (free format) nor 15 and whose sample-rate index is not 3.
_SECOND = bytes(b for b in range(0xE0, 0x100) if (b >> 3) & 3 != 1 and (b >> 1) & 3 != 0)
_THIRD = bytes(b for b in range(256) if 0 < b >> 4 < 15 and (b >> 2) & 3 != 3)
_SYNC_RE = re.compile(b"\xff[" + re.escape(_SECOND) + b"][" + re.escape(_THIRD) + b"]", re.DOTALL)

#: What :func:`audioprep.audio.sniff.by_signature` may call a file without it being another
#: container: MPEG streams (the scan judges those) and plain text (nothing to name).
_NOT_FOREIGN = frozenset({Container.MP3, Container.MP2, Container.AAC, Container.TEXT})


class BitrateMode(StrEnum):
    """Whether every counted frame has the same bitrate."""

    CBR = "cbr"
    VBR = "vbr"


@dataclass(frozen=True, slots=True)
class VbrHeader:
    """A Xing/Info/VBRI header found in the first frame: what it *claims* about the stream.

    ``stream_bytes`` counts from the header frame to the end of the last frame, as LAME and
    ffmpeg write it. ``None`` means the header does not carry that field. ``frame_length`` is
    the size of the header frame itself (not audio).
    """

    kind: str
    offset: int
    frame_length: int
    frames: int | None
    stream_bytes: int | None


@dataclass(frozen=True, slots=True)
class TruncatedFrame:
    """The last frame of the stream, cut short: where it starts and how much of it is left."""

    offset: int
    expected: int
    present: int


@dataclass(frozen=True, slots=True)
class Mp3Scan:
    """Facts measured from the frames of one file, and the problems they reveal.

    Durations are in seconds and bitrates in bits per second, both from counted frames (the
    Xing/Info/VBRI frame is not counted as audio). Stream fields (version, layer, rate,
    channels) describe the first audio frame and are ``None`` when no frame was found.

    Offsets and sizes are in bytes: ``id3v2_size`` is the leading ID3v2 tag(s) as declared,
    ``junk_before`` what lies between them and the first frame, ``stream_bytes`` the span from
    the first frame (VBR header frame included) to the end of the last whole frame, to compare
    with ``vbr_header.stream_bytes``. ``resyncs``/``resync_bytes`` count mid-stream losses of
    sync and the garbage skipped; ``inner_tags`` tags found between frames (files glued
    together); ``stream_changes`` switches of version, layer, sample rate or mono/stereo.
    ``foreign_format`` is the other container the file starts as (e.g. WAV: MPEG in RIFF).
    """

    path: str
    file_size: int
    id3v2_size: int = 0
    id3v2_version: str | None = None
    picture_bytes: int = 0
    id3v1: bool = False
    apev2_size: int = 0
    first_frame_offset: int | None = None
    junk_before: int = 0
    mpeg_version: str | None = None
    layer: int | None = None
    sample_rate: int | None = None
    channel_mode: str | None = None
    channels: int | None = None
    frames: int = 0
    audio_bytes: int = 0
    duration: float = 0.0
    bitrate_mode: BitrateMode | None = None
    avg_bitrate: int = 0
    min_bitrate: int = 0
    max_bitrate: int = 0
    vbr_header: VbrHeader | None = None
    stream_bytes: int = 0
    resyncs: int = 0
    resync_bytes: int = 0
    inner_tags: int = 0
    truncated_frame: TruncatedFrame | None = None
    trailing_junk: int = 0
    stream_changes: int = 0
    foreign_format: Container | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def has_picture(self) -> bool:
        """Whether the ID3v2 tag holds an attached picture (APIC/PIC frame)."""
        return self.picture_bytes > 0


@dataclass(slots=True)
class _Tally:
    """Mutable counters filled while walking the stream."""

    frames: int = 0
    audio_bytes: int = 0
    seconds: float = 0.0
    kbps: dict[int, int] = field(default_factory=dict)
    resyncs: int = 0
    resync_bytes: int = 0
    inner_tags: int = 0
    changes: int = 0
    stream_end: int = 0
    truncated: TruncatedFrame | None = None
    trailing: int = 0


@dataclass(frozen=True, slots=True)
class _Tags:
    """Where the tags leave the audio: ``start``..``end`` is the MPEG area."""

    start: int
    end: int
    id3v2_version: str | None
    picture_bytes: int
    id3v1: bool
    apev2_size: int


def _decode_fields(index: int) -> tuple[int, int, int, int, int] | None:
    """Split the 12 header bits 20..9 into (version bits, layer, bitrate idx, rate idx, pad)."""
    vbits, lbits = index >> 10, (index >> 8) & 3
    br_idx, sr_idx, pad = (index >> 3) & 15, (index >> 1) & 3, index & 1
    if vbits == 1 or lbits == 0 or sr_idx == 3 or br_idx in (0, 15):
        return None
    return vbits, 4 - lbits, br_idx, sr_idx, pad


def _length_for(index: int) -> int:
    fields = _decode_fields(index)
    if fields is None:
        return 0
    vbits, layer, br_idx, sr_idx, pad = fields
    bps = _KBPS[(vbits == 3, layer)][br_idx] * 1000
    rate = _SAMPLE_RATES[vbits][sr_idx]
    if layer == 1:
        return (12 * bps // rate + pad) * 4
    factor = 72 if layer == 3 and vbits != 3 else 144
    return factor * bps // rate + pad


#: Frame length in bytes indexed by header bits 20..9; 0 marks an invalid header.
_FRAME_LENGTHS: tuple[int, ...] = tuple(_length_for(i) for i in range(4096))


def _frame_length(hdr: int) -> int:
    """Length of the frame starting with header ``hdr``, or 0 if it is not a valid header."""
    if hdr >> 21 != 0x7FF or hdr & 3 == 2:
        return 0
    return _FRAME_LENGTHS[(hdr >> 9) & 0xFFF]


def _version_bits(hdr: int) -> int:
    return (hdr >> 19) & 3


def _layer(hdr: int) -> int:
    return 4 - ((hdr >> 17) & 3)


def _sample_rate(hdr: int) -> int:
    return _SAMPLE_RATES[_version_bits(hdr)][(hdr >> 10) & 3]


def _samples_per_frame(hdr: int) -> int:
    layer = _layer(hdr)
    if layer == 1:
        return 384
    return 576 if layer == 3 and _version_bits(hdr) != 3 else 1152


def _is_mono(hdr: int) -> bool:
    return (hdr >> 6) & 3 == 3


def _header_at(mm: mmap.mmap, pos: int, end: int) -> int | None:
    return _U32.unpack_from(mm, pos)[0] if pos + 4 <= end else None


def _is_stream_change(old: int, new: int) -> bool:
    """Whether two headers belong to different streams (not just another stereo mode)."""
    return bool((old ^ new) & _CORE_MASK) or _is_mono(old) != _is_mono(new)


def _chain_ok(mm: mmap.mmap, pos: int, end: int) -> bool:
    """Whether ``pos`` starts :data:`_CONFIRM_FRAMES` consecutive frames of one stream.

    Near the end of the data a shorter chain counts if it ends exactly at ``end`` (one frame
    or more) or ends in a cut frame after at least two whole ones.
    """
    if pos + 4 > end:
        return False
    first = _U32.unpack_from(mm, pos)[0]
    count = 0
    while count < _CONFIRM_FRAMES:
        if pos + 4 > end:
            return count >= (1 if pos == end else 2)
        hdr = _U32.unpack_from(mm, pos)[0]
        size = _frame_length(hdr)
        if not size or _is_stream_change(first, hdr):
            return False
        if pos + size > end:
            return count >= 2
        pos += size
        count += 1
    return True


def _find_sync(mm: mmap.mmap, pos: int, end: int) -> int | None:
    """Offset of the first confirmed frame at or after ``pos``, or ``None``.

    Gives up after :data:`_MAX_CANDIDATES` false candidates, so that adversarial data made of
    repeated header-like words cannot make a scan slow; what is left counts as junk.
    """
    for _ in range(_MAX_CANDIDATES):
        match = _SYNC_RE.search(mm, pos, end)
        if match is None:
            return None
        pos = match.start()
        if _chain_ok(mm, pos, end):
            return pos
        pos += 1
    log.debug("gave up looking for MPEG sync after %d candidates", _MAX_CANDIDATES)
    return None


def _run(mm: mmap.mmap, pos: int, end: int, sig: int, tally: _Tally) -> int:
    """Walk consecutive frames of stream ``sig`` from ``pos``; return where the walk stopped.

    This is the hot loop (one iteration per frame), so it does the least possible work.
    """
    unpack, lengths, mask = _U32.unpack_from, _FRAME_LENGTHS, _SIG_MASK
    counts = [0] * 16
    start = pos
    while pos + 4 <= end:
        hdr = unpack(mm, pos)[0]
        if hdr & mask != sig:
            break
        size = lengths[(hdr >> 9) & 0xFFF]
        if not size or pos + size > end:
            break
        counts[(hdr >> 12) & 15] += 1
        pos += size
    if pos > start:
        _add_run(tally, sig, counts, pos - start)
        tally.stream_end = pos
    return pos


def _add_run(tally: _Tally, sig: int, counts: list[int], nbytes: int) -> None:
    frames = sum(counts)
    tally.frames += frames
    tally.audio_bytes += nbytes
    tally.seconds += frames * _samples_per_frame(sig) / _sample_rate(sig)
    table = _KBPS[(_version_bits(sig) == 3, _layer(sig))]
    for index, count in enumerate(counts):
        if count:
            tally.kbps[table[index]] = tally.kbps.get(table[index], 0) + count


def _walk(mm: mmap.mmap, pos: int, end: int, sig: int, tally: _Tally) -> None:
    """Walk the whole stream, resynchronising after damage, until the data ends."""
    while pos < end:
        pos = _run(mm, pos, end, sig, tally)
        if pos >= end:
            return
        resumed = _recover(mm, pos, end, sig, tally)
        if resumed is None:
            return
        pos, sig = resumed


def _recover(mm: mmap.mmap, pos: int, end: int, sig: int, tally: _Tally) -> tuple[int, int] | None:
    """Explain why the walk stopped at ``pos`` and say where (and as what) it goes on."""
    hdr = _header_at(mm, pos, end)
    size = _frame_length(hdr) if hdr is not None else 0
    if hdr is not None and size:
        if pos + size > end and not _is_stream_change(sig, hdr):
            tally.truncated = TruncatedFrame(pos, size, end - pos)
            return None
        if _chain_ok(mm, pos, end):
            tally.changes += _is_stream_change(sig, hdr)
            return pos, hdr & _SIG_MASK
    tag = _inner_tag_length(mm, pos, end)
    skip_from = pos + tag
    found = _find_sync(mm, skip_from, end)
    if found is None:
        tally.trailing = max(0, end - skip_from)
        return None
    if found > skip_from:
        tally.resyncs += 1
        tally.resync_bytes += found - skip_from
    new = _U32.unpack_from(mm, found)[0]
    tally.changes += _is_stream_change(sig, new)
    if tag:
        tally.inner_tags += 1
        if _vbr_header(mm, found, new) is not None:
            found += _frame_length(new)
    return found, new & _SIG_MASK


def _inner_tag_length(mm: mmap.mmap, pos: int, end: int) -> int:
    """Length of an ID3v2 or ID3v1 tag starting at ``pos`` (glued-together files), else 0."""
    id3 = _id3v2_at(mm, pos, end)
    if id3 is not None:
        return min(id3[0], end - pos)
    if mm[pos : pos + 3] == b"TAG" and pos + 128 <= end:
        return 128
    return 0


def _syncsafe(raw: bytes) -> int:
    return (raw[0] << 21) | (raw[1] << 14) | (raw[2] << 7) | raw[3]


def _id3v2_at(mm: mmap.mmap, pos: int, end: int) -> tuple[int, int, int] | None:
    """``(total size, major version, flags)`` of an ID3v2 tag header at ``pos``, or ``None``."""
    if pos + 10 > end or mm[pos : pos + 3] != b"ID3":
        return None
    major, flags, raw = mm[pos + 3], mm[pos + 5], mm[pos + 6 : pos + 10]
    if major not in (2, 3, 4) or mm[pos + 4] == 0xFF or any(b & 0x80 for b in raw):
        return None
    footer = 10 if major == 4 and flags & 0x10 else 0
    return 10 + _syncsafe(raw) + footer, major, flags


_FRAME_ID = re.compile(rb"[A-Z0-9]{3,4}")


def _picture_bytes(mm: mmap.mmap, pos: int, tag_end: int, major: int, flags: int) -> int:
    """Total size of APIC/PIC frames in the ID3v2 tag at ``pos`` (a minimal frame walk)."""
    cur = pos + 10
    if flags & 0x40 and major >= 3 and cur + 4 <= tag_end:
        raw = mm[cur : cur + 4]
        cur += _syncsafe(raw) if major == 4 else _U32.unpack(raw)[0] + 4
    id_len, head_len = (3, 6) if major == 2 else (4, 10)
    total = 0
    while cur + head_len <= tag_end:
        frame_id = mm[cur : cur + id_len]
        if not _FRAME_ID.fullmatch(frame_id):
            break
        raw = mm[cur + id_len : cur + id_len + 4]
        if major == 2:
            size = int.from_bytes(raw[:3], "big")
        elif major == 4 and not any(b & 0x80 for b in raw):
            size = _syncsafe(raw)
        else:
            size = _U32.unpack(raw)[0]
        if frame_id in (b"APIC", b"PIC"):
            total += size
        cur += head_len + size
    return total


def _read_tags(mm: mmap.mmap, size: int) -> _Tags:
    """Find ID3v2 tags at the start and ID3v1/APEv2 tags at the end."""
    start, version, pictures = 0, None, 0
    while (id3 := _id3v2_at(mm, start, size)) is not None:
        total, major, flags = id3
        version = version or f"2.{major}"
        pictures += _picture_bytes(mm, start, min(start + total, size), major, flags)
        start += total
    end = size
    id3v1 = end - 128 >= start and mm[end - 128 : end - 125] == b"TAG"
    if id3v1:
        end -= 128
    ape = 0
    if end - 32 >= start and mm[end - 32 : end - 24] == b"APETAGEX":
        tag_size = int.from_bytes(mm[end - 20 : end - 16], "little")
        has_header = int.from_bytes(mm[end - 12 : end - 8], "little") & 0x80000000
        ape = tag_size + (32 if has_header else 0)
        ape = ape if ape <= end - start else 0
        end -= ape
    return _Tags(start, end, version, pictures, id3v1, ape)


def _vbr_header(mm: mmap.mmap, pos: int, hdr: int) -> VbrHeader | None:
    """Parse a Xing/Info or VBRI header inside the frame at ``pos``, if there is one."""
    frame = mm[pos : pos + _frame_length(hdr)]
    mono = _is_mono(hdr)
    side = (17 if mono else 32) if _version_bits(hdr) == 3 else (9 if mono else 17)
    for off in (4 + side, 6 + side):
        kind = frame[off : off + 4]
        if kind in (b"Xing", b"Info") and len(frame) >= off + 8:
            flags = _U32.unpack_from(frame, off + 4)[0]
            cur = off + 8
            frames = _field(frame, cur, flags & 1)
            cur += 4 if flags & 1 else 0
            nbytes = _field(frame, cur, flags & 2)
            return VbrHeader(kind.decode(), pos, len(frame), frames, nbytes)
    if frame[36:40] == b"VBRI":
        return VbrHeader("VBRI", pos, len(frame), _field(frame, 50, 1), _field(frame, 46, 1))
    return None


def _field(frame: bytes, off: int, present: int) -> int | None:
    if not present or len(frame) < off + 4:
        return None
    return int(_U32.unpack_from(frame, off)[0])


def _foreign(head: bytes) -> Container | None:
    """The other container a file starting with ``head`` plainly is (RIFF/WAVE, Ogg, HTML...)."""
    found = by_signature(head)
    return None if found is None or found in _NOT_FOREIGN else found


#: What a walk cut at ``max_bytes`` would report about the part it did not walk.
_TAIL_PROBLEMS = frozenset(
    {
        "mp3.truncated_frame",
        "mp3.trailing_junk",
        "mp3.xing_frames_mismatch",
        "mp3.xing_bytes_mismatch",
    }
)


def scan_mp3(path: str | os.PathLike[str], *, max_bytes: int | None = None) -> Mp3Scan:
    """Scan an MP3 file frame by frame and report what its headers hide.

    Args:
        path: the file to read; it is never modified.
        max_bytes: walk frames only this far (tags at both ends are still read), so that the
            cost of a file over a size cap stays bounded; what the walk could not see (a
            truncated last frame, the Xing counts) is then not reported.

    Returns:
        The measured facts and the problems found (``problems`` is empty for a clean file).

    Raises:
        OSError: the file cannot be opened or read.
    """
    name = os.fspath(path)
    with open(name, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            empty = Mp3Scan(path=name, file_size=0)
            return _with_problems(empty)
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            limit = max_bytes if max_bytes is not None and size > max_bytes else None
            return _scan(mm, name, size, limit)


def _scan(mm: mmap.mmap, path: str, size: int, limit: int | None = None) -> Mp3Scan:
    tags = _read_tags(mm, size)
    scan = Mp3Scan(
        path=path,
        file_size=size,
        id3v2_size=tags.start,
        id3v2_version=tags.id3v2_version,
        picture_bytes=tags.picture_bytes,
        id3v1=tags.id3v1,
        apev2_size=tags.apev2_size,
        foreign_format=_foreign(mm[:SNIFF_BYTES]),
    )
    end = tags.end if limit is None else min(tags.end, limit)
    first = _find_sync(mm, tags.start, end)
    if first is not None:
        scan = _scan_stream(mm, scan, first, end)
    log.debug("scanned %s: %d frames, %.3f s", path, scan.frames, scan.duration)
    found = _with_problems(scan)
    if limit is None:
        return found
    kept = tuple(p for p in found.problems if p.id not in _TAIL_PROBLEMS)
    return replace(found, problems=kept)


def _scan_stream(mm: mmap.mmap, scan: Mp3Scan, first: int, end: int) -> Mp3Scan:
    """Walk the stream from its first confirmed frame and fill in the frame facts."""
    hdr = _U32.unpack_from(mm, first)[0]
    vbr = _vbr_header(mm, first, hdr)
    start = first
    if vbr is not None:
        start += _frame_length(hdr)
        hdr = _first_audio_header(mm, start, end, hdr)
    tally = _Tally(stream_end=start)
    _walk(mm, start, end, hdr & _SIG_MASK, tally)
    seconds, kbps = tally.seconds, tally.kbps
    mode = _CHANNEL_MODES[(hdr >> 6) & 3]
    return replace(
        scan,
        first_frame_offset=first,
        junk_before=first - scan.id3v2_size,
        mpeg_version=_VERSION_NAMES[_version_bits(hdr)],
        layer=_layer(hdr),
        sample_rate=_sample_rate(hdr),
        channel_mode=mode,
        channels=1 if mode == "mono" else 2,
        frames=tally.frames,
        audio_bytes=tally.audio_bytes,
        duration=seconds,
        bitrate_mode=(BitrateMode.CBR if len(kbps) == 1 else BitrateMode.VBR) if kbps else None,
        avg_bitrate=round(tally.audio_bytes * 8 / seconds) if seconds else 0,
        min_bitrate=min(kbps, default=0) * 1000,
        max_bitrate=max(kbps, default=0) * 1000,
        vbr_header=vbr,
        stream_bytes=tally.stream_end - first,
        resyncs=tally.resyncs,
        resync_bytes=tally.resync_bytes,
        inner_tags=tally.inner_tags,
        truncated_frame=tally.truncated,
        trailing_junk=tally.trailing,
        stream_changes=tally.changes,
    )


def _first_audio_header(mm: mmap.mmap, pos: int, end: int, vbr_hdr: int) -> int:
    """The header of the first audio frame after a Xing/Info frame (whose own header may say
    another stereo mode: ffmpeg writes "stereo" there for joint-stereo audio)."""
    hdr = _header_at(mm, pos, end)
    if hdr is None or not _frame_length(hdr) or _is_stream_change(vbr_hdr, hdr):
        return vbr_hdr
    return hdr


def _with_problems(scan: Mp3Scan) -> Mp3Scan:
    if not scan.frames:
        return replace(scan, problems=(_no_frames(scan),))
    found = (
        *_container_problems(scan),
        *_damage_problems(scan),
        *_header_problems(scan),
        *_info_problems(scan),
    )
    return replace(scan, problems=found)


def _error(pid: str, message: str, *, fixable: bool = True) -> Problem:
    return Problem(pid, Severity.ERROR, message, fixable)


def _warning(pid: str, message: str, *, fixable: bool = True) -> Problem:
    return Problem(pid, Severity.WARNING, message, fixable)


def _no_frames(scan: Mp3Scan) -> Problem:
    size, tag = scan.file_size, scan.id3v2_size
    fixable = False
    if size == 0:
        why = "the file is empty (0 bytes)"
    elif scan.foreign_format is not None:
        why = f"the file is {scan.foreign_format.label}, not an MP3"
        fixable = is_audio(scan.foreign_format)
    elif tag > size:
        why = f"the ID3v2 tag claims {tag} bytes but the file has only {size}"
    elif tag and scan.first_frame_offset is None:
        why = f"only an ID3v2 tag ({tag} of {size} bytes), no audio after it"
    elif scan.vbr_header is not None:
        why = f"only a {scan.vbr_header.kind} header frame, no audio frames"
    else:
        why = f"nothing in its {size} bytes parses as MPEG audio"
    return _error("mp3.no_frames", f"no MPEG audio frames: {why}; unusable", fixable=fixable)


def _container_problems(scan: Mp3Scan) -> list[Problem]:
    found = []
    if scan.foreign_format is not None:
        found.append(
            _error(
                "mp3.not_mpeg_file",
                f"the MPEG audio is wrapped in another container ({scan.foreign_format.label}),"
                " not a plain MP3: "
                "the API's metadata reader expects a bare MP3 stream",
            )
        )
    elif scan.junk_before:
        found.append(
            _warning(
                "mp3.junk_before",
                f"{scan.junk_before} bytes of non-audio data before the first frame "
                f"(offset {scan.first_frame_offset}): some players and metadata readers "
                "fail to find the audio",
            )
        )
    if scan.layer != 3:
        name = "MP2" if scan.layer == 2 else "MP1"
        found.append(
            _error(
                "mp3.layer_not_3",
                f"MPEG-{scan.mpeg_version} Layer {'I' * (scan.layer or 0)} audio ({name}), "
                "not MP3: many phone platforms cannot play it",
            )
        )
    return found


def _damage_problems(scan: Mp3Scan) -> list[Problem]:
    found = []
    if scan.resyncs:
        lost = scan.resync_bytes * 8 / scan.avg_bitrate if scan.avg_bitrate else 0.0
        found.append(
            _error(
                "mp3.resync",
                f"stream corrupted mid-file: lost sync {scan.resyncs} time(s), "
                f"{scan.resync_bytes} bytes skipped (about {lost:.2f} s of audio); "
                "playback will click or skip there",
            )
        )
    if scan.inner_tags:
        found.append(
            _warning(
                "mp3.inner_tag",
                f"{scan.inner_tags} tag(s) inside the audio stream (files glued together): "
                "decoders report errors there",
            )
        )
    if scan.stream_changes:
        found.append(
            _error(
                "mp3.mixed_stream",
                f"MPEG version, layer, sample rate or channel count changes "
                f"{scan.stream_changes} time(s) mid-stream: players may stop or play the rest "
                "at the wrong speed",
            )
        )
    return [*found, *_end_problems(scan)]


def _end_problems(scan: Mp3Scan) -> list[Problem]:
    found = []
    cut = scan.truncated_frame
    if cut is not None:
        found.append(
            _error(
                "mp3.truncated_frame",
                f"last frame truncated: {cut.present} of {cut.expected} bytes present "
                f"(offset {cut.offset}); the file was cut short",
            )
        )
    if scan.trailing_junk and scan.foreign_format is None:
        found.append(
            _warning(
                "mp3.trailing_junk",
                f"{scan.trailing_junk} bytes of non-audio data after the last frame",
            )
        )
    return found


def _header_problems(scan: Mp3Scan) -> list[Problem]:
    vbr = scan.vbr_header
    if vbr is None:
        if scan.bitrate_mode is not BitrateMode.VBR:
            return []
        return [
            _warning(
                "mp3.vbr_without_header",
                f"VBR stream ({scan.min_bitrate // 1000}-{scan.max_bitrate // 1000} kbps) "
                "without a Xing/VBRI header: players and the API can only estimate its "
                "duration, and seeking is unreliable",
            )
        ]
    if vbr.frames is not None and not 0 <= vbr.frames - scan.frames <= _COUNT_SLACK:
        claimed = vbr.frames * scan.duration / scan.frames
        why = (
            "the file was cut short or damaged"
            if vbr.frames > scan.frames
            else "more audio than it says (files glued together?)"
        )
        return [
            _error(
                "mp3.xing_frames_mismatch",
                f"{vbr.kind} header claims {vbr.frames} frames ({claimed:.2f} s) but "
                f"{scan.frames} are present ({scan.duration:.2f} s): the API will read the "
                f"wrong duration; {why}",
            )
        ]
    allowed = (scan.stream_bytes, scan.stream_bytes - vbr.frame_length)
    if vbr.stream_bytes is not None and vbr.stream_bytes not in allowed:
        return [
            _error(
                "mp3.xing_bytes_mismatch",
                f"{vbr.kind} header claims {vbr.stream_bytes} stream bytes but "
                f"{scan.stream_bytes} are present: players will mis-seek and mis-time it",
            )
        ]
    return []


def _info_problems(scan: Mp3Scan) -> list[Problem]:
    if not scan.picture_bytes:
        return []
    return [
        Problem(
            "mp3.embedded_picture",
            Severity.INFO,
            f"the ID3v2 tag holds a {scan.picture_bytes}-byte picture: it counts toward the "
            "file-size limit but is never played",
            True,
        )
    ]
