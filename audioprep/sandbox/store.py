"""Persistence of the sandbox: jobs, their calls and their postbacks, in SQLite.

This module owns the schema and every SQL statement. One connection is shared by all threads
and guarded by a lock (an in-memory database exists only inside its connection, so this is also
what makes ``:memory:`` work across threads). A file database uses WAL, so lookups survive a
restart and pending postbacks are picked up again. Records are frozen dataclasses; their JSON
columns hold only what the wire shapes echo.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from audioprep import jsonio
from audioprep.errors import ConfigError, storage_error
from audioprep.walmode import create_private, enable_wal

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    api_job_id TEXT PRIMARY KEY,
    client_job_id TEXT,
    job_type TEXT NOT NULL,
    sender TEXT NOT NULL,
    callback_url TEXT,
    content TEXT NOT NULL,
    accepted_at REAL NOT NULL,
    time_scale REAL NOT NULL,
    audio_s REAL
);
CREATE TABLE IF NOT EXISTS calls (
    message_id TEXT PRIMARY KEY,
    api_job_id TEXT NOT NULL REFERENCES jobs(api_job_id),
    seq INTEGER NOT NULL,
    to_number TEXT NOT NULL,
    custom_id TEXT,
    outcome TEXT NOT NULL,
    ring_at REAL,
    answer_at REAL,
    hang_at REAL NOT NULL,
    duration INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_by_job ON calls(api_job_id, seq);
CREATE TABLE IF NOT EXISTS postbacks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL REFERENCES calls(message_id),
    url TEXT NOT NULL,
    kind TEXT NOT NULL,
    due_at REAL NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS postbacks_by_state ON postbacks(state, id);
"""


@dataclass(frozen=True, slots=True)
class JobRecord:
    """An accepted job. ``content`` is what callbacks echo (``audio_file_url`` or ``tts_*``);
    ``accepted_at`` is a Unix time, ``time_scale`` the compression its calls were planned with."""

    api_job_id: str
    client_job_id: str | None
    job_type: str
    sender: str
    callback_url: str | None
    content: dict[str, str]
    accepted_at: float
    time_scale: float
    audio_s: float | None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One destination's simulated call; the ``*_at`` are simulated seconds after acceptance."""

    message_id: str
    api_job_id: str
    seq: int
    to: str
    custom_id: str | None
    outcome: str
    ring_at: float | None
    answer_at: float | None
    hang_at: float
    duration: int


@dataclass(frozen=True, slots=True)
class PostbackRecord:
    """One postback to deliver: ``due_at`` is a real Unix time, ``kind`` ringing or final."""

    message_id: str
    url: str
    kind: str
    due_at: float
    body: dict[str, Any]
    state: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    id: int | None = None


