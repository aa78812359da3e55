"""Finding and running ffmpeg: the only module that spawns it.

Resolution order: ``AUDIOPREP_FFMPEG`` (a path), then ``ffmpeg`` on ``PATH`` (a system build),
then the static binary shipped by the ``imageio-ffmpeg`` wheel, so a machine with only pip works.
No ffprobe is ever needed. Commands are argument lists, never shell strings.

:func:`limit` caps how many ffmpeg processes this process runs at once (``audioprep run
--jobs``): a thread waits for a slot just before spawning and frees it when ffmpeg exits, so
the Python work around each process (parsing, hashing, uploading) never holds a CPU slot.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import shlex
import shutil
import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from audioprep.errors import ToolError

log = logging.getLogger(__name__)

ENV_VAR = "AUDIOPREP_FFMPEG"


@dataclass(frozen=True, slots=True)
class Ffmpeg:
    """A usable ffmpeg binary and where it came from (``env``, ``path`` or ``bundled``)."""

    path: str
    source: str


def _bundled() -> str | None:
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        exe = str(imageio_ffmpeg.get_ffmpeg_exe())
    except (RuntimeError, OSError):
        return None
    return exe if os.path.isfile(exe) else None


@functools.cache
def find_ffmpeg() -> Ffmpeg:
    """Return the ffmpeg to use, or raise :class:`ToolError` saying how to get one."""
    override = os.environ.get(ENV_VAR)
    if override:
        if shutil.which(override) is None and not os.access(override, os.X_OK):
            raise ToolError(
                f"{ENV_VAR}={override} is not an executable ffmpeg",
                hint=f"unset {ENV_VAR} or point it at an ffmpeg binary",
            )
        return Ffmpeg(override, "env")
    system = shutil.which("ffmpeg")
    if system:
        return Ffmpeg(system, "path")
    bundled = _bundled()
    if bundled:
        return Ffmpeg(bundled, "bundled")
    raise ToolError(
        "no ffmpeg found (not on PATH, and the imageio-ffmpeg wheel is missing)",
        hint="pip install imageio-ffmpeg, or install ffmpeg with your package manager",
    )


def ffmpeg_exe() -> str:
    """Shortcut for ``find_ffmpeg().path``."""
    return find_ffmpeg().path


#: The process-wide cap set by :func:`limit` (None: no cap).
_slots: threading.BoundedSemaphore | None = None


@contextlib.contextmanager
def limit(processes: int) -> Iterator[None]:
    """While the block runs, at most ``processes`` ffmpeg processes run at once in this
    process (the block's threads and any other). The previous cap is restored on exit."""
    global _slots
    if processes < 1:
        raise ValueError(f"processes must be at least 1, not {processes}")
    previous, _slots = _slots, threading.BoundedSemaphore(processes)
    try:
        yield
    finally:
        _slots = previous


def run(
    args: Sequence[str], *, timeout: float | None = None, input_bytes: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg with ``args`` (without the program name); never raises on a non-zero exit.

    ``-nostdin`` and ``-hide_banner`` are always added. The caller judges the result: ffmpeg
    exits 0 on many decode errors, so stderr matters as much as the return code. Under
    :func:`limit` it first waits for a free slot.
    """
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", *args]
    if log.isEnabledFor(logging.DEBUG):
        log.debug("running %s", shlex.join(cmd))
    slot = _slots or contextlib.nullcontext()
    try:
        with slot:
            return subprocess.run(
                cmd,
                input=input_bytes,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"ffmpeg did not finish within {timeout:g} s: {shlex.join(cmd)}") from exc
    except OSError as exc:
        raise ToolError(f"cannot run ffmpeg ({cmd[0]}): {exc}") from exc


@functools.cache
def version() -> str:
    """The first line of ``ffmpeg -version``."""
    proc = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, check=False)
    first = proc.stdout.decode("utf-8", "replace").splitlines()
    return first[0].split(" Copyright")[0] if first else "unknown"


#: The ffmpeg releases the test suite passes with: Debian 12's package and the wheel's build.
TESTED_VERSIONS: tuple[tuple[int, int], ...] = ((5, 1), (9, 0))

_VERSION_RE = re.compile(r"ffmpeg version n?(\d+)\.(\d+)")


def version_number(line: str | None = None) -> tuple[int, int] | None:
    """``(major, minor)`` of the ffmpeg in use (or of a ``-version`` first ``line``); ``None``
    for a build that names no release (a git snapshot: ``N-112233-g...``)."""
    found = _VERSION_RE.match(version() if line is None else line)
    return (int(found[1]), int(found[2])) if found else None


def older_than_tested(line: str | None = None) -> bool:
    """Whether the ffmpeg in use is a release older than any the suite is run with."""
    number = version_number(line)
    return number is not None and number < min(TESTED_VERSIONS)


@functools.cache
def encoders() -> frozenset[str]:
    """Names of the audio encoders this ffmpeg offers (e.g. ``libmp3lame``)."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-encoders"], capture_output=True, check=False
    )
    names = set()
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith("A"):
            names.add(parts[1])
    return frozenset(names)
