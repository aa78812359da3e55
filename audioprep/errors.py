"""Exit codes and the one exception root.

Every error audioprep raises on purpose is an :class:`AudioprepError`; each carries the exit code
the CLI turns it into. Findings about files, names and requests are *data*
(:mod:`audioprep.models`), never exceptions: an exception here means the tool could not do its job.
"""

from __future__ import annotations

import errno
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, the same for every command (documented in the README)."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    CONFIG = 3
    UNAVAILABLE = 4
    UNKNOWN_OUTCOME = 5
    #: Our own output could not be written (a full disk); Python's own status for that.
    OUTPUT_FAILED = 120
    INTERRUPTED = 130


class AudioprepError(Exception):
    """Root of every error audioprep raises deliberately.

    ``hint`` is the fix we can suggest, shown on its own line by the CLI.
    """

    exit_code: ExitCode = ExitCode.FINDINGS

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(AudioprepError):
    """The arguments cannot be acted on (bad combination, unreadable input file)."""

    exit_code = ExitCode.USAGE


class ConfigError(AudioprepError):
    """Configuration or credentials are missing or invalid."""

    exit_code = ExitCode.CONFIG


class ServiceUnavailable(AudioprepError):
    """A remote service (S3, the Voice API) could not be reached or answered 5xx."""

    exit_code = ExitCode.UNAVAILABLE


class ToolError(AudioprepError):
    """An external tool (ffmpeg) is missing or failed in a way that is not a finding."""

    exit_code = ExitCode.CONFIG


class OutputError(AudioprepError):
    """Our own output could not be written: the disk holding it is full."""

    exit_code = ExitCode.OUTPUT_FAILED


#: SQLite's result codes that mean the same as these ``errno`` values do.
_SQLITE_FULL, _SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_PERM = 13, 8, 14, 3
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_DENIED_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def storage_error(exc: BaseException, what: str, path: object) -> AudioprepError | None:
    """What an OS or SQLite error on one of audioprep's own files means to its user: a full
    disk (exit 120), a place that cannot be written (exit 2); ``None`` for anything else."""
    code = getattr(exc, "sqlite_errorcode", None)
    number = getattr(exc, "errno", None)
    if code == _SQLITE_FULL or number in _FULL_ERRNOS:
        return OutputError(
            f"cannot write {what} {path}: the disk is full",
            hint="free some space (what was recorded is kept) and run the command again",
        )
    if code in (_SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_PERM) or number in _DENIED_ERRNOS:
        reason = getattr(exc, "strerror", None) or str(exc)
        return UsageError(
            f"cannot write {what} {path}: {reason}",
            hint="choose a place you may write to",
        )
    return None
