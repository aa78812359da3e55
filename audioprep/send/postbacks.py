"""Receiving the Voice API's postbacks: a small HTTP server and the SQLite store behind it.

This module owns the receiver (:class:`PostbackServer`, started and stopped in-process like the
sandbox; ``audioprep postbacks serve`` runs one until Ctrl-C) and the store
(:class:`PostbackStore`). Every POST is checked against the documented callback shape
(:func:`audioprep.api.check_callback_body`); a body of another shape is answered 400 and
logged with the reasons. A good one is stored raw (once per distinct body, counting repeat
deliveries) and parsed (one :class:`CallEvent` per CALLBACK_INFO, an identical one stored once),
then answered 200 at once: duplicates are harmless.

With a shared secret, only requests that carry it — as the last path segment
(``/postback/<secret>``) or a ``secret`` query parameter — are taken, compared in constant time;
others get 403 and nothing is stored. Request lines are never logged, so neither is the secret.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from audioprep import api, jsonio
from audioprep.errors import ConfigError, storage_error
from audioprep.net import sessions
from audioprep.net.serving import (
    BodyProblem,
    KeepAliveHandler,
    ServerThread,
    TrackingHTTPServer,
    WSGIApp,
)
from audioprep.version import __version__
from audioprep.walmode import create_private, enable_wal

log = logging.getLogger(__name__)

POSTBACKS_FILE = "postbacks.sqlite3"
DEFAULT_PORT = 8809
#: Largest body read; a postback carries one call (a lookup-style one, a job's calls).
MAX_BODY_BYTES = 1_000_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS postbacks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body_sha256 TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    received_at REAL NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_sha256 TEXT NOT NULL UNIQUE,
    postback_id INTEGER NOT NULL REFERENCES postbacks(id),
    api_job_id TEXT NOT NULL,
    client_job_id TEXT,
    message_id TEXT NOT NULL,
    to_number TEXT NOT NULL,
    status TEXT NOT NULL,
    micro_timestamp INTEGER,
    info TEXT NOT NULL,
    received_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_job ON events(api_job_id);
CREATE INDEX IF NOT EXISTS events_by_client_job ON events(client_job_id);
CREATE INDEX IF NOT EXISTS events_by_message ON events(message_id);
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEvent:
    """One CALLBACK_INFO: how one call stood at one moment. Dates are Unix seconds, None where
    the API sent ``false`` (did not happen) or nothing. ``source``: postback or lookup."""

    api_job_id: str
    client_job_id: str | None
    message_id: str
    to: str
    status: str
    client_message_id: str | None = None
    error_code: int | str | None = None
    error_description: str | None = None
    timestamp: int | None = None
    micro_timestamp: int | None = None
    ring_date: int | None = None
    answer_date: int | None = None
    hang_date: int | None = None
    answered: bool | None = None
    actual_duration: int | None = None
    billed_duration: int | None = None
    received_at: float = 0.0
    source: str = "postback"

    @classmethod
    def from_info(
        cls,
        body: Mapping[str, Any],
        info: Mapping[str, Any],
        *,
        received_at: float,
        source: str = "postback",
    ) -> CallEvent:
        """An event from a (checked) callback body and one of its CALLBACK_INFO objects."""
        answer = info.get("answer_date")
        return cls(
            api_job_id=str(body.get("api_job_id") or ""),
            client_job_id=_opt_str(body.get("client_job_id")),
            message_id=str(info.get("message_id") or ""),
            to=str(info.get("to") or ""),
            status=str(info.get("status") or ""),
            client_message_id=_opt_str(info.get("client_message_id")),
            error_code=info.get("error_code"),
            error_description=_opt_str(info.get("error_description")),
            timestamp=_opt_int(info.get("timestamp")),
            micro_timestamp=_opt_int(info.get("micro_timestamp")),
            ring_date=_opt_int(info.get("ring_date")),
            answer_date=_opt_int(answer),
            hang_date=_opt_int(info.get("hang_date")),
            answered=None if "answer_date" not in info else _opt_int(answer) is not None,
            actual_duration=_opt_int(info.get("actual_duration")),
            billed_duration=_opt_int(info.get("billed_duration")),
            received_at=received_at,
            source=source,
        )

    @property
    def final(self) -> bool:
        """True once the call has ended (it has a hang-up date)."""
        return self.hang_date is not None

    @property
    def order(self) -> tuple[bool, int, float]:
        """Sort key: final events last, then by the API's time, then by arrival."""
        moment = self.micro_timestamp or (self.timestamp or 0) * 1000
        return (self.final, moment, self.received_at)


def events_from_body(
    body: Mapping[str, Any], *, received_at: float, source: str = "postback"
) -> list[CallEvent]:
    """The events of a callback-format body (postback or lookup answer); entries that are not
    objects are skipped."""
    return [
        CallEvent.from_info(body, info, received_at=received_at, source=source)
        for info in api.callback_items(body)
        if isinstance(info, dict)
    ]


