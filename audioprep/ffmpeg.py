"""Finding and running ffmpeg: the only module that spawns it.

Resolution order: ``AUDIOPREP_FFMPEG`` (a path), then ``ffmpeg`` on ``PATH`` (a system build),
then the static binary shipped by the ``imageio-ffmpeg`` wheel, so a machine with only pip works.
No ffprobe is ever needed. Commands are argument lists, never shell strings.
"""

from __future__ import annotations

import functools
import logging
import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence
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


def run(
    args: Sequence[str], *, timeout: float | None = None, input_bytes: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg with ``args`` (without the program name); never raises on a non-zero exit.

    ``-nostdin`` and ``-hide_banner`` are always added. The caller judges the result: ffmpeg
    exits 0 on many decode errors, so stderr matters as much as the return code.
    """
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", *args]
    log.debug("running %s", shlex.join(cmd))
    try:
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