class Store:
    """The sandbox database: thread-safe, one connection, closed by :meth:`close`."""

    def __init__(self, path: str | Path | None = None) -> None:
        target = str(path) if path is not None else ":memory:"
        self._lock = threading.Lock()
        try:
            self._conn = self._open(target, wal=path is not None)
        except (OSError, sqlite3.Error) as exc:
            found = storage_error(exc, "the sandbox's database", target)
            raise found or ConfigError(
                f"cannot open the sandbox's database {target}: {exc}"
            ) from exc
        log.debug("store opened: %s", target)

    @staticmethod
    def _open(target: str, *, wal: bool) -> sqlite3.Connection:
        if wal:
            create_private(target)
        conn = sqlite3.connect(target, check_same_thread=False, timeout=30)
        conn.row_factory = sqlite3.Row
        if wal:
            enable_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(_SCHEMA)
        return conn

    def close(self) -> None:
        """Close the connection (an in-memory database is gone afterwards)."""
        with self._lock:
            self._conn.close()

    def add_job(
        self, job: JobRecord, calls: Sequence[CallRecord], postbacks: Sequence[PostbackRecord]
    ) -> list[PostbackRecord]:
        """Store a job with its calls and postbacks in one transaction; returns the postbacks
        with their ids. Raises ``sqlite3.IntegrityError`` when an id is already taken."""
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job.api_job_id,
                    job.client_job_id,
                    job.job_type,
                    job.sender,
                    job.callback_url,
                    jsonio.dumps(job.content),
                    job.accepted_at,
                    job.time_scale,
                    job.audio_s,
                ),
            )
            self._conn.executemany(
                "INSERT INTO calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_call_row(call) for call in calls],
            )
            return [self._insert_postback(p) for p in postbacks]

    def _insert_postback(self, postback: PostbackRecord) -> PostbackRecord:
        cursor = self._conn.execute(
            "INSERT INTO postbacks (message_id, url, kind, due_at, body) VALUES (?, ?, ?, ?, ?)",
            (
                postback.message_id,
                postback.url,
                postback.kind,
                postback.due_at,
                jsonio.dumps(postback.body),
            ),
        )
        return replace(postback, id=cursor.lastrowid)

    def get_job(self, api_job_id: str) -> JobRecord | None:
        """The job with this id, or None."""
        rows = self._query("SELECT * FROM jobs WHERE api_job_id = ?", (api_job_id,))
        return _job(rows[0]) if rows else None

    def get_call(self, message_id: str) -> CallRecord | None:
        """The call with this message_id, or None."""
        rows = self._query("SELECT * FROM calls WHERE message_id = ?", (message_id,))
        return _call(rows[0]) if rows else None

    def calls_of(self, api_job_id: str) -> list[CallRecord]:
        """A job's calls in the order of its destinations."""
        rows = self._query("SELECT * FROM calls WHERE api_job_id = ? ORDER BY seq", (api_job_id,))
        return [_call(row) for row in rows]

    def pending_postbacks(self) -> list[PostbackRecord]:
        """Postbacks not yet delivered or given up, oldest first (to resume after a restart)."""
        rows = self._query("SELECT * FROM postbacks WHERE state = 'pending' ORDER BY id", ())
        return [_postback(row) for row in rows]

    def update_postback(self, postback: PostbackRecord) -> None:
        """Record a delivery attempt's result (state, attempts, last error)."""
        with self._lock, self._conn:
            self._conn.execute(
                "UPDATE postbacks SET state = ?, attempts = ?, last_error = ? WHERE id = ?",
                (postback.state, postback.attempts, postback.last_error, postback.id),
            )

    def job_ids(self) -> list[str]:
        """Every stored api_job_id, oldest first."""
        return [str(row[0]) for row in self._query("SELECT api_job_id FROM jobs ORDER BY rowid")]

    def counts(self) -> dict[str, int]:
        """How many jobs and calls are stored, and postbacks per state."""
        found = {"jobs": 0, "calls": 0, "postbacks_pending": 0}
        found |= {"postbacks_delivered": 0, "postbacks_failed": 0}
        found["jobs"] = int(self._query("SELECT COUNT(*) FROM jobs")[0][0])
        found["calls"] = int(self._query("SELECT COUNT(*) FROM calls")[0][0])
        for state, count in self._query("SELECT state, COUNT(*) FROM postbacks GROUP BY state"):
            found[f"postbacks_{state}"] = int(count)
        return found

    def _query(self, sql: str, params: Iterable[object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            rows: list[sqlite3.Row] = self._conn.execute(sql, tuple(params)).fetchall()
            return rows


def _call_row(call: CallRecord) -> tuple[object, ...]:
    return (
        call.message_id,
        call.api_job_id,
        call.seq,
        call.to,
        call.custom_id,
        call.outcome,
        call.ring_at,
        call.answer_at,
        call.hang_at,
        call.duration,
    )


def _job(row: sqlite3.Row) -> JobRecord:
    return JobRecord(
        api_job_id=row["api_job_id"],
        client_job_id=row["client_job_id"],
        job_type=row["job_type"],
        sender=row["sender"],
        callback_url=row["callback_url"],
        content=jsonio.loads(row["content"]),
        accepted_at=row["accepted_at"],
        time_scale=row["time_scale"],
        audio_s=row["audio_s"],
    )


def _call(row: sqlite3.Row) -> CallRecord:
    return CallRecord(
        message_id=row["message_id"],
        api_job_id=row["api_job_id"],
        seq=row["seq"],
        to=row["to_number"],
        custom_id=row["custom_id"],
        outcome=row["outcome"],
        ring_at=row["ring_at"],
        answer_at=row["answer_at"],
        hang_at=row["hang_at"],
        duration=row["duration"],
    )


def _postback(row: sqlite3.Row) -> PostbackRecord:
    return PostbackRecord(
        id=row["id"],
        message_id=row["message_id"],
        url=row["url"],
        kind=row["kind"],
        due_at=row["due_at"],
        body=jsonio.loads(row["body"]),
        state=row["state"],
        attempts=row["attempts"],
        last_error=row["last_error"],
    )
