"""A scriptable local HTTP server for tests: real sockets on 127.0.0.1, routes, faults, a log.

It stands in for "some web server on the internet" (the audio host, an S3 endpoint, the Voice
API's sandbox peer) without leaving loopback. A threaded :mod:`http.server` listens on an
ephemeral port; each path is scripted with a :class:`Route` (status, headers, body, pacing,
lies) or a handler function, and every request is logged with what the server managed to send.

Quick use::

    from tests.support.httpserver import LocalHTTPServer, GeneratedBody

    with LocalHTTPServer() as server:
        server.serve_bytes("/a.mp3", data, content_type="audio/mpeg")
        server.redirect("/old.mp3", "/a.mp3")                   # 302 with a relative Location
        server.serve_bytes("/slow.mp3", data, chunk_size=1024, delay=0.2)   # slow drip
        server.serve_bytes("/huge.mp3", GeneratedBody(64_000_000))          # lazy 64 MB
        server.serve_bytes("/liar.mp3", data, content_length=len(data) + 100)  # lying length
        server.serve_html("/login.mp3", "<html>Sign in</html>", content_type="audio/mpeg")
        server.status("/broken.mp3", 500)                       # bare status (404 is default)
        server.redirect("/loop-a", "/loop-b"); server.redirect("/loop-b", "/loop-a")
        requests.get(server.url("/old.mp3"))
        assert server.count("/a.mp3") == 1
        server.wait_idle()                 # every handler finished (e.g. after a client abort)
        assert not server.requests_for("/huge.mp3")[0].completed

As a pytest fixture: ``from tests.support.httpserver import http_server`` in a ``conftest.py`` (or a
test module) makes ``http_server`` available (function-scoped, stopped after the test).

A refused connection needs no server: ``f"http://127.0.0.1:{unused_port()}/"``.

Unknown paths answer 404. Every response closes the connection (``Connection: close``), so a
lying Content-Length or an aborted body never confuses the next request. Request bodies are read
when they carry a Content-Length (chunked request bodies are not supported). Custom behaviour:
``server.route(path, handler)`` where ``handler(request) -> Route`` sees the
:class:`RecordedRequest` (method, headers, query, body) and may answer anything.
The server's own debug log drops query strings, so tests can assert that signatures of
presigned URLs never reach any log.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import unquote, urlsplit

import pytest

log = logging.getLogger(__name__)

AUTO: Literal["auto"] = "auto"
"""``Route.content_length`` value meaning "the real body length" (the default)."""


@dataclass(frozen=True)
class GeneratedBody:
    """A body of ``size`` bytes made on the fly: ``head`` then ``fill`` repeated.

    Use it for bodies too big to keep in memory (oversize tests): the server can stream
    gigabytes while the test holds a few bytes.
    """

    size: int
    head: bytes = b""
    fill: bytes = b"\0"

    def __len__(self) -> int:
        return self.size

    def chunks(self, chunk_size: int) -> Iterator[bytes]:
        """The body in pieces of at most ``chunk_size`` bytes."""
        block = (self.fill * (chunk_size // max(len(self.fill), 1) + 1))[:chunk_size]
        sent = 0
        while sent < self.size:
            piece = self.head[sent : sent + chunk_size] if sent < len(self.head) else block
            piece = piece[: self.size - sent]
            sent += len(piece)
            yield piece


Body = bytes | GeneratedBody


@dataclass(frozen=True, kw_only=True)
class Route:
    """How one path answers.

    Attributes:
        status: HTTP status code.
        body: the bytes to send (or a :class:`GeneratedBody`).
        content_type: the Content-Type header; None sends none.
        headers: extra headers (e.g. ``{"Location": "/x"}``, ``{"Cache-Control": "no-store"}``).
        content_length: :data:`AUTO` (the true length), an int (send that value, true or
            not: a *lying* Content-Length), or None (no header: the body ends when the
            connection closes, unless ``chunked``).
        chunked: send ``Transfer-Encoding: chunked``, one HTTP chunk per piece.
        chunk_size: how many bytes are written per piece.
        delay: seconds to sleep *between* pieces (slow drip); the first piece goes at once.
        header_delay: seconds to sleep before the status line (a server slow to answer).
    """

    status: int = 200
    body: Body = b""
    content_type: str | None = "application/octet-stream"
    headers: Mapping[str, str] = field(default_factory=dict)
    content_length: int | Literal["auto"] | None = AUTO
    chunked: bool = False
    chunk_size: int = 64 * 1024
    delay: float = 0.0
    header_delay: float = 0.0


@dataclass
class RecordedRequest:
    """One request as the server saw it, and how far the answer got.

    ``bytes_sent`` counts body bytes written to the socket (they may still sit in kernel
    buffers); ``completed`` is true when the whole body was written; ``error`` says why not
    (e.g. ``"client disconnected"``). Call :meth:`LocalHTTPServer.wait_idle` before reading
    these fields, since the handler may still be running.
    """

    method: str
    path: str  # percent-decoded: routes are keyed on "/my prompt.mp3", not "/my%20prompt.mp3"
    query: str  # raw, as sent
    headers: dict[str, str]
    body: bytes = b""
    status: int | None = None
    bytes_sent: int = 0
    completed: bool = False
    error: str | None = None


Handler = Callable[[RecordedRequest], Route]

_NOT_FOUND = Route(status=404, body=b"Not Found\n", content_type="text/plain; charset=utf-8")


class LocalHTTPServer:
    """A threaded HTTP server on 127.0.0.1 with scripted routes; a context manager.

    Routes are matched on the exact, percent-decoded path (query string ignored). They can be
    added or replaced at any time, also while the server runs.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._routes: dict[str, Route | Handler] = {}
        self._log: list[RecordedRequest] = []
        self._lock = threading.Condition()
        self._active = 0
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> LocalHTTPServer:
        """Bind an ephemeral port and serve in a background thread."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _Server((self._host, 0), _RequestHandler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"LocalHTTPServer:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; slow handlers are told to give up at once."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> LocalHTTPServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- addresses -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the server listens on (only while started)."""
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        return f"http://{self._host}:{self.port}"

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` (which may carry a query string)."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    # ---- scripting -------------------------------------------------------------------------

    def route(self, path: str, answer: Route | Handler) -> None:
        """Make ``path`` answer with a fixed :class:`Route` or ``handler(request) -> Route``."""
        with self._lock:
            self._routes[path] = answer

    def serve_bytes(
        self,
        path: str,
        body: Body,
        *,
        status: int = 200,
        content_type: str | None = "application/octet-stream",
        headers: Mapping[str, str] | None = None,
        content_length: int | Literal["auto"] | None = AUTO,
        chunked: bool = False,
        chunk_size: int = 64 * 1024,
        delay: float = 0.0,
        header_delay: float = 0.0,
    ) -> None:
        """Serve ``body`` at ``path``; every :class:`Route` option is available."""
        self.route(
            path,
            Route(
                status=status,
                body=body,
                content_type=content_type,
                headers=dict(headers or {}),
                content_length=content_length,
                chunked=chunked,
                chunk_size=chunk_size,
                delay=delay,
                header_delay=header_delay,
            ),
        )

    def serve_html(
        self,
        path: str,
        html: str,
        *,
        status: int = 200,
        content_type: str | None = "text/html; charset=utf-8",
    ) -> None:
        """Serve an HTML page (an error or login page where a file was expected)."""
        self.serve_bytes(path, html.encode("utf-8"), status=status, content_type=content_type)

    def redirect(self, path: str, location: str, *, status: int = 302) -> None:
        """Answer ``path`` with a redirect to ``location`` (absolute URL or relative path).

        Loops are just redirects that point back: ``redirect("/a", "/b"); redirect("/b", "/a")``.
        """
        self.route(
            path,
            Route(status=status, headers={"Location": location}, content_type=None),
        )

    def status(self, path: str, status: int, body: bytes = b"") -> None:
        """Answer ``path`` with a bare status (e.g. 500, 403) and an optional text body."""
        self.serve_bytes(path, body, status=status, content_type="text/plain; charset=utf-8")

    # ---- the request log -------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, oldest first (a copy)."""
        with self._lock:
            return list(self._log)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        """The requests for one path (query string ignored)."""
        return [r for r in self.requests if r.path == path]

    def count(self, path: str) -> int:
        """How many requests ``path`` received."""
        return len(self.requests_for(path))

    def reset_log(self) -> None:
        """Forget the requests seen so far."""
        with self._lock:
            self._log.clear()

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Block until no handler is running (raises ``TimeoutError`` after ``timeout`` s)."""
        with self._lock:
            if not self._lock.wait_for(lambda: self._active == 0, timeout=timeout):
                raise TimeoutError(f"{self._active} request handler(s) still running")

    # ---- used by the handler ---------------------------------------------------------------

    def _begin(self, request: RecordedRequest) -> Route:
        with self._lock:
            self._active += 1
            self._log.append(request)
            answer = self._routes.get(request.path, _NOT_FOUND)
        return answer(request) if callable(answer) else answer

    def _end(self) -> None:
        with self._lock:
            self._active -= 1
            self._lock.notify_all()

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; False when it is."""
        return seconds <= 0 or not self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        owner: LocalHTTPServer,
    ) -> None:
        self.owner = owner
        super().__init__(address, handler)

    def handle_error(self, request: object, client_address: object) -> None:
        log.debug("request handler for %s failed", client_address, exc_info=True)


_QUERY_RE = re.compile(r"\?\S*")
_CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, socket.timeout)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # a client that never sends its request does not hold a thread for ever
    server: _Server

    def do_GET(self) -> None:
        self._answer()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: object) -> None:
        # Query strings are dropped: tests assert that signatures never reach any log.
        log.debug("%s %s", self.address_string(), _QUERY_RE.sub("", format % args))

    def _answer(self) -> None:
        owner = self.server.owner
        request = self._record()
        try:
            route = owner._begin(request)
            self._send(route, request)
        except _CLIENT_GONE:
            request.error = "client disconnected"
        except Exception as exc:  # a broken handler function: visible in the log, then raised
            request.error = repr(exc)
            raise
        finally:
            self.close_connection = True
            owner._end()

    def _record(self) -> RecordedRequest:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        return RecordedRequest(
            method=self.command,
            path=unquote(parts.path),
            query=parts.query,
            headers=dict(self.headers.items()),
            body=body,
        )

    def _send(self, route: Route, request: RecordedRequest) -> None:
        owner = self.server.owner
        if not owner._sleep(route.header_delay):
            request.error = "server stopping"
            return
        request.status = route.status
        self.send_response(route.status)
        self._send_headers(route)
        if self.command == "HEAD":
            request.completed = True
            return
        for index, piece in enumerate(_pieces(route.body, route.chunk_size)):
            if index and not owner._sleep(route.delay):
                request.error = "server stopping"
                return
            self._write(piece, route.chunked)
            request.bytes_sent += len(piece)
        if route.chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        request.completed = True

    def _send_headers(self, route: Route) -> None:
        if route.content_type is not None:
            self.send_header("Content-Type", route.content_type)
        if route.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif route.content_length == AUTO:
            self.send_header("Content-Length", str(len(route.body)))
        elif route.content_length is not None:
            self.send_header("Content-Length", str(route.content_length))
        for name, value in route.headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()

    def _write(self, piece: bytes, chunked: bool) -> None:
        if chunked:
            self.wfile.write(b"%X\r\n%s\r\n" % (len(piece), piece))
        else:
            self.wfile.write(piece)
        self.wfile.flush()


def _pieces(body: Body, chunk_size: int) -> Iterator[bytes]:
    if isinstance(body, GeneratedBody):
        yield from body.chunks(chunk_size)
        return
    for start in range(0, len(body), chunk_size):
        yield body[start : start + chunk_size]


def unused_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on (just released by the OS): connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` every 10 ms until true or ``timeout`` seconds pass."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@pytest.fixture
def http_server() -> Iterator[LocalHTTPServer]:
    """A started :class:`LocalHTTPServer`, stopped after the test."""
    with LocalHTTPServer() as server:
        yield server
