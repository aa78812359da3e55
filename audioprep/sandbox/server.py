"""The sandbox's HTTP layer: routing, authentication, injected faults and the admin endpoints.

This module owns the transport: which path and method go where (404, 405), the
``Authorization: Token <token>`` check (401 with the -50 body), the faults that happen before a
request reaches the API (latency, 503, 500, a dropped connection, -105), reading bodies
(``Content-Length`` or chunked, at most 2 MB) and writing JSON answers. What the API answers is
:mod:`audioprep.sandbox.service`'s business. Built on the standard library's
``ThreadingHTTPServer`` (one thread per connection, HTTP/1.1 keep-alive); tokens are compared in
constant time and never logged.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urlsplit

from audioprep import api, jsonio
from audioprep.api import Code
from audioprep.net.serving import BodyProblem, KeepAliveHandler, TrackingHTTPServer
from audioprep.sandbox.options import FaultMode, Faults, FaultState
from audioprep.sandbox.service import Reply, VoiceService
from audioprep.version import __version__

log = logging.getLogger(__name__)

#: Largest request body read (a 500-destination job is about 40 kB).
MAX_BODY_BYTES = 2_000_000
TRIGGER_PATH = "/1/voice"
CALL_LOOKUP_PREFIX = "/1/voice/call/"
JOB_LOOKUP_PREFIX = "/1/voice/job/"
ADMIN_PREFIX = "/_sandbox/"

_TRANSPORT_FAULTS = frozenset({FaultMode.DROP, FaultMode.UNAVAILABLE, FaultMode.SERVER_ERROR})
_BUSY = frozenset({FaultMode.BUSY})


@dataclass(frozen=True, slots=True)
class Route:
    """Where a path goes: ``name``, the methods it allows, the id taken from the path."""

    name: str
    methods: tuple[str, ...]
    param: str = ""

    @property
    def admin(self) -> bool:
        """True for the sandbox's own endpoints (never faulted, no token needed)."""
        return self.name.startswith("admin_")


_EXACT = {
    TRIGGER_PATH: Route("trigger", ("POST",)),
    ADMIN_PREFIX + "faults": Route("admin_faults", ("GET", "POST", "DELETE")),
    ADMIN_PREFIX + "stats": Route("admin_stats", ("GET",)),
    ADMIN_PREFIX + "jobs": Route("admin_jobs", ("GET",)),
}
_PREFIXES = {
    CALL_LOOKUP_PREFIX: Route("call", ("GET",)),
    JOB_LOOKUP_PREFIX: Route("job", ("GET",)),
}


def match(path: str) -> Route | None:
    """The route for a URL path (one trailing ``/`` is ignored on fixed paths), or None."""
    exact = _EXACT.get(path) or (_EXACT.get(path[:-1]) if path.endswith("/") else None)
    if exact is not None:
        return exact
    for prefix, route in _PREFIXES.items():
        if path.startswith(prefix):
            return replace(route, param=unquote(path[len(prefix) :]))
    return None


def authorized(header: str | None, tokens: tuple[str, ...]) -> bool:
    """Whether ``Authorization`` is ``Token <t>`` with a known ``t`` (any ``t`` if none set)."""
    scheme, _, value = (header or "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "token" or not value:
        return False
    if not tokens:
        return True
    given = value.encode("utf-8")
    return any(hmac.compare_digest(given, token.encode("utf-8")) for token in tokens)


def http_reply(status: int, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    """An HTTP-level answer (400, 404, 405, 500, 503) with the body ``rules`` defines."""
    return Reply(status, api.http_error_body(status), headers)


@dataclass(frozen=True, slots=True)
class Backend:
    """What the HTTP layer talks to."""

    service: VoiceService
    faults: FaultState
    tokens: tuple[str, ...]
    stats: Callable[[], dict[str, Any]]
    job_ids: Callable[[], list[str]]


class SandboxHTTPServer(TrackingHTTPServer):
    """The sandbox's HTTP server: keep-alive connections, closed on stop."""

    def __init__(self, address: tuple[str, int], backend: Backend) -> None:
        super().__init__(address, _Handler)
        self.backend = backend


class _Handler(KeepAliveHandler):
    server_version = f"audioprep-sandbox/{__version__}"
    sys_version = ""
    server: SandboxHTTPServer

    def handle_method(self) -> None:
        """Every supported method lands here: routing decides between 404, 405 and an answer."""
        with self.server.answering():
            try:
                reply = self._reply()
            except Exception:
                log.exception("%s %s crashed", self.command, urlsplit(self.path).path)
                reply = http_reply(500)
            if reply.drop:
                self._drop()
            else:
                self._send(reply)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_method

    def _reply(self) -> Reply:
        body = self.read_body(MAX_BODY_BYTES)
        if isinstance(body, BodyProblem):  # the real API's answer is unknown: a plain 400
            self.close_connection = True
            return http_reply(400)
        route = match(urlsplit(self.path).path)
        if route is None:
            return http_reply(404)
        if self.command not in route.methods:
            return http_reply(405, (("Allow", ", ".join(route.methods)),))
        if route.admin:
            return self._admin(route, body)
        return self._api(route, body)

    def _api(self, route: Route, body: bytes) -> Reply:
        backend = self.server.backend
        backend.service.counters.add("api_requests")
        latency = backend.faults.get().latency_s
        if latency > 0:
            time.sleep(latency)
        mode = backend.faults.take(_TRANSPORT_FAULTS)
        if mode is FaultMode.DROP:
            return Reply(0, {}, drop=True)
        if mode is not None:
            return http_reply(int(mode.value))
        if not authorized(self.headers.get("Authorization"), backend.tokens):
            denied = backend.service.error(Code.NOT_AUTHORIZED)
            return replace(denied, headers=(("WWW-Authenticate", 'Token realm="voice"'),))
        if backend.faults.take(_BUSY):
            return backend.service.busy(body if route.name == "trigger" else None)
        if route.name == "trigger":
            return backend.service.trigger(body)
        if route.name == "call":
            return backend.service.lookup_call(route.param)
        return backend.service.lookup_job(route.param)

    def _admin(self, route: Route, body: bytes) -> Reply:
        backend = self.server.backend
        if route.name == "admin_stats":
            return Reply(200, backend.stats())
        if route.name == "admin_jobs":
            return Reply(200, {"api_job_ids": backend.job_ids()})
        if self.command == "DELETE":
            backend.faults.set(Faults())
        elif self.command == "POST":
            try:
                data = jsonio.loads(body or b"{}")
                if not isinstance(data, dict):
                    raise ValueError("the body must be a JSON object")
                backend.faults.set(Faults.from_dict(data))
            except (ValueError, jsonio.JSONError) as exc:
                return Reply(400, {"error": str(exc)})
        return Reply(200, backend.faults.get().to_dict())

    def _send(self, reply: Reply) -> None:
        data = jsonio.dumps(reply.body).encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self._count_and_log(reply)

    def _drop(self) -> None:
        """Close the connection having read the request, answering nothing."""
        self.close_connection = True
        self.server.backend.service.counters.add("dropped")
        log.info("%s %s -> dropped (fault)", self.command, urlsplit(self.path).path)
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _count_and_log(self, reply: Reply) -> None:
        counters = self.server.backend.service.counters
        counters.add("requests")
        counters.add(f"http_{reply.status}")
        code = reply.status_code
        shown = f" (status_code {code})" if code is not None else ""
        log.info("%s %s -> %d%s", self.command, urlsplit(self.path).path, reply.status, shown)
