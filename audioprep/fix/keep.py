"""The ``keep`` strategy of ``audioprep fix``: change only what breaks the rules or integrity.

This module owns the smallest repair for each finding of a full inspection of the input: a
copy under the safe name, a WAV header rewritten around the same samples, an MP3's tags
dropped, or a re-encode at the same rate and channels. Loudness, silence and sample rate are
left alone (a voice profile changes those).

``docs/fix.md`` (*The keep strategy*) has the details and the measurements.
"""

from __future__ import annotations

import logging
from pathlib import Path

from audioprep.audio.inspect import Inspection, Verdict, inspect_file, unusable_reason
from audioprep.fix import convert, profiles
from audioprep.fix.convert import Shape
from audioprep.fix.job import FixJob
from audioprep.fix.model import FixResult, Status
from audioprep.models import Severity

log = logging.getLogger(__name__)

#: WAV encodings a header rewrite can keep as they are.
COPYABLE_WAV = frozenset(
    {"pcm_u8", "pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_mulaw", "pcm_alaw"}
)
_MPEG1_LADDER = (320, 256, 224, 192, 160, 128, 112, 96, 80, 64, 56, 48, 40, 32)
_MPEG2_LADDER = (160, 144, 128, 112, 96, 80, 64, 56, 48, 40, 32, 24, 16, 8)


def fix_keep(job: FixJob, path: Path, found: Inspection) -> FixResult:
    """Repair ``path`` as little as its full inspection requires (``found``, when it decoded
    the file; else one is made here)."""
    full = found if found.decoded else inspect_file(path, display_name=job.source.name)
    if full.verdict is Verdict.UNUSABLE:
        return job.fail(unusable_reason(full))
    ids = {p.id for p in full.problems if p.severity is Severity.ERROR}
    if all(i.startswith("name.") for i in ids):
        return job.copy(path, full, None)
    job.rename_note()
    if full.format == "wav":
        return _keep_wav(job, path, full, ids)
    return _keep_mp3(job, path, full, ids)


def _keep_wav(job: FixJob, path: Path, full: Inspection, ids: set[str]) -> FixResult:
    if "api.too_large" in ids:
        return job.fail(
            f"{full.size_bytes:,} bytes of WAV cannot shrink under {job.options.max_bytes:,}"
            " without changing format, rate or channels; use --profile voice-wav (8 kHz mono)"
            " or --profile voice-mp3"
        )
    out = job.tmp_path("keep")
    if full.codec in COPYABLE_WAV and "decode.errors" not in ids:
        error = convert.remux(path, out, "wav")
        job.log.add("header_rewritten", f"rewrote the WAV header around the same {full.codec}")
    else:
        error = _reencode(path, out, Shape(container="wav"))
        job.log.add("reencoded", f"re-encoded {full.codec} as 16-bit PCM (same rate/channels)")
    if error is not None:
        return job.fail(f"ffmpeg failed: {error}")
    return job.finish(out, Status.FIXED, None, duration_s=full.duration_s)


def _keep_mp3(job: FixJob, path: Path, full: Inspection, ids: set[str]) -> FixResult:
    out = job.tmp_path("keep")
    rest = {i for i in ids if not i.startswith("name.")} - {"api.too_large"}
    strippable = full.format == "mp3" and not rest and (full.tags or full.picture_bytes)
    stripped = strippable and convert.remux(path, out, "mp3") is None
    if stripped and out.stat().st_size <= job.options.max_bytes:
        job.log.add("stripped_tags", "dropped tags and pictures to fit the size cap")
        return job.finish(out, Status.FIXED, None, duration_s=full.duration_s)
    shape = _mp3_shape(job, full)
    if isinstance(shape, FixResult):
        return shape
    error = _reencode(path, out, shape)
    if error is not None:
        return job.fail(f"ffmpeg failed: {error}")
    verb = "transcoded" if full.format != "mp3" else "reencoded"
    job.log.add(verb, f"{verb} {full.format} ({full.codec}) as CBR {shape.kbps} kbps MP3")
    if full.header_duration_s and full.duration_s and "decode.duration_mismatch" in ids:
        job.lost_s = round(max(0.0, full.header_duration_s - full.duration_s), 3)
        job.log.add("salvaged", f"salvaged {full.duration_s:.2f} s; {job.lost_s:.2f} s lost")
    return job.finish(out, Status.FIXED, None, duration_s=full.duration_s, bitrate_kbps=shape.kbps)


def _mp3_shape(job: FixJob, full: Inspection) -> Shape | FixResult:
    """Same rate (the nearest an MP3 can carry) and channels (at most two); the source's
    bitrate, or a sensible one, lowered until the duration fits."""
    rate = full.sample_rate or 44100
    mp3_rate = min(profiles.MP3_RATES, key=lambda r: (abs(r - rate), -r))
    channels = min(full.channels or 2, 2)
    ladder = _MPEG1_LADDER if mp3_rate >= 32000 else _MPEG2_LADDER
    wanted = (full.bitrate or 0) // 1000 if full.format == "mp3" else 0
    wanted = wanted or (128 if channels == 2 else 64) // (1 if mp3_rate >= 32000 else 2)
    candidates = tuple(k for k in ladder if k <= wanted) or ladder[-1:]
    duration = full.duration_s or full.header_duration_s or 0.0
    kbps = profiles.fit_mp3_kbps(duration, candidates, mp3_rate, job.options.max_bytes)
    if kbps is None:
        return job.fail(
            f"{profiles.describe_seconds(duration)} does not fit {job.options.max_bytes:,} bytes"
            f" as MP3 at {mp3_rate} Hz; use --profile voice-mp3"
        )
    return Shape(
        container="mp3",
        sample_rate=mp3_rate if mp3_rate != rate else None,
        channels=channels if channels != full.channels else None,
        kbps=kbps,
    )


def _reencode(path: Path, out: Path, shape: Shape) -> str | None:
    result = convert.convert(path, out, shape)
    return result.error if result.returncode else None
