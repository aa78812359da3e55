"""The caller's ear: a prompt as the phone network delivers it (``audioprep preview``).

This module owns the rendering: the source is downmixed, band-limited to the telephone band
(300-3400 Hz, a linear-phase FIR with its delay compensated, so the preview lines up with the
source sample for sample), resampled to 8 kHz and stored as G.711 (``pcm_mulaw`` by default,
``pcm_alaw``) in a WAV: writing G.711 is its encode, any player's reading its decode. One
ffmpeg process per file; the output has the source's decoded duration, and the file name is
legal for the API. ``docs/fix.md`` (*The caller's ear*) has the measurements.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audioprep import api, tempfiles
from audioprep.audio import decode, ffmpeg
from audioprep.audio.inspect import expand_targets, require_inputs
from audioprep.errors import UsageError
from audioprep.models import PreviewCodec as Codec
from audioprep.net.urls import is_url

#: The band a narrowband call carries (Hz).
BAND_LOW_HZ, BAND_HIGH_HZ = 300, 3400
#: The rate of G.711.
PHONE_RATE = 8000


@dataclass(frozen=True, slots=True, kw_only=True)
class PreviewResult:
    """One source and the preview written for it (``error`` set and ``output`` None if not)."""

    source: str
    output: str | None
    codec: Codec
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the preview was written."""
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``audioprep preview --json``."""
        return {
            "source": self.source,
            "output": self.output,
            "codec": self.codec.encoder,
            "sample_rate": PHONE_RATE,
            "channels": 1,
            "ok": self.ok,
            "error": self.error,
        }


def telephone_graph() -> str:
    """The filter graph from ``[0:a]`` to the 8 kHz mono telephone-band signal ``[phone]``.

    The FIR's tail is cut by mixing with a silent copy of the input (``amix`` ends with the
    shorter): the preview is exactly as long as the decoded source.
    """
    band = f"if(between(f,{BAND_LOW_HZ},{BAND_HIGH_HZ}),0,-120)"
    fir = f"firequalizer=gain='{band}':delay=0.05:accuracy=1:zero_phase=1:wfunc=blackman"
    return (
        "[0:a]aformat=channel_layouts=mono,asplit[band][length];"
        f"[band]{fir}[limited];[length]volume=0[silent];"
        "[limited][silent]amix=inputs=2:duration=shortest:normalize=0,"
        f"aresample={PHONE_RATE}[phone]"
    )


def preview_file(source: str | os.PathLike[str], output: Path, codec: Codec) -> PreviewResult:
    """Render ``source`` as a caller hears it into ``output`` (written atomically)."""
    shown = os.fspath(source)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfiles.make_dir("preview", output.parent) as work:
        tmp = Path(work) / output.name
        args = ["-v", "error", "-y", "-i", decode.input_url(source)]
        args += ["-filter_complex", telephone_graph(), "-map", "[phone]"]
        args += ["-ar", str(PHONE_RATE), "-ac", "1", "-c:a", codec.encoder]
        args += ["-map_metadata", "-1", "-fflags", "+bitexact", "-f", "wav", f"file:{tmp}"]
        size = os.path.getsize(source)
        proc = ffmpeg.run(args, timeout=decode.timeout_for(size) + 30)
        if proc.returncode or not tmp.exists():
            reason = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            return PreviewResult(
                source=shown, output=None, codec=codec, error=(reason or ["ffmpeg failed"])[-1]
            )
        os.replace(tmp, output)
    return PreviewResult(source=shown, output=str(output), codec=codec)


def preview_name(source: str) -> str:
    """``Opening Hours.mp3`` -> ``Opening_Hours-caller.wav`` (legal for the API)."""
    stem = api.split_name(api.safe_name(os.path.basename(source), extension="wav"))[0]
    return f"{stem}-caller.wav"


def preview_targets(
    targets: Sequence[str], outdir: str | os.PathLike[str], codec: Codec = Codec.MULAW
) -> list[PreviewResult]:
    """A preview of every file the targets name (directories walked), in order.

    Raises:
        UsageError: an input is missing, or nothing audio-looking was named.
    """
    require_inputs(targets)
    sources = [t for t in expand_targets(targets) if not is_url(t)]
    if not sources:
        raise UsageError("no audio-looking files found in " + ", ".join(targets))
    taken: set[str] = set()
    results = []
    for source in sources:
        name = preview_name(source)
        stem, n = name[: -len(".wav")], 2
        while name.lower() in taken:
            name, n = f"{stem}-{n}.wav", n + 1
        taken.add(name.lower())
        results.append(preview_file(source, Path(outdir) / name, codec))
    return results
