"""Shared value types: findings, severities, and the names of the fix profiles.

Every check in audioprep reports :class:`Problem` values. They are frozen and JSON-ready
(:meth:`Problem.to_dict`), so the CLI, the reports and the sandbox render the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
