"""Facts about one audio file's content, gathered from every angle that matters.

This module owns the per-container fact gathering behind :mod:`audioprep.audio.inspect`:

* metadata as the API's reader sees it (mutagen trusts headers, and so does the API);
* the structure, from :mod:`audioprep.audio.mp3scan` / :mod:`audioprep.audio.wavscan`;
* real decoding from :mod:`audioprep.audio.decode` (skipped in quick mode);
* what a phone line will do with it (resampling to 8/16 kHz mono).

It reports :class:`Facts` and problems; the verdict is :mod:`audioprep.audio.inspect`'s business.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mutagen

from audioprep.api import MAX_AUDIO_BYTES
from audioprep.audio import decode, mp3scan, wavscan
from audioprep.audio.sniff import Container, is_audio
from audioprep.models import Problem, Severity

log = logging.getLogger(__name__)

PHONE_MAX_RATE = 16_000
#: What is certainly not audio: never worth a decode.
_NOT_AUDIO = frozenset(
    {
        Container.HTML,
        Container.XML,
        Container.JSON,
        Container.TEXT,
        Container.IMAGE,
        Container.ARCHIVE,
        Container.PDF,
        Container.ZEROS,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """What one file's bytes say; ``duration_s`` is the best-known real duration."""

    codec: str | None = None
    duration_s: float | None = None
    header_duration_s: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    bit_depth: int | None = None
    bitrate: int | None = None
    bitrate_mode: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    picture_bytes: int = 0
    loudness_lufs: float | None = None
    peak_dbfs: float | None = None
    above_band_share: float | None = None
    decoded: bool = False
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class _Meta:
    length: float | None
    tags: dict[str, str]
    problem: Problem | None


def examine(path: Path, container: Container, *, quick: bool) -> Facts:
    """Gather the facts for ``path`` whose content sniffed as ``container``."""
    if container is Container.MP3:
        facts = _mp3_facts(path)
    elif container is Container.WAV:
        facts = _wav_facts(path)
    else:
        facts = Facts(problems=(_format_problem(container),))
    if quick or container in _NOT_AUDIO or _lying(facts):
        return _with_phone_notes(facts)
    return _with_phone_notes(_with_decode(path, container, facts))


#: Structure problems that make a decode cost what the header claims, not what the bytes hold.
_DO_NOT_DECODE = frozenset({"wav.sample_rate"})


def _lying(facts: Facts) -> bool:
    return any(p.id in _DO_NOT_DECODE for p in facts.problems)


def _format_problem(container: Container) -> Problem:
    if is_audio(container) or container is Container.UNKNOWN:
        return Problem(
            "format.not_mp3_wav",
            Severity.ERROR,
            f"the content is {container.label}, not MP3 or WAV (the API refuses it, -107;"
            " fix: 'audioprep fix' transcodes it)",
            fixable=True,
        )
    why = " (an error page saved as audio?)" if container is Container.HTML else ""
    return Problem(
        "format.not_audio",
        Severity.ERROR,
        f"the content is {container.label}, not audio{why}",
    )


def _not_decodable(container: Container) -> Problem:
    """Data no header names and no decoder can play is not audio, whatever its name says."""
    if container is Container.UNKNOWN:
        return Problem(
            "format.not_audio",
            Severity.ERROR,
            "the content is unrecognised binary data that no decoder can play, not audio",
        )
    return _format_problem(container)


def _metadata(path: Path) -> _Meta:
    """Read the file the way the API's metadata reader would."""
    try:
        found: Any = mutagen.File(path, easy=True)
    except (mutagen.MutagenError, OSError, ValueError, EOFError) as exc:
        return _Meta(None, {}, _unreadable(f"{type(exc).__name__}: {exc}"))
    if found is None or getattr(found, "info", None) is None:
        return _Meta(None, {}, _unreadable("no MP3/WAV header could be read"))
    tags: dict[str, str] = {}
    for key, value in (found.tags or {}).items():
        if isinstance(value, list) and value and isinstance(value[0], str):
            tags[str(key)] = "; ".join(value)
    length = getattr(found.info, "length", None)
    return _Meta(float(length) if length is not None else None, tags, None)


def _unreadable(detail: str) -> Problem:
    return Problem(
        "meta.unreadable",
        Severity.ERROR,
        f"metadata unreadable ({detail}): the API reads it and would answer -108"
        " (fix: 'audioprep fix' rewrites the headers)",
        fixable=True,
    )


