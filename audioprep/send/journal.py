"""The submission journal: what was about to be sent, and what became of it (SQLite).

This module owns the journal's schema and every statement on it. Each submission of a job is a
row, written and committed *before* its POST (state ``intent``) and settled after it
(``accepted``, ``rejected``, ``unknown`` or ``failed_before_send``). A crash in between leaves
``intent``, which a re-run treats like ``unknown``: the API may have the job.

Claiming a job — looking for an earlier submission with the same ``job_id`` or the same content
and, if none blocks, writing the intent — is one ``BEGIN IMMEDIATE`` transaction, so two
processes cannot both send the same job. The database runs in WAL mode with
``synchronous=FULL``: an intent that was committed survives a crash or power loss.

Only the payload (which has no credentials) and the endpoint without query or user-info are
stored; the API token never is.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

from audioprep import jsonio
from audioprep.errors import ConfigError, storage_error
from audioprep.walmode import create_private, enable_wal

log = logging.getLogger(__name__)

JOURNAL_FILE = "journal.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL,
    payload TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    destinations INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN
        ('intent', 'accepted', 'rejected', 'unknown', 'failed_before_send')),
    api_job_id TEXT,
    http_status INTEGER,
    status_code INTEGER,
    description TEXT,
    message_ids TEXT NOT NULL DEFAULT '{}',
    attempts INTEGER NOT NULL DEFAULT 0,
    note TEXT,
    forced INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_by_job ON submissions(job_id, id);
CREATE INDEX IF NOT EXISTS submissions_by_content ON submissions(content_sha256, id);
CREATE INDEX IF NOT EXISTS submissions_by_api_job ON submissions(api_job_id);
"""


class State(StrEnum):
    """Where a submission stands."""

    INTENT = "intent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    FAILED_BEFORE_SEND = "failed_before_send"


#: States of an earlier submission that forbid sending again without ``force``: the API has
#: the job (accepted) or may have it (unknown; intent = crashed while sending).
BLOCKING = frozenset({State.INTENT, State.ACCEPTED, State.UNKNOWN})
_BLOCKING_SQL = ", ".join(f"'{state.value}'" for state in sorted(BLOCKING))


@dataclass(frozen=True, slots=True)
class Entry:
    """One submission of one job. ``message_ids`` maps number → message_id."""

    id: int
    job_id: str
    content_sha256: str
    payload_sha256: str
    payload: str
    endpoint: str
    destinations: int
    state: State
    api_job_id: str | None
    http_status: int | None
    status_code: int | None
    description: str | None
    message_ids: Mapping[str, str]
    attempts: int
    note: str | None
    forced: bool
    created_at: float
    updated_at: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (the payload is included as parsed JSON)."""
        return {
            "id": self.id,
            "job_id": self.job_id,
            "state": self.state.value,
            "api_job_id": self.api_job_id,
            "http_status": self.http_status,
            "status_code": self.status_code,
            "description": self.description,
            "message_ids": dict(self.message_ids),
            "destinations": self.destinations,
            "attempts": self.attempts,
            "note": self.note,
            "forced": self.forced,
            "endpoint": self.endpoint,
            "content_sha256": self.content_sha256,
            "payload_sha256": self.payload_sha256,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Intent:
    """What is about to be sent."""

    job_id: str
    content_sha256: str
    payload_sha256: str
    payload: bytes = field(repr=False)
    endpoint: str
    destinations: int


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer to :meth:`Journal.claim`: ``entry`` is the new intent row (None when an
    earlier submission blocks sending); ``previous`` the latest earlier one that matched."""

    entry: Entry | None
    previous: Entry | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Settlement:
    """What became of a submission."""

    state: State
    api_job_id: str | None = None
    http_status: int | None = None
    status_code: int | None = None
    description: str | None = None
    message_ids: Mapping[str, str] = field(default_factory=dict)
    attempts: int = 0
    note: str | None = None


def default_path() -> Path:
    """``journal.sqlite3`` in the user's state directory."""
    from audioprep.config import state_dir

    return state_dir() / JOURNAL_FILE