def _opt_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class Stored:
    """What :meth:`PostbackStore.add` did: the raw row's id, whether the body was seen
    before, and how many new events it added."""

    postback_id: int
    duplicate: bool
    new_events: int


def default_path() -> Path:
    """``postbacks.sqlite3`` in the user's state directory."""
    from audioprep.config import state_dir

    return state_dir() / POSTBACKS_FILE


class PostbackStore:
    """The postback database; thread-safe (one connection behind a lock)."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._conn = self._open(read_only)
        except (OSError, sqlite3.Error) as exc:
            found = storage_error(exc, "the postback store", self.path)
            raise found or ConfigError(
                f"cannot open the postback store {self.path}: {exc}"
            ) from exc
        self._conn.row_factory = sqlite3.Row

    def _open(self, read_only: bool) -> sqlite3.Connection:
        if read_only:
            uri = f"{Path(os.path.realpath(self.path)).as_uri()}?mode=ro"
            return sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        create_private(self.path)
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        enable_wal(conn)
        conn.executescript(_SCHEMA)
        return conn

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> PostbackStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def add(self, raw: bytes, body: Mapping[str, Any]) -> Stored:
        """Store a checked postback raw and parsed, in one transaction."""
        now = time.time()
        digest = hashlib.sha256(raw).hexdigest()
        with self._lock, self._conn:
            row = self._conn.execute(
                "SELECT id FROM postbacks WHERE body_sha256 = ?", (digest,)
            ).fetchone()
            if row is not None:
                self._conn.execute(
                    "UPDATE postbacks SET deliveries = deliveries + 1 WHERE id = ?", (row[0],)
                )
                return Stored(int(row[0]), True, 0)
            cursor = self._conn.execute(
                "INSERT INTO postbacks (body_sha256, body, received_at) VALUES (?, ?, ?)",
                (digest, raw.decode("utf-8"), now),
            )
            postback_id = int(cursor.lastrowid or 0)
            added = sum(self._add_event(postback_id, body, info, now) for info in _infos(body))
        return Stored(postback_id, False, added)

    def _add_event(
        self, postback_id: int, body: Mapping[str, Any], info: Mapping[str, Any], now: float
    ) -> int:
        event = CallEvent.from_info(body, info, received_at=now)
        text = jsonio.dumps(info, sort_keys=True)
        key = hashlib.sha256(f"{event.api_job_id}\n{text}".encode()).hexdigest()
        cursor = self._conn.execute(
            "INSERT OR IGNORE INTO events (event_sha256, postback_id, api_job_id, client_job_id,"
            " message_id, to_number, status, micro_timestamp, info, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                postback_id,
                event.api_job_id,
                event.client_job_id,
                event.message_id,
                event.to,
                event.status,
                event.micro_timestamp,
                text,
                now,
            ),
        )
        return cursor.rowcount

    def events(
        self,
        *,
        api_job_ids: Iterable[str] = (),
        client_job_ids: Iterable[str] = (),
        message_ids: Iterable[str] = (),
    ) -> list[CallEvent]:
        """Events matching any of the ids given, in arrival order."""
        clauses: list[str] = []
        params: list[str] = []
        for column, values in (
            ("api_job_id", api_job_ids),
            ("client_job_id", client_job_ids),
            ("message_id", message_ids),
        ):
            found = sorted(set(values))
            if found:
                clauses.append(f"{column} IN ({', '.join('?' * len(found))})")
                params.extend(found)
        if not clauses:
            return []
        sql = "SELECT * FROM events WHERE " + " OR ".join(clauses) + " ORDER BY id"
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [_event(row) for row in rows]

    def counts(self) -> dict[str, int]:
        """How many distinct postbacks, deliveries and events are stored."""
        with self._lock:
            row = self._conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(deliveries), 0) FROM postbacks"
            ).fetchone()
            events = self._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        return {"postbacks": int(row[0]), "deliveries": int(row[1]), "events": int(events)}


def _infos(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [info for info in api.callback_items(body) if isinstance(info, dict)]


def _event(row: sqlite3.Row) -> CallEvent:
    info = jsonio.loads(row["info"])
    body = {"api_job_id": row["api_job_id"], "client_job_id": row["client_job_id"]}
    return CallEvent.from_info(body, info, received_at=row["received_at"])


# --------------------------------------------------------------------------------------------
# The receiver
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PostbackOptions:
    """Where the receiver listens and stores. ``db`` None: the user's state directory.
    ``port`` 0 picks a free port. The secret is kept out of ``repr``."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    db: str | Path | None = None
    secret: str | None = field(default=None, repr=False)
    #: ``auto``: waitress when the address is not loopback (facing the network), else the
    #: light in-process server; ``waitress`` or ``threads`` to choose.
    server: str = "auto"
    #: waitress only: the most open connections, and seconds an idle or slow one is kept.
    connection_limit: int = 100
    idle_timeout_s: float = 30.0

    def faces_network(self) -> bool:
        """Whether requests come from other machines: served by waitress then."""
        if self.server != "auto":
            return self.server == "waitress"
        return not sessions.is_loopback(f"http://{_host_in_url(self.host)}/")


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the receiver answers to one request: status, JSON body, and the log reason."""

    status: int
    body: Mapping[str, Any]
    reason: str = ""


def secret_ok(secret: str | None, path: str) -> bool:
    """Whether a request path (with its query) carries ``secret``; True when none is set."""
    if not secret:
        return True
    parts = urlsplit(path)
    candidates = [unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])]
    candidates.extend(parse_qs(parts.query).get("secret", []))
    wanted = secret.encode("utf-8")
    return any(hmac.compare_digest(c.encode("utf-8"), wanted) for c in candidates)


def judge_postback(raw: bytes) -> tuple[Verdict, Mapping[str, Any] | None]:
    """Parse and check a body: (400 with reasons, None) or (200, the parsed body)."""
    try:
        body = jsonio.loads(raw)
    except jsonio.JSONError as exc:
        return Verdict(400, {"error": "the body is not JSON"}, f"not JSON: {exc.reason}"), None
    problems = api.check_callback_body(body)
    if problems:
        reason = "; ".join(problems[:5]) + (" …" if len(problems) > 5 else "")
        answer = {"error": "not the documented callback shape", "problems": list(problems)}
        return Verdict(400, answer, reason), None
    return Verdict(200, {"ok": True}), body


class _Server(TrackingHTTPServer):
    """The receiver's server: keep-alive connections, closed on stop; a connection that
    breaks mid-answer (the sender gave up) is logged, never printed."""

    def __init__(self, options: PostbackOptions, store: PostbackStore) -> None:
        super().__init__((options.host, options.port), _Handler)
        self.options = options
        self.store = store


class _Handler(KeepAliveHandler):
    server_version = f"audioprep-postbacks/{__version__}"
    sys_version = ""
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Request lines may carry the secret: log only the method."""
        log.debug("%s %s request", self.address_string(), self.command)

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/health":
            self._send(Verdict(200, {"ok": True}))
        else:
            self._send(Verdict(405, {"error": "postbacks are POSTed"}), allow="POST")

    def do_POST(self) -> None:
        verdict = self._receive()
        if verdict.status == 200:
            log.info("postback stored: %s", verdict.reason)
        else:
            log.warning("postback refused with %d: %s", verdict.status, verdict.reason)
        self._send(verdict)

    def _receive(self) -> Verdict:
        if not secret_ok(self.server.options.secret, self.path):
            self.close_connection = True
            return Verdict(403, {"error": "forbidden"}, "the secret is missing or wrong")
        raw = self._read_body()
        if not isinstance(raw, bytes):
            self.close_connection = True
            return raw
        return _store(self.server.store, raw)

    def _read_body(self) -> bytes | Verdict:
        """A non-empty body sent with a Content-Length (postbacks are never chunked), or
        the refusal to send."""
        body = self.read_body(MAX_BODY_BYTES) if "Content-Length" in self.headers else b""
        if body is BodyProblem.TOO_LARGE:
            return Verdict(413, {"error": "body too large"}, f"over {MAX_BODY_BYTES:,} bytes")
        if isinstance(body, BodyProblem) or not body:
            return Verdict(400, {"error": "a body with Content-Length is needed"}, "no body")
        return body

    def _send(self, verdict: Verdict, allow: str | None = None) -> None:
        data = jsonio.dumps(verdict.body).encode("utf-8")
        self.send_response(verdict.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if allow:
            self.send_header("Allow", allow)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


def _store(store: PostbackStore, raw: bytes) -> Verdict:
    """Judge a body and keep it: 200 (stored or a duplicate) or 400 with the reasons."""
    verdict, body = judge_postback(raw)
    if body is None:
        return verdict
    stored = store.add(raw, body)
    what = "duplicate" if stored.duplicate else f"{stored.new_events} new event(s)"
    return Verdict(
        200, {"ok": True, "duplicate": stored.duplicate}, f"#{stored.postback_id} {what}"
    )


# --------------------------------------------------------------------------------------------
# Facing the network: the same answers as a WSGI application, on waitress
# --------------------------------------------------------------------------------------------


def wsgi_app(options: PostbackOptions, store: PostbackStore) -> WSGIApp:
    """The receiver as a WSGI application (what waitress serves)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        verdict, allow = _wsgi_answer(options, store, environ)
        if verdict.status == 200 and environ["REQUEST_METHOD"] == "POST":
            log.info("postback stored: %s", verdict.reason)
        elif verdict.status >= 400:
            log.warning("postback refused with %d: %s", verdict.status, verdict.reason)
        data = jsonio.dumps(verdict.body).encode("utf-8")
        headers = [("Content-Type", "application/json; charset=utf-8")]
        headers += [("Content-Length", str(len(data)))] + ([("Allow", allow)] if allow else [])
        start_response(f"{verdict.status} {HTTPStatus(verdict.status).phrase}", headers)
        return [data]

    return app


def _wsgi_answer(
    options: PostbackOptions, store: PostbackStore, environ: dict[str, Any]
) -> tuple[Verdict, str | None]:
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
    if method == "GET":
        if path == "/health":
            return Verdict(200, {"ok": True}), None
        return Verdict(405, {"error": "postbacks are POSTed"}), "POST"
    if method != "POST":
        return Verdict(405, {"error": "postbacks are POSTed"}), "POST"
    query = environ.get("QUERY_STRING", "")
    if not secret_ok(options.secret, path + (f"?{query}" if query else "")):
        return Verdict(403, {"error": "forbidden"}, "the secret is missing or wrong"), None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return Verdict(413, {"error": "body too large"}, f"over {MAX_BODY_BYTES:,} bytes"), None
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    if not raw:
        return Verdict(400, {"error": "a body with Content-Length is needed"}, "no body"), None
    return _store(store, raw), None


class _Waitress:
    """waitress serving the receiver on a background thread: a connection limit, and idle or
    slow connections closed after ``idle_timeout_s`` (a request cut off mid-headers is never
    dispatched)."""

    def __init__(self, options: PostbackOptions, store: PostbackStore) -> None:
        import waitress

        self._server = waitress.create_server(
            wsgi_app(options, store),
            host=options.host,
            port=options.port,
            connection_limit=options.connection_limit,
            channel_timeout=options.idle_timeout_s,
            cleanup_interval=max(0.5, min(30.0, options.idle_timeout_s / 2)),
            max_request_body_size=MAX_BODY_BYTES,
            threads=4,
            ident=f"audioprep-postbacks/{__version__}",
        )
        port = self._server.effective_port
        self.url = f"http://{_host_in_url(options.host)}:{port}"
        self._thread = threading.Thread(target=self._serve, name="postbacks-waitress", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # closed under it by stop()
            self._server.run()

    def stop(self) -> None:
        self._server.close()
        self._server.task_dispatcher.shutdown()
        self._thread.join(timeout=5)


def _host_in_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class PostbackServer:
    """The receiver: ``with PostbackServer(PostbackOptions(port=0)) as pb: pb.url``.

    :meth:`start` returns the base URL; any path is accepted for POSTs (``<url>/postback`` is a
    good callback_url), ``GET /health`` answers 200.
    """

    def __init__(self, options: PostbackOptions | None = None) -> None:
        self.options = options or PostbackOptions()
        self._server: _Server | None = None
        self._store: PostbackStore | None = None
        self._running: ServerThread | None = None
        self._waitress: _Waitress | None = None
        self._stopped = threading.Event()
        self.url = ""

    @property
    def store(self) -> PostbackStore:
        """The store (only while running)."""
        if self._store is None:
            raise RuntimeError("the postback receiver is not running")
        return self._store

    def start(self) -> str:
        """Open the store, bind, serve on a background thread; returns the base URL."""
        if self._server is not None or self._waitress is not None:
            return self.url
        store = self._store = PostbackStore(self.options.db or default_path())
        try:
            if self.options.faces_network():
                self._waitress = _Waitress(self.options, store)
                self.url = self._waitress.url
            else:
                self._server = _Server(self.options, store)
        except OSError:
            store.close()
            self._store = None
            raise
        if self._server is not None:
            self._running = ServerThread(self._server)
            self.url = self._running.url
        log.info("postback receiver listening on %s, storing in %s", self.url, store.path)
        return self.url

    def stop(self) -> None:
        """Stop serving and close the store."""
        if self._server is None and self._waitress is None:
            return
        self._server = None
        if self._waitress is not None:
            self._waitress.stop()
            self._waitress = None
        if self._running is not None:
            self._running.stop()
            self._running = None
        if self._store is not None:
            self._store.close()
            self._store = None
        self._stopped.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until :meth:`stop`; True when it has stopped."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> PostbackServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def callback_url(base_url: str, *, secret: bool) -> str:
    """The callback_url to give ``submit`` for a receiver at ``base_url`` (the secret shown as
    a placeholder, never its value)."""
    return f"{base_url}/postback" + ("?secret=<your secret>" if secret else "")
