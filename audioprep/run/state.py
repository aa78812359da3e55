"""The state of ``audioprep run``: which stages of which item are finished, and what they made.

This module owns the run-state database (SQLite) and every statement on it. An *item* is keyed
by its source identity (the absolute path of a file, or a hash of a URL so that a presigned
signature is never stored) plus the SHA-256 of its content; each finished stage is a row
(:class:`Marker`) holding a fingerprint of everything the stage depended on (the content hash,
the profile, the bucket, the destinations...) and its outputs (a file and its SHA-256, a URL,
job ids). A re-run reuses a stage only when its fingerprint matches and its outputs still hold
(the pipeline checks files and URLs); anything else is done again.

``docs/run.md`` (*The run state*) has the details and the measurements.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from audioprep import jsonio
from audioprep.errors import ConfigError, storage_error
from audioprep.run.model import Stage
from audioprep.walmode import create_private, enable_wal

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1"
#: An item as :meth:`RunState.note_items` takes it: source_id, source as shown,
#: content SHA-256, output path, status (None: keep what is stored).
ItemRow = tuple[str, str, str | None, str | None, str | None]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    source_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    content_sha256 TEXT,
    output TEXT,
    status TEXT,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS stages (
    source_id TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    stage TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    outputs TEXT NOT NULL,
    message TEXT NOT NULL,
    finished_at REAL NOT NULL,
    PRIMARY KEY (source_id, content_sha256, stage)
);
"""


def fingerprint(*parts: object) -> str:
    """A stable hash of a stage's inputs (JSON of ``parts``, keys sorted)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Marker:
    """One finished stage of one item: what it depended on and what it produced.

    ``content_sha256`` is the item's content (``""`` for stages that run before the content is
    known, such as downloading a URL). ``outputs`` is JSON-ready.
    """

    stage: Stage
    content_sha256: str
    fingerprint: str
    outputs: Mapping[str, Any] = field(default_factory=dict)
    message: str = ""


class RunState:
    """The run-state file; a context manager, safe to share between the run's threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._owner = _exclusive(self.path.with_name(self.path.name + ".lock"))
        except OSError as exc:
            found = storage_error(exc, "the run state", self.path)
            raise found or ConfigError(f"cannot lock the run state {self.path}: {exc}") from exc
        try:
            self._conn = self._connect()
        except (OSError, sqlite3.Error) as exc:
            if self._owner is not None:
                self._owner.close()
            raise storage_error(exc, "the run state", self.path) or ConfigError(
                f"cannot open the run state {self.path}: {exc}",
                hint="pass another --state file, or delete this one to start over",
            ) from exc

    def _connect(self) -> sqlite3.Connection:
        create_private(self.path)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            enable_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            _check_version(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        """Close the database (the WAL is checkpointed) and let another run have it."""
        with self._lock:
            self._conn.close()
        if self._owner is not None:
            self._owner.close()

    def __enter__(self) -> RunState:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """A write's SQLite error as what it means: a full disk (120), or the state broken."""
        try:
            yield
        except sqlite3.Error as exc:
            found = storage_error(exc, "the run state", self.path)
            raise found or ConfigError(f"cannot write the run state {self.path}: {exc}") from exc

    # --- stages --------------------------------------------------------------------------

    def markers(self, source_id: str) -> tuple[Marker, ...]:
        """Every finished stage recorded for ``source_id`` (any content)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT stage, content_sha256, fingerprint, outputs, message FROM stages"
                " WHERE source_id = ? ORDER BY finished_at",
                (source_id,),
            ).fetchall()
        return tuple(
            Marker(Stage(stage), sha, fp, jsonio.loads(outputs), message)
            for stage, sha, fp, outputs, message in rows
        )

    def record(self, source_id: str, marker: Marker) -> None:
        """Record a finished stage (replacing an older one), committed at once."""
        with self._lock, self._writing(), self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO stages VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    source_id,
                    marker.content_sha256,
                    marker.stage.value,
                    marker.fingerprint,
                    jsonio.dumps(dict(marker.outputs), sort_keys=True),
                    marker.message,
                    time.time(),
                ),
            )
        log.debug("state: %s %s done", source_id[:12], marker.stage.value)

    def forget(self, source_id: str, content_sha256: str, stage: Stage) -> None:
        """Drop a stage whose outputs no longer hold, committed at once."""
        with self._lock, self._writing(), self._conn:
            self._conn.execute(
                "DELETE FROM stages WHERE source_id = ? AND content_sha256 = ? AND stage = ?",
                (source_id, content_sha256, stage.value),
            )

    # --- items ---------------------------------------------------------------------------

    def note_item(
        self,
        source_id: str,
        source: str,
        *,
        content_sha256: str | None = None,
        output: str | None = None,
        status: str | None = None,
    ) -> None:
        """Remember an item (as shown, never with a URL's query), its content and result."""
        self.note_items([(source_id, source, content_sha256, output, status)])

    def note_items(self, rows: Iterable[ItemRow]) -> None:
        """:meth:`note_item` for many items, in one transaction."""
        now = time.time()
        with self._lock, self._writing(), self._conn:
            self._conn.executemany(
                "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(source_id) DO UPDATE"
                " SET source = excluded.source,"
                " content_sha256 = COALESCE(excluded.content_sha256, content_sha256),"
                " output = COALESCE(excluded.output, output),"
                " status = COALESCE(excluded.status, status), updated_at = excluded.updated_at",
                [(key, jsonio.valid_text(shown), *rest, now) for key, shown, *rest in rows],
            )

    def item_output(self, source_id: str) -> str | None:
        """The output path assigned to ``source_id`` by an earlier run, if any."""
        with self._lock:
            row = self._conn.execute(
                "SELECT output FROM items WHERE source_id = ?", (source_id,)
            ).fetchone()
        return str(row[0]) if row and row[0] else None

    def items(self) -> list[dict[str, Any]]:
        """Every item known, oldest first (for tests and ``--state`` inspection)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT source_id, source, content_sha256, output, status FROM items ORDER BY rowid"
            ).fetchall()
        keys = ("source_id", "source", "content_sha256", "output", "status")
        return [dict(zip(keys, row, strict=True)) for row in rows]


def _check_version(conn: sqlite3.Connection) -> None:
    """Refuse a state file written by an incompatible version."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    if row is None:
        conn.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
    elif row[0] != SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"schema version {row[0]}, expected {SCHEMA_VERSION}")


def _exclusive(path: Path) -> IO[bytes] | None:
    """Hold an exclusive advisory lock on ``path`` while the returned file is open (None where
    ``fcntl`` does not exist). :class:`ConfigError` when another process holds it."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock, one run at a time is up to the user
        return None
    handle = path.open("ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise ConfigError(
            f"another 'audioprep run' is using the state {path.with_suffix('')}",
            hint="wait for it to finish, or give this run another --state (and -o)",
        ) from None
    return handle
