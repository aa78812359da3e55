"""The values of a fix: its options, one source, one result.

:class:`FixOptions` is what ``audioprep fix`` and ``run`` are told (its defaults come from
:mod:`audioprep.audio.levels` and :mod:`audioprep.fix.profiles`); :class:`FixResult` is the JSON
contract of ``audioprep fix --json``.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from audioprep import api
from audioprep.audio import levels
from audioprep.errors import UsageError
from audioprep.fix import profiles
from audioprep.models import DEFAULT_PROFILE, Snapshot
from audioprep.net.urls import is_url


class Status(StrEnum):
    """What happened to one input."""

    UNCHANGED = "unchanged"
    FIXED = "fixed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class FixOptions:
    """How to fix a batch. Loudness in LUFS/LU, peaks in dBTP, times in seconds.

    ``normalise=False`` skips loudness normalisation and trimming. ``max_gain_db`` is the
    most gain normalising may add: a file that needs more is nearly silent (noise, a muted
    microphone) and fails rather than become loud hiss. ``max_bytes`` is the size
    cap (the API's 5 MB by default; only smaller caps are allowed). ``dry_run`` plans and
    measures but writes nothing. ``overwrite`` replaces an existing, different output file.
    A profile's own loudness and true-peak apply where these are left at their defaults.
    """

    def for_profile(self) -> FixOptions:
        """These options with the chosen profile's loudness targets where none were given."""
        profile = profiles.get_profile(self.profile, self.custom_profiles)
        changes: dict[str, Any] = {}
        if profile.loudness_lufs is not None and self.target_lufs == levels.TARGET_LUFS:
            changes["target_lufs"] = profile.loudness_lufs
        if profile.true_peak_dbtp is not None and self.true_peak_dbtp == levels.TRUE_PEAK_DBTP:
            changes["true_peak_dbtp"] = profile.true_peak_dbtp
        return dataclasses.replace(self, **changes) if changes else self

    outdir: str
    profile: str = DEFAULT_PROFILE.value
    target_lufs: float = levels.TARGET_LUFS
    true_peak_dbtp: float = levels.TRUE_PEAK_DBTP
    normalise: bool = True
    loudness_tolerance_lu: float = levels.LOUDNESS_TOLERANCE_LU
    max_gain_db: float = levels.MAX_GAIN_DB
    trim_pad_s: float = 0.25
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    dry_run: bool = False
    overwrite: bool = False
    max_bytes: int = api.MAX_AUDIO_BYTES
    #: The user's profiles (config ``[profiles.NAME]``), besides the built-in ones.
    custom_profiles: tuple[profiles.Profile, ...] = ()

    def __post_init__(self) -> None:
        profiles.get_profile(self.profile, self.custom_profiles)
        if not -40.0 <= self.target_lufs <= -5.0:
            raise UsageError(f"loudness target {self.target_lufs} LUFS is outside -40..-5")
        if not -9.0 <= self.true_peak_dbtp <= 0.0:
            raise UsageError(f"true-peak ceiling {self.true_peak_dbtp} dBTP is outside -9..0")
        if not 0.5 <= self.loudness_tolerance_lu <= 3.0:
            raise UsageError("the loudness tolerance must be 0.5..3 LU")
        if not 0.0 <= self.max_gain_db <= levels.MAX_GAIN_CEILING_DB:
            raise UsageError(f"the gain cap must be 0..{levels.MAX_GAIN_CEILING_DB:g} dB")
        if self.jobs < 1 or self.trim_pad_s < 0:
            raise UsageError("jobs must be at least 1 and the trim pad not negative")
        if not 100_000 <= self.max_bytes <= api.MAX_AUDIO_BYTES:
            raise UsageError(f"the size cap must be 100,000..{api.MAX_AUDIO_BYTES:,} bytes")


@dataclass(frozen=True, slots=True, kw_only=True)
class FixResult:
    """The outcome for one input. ``actions`` are stable tokens (``renamed``, ``normalised``,
    ...); ``details`` say the same in words. ``verdict`` is the output's (``None`` without one).
    """

    source: str
    output: str | None
    status: Status
    actions: tuple[str, ...] = ()
    details: tuple[str, ...] = ()
    verdict: str | None = None
    error: str | None = None
    planned: bool = False
    profile: str = DEFAULT_PROFILE.value
    duration_s: float | None = None
    lost_s: float | None = None
    decoder_errors: int = 0
    loudness_lufs: float | None = None
    gain_db: float | None = None
    bitrate_kbps: int | None = None
    before: Snapshot | None = None
    after: Snapshot | None = None

    @property
    def ok(self) -> bool:
        """Whether the output exists (or would) and passed the closed loop."""
        return self.status is not Status.FAILED

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``audioprep fix --json`` (plus measurements)."""
        return {
            "source": self.source,
            "output": self.output,
            "status": self.status.value,
            "actions": list(self.actions),
            "verdict": self.verdict,
            "error": self.error,
            "planned": self.planned,
            "profile": self.profile,
            "details": list(self.details),
            "duration_s": _round(self.duration_s, 3),
            "lost_s": _round(self.lost_s, 3),
            "decoder_errors": self.decoder_errors,
            "loudness_lufs": _round(self.loudness_lufs, 1),
            "gain_db": _round(self.gain_db, 2),
            "bitrate_kbps": self.bitrate_kbps,
            "before": self.before.to_dict() if self.before else None,
            "after": self.after.to_dict() if self.after else None,
        }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)


@dataclass(frozen=True, slots=True)
class Source:
    """One input: as given, as shown (URLs redacted), and the file name the output derives from."""

    target: str
    shown: str
    name: str

    @property
    def is_url(self) -> bool:
        """Whether it must be downloaded first."""
        return is_url(self.target)
