"""Shared value types: findings, severities, the names of the fix profiles, file snapshots.

Every check in audioprep reports :class:`Problem` values. They are frozen and JSON-ready
(:meth:`Problem.to_dict`), so the CLI, the reports and the sandbox render the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ProfileName(StrEnum):
    """The names ``--profile`` accepts (what each means: :mod:`audioprep.fix.profiles`)."""

    VOICE_MP3 = "voice-mp3"
    VOICE_WAV = "voice-wav"
    KEEP = "keep"


#: The profile used when none is named (``--profile``, ``AUDIOPREP_PROFILE``).
DEFAULT_PROFILE = ProfileName.VOICE_MP3


class PreviewCodec(StrEnum):
    """The G.711 companding laws a caller preview is stored in (``preview --codec``)."""

    MULAW = "mulaw"  # North America, Japan
    ALAW = "alaw"  # Europe and most of the world

    @property
    def encoder(self) -> str:
        """ffmpeg's encoder (and the WAV's codec) for this law."""
        return f"pcm_{self.value}"


class Severity(StrEnum):
    """How much a problem matters: errors block sending, warnings do not."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about a name, URL, request or audio file.

    ``id`` is stable (scripts and SARIF rules key on it); ``fixable`` says whether
    ``audioprep fix`` can repair it.
    """

    id: str
    severity: Severity
    message: str
    fixable: bool = False

    def to_dict(self) -> dict[str, object]:
        """Return the JSON shape used by every command."""
        return {
            "id": self.id,
            "severity": self.severity.value,
            "message": self.message,
            "fixable": self.fixable,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """One file as a person compares it before → after a fix (``None``: not measured)."""

    format: str | None = None
    duration_s: float | None = None
    loudness_lufs: float | None = None
    peak_dbfs: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    size_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The ``before``/``after`` objects of the fix and run reports."""
        return {
            "duration_s": _rounded(self.duration_s),
            "loudness_lufs": _rounded(self.loudness_lufs, 1),
            "peak_dbfs": _rounded(self.peak_dbfs, 1),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "format": self.format,
            "size_bytes": self.size_bytes,
        }

    @classmethod
    def from_dict(cls, found: dict[str, Any]) -> Snapshot:
        """A snapshot read back from :meth:`to_dict` (the run state)."""
        given: dict[str, Any] = {k: found[k] for k in _SNAPSHOT_KEYS if found.get(k) is not None}
        return cls(**given)


_SNAPSHOT_KEYS = ("format", "duration_s", "loudness_lufs", "peak_dbfs", "sample_rate",
                  "channels", "size_bytes")  # fmt: skip


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
