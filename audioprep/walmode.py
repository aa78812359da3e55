"""Our SQLite files: created private (0600), and put in WAL mode safely when several
connections create one at once.

The run state, the journal, the postback store and the sandbox's store are SQLite files in
write-ahead-log mode (readers never block the writer). Switching a new file to WAL takes an
exclusive lock, and SQLite answers ``database is locked`` at once, without waiting out the
connection's busy timeout, when another connection is doing the same: two threads of a run
submitting their first items together failed to open a fresh journal (measured: 1 try in
~30 with 8 threads). Once the file is in WAL mode the switch is a no-op, so only the first
moments of a file's life are affected; :func:`enable_wal` retries within a deadline.
"""

from __future__ import annotations

import os
import sqlite3
import time

#: How long to keep trying (the connections' own busy timeout is 30 s).
DEADLINE_S = 30.0
_FIRST_PAUSE_S = 0.001
_LONGEST_PAUSE_S = 0.05


def enable_wal(conn: sqlite3.Connection, deadline_s: float = DEADLINE_S) -> None:
    """``PRAGMA journal_mode=WAL`` on ``conn``, retried while another connection holds the
    lock it needs; other errors (and a lock held past ``deadline_s``) are raised."""
    give_up = time.monotonic() + deadline_s
    pause = _FIRST_PAUSE_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if not _locked(exc) or time.monotonic() + pause > give_up:
                raise
        time.sleep(pause)
        pause = min(pause * 2, _LONGEST_PAUSE_S)


def _locked(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def create_private(path: str | os.PathLike[str]) -> None:
    """Create ``path`` empty and readable by its owner only (0600), unless it exists.

    SQLite gives a database's ``-wal`` and ``-shm`` files the database's own permissions, so
    the run state, the journal and the postback store (which hold presigned URLs and callback
    secrets) are never readable by other users, whatever the umask.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)
