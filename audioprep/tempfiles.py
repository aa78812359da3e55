"""Temporary files and folders named for the process that owns them, and the leftovers of
processes that were killed.

Every temporary path audioprep makes beside its outputs (a fix's work folder, a download's
``.part`` file, a report being written) is named ``.audioprep-<kind>-<pid>-<random>``. A
process killed with SIGKILL cannot remove its own; the next ``fix`` or ``run`` on the same
output calls :func:`remove_leftovers`, which removes only audioprep's own names whose process
no longer runs.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

Place = str | os.PathLike[str]
_OURS = re.compile(r"\.audioprep-(?:[a-z]+-)?(\d+)-[^/]*\Z")


def prefix(kind: str) -> str:
    """The name prefix of this process's temporary paths of ``kind`` (``fix``, ``part``...)."""
    return f".audioprep-{kind}-{os.getpid()}-"


def make_dir(
    kind: str, directory: str | os.PathLike[str] | None
) -> tempfile.TemporaryDirectory[str]:
    """A temporary folder in ``directory`` (same file system: renames out of it are atomic)."""
    return tempfile.TemporaryDirectory(prefix=prefix(kind), dir=directory)


def remove_leftovers(directory: Place) -> list[Path]:
    """Remove the temporary paths in ``directory`` that a process no longer running left;
    never another program's files, never a live process's. Returns what was removed."""
    if os.name == "nt":  # os.kill(pid, 0) would end the process there
        return []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    removed = []
    for entry in entries:
        found = _OURS.match(entry.name)
        if found is None or _alive(int(found[1])):
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError as exc:
            log.debug("could not remove the leftover %s: %s", path, exc)
            continue
        log.info("removed %s, left by a process that no longer runs", path)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, owned by someone else
        return True
    return True