def _mp3_facts(path: Path) -> Facts:
    scan = mp3scan.scan_mp3(path, max_bytes=MAX_AUDIO_BYTES)  # over the cap, walk that far
    meta = _metadata(path)
    mode = scan.bitrate_mode.value if scan.bitrate_mode else None
    return Facts(
        codec="mp3",
        duration_s=_mp3_duration(path, scan, meta),
        header_duration_s=meta.length,
        sample_rate=scan.sample_rate,
        channels=scan.channels,
        bitrate=scan.avg_bitrate or None,
        bitrate_mode=mode,
        tags=meta.tags,
        picture_bytes=scan.picture_bytes,
        problems=_joined(scan.problems, meta.problem),
    )


def _mp3_duration(path: Path, scan: mp3scan.Mp3Scan, meta: _Meta) -> float | None:
    """The frames' duration; over the cap only the first part was walked, so the header's."""
    if path.stat().st_size > MAX_AUDIO_BYTES and meta.length:
        return meta.length
    return scan.duration if scan.frames else None


def _wav_facts(path: Path) -> Facts:
    scan = wavscan.scan_wav(path)
    meta = _metadata(path)
    return Facts(
        codec=scan.codec,
        duration_s=scan.duration,
        header_duration_s=meta.length,
        sample_rate=scan.sample_rate,
        channels=scan.channels,
        bit_depth=scan.bits_per_sample,
        bitrate=scan.byte_rate * 8 if scan.byte_rate else None,
        tags=meta.tags,
        problems=_joined(scan.problems, meta.problem),
    )


def _joined(problems: tuple[Problem, ...], extra: Problem | None) -> tuple[Problem, ...]:
    return (*problems, extra) if extra else problems


#: The inspection's decode: the usual measurements, and what the telephone band cuts away.
_MEASURE = decode.AnalyseOptions(narrowband=True)


def _with_decode(path: Path, container: Container, facts: Facts) -> Facts:
    over_cap = path.stat().st_size > MAX_AUDIO_BYTES
    if over_cap:  # refused for its size already: decode as much as the API would take
        report = decode.analyse(path, max_bytes=MAX_AUDIO_BYTES, options=_MEASURE)
    else:
        report = decode.analyse(path, header_duration_s=facts.header_duration_s, options=_MEASURE)
    problems = list(facts.problems) + ([_partly_decoded()] if over_cap else [])
    if container not in (Container.MP3, Container.WAV) and not report.decodable:
        problems = [_not_decodable(container)]
    return Facts(
        codec=facts.codec or report.codec,
        duration_s=(
            report.decoded_duration_s if report.decodable and not over_cap else facts.duration_s
        ),
        header_duration_s=facts.header_duration_s,
        sample_rate=facts.sample_rate or report.sample_rate,
        channels=facts.channels or report.channels,
        bit_depth=facts.bit_depth,
        bitrate=facts.bitrate,
        bitrate_mode=facts.bitrate_mode,
        tags=facts.tags,
        picture_bytes=facts.picture_bytes,
        loudness_lufs=_finite(report.integrated_lufs),
        peak_dbfs=_finite(report.peak_dbfs),  # None for digital silence (level.silent says so)
        above_band_share=report.above_band_share,
        decoded=True,
        problems=(*problems, *_measured(report.problems, partial=over_cap)),
    )


def _measured(found: tuple[Problem, ...], *, partial: bool) -> tuple[Problem, ...]:
    """A decode's problems; of a partial one, not the duration it could not see whole."""
    if not partial:
        return found
    return tuple(p for p in found if p.id != "decode.duration_mismatch")


def _partly_decoded() -> Problem:
    return Problem(
        "decode.partial",
        Severity.INFO,
        f"decoded the first {MAX_AUDIO_BYTES:,} bytes only: the file is over the API's cap,"
        " which decides its verdict ('audioprep fix' decodes all of it to make it smaller)",
    )


def _finite(value: float | None) -> float | None:
    """A level as a number, or None where it is none (the peak of digital silence is -inf)."""
    return value if value is not None and math.isfinite(value) else None


def _with_phone_notes(facts: Facts) -> Facts:
    notes: list[Problem] = []
    if facts.sample_rate and facts.sample_rate > PHONE_MAX_RATE:
        notes.append(
            Problem(
                "phone.sample_rate",
                Severity.WARNING,
                f"{facts.sample_rate} Hz: a phone line carries 8 kHz (16 kHz wideband); the"
                " extra bandwidth only costs bytes and is resampled by the network",
                fixable=True,
            )
        )
    if facts.channels and facts.channels > 1:
        notes.append(
            Problem(
                "phone.channels",
                Severity.WARNING,
                f"{facts.channels} channels: calls are mono; the network will downmix",
                fixable=True,
            )
        )
    if not notes:
        return facts
    from dataclasses import replace

    return replace(facts, problems=(*facts.problems, *notes))
