"""Band energies of a decoded file, measured in Python (a radix-2 FFT; no numpy here)."""

from __future__ import annotations

import cmath
import math
import struct
import subprocess
from pathlib import Path

from audioprep.audio.ffmpeg import ffmpeg_exe


def samples(path: Path, rate: int) -> list[float]:
    """``path`` decoded by ffmpeg to mono floats at ``rate``."""
    raw = subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            str(rate),
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return [value / 32768 for value in struct.unpack(f"<{len(raw) // 2}h", raw)]


def _fft(x: list[complex]) -> list[complex]:
    n = len(x)
    if n == 1:
        return x
    even, odd = _fft(x[0::2]), _fft(x[1::2])
    turned = [cmath.exp(-2j * math.pi * k / n) * odd[k] for k in range(n // 2)]
    return [even[k] + turned[k] for k in range(n // 2)] + [
        even[k] - turned[k] for k in range(n // 2)
    ]


def band_db(path: Path, rate: int, bands: list[tuple[float, float]]) -> list[float]:
    """The energy (dB, arbitrary reference) of ``path`` in each ``(low, high)`` Hz band."""
    x = samples(path, rate)
    n = 1
    while n < len(x):
        n *= 2
    spectrum = _fft([complex(v) for v in x] + [0j] * (n - len(x)))
    found = []
    for low, high in bands:
        bins = range(int(low * n / rate), min(int(high * n / rate) + 1, n // 2))
        energy = sum(abs(spectrum[k]) ** 2 for k in bins)
        found.append(10 * math.log10(energy) if energy > 0 else -math.inf)
    return found