class Journal:
    """The journal file; a context manager. Not shared between threads."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        try:
            if read_only:
                uri = f"{Path(os.path.realpath(self.path)).as_uri()}?mode=ro"
                self._conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                create_private(self.path)
                self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                enable_wal(self._conn)
                self._conn.execute("PRAGMA synchronous=FULL")
                self._conn.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            found = storage_error(exc, "the journal", self.path)
            raise found or ConfigError(f"cannot open the journal {self.path}: {exc}") from exc
        self._conn.row_factory = sqlite3.Row

    def close(self) -> None:
        """Close the database."""
        self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def claim(self, intent: Intent, *, force: bool = False) -> Claim:
        """Record the intent to send, unless an earlier submission of the same job or content
        blocks it (see :data:`BLOCKING`) and ``force`` is off. Committed before returning."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            previous = self._previous(intent.job_id, intent.content_sha256)
            blocked = previous is not None and previous.state in BLOCKING
            if blocked and not force:
                self._conn.execute("COMMIT")
                return Claim(None, previous)
            note = None
            if blocked and previous is not None:
                note = f"forced over submission {previous.id} ({previous.state.value})"
            entry_id = self._insert(intent, note=note, forced=blocked)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        log.debug("journal: intent %d for job %s", entry_id, intent.job_id)
        return Claim(self.get(entry_id), previous)

    def settle(self, entry_id: int, outcome: Settlement) -> Entry:
        """Record what became of submission ``entry_id`` (committed at once)."""
        with self._conn:
            self._conn.execute(
                "UPDATE submissions SET state = ?, api_job_id = ?, http_status = ?,"
                " status_code = ?, description = ?, message_ids = ?, attempts = ?,"
                " note = COALESCE(?, note), updated_at = ? WHERE id = ?",
                (
                    outcome.state.value,
                    outcome.api_job_id,
                    outcome.http_status,
                    outcome.status_code,
                    outcome.description,
                    jsonio.dumps(dict(outcome.message_ids)),
                    outcome.attempts,
                    outcome.note,
                    time.time(),
                    entry_id,
                ),
            )
        log.debug("journal: submission %d is %s", entry_id, outcome.state.value)
        return self.get(entry_id)

    def get(self, entry_id: int) -> Entry:
        """The submission with this id."""
        rows = self._rows("SELECT * FROM submissions WHERE id = ?", (entry_id,))
        if not rows:
            raise KeyError(entry_id)
        return rows[0]

    def latest(self, job_id: str, content_sha256: str) -> Entry | None:
        """The latest submission with this job_id or this content, or None."""
        return self._previous(job_id, content_sha256)

    def by_job_id(self, job_id: str) -> list[Entry]:
        """Submissions of ``job_id`` and of the jobs split from it (``<job_id>-N``)."""
        rows = self._rows(
            "SELECT * FROM submissions WHERE job_id = ? OR substr(job_id, 1, ?) = ? ORDER BY id",
            (job_id, len(job_id) + 1, job_id + "-"),
        )
        return [entry for entry in rows if _is_split_of(entry.job_id, job_id)]

    def by_api_job_id(self, api_job_id: str) -> list[Entry]:
        """Submissions the API answered with this api_job_id."""
        return self._rows("SELECT * FROM submissions WHERE api_job_id = ?", (api_job_id,))

    def by_message_id(self, message_id: str) -> list[Entry]:
        """Submissions whose answer listed this message_id."""
        return self._rows(
            "SELECT s.* FROM submissions AS s, json_each(s.message_ids) AS m"
            " WHERE m.value = ? ORDER BY s.id",
            (message_id,),
        )

    def entries(self) -> list[Entry]:
        """Every submission, oldest first."""
        return self._rows("SELECT * FROM submissions ORDER BY id", ())

    def _previous(self, job_id: str, content_sha256: str) -> Entry | None:
        """The latest blocking submission of this job or content, else the latest at all: one
        accepted long ago still blocks after a later forced resend was rejected."""
        rows = self._rows(
            "SELECT * FROM submissions WHERE job_id = ? OR content_sha256 = ?"
            f" ORDER BY state IN ({_BLOCKING_SQL}) DESC, id DESC LIMIT 1",
            (job_id, content_sha256),
        )
        return rows[0] if rows else None

    def _insert(self, intent: Intent, *, note: str | None, forced: bool) -> int:
        now = time.time()
        cursor = self._conn.execute(
            "INSERT INTO submissions (job_id, content_sha256, payload_sha256, payload, endpoint,"
            " destinations, state, note, forced, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, 'intent', ?, ?, ?, ?)",
            (
                intent.job_id,
                intent.content_sha256,
                intent.payload_sha256,
                intent.payload.decode("utf-8"),
                intent.endpoint,
                intent.destinations,
                note,
                int(forced),
                now,
                now,
            ),
        )
        return int(cursor.lastrowid or 0)

    def _rows(self, sql: str, params: tuple[object, ...]) -> list[Entry]:
        try:
            rows = self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot read the journal {self.path}: {exc}") from exc
        return [_entry(row) for row in rows]


def _entry(row: sqlite3.Row) -> Entry:
    return Entry(
        id=row["id"],
        job_id=row["job_id"],
        content_sha256=row["content_sha256"],
        payload_sha256=row["payload_sha256"],
        payload=row["payload"],
        endpoint=row["endpoint"],
        destinations=row["destinations"],
        state=State(row["state"]),
        api_job_id=row["api_job_id"],
        http_status=row["http_status"],
        status_code=row["status_code"],
        description=row["description"],
        message_ids=jsonio.loads(row["message_ids"] or "{}"),
        attempts=row["attempts"],
        note=row["note"],
        forced=bool(row["forced"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _is_split_of(candidate: str, job_id: str) -> bool:
    """``candidate`` is ``job_id`` or ``<job_id>-N`` (N in ASCII digits)."""
    if candidate == job_id:
        return True
    suffix = candidate.removeprefix(job_id + "-")
    return suffix != candidate and suffix.isascii() and suffix.isdigit()
