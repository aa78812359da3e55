"""Settings of a sandbox, and the faults it can be told to inject.

This module owns the sandbox's configuration (:class:`SandboxOptions`, immutable) and the fault
switchboard (:class:`FaultState`, changed at runtime by the admin endpoint). Nothing here does
I/O. Tokens are kept out of every ``repr`` so they cannot reach a log by accident.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audioprep import api

if TYPE_CHECKING:
    from audioprep.sandbox.audio import AudioVerdict

#: The port ``audioprep sandbox`` listens on unless told otherwise.
DEFAULT_PORT = 8808
#: The caller id used when a request has no ``sender_id`` (the real API takes it from the token).
DEFAULT_SENDER_ID = "35699000000"
#: The ``{generic_error}`` of -101 when a fault does not say otherwise.
DEFAULT_GENERIC_ERROR = "Insufficient funds"


class FaultMode(StrEnum):
    """What the sandbox does instead of answering normally (see ``docs/sandbox.md``)."""

    UNAVAILABLE = "503"
    SERVER_ERROR = "500"
    BUSY = "busy"
    DROP = "drop"
    JOB_PROBLEM = "job_problem"
    SERVICE_SETTINGS = "service_settings"


@dataclass(frozen=True, slots=True, kw_only=True)
class Faults:
    """Faults to inject on API requests (``/1/...``; the admin paths are never faulted).

    ``latency_s`` is added to every API request. ``mode`` replaces the answer; ``count`` limits
    it to that many requests (``None``: until cleared). ``generic_error`` fills -101's text.
    """

    latency_s: float = 0.0
    mode: FaultMode | None = None
    count: int | None = None
    generic_error: str = DEFAULT_GENERIC_ERROR

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of ``GET /_sandbox/faults``."""
        return {
            "latency_ms": round(self.latency_s * 1000),
            "mode": self.mode.value if self.mode else None,
            "count": self.count,
            "generic_error": self.generic_error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Faults:
        """Parse the admin endpoint's JSON; raises ``ValueError`` on anything unexpected."""
        unknown = set(data) - {"latency_ms", "mode", "count", "generic_error"}
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        latency = data.get("latency_ms", 0)
        count = data.get("count")
        if isinstance(latency, bool) or not isinstance(latency, int | float) or latency < 0:
            raise ValueError("latency_ms must be a number >= 0")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise ValueError("count must be an integer or null")
        if count is not None and count < 1:
            raise ValueError("count must be >= 1")
        mode = data.get("mode")
        generic = data.get("generic_error", DEFAULT_GENERIC_ERROR)
        if not isinstance(generic, str):
            raise ValueError("generic_error must be a string")
        return cls(
            latency_s=float(latency) / 1000,
            mode=FaultMode(mode) if mode is not None else None,
            count=count,
            generic_error=generic,
        )


class FaultState:
    """The faults in force, shared by every request thread."""

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self._faults = faults

    def get(self) -> Faults:
        """The faults now in force."""
        with self._lock:
            return self._faults

    def set(self, faults: Faults) -> None:
        """Replace the faults (``Faults()`` clears them)."""
        with self._lock:
            self._faults = faults

    def take(self, modes: frozenset[FaultMode]) -> FaultMode | None:
        """The mode to apply to this request if it is one of ``modes``, consuming one count."""
        with self._lock:
            faults = self._faults
            if faults.mode is None or faults.mode not in modes:
                return None
            if faults.count is not None:
                left = faults.count - 1
                self._faults = (
                    replace(faults, count=left) if left else replace(faults, mode=None, count=None)
                )
            return faults.mode


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxOptions:
    """How a sandbox behaves. The defaults answer like the real API for a FULL account.

    ``port=0`` picks a free port. ``tokens`` empty means any ``Authorization: Token <t>`` is
    accepted. ``db`` is an SQLite file (``None``: in memory, gone at stop). ``time_scale``
    compresses simulated calls: 0.01 makes a 60 s ring arrive in 0.6 s while the timestamps in
    postbacks stay those of a real call. ``audio_judge`` replaces the download-and-inspect step
    (tests); ``audio_cache`` reuses a verdict while the file's ETag/Last-Modified is unchanged.
    """

    host: str = "127.0.0.1"
    port: int = 0
    tokens: tuple[str, ...] = field(default=(), repr=False)
    account_type: api.AccountType = api.AccountType.FULL
    personal_number: str | None = None
    max_destinations: int = api.DEFAULT_MAX_DESTINATIONS
    seed: int = 0
    db: str | Path | None = None
    time_scale: float = 1.0
    faults: Faults = Faults()
    default_sender_id: str = DEFAULT_SENDER_ID
    default_ring_timeout_s: int = 60
    postback_attempts: int = 4
    postback_backoff_s: float = 1.0
    postback_timeout_s: float = 5.0
    postback_workers: int = 8
    audio_judge: Callable[[str], AudioVerdict] | None = field(default=None, repr=False)
    audio_cache: bool = True

    def __post_init__(self) -> None:
        if self.account_type is api.AccountType.TEST and not self.personal_number:
            raise ValueError("a TEST account needs a personal_number")
        if self.max_destinations < 1:
            raise ValueError("max_destinations must be at least 1")
        if self.time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        if self.postback_attempts < 1:
            raise ValueError("postback_attempts must be at least 1")
        if any(not token or token != token.strip() for token in self.tokens):
            raise ValueError("tokens must be non-empty and have no surrounding spaces")

    @property
    def limits(self) -> api.AccountLimits:
        """The account limits the validator applies to every request."""
        return api.AccountLimits(
            account_type=self.account_type,
            personal_number=self.personal_number,
            max_destinations=self.max_destinations,
        )
