"""Running HTTP servers inside the process: what the sandbox, the postback receiver and the
sandbox's local S3 share.

It owns the background thread and orderly shutdown (:class:`ServerThread`), a threading HTTP/1.1
server that keeps connections alive and can close them on stop (:class:`TrackingHTTPServer`,
:class:`KeepAliveHandler`, including reading a request body by ``Content-Length`` or chunked),
and serving a WSGI application on it (:func:`wsgi_server`). Each server keeps its own handlers,
stores and whatever else it starts.

``docs/sandbox.md`` (*In-process HTTP servers*) has the details and the measurements.
"""

from __future__ import annotations

import contextlib
import enum
import io
import logging
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote_to_bytes

from audioprep.net.urls import redact_text

log = logging.getLogger(__name__)

#: A WSGI application (PEP 3333).
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ServerThread:
    """Serve ``server`` on a daemon thread until :meth:`stop`."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        host, port = str(server.server_address[0]), server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"
        # How long stop() may wait for the serving loop to notice; 50 idle wake-ups a second
        # cost nothing measurable, and every run waits for its servers to stop.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, let requests in flight finish, close the socket, join the thread."""
        self.server.shutdown()
        close_connections = getattr(self.server, "close_connections", None)
        if callable(close_connections):
            close_connections()
        self.server.server_close()
        self._thread.join()


class TrackingHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server (one thread per connection) that tracks its connections so
    that it can close idle keep-alive ones on stop.

    ``sock``: an already bound and listening socket to serve instead of binding ``address``.
    """

    daemon_threads = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        sock: socket.socket | None = None,
    ) -> None:
        if sock is not None:
            self.address_family = sock.family
            super().__init__(address, handler, bind_and_activate=False)
            self.socket.close()
            self.socket = sock
            self.server_address = sock.getsockname()[:2]
        else:
            if ":" in address[0]:
                self.address_family = socket.AF_INET6
            super().__init__(address, handler)
        self._cond = threading.Condition()
        self._sockets: set[socket.socket] = set()
        self._active = 0

    def track(self, sock: socket.socket, *, add: bool) -> None:
        """Remember (or forget) an open connection."""
        with self._cond:
            if add:
                self._sockets.add(sock)
            else:
                self._sockets.discard(sock)

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Count a request as being answered while the block runs (stop waits for it)."""
        self._count(+1)
        try:
            yield
        finally:
            self._count(-1)

    def _count(self, delta: int) -> None:
        with self._cond:
            self._active += delta
            self._cond.notify_all()

    def close_connections(self, grace_s: float = 5.0) -> None:
        """Let requests in progress finish (up to ``grace_s``), then close every connection."""
        with self._cond:
            self._cond.wait_for(lambda: self._active == 0, timeout=grace_s)
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection broke mid-request (client went away, stop): log, do not print."""
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class BodyProblem(enum.Enum):
    """Why :meth:`KeepAliveHandler.read_body` has no body to give; the value is the HTTP
    status that says so."""

    TOO_LARGE = 413  # over the handler's limit
    BAD_FRAMING = 400  # a Content-Length or chunk size that is no number, or fewer bytes

    @property
    def status_line(self) -> str:
        """The status line's text, e.g. ``"400 Bad Request"``."""
        return f"{self.value} {HTTPStatus(self.value).phrase}"


class KeepAliveHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive on a :class:`TrackingHTTPServer`; request lines go to the
    debug log."""

    protocol_version = "HTTP/1.1"
    timeout = 30.0  # idle keep-alive connections are closed after this
    # One send per answer and no Nagle: headers and body written apart would otherwise wait
    # for the client's delayed ACK (40 ms per request on a keep-alive connection).
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024
    server: TrackingHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line may carry a presigned signature (query) or user-info: never logged.
        log.debug("%s %s", self.address_string(), redact_text(format % args))

    def handle_expect_100(self) -> bool:
        """Send ``100 Continue`` now: botocore waits a second for it before each PutObject
        body, and with a buffered ``wfile`` it would sit in the buffer."""
        going_on = super().handle_expect_100()
        self.wfile.flush()
        return going_on

    def read_body(self, max_bytes: int) -> bytes | BodyProblem:
        """The request body (``b""`` without one), or why there is none to give: larger than
        ``max_bytes``, or badly framed (the connection cannot be trusted after either)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(max_bytes)
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        try:
            length = int(raw)
        except ValueError:
            return BodyProblem.BAD_FRAMING
        if length < 0:
            return BodyProblem.BAD_FRAMING
        if length > max_bytes:
            return BodyProblem.TOO_LARGE
        return self._read_exactly(length)

    def _read_chunked(self, max_bytes: int) -> bytes | BodyProblem:
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)
            except ValueError:
                return BodyProblem.BAD_FRAMING
            if size < 0:
                return BodyProblem.BAD_FRAMING
            if size == 0:
                break
            total += size
            if total > max_bytes:
                return BodyProblem.TOO_LARGE
            chunk = self._read_exactly(size)
            if isinstance(chunk, BodyProblem) or self.rfile.readline(8) != b"\r\n":
                return BodyProblem.BAD_FRAMING
            chunks.append(chunk)
        while self.rfile.readline(1024).strip():  # trailers
            pass
        return b"".join(chunks)

    def _read_exactly(self, length: int) -> bytes | BodyProblem:
        data = self.rfile.read(length)
        return data if len(data) == length else BodyProblem.BAD_FRAMING


class WSGIServer(TrackingHTTPServer):
    """A :class:`TrackingHTTPServer` answering every request with ``app``."""

    def __init__(
        self, app: WSGIApp, sock: socket.socket, *, max_body_bytes: int = 64 * 1024 * 1024
    ) -> None:
        super().__init__(("", 0), _WSGIHandler, sock=sock)
        self.app = app
        self.max_body_bytes = max_body_bytes


def wsgi_server(app: WSGIApp, sock: socket.socket) -> ServerThread:
    """Serve ``app`` on the bound, listening ``sock`` from a background thread."""
    return ServerThread(WSGIServer(app, sock))


_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})


class _WSGIHandler(KeepAliveHandler):
    server: WSGIServer

    def handle_method(self) -> None:
        """Every method: read the body, call the application, send its answer in one piece."""
        with self.server.answering():
            body = self.read_body(self.server.max_body_bytes)
            if isinstance(body, BodyProblem):
                self.close_connection = True
                self._send(body.status_line, [], b"")
                return
            status, headers, data = self._call(body)
            self._send(status, headers, data)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = handle_method

    def _call(self, body: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
        answer: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
            answer[:] = [status, headers]
            return lambda _data: None  # the legacy write() callable; moto does not use it

        try:
            result = self.server.app(self._environ(body), start_response)
            try:
                data = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if callable(close):
                    close()
        except Exception:
            log.exception("%s %s crashed", self.command, self.path.partition("?")[0])
            self.close_connection = True
            return "500 Internal Server Error", [], b""
        return answer[0], answer[1], data

    def _environ(self, body: bytes) -> dict[str, Any]:
        path, _, query = self.path.partition("?")
        host, port = self.server.server_address[:2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "RAW_URI": self.path,
            "REQUEST_URI": self.path,
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": str(self.client_address[1]),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in self.headers.items():
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
                continue
            if key != "CONTENT_TYPE":
                key = "HTTP_" + key
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ

    def _send(self, status: str, headers: list[tuple[str, str]], data: bytes) -> None:
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        length = str(len(data))
        for name, value in headers:
            lower = name.lower()
            if lower == "content-length" and self.command == "HEAD":
                length = value  # a HEAD answer tells the length of what GET would send
            if lower not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", length)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
