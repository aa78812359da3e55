"""Lossless MP3 volume change: add whole 1.5 dB steps to every granule's ``global_gain``.

This module owns one bit-level edit, the one mp3gain made familiar: in Layer III each granule
of each channel carries an 8-bit ``global_gain`` that scales all its dequantised values by
``2 ** (global_gain / 4)``. Adding ``n`` to every one of them multiplies the decoded signal by
``2 ** (n / 4)`` exactly (``n * 1.505`` dB) without decoding or re-encoding anything, and
leaves frame sizes, the bit reservoir and the Xing/Info frame untouched.

:mod:`audioprep.fix.job` uses it to normalise a freshly encoded prompt after measuring it, which
saves a second encode (see ``docs/fix.md``). Limits, each refused with :class:`GainError`
rather than guessed at: CRC-protected frames (the CRC covers the side information), a
``global_gain`` that would leave 0..255, and anything that is not a clean run of Layer III
frames (a damaged or foreign file is never edited). The LAME tag's music CRC is left as it was,
like mp3gain does; no decoder checks it. It works on bytes in memory: outputs are at most the
5 MB the API takes.
"""

from __future__ import annotations

import logging
import math

log = logging.getLogger(__name__)

#: Decibels of one ``global_gain`` step: 20 * log10(2 ** 0.25).
STEP_DB = 20 * math.log10(2**0.25)

_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_KBPS_MPEG1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0)
_KBPS_MPEG2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0)


class GainError(ValueError):
    """The file cannot be edited losslessly (the caller re-encodes instead)."""


def steps_for(gain_db: float) -> int:
    """The whole number of steps closest to ``gain_db``."""
    return round(gain_db / STEP_DB)


def apply_steps(data: bytearray, steps: int) -> int:
    """Add ``steps`` to every ``global_gain`` of the MP3 in ``data`` (edited in place).

    Returns the number of ``global_gain`` fields changed. Raises :class:`GainError` (and
    leaves ``data`` unchanged) when the edit is impossible.
    """
    if steps == 0:
        return 0
    positions = _gain_positions(data)
    for bit in positions:  # check every field first: all or nothing
        if not 0 <= _field(data, bit) + steps <= 255:
            raise GainError(f"a global_gain would leave 0..255 with {steps:+d} steps")
    for bit in positions:
        byte, shift = bit >> 3, 8 - (bit & 7)
        word = (data[byte] << 8) | data[byte + 1]
        value = ((word >> shift) & 0xFF) + steps
        word = (word & ~(0xFF << shift)) | (value << shift)
        data[byte], data[byte + 1] = word >> 8, word & 0xFF
    log.debug("global_gain %+d steps on %d fields", steps, len(positions))
    return len(positions)


def _field(data: bytearray, bit: int) -> int:
    """The 8-bit value starting at absolute bit offset ``bit``."""
    byte, shift = bit >> 3, 8 - (bit & 7)
    return (((data[byte] << 8) | data[byte + 1]) >> shift) & 0xFF


def _gain_positions(data: bytearray) -> list[int]:
    """Absolute bit offsets of every ``global_gain`` field (the Xing/Info frame excluded)."""
    pos, end = _skip_id3v2(data), _audio_end(data)
    layouts: dict[int, _Layout] = {}
    found: list[int] = []
    first = True
    while pos < end:
        if pos + 4 > end:
            raise GainError(f"{end - pos} stray bytes at offset {pos}")
        header = int.from_bytes(data[pos : pos + 4], "big")
        key = header & 0xFFFFFDFF  # everything but the padding bit
        layout = layouts.get(key) or layouts.setdefault(key, _Layout.parse(header, pos))
        length = layout.length + ((header >> 9) & 1)
        if pos + length > end:
            raise GainError(f"frame at offset {pos} runs past the end")
        if not (first and layout.is_info(data, pos)):
            base = pos * 8
            found.extend(base + bit for bit in layout.gain_bits)
        first = False
        pos += length
    if not found:
        raise GainError("no Layer III audio frames")
    return found


def _skip_id3v2(data: bytearray) -> int:
    if data[:3] != b"ID3" or len(data) < 10:
        return 0
    size = 0
    for b in data[6:10]:
        size = (size << 7) | (b & 0x7F)
    return 10 + size + (10 if data[5] & 0x10 else 0)


def _audio_end(data: bytearray) -> int:
    end = len(data)
    if end >= 128 and data[end - 128 : end - 125] == b"TAG":
        end -= 128
    return end


class _Layout:
    """What one kind of Layer III frame header says: length and where the gains are."""

    __slots__ = ("gain_bits", "length", "side_info_bytes")

    def __init__(self, length: int, side_info_bytes: int, gain_bits: tuple[int, ...]) -> None:
        self.length = length  # without the padding byte
        self.side_info_bytes = side_info_bytes
        self.gain_bits = gain_bits  # bit offsets from the start of the frame

    @classmethod
    def parse(cls, header: int, pos: int) -> _Layout:
        version, layer = (header >> 19) & 3, (header >> 17) & 3
        rate_index, kbps_index = (header >> 10) & 3, (header >> 12) & 15
        if header >> 21 != 0x7FF or version == 1 or layer != 1 or rate_index == 3:
            raise GainError(f"no Layer III frame at offset {pos}")
        if not (header >> 16) & 1:
            raise GainError("CRC-protected frames: the edit would invalidate their CRC")
        lsf = version != 3
        kbps = (_KBPS_MPEG2 if lsf else _KBPS_MPEG1)[kbps_index]
        if kbps == 0:
            raise GainError(f"free-format or invalid bitrate at offset {pos}")
        length = (72 if lsf else 144) * kbps * 1000 // _RATES[version][rate_index]
        nch = 1 if (header >> 6) & 3 == 3 else 2
        if lsf:  # MPEG-2/2.5: one granule; 63 bits per channel, the gain after 12 + 9 bits
            side, start = (9 if nch == 1 else 17), 8 + (1 if nch == 1 else 2)
            bits = tuple(start + ch * 63 + 21 for ch in range(nch))
        else:  # MPEG-1: two granules of 59 bits per channel
            side, start = (17 if nch == 1 else 32), 9 + (5 if nch == 1 else 3) + 4 * nch
            bits = tuple(start + (gr * nch + ch) * 59 + 21 for gr in range(2) for ch in range(nch))
        return cls(length, side, tuple(32 + b for b in bits))

    def is_info(self, data: bytearray, pos: int) -> bool:
        """Whether the frame at ``pos`` is a Xing/Info header frame (no audio; never edited)."""
        tag = pos + 4 + self.side_info_bytes
        return bytes(data[tag : tag + 4]) in (b"Xing", b"Info")
