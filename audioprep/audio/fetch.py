"""Downloading an ``audio_file_url`` the way the Voice API does, safely, and judging the answer.

This module owns the network side of an audio URL: one bounded GET (redirects followed by hand,
explicit connect/read timeouts, an overall deadline, a byte cap checked against Content-Length
before reading and enforced while streaming), an atomic file in the destination directory, and
the verdict the API would most plausibly give (:class:`FetchResult`). Findings are data: a URL
that cannot be fetched is a failed result, never an exception. It judges the *container* only
(via :mod:`audioprep.audio.sniff`); decoding and metadata belong to the inspector.

Secrets: presigned URLs carry signatures in their query string. No message, log line or result
field of this module ever holds a query string or user-info; every URL goes through
:func:`audioprep.net.urls.redact_url` first.
"""

from __future__ import annotations

import hashlib
import http
import http.client
import logging
import os
import re
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from urllib.parse import urldefrag, urljoin, urlsplit

import requests
import requests.auth
import urllib3.exceptions

from audioprep import tempfiles
from audioprep.api import MAX_AUDIO_BYTES, Code, safe_name, url_file_name
from audioprep.audio.sniff import (
    SNIFF_BYTES,
    Container,
    content_type_for,
    content_type_matches,
    is_accepted,
    is_audio,
    sniff,
)
from audioprep.errors import UsageError
from audioprep.models import Problem, Severity
from audioprep.net import sessions
from audioprep.net.urls import redact_text, redact_url
from audioprep.version import __version__

log = logging.getLogger(__name__)

#: Bytes read past the API limit, so a file slightly over it is measured exactly (the message
#: can say by how much) while a huge one is still cut off early.
CAP_MARGIN = 64 * 1024
_CHUNK = 64 * 1024
_SCHEMES = ("http", "https")


class FetchProblem(StrEnum):
    """The stable ids of the problems :func:`fetch` reports."""

    SCHEME = "fetch.scheme"
    BAD_URL = "fetch.bad_url"
    UNREACHABLE = "fetch.unreachable"
    TIMEOUT = "fetch.timeout"
    HTTP_STATUS = "fetch.http_status"
    REDIRECTS = "fetch.redirects"
    INCOMPLETE = "fetch.incomplete"
    TOO_LARGE = "fetch.too_large"
    EMPTY = "fetch.empty"
    NOT_AUDIO = "fetch.not_audio"
    WRONG_FORMAT = "fetch.wrong_format"
    UNRECOGNISED = "fetch.unrecognised"
    CONTENT_TYPE = "fetch.content_type"


#: What the Voice API would most plausibly answer for each problem. The docs name the codes
#: (-106...-111) but not which failure triggers which, so some rows are reasoned guesses:
API_CODES: Mapping[FetchProblem, Code | None] = {
    # "audio_file_url must start with http/https" is literally -111.
    FetchProblem.SCHEME: Code.AUDIO_URL_SCHEME,
    # -107's text covers "no spaces or invalid characters in the URL".
    FetchProblem.BAD_URL: Code.AUDIO_INVALID,
    # Anything that stops the bytes arriving (DNS, refused, TLS, timeout, 4xx/5xx, redirect
    # trouble, a transfer cut short) is "the audio file cannot be downloaded": -106.
    FetchProblem.UNREACHABLE: Code.AUDIO_DOWNLOAD_FAILED,
    FetchProblem.TIMEOUT: Code.AUDIO_DOWNLOAD_FAILED,
    FetchProblem.HTTP_STATUS: Code.AUDIO_DOWNLOAD_FAILED,
    FetchProblem.REDIRECTS: Code.AUDIO_DOWNLOAD_FAILED,
    FetchProblem.INCOMPLETE: Code.AUDIO_DOWNLOAD_FAILED,
    # No code is documented for size. -107 is about format/URL and -108 about unreadable
    # metadata, so neither fits; -109 ("cannot be processed, contact support") reads as a
    # fault on the API's side. -110 "problems with the audio file" is the generic verdict on
    # the user's file after download, which is where a 5 MB gate sits: our best guess.
    FetchProblem.TOO_LARGE: Code.AUDIO_PROBLEM,
    # An empty body downloads fine; what fails next is reading the MP3/WAV metadata, which is
    # -108's documented trigger ("corrupted"). -110 is the catch-all and less specific.
    FetchProblem.EMPTY: Code.AUDIO_CORRUPTED,
    # Content that is clearly not MP3/WAV (an error page, Ogg...) is "format invalid": -107.
    FetchProblem.NOT_AUDIO: Code.AUDIO_INVALID,
    FetchProblem.WRONG_FORMAT: Code.AUDIO_INVALID,
    # Unidentifiable bytes behind a .mp3/.wav URL are what an unreadable file looks like: -108.
    FetchProblem.UNRECOGNISED: Code.AUDIO_CORRUPTED,
    # A warning only: the API judges content, but mislabelled files fail elsewhere.
    FetchProblem.CONTENT_TYPE: None,
}


# --------------------------------------------------------------------------------------------
# Public value types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchOptions:
    """Limits for one download. Timeouts are seconds; sizes are bytes.

    ``read_timeout`` bounds each wait for data, ``total_timeout`` the whole fetch (redirects
    included; checked between reads, so it can overshoot by at most one ``read_timeout``).
    ``limit_bytes`` is the size the API accepts; ``max_bytes`` is how much is read at most
    before giving up (a little more than the limit, so small overshoots are measured exactly).
    ``keep_other_audio`` is for callers that inspect or convert what they download: audio in a
    container the API refuses (Ogg, FLAC, M4A, RF64...) is then saved and returned with
    ``ok=True`` instead of failing with ``fetch.wrong_format``; such a caller must judge
    :attr:`FetchResult.sniffed` itself (:func:`audioprep.audio.sniff.is_accepted`).
    """

    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_timeout: float = 60.0
    max_redirects: int = 5
    max_bytes: int = MAX_AUDIO_BYTES + CAP_MARGIN
    limit_bytes: int = MAX_AUDIO_BYTES
    user_agent: str = f"audioprep/{__version__}"
    keep_other_audio: bool = False

    def __post_init__(self) -> None:
        timeouts = (self.connect_timeout, self.read_timeout, self.total_timeout)
        if min(timeouts) <= 0:
            raise ValueError(f"timeouts must be positive, got {timeouts}")
        if self.max_redirects < 0 or self.max_bytes < 1 or self.limit_bytes < 0:
            raise ValueError("max_redirects and limit_bytes must be >= 0, max_bytes >= 1")


DEFAULT_OPTIONS = FetchOptions()


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchResult:
    """The outcome of :func:`fetch`. Every URL in it is redacted (:func:`redact_url`).

    On success ``ok`` is true, ``path`` names the downloaded file and ``problem`` is None;
    ``warnings`` may still hold non-blocking problems (a wrong Content-Type). On failure ``path``
    is None, ``problem`` says what went wrong and ``api_code`` what the API would answer.
    ``size`` is the number of body bytes received; ``truncated_over_cap`` is true when reading
    stopped (or never started) because the body is over the cap, in which case
    ``declared_length`` holds the server's Content-Length if it sent one.
    """

    ok: bool
    url: str
    final_url: str | None = None
    redirects: tuple[str, ...] = ()
    status: int | None = None
    path: Path | None = None
    size: int = 0
    sha256: str | None = None
    header_content_type: str | None = None
    declared_length: int | None = None
    sniffed: Container | None = None
    elapsed_s: float = 0.0
    truncated_over_cap: bool = False
    problem: Problem | None = None
    api_code: Code | None = None
    warnings: tuple[Problem, ...] = ()
    #: The answer's cache headers (ETag, Last-Modified, Content-Length, Cache-Control) as
    #: sent, for a caller that caches by URL (the sandbox's judge); not part of reports.
    cache_headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, object]:
        """The JSON shape used in reports (paths as strings, enums as values)."""
        return {
            "ok": self.ok,
            "url": self.url,
            "final_url": self.final_url,
            "redirects": list(self.redirects),
            "status": self.status,
            "path": str(self.path) if self.path else None,
            "size": self.size,
            "sha256": self.sha256,
            "header_content_type": self.header_content_type,
            "declared_length": self.declared_length,
            "sniffed": self.sniffed.value if self.sniffed else None,
            "elapsed_s": round(self.elapsed_s, 3),
            "truncated_over_cap": self.truncated_over_cap,
            "problem": self.problem.to_dict() if self.problem else None,
            "api_code": int(self.api_code) if self.api_code is not None else None,
            "warnings": [w.to_dict() for w in self.warnings],
        }


# --------------------------------------------------------------------------------------------
# fetch()
# --------------------------------------------------------------------------------------------


def fetch(
    url: str,
    dest_dir: str | os.PathLike[str],
    options: FetchOptions = DEFAULT_OPTIONS,
    *,
    session: requests.Session | None = None,
) -> FetchResult:
    """Download ``url`` into ``dest_dir`` like the Voice API would, and judge what came back.

    Args:
        url: the ``audio_file_url`` (only http/https are fetched; anything else is a finding).
        dest_dir: directory for the file; created if missing. The file is written under a
            temporary name and renamed into place, so a failure or Ctrl-C leaves nothing.
            Its name is ``<safe stem>-<sha256[:12]>.<extension of the content>``.
        options: timeouts and size limits.
        session: a ``requests.Session`` to reuse (connection pooling); a private one otherwise.
            Credentials are never sent (not the session's, not ``~/.netrc``): the API has none.

    Returns:
        A :class:`FetchResult`; failures are results with ``ok=False``, never exceptions.

    Raises:
        UsageError: ``dest_dir`` cannot be created or written to.
    """
    dest = Path(dest_dir)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create download directory {dest}: {exc.strerror}") from exc
    job = _Job(url, dest, options)
    if session is not None:
        return job.run(session)
    with sessions.session() as own:
        return job.run(own)


_CACHE_HEADERS = ("ETag", "Last-Modified", "Content-Length", "Cache-Control")


class NoCredentials(requests.auth.AuthBase):
    """Sends no credentials. Stops requests adding ``~/.netrc`` ones the API would not have."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


@dataclass(frozen=True, slots=True)
class _Body:
    """What was read: all of it, or (``truncated``) up to the cap; ``sha256`` of those bytes."""

    size: int
    sha256: str = ""  # empty when the body was not read to the end
    head: bytes = b""
    truncated: bool = False


class _Job:
    """The state of one fetch: where we are, what we have seen, how much time is left."""

    def __init__(self, url: str, dest: Path, options: FetchOptions) -> None:
        self.url = url
        self.shown = redact_url(url)
        self.dest = dest
        self.options = options
        self.started = time.monotonic()
        self.deadline = self.started + options.total_timeout
        self.current = url
        self.redirects: list[str] = []
        self.status: int | None = None
        self.content_type: str | None = None
        self.declared: int | None = None
        self.cache_headers: tuple[tuple[str, str], ...] = ()
        self.headers = {
            "User-Agent": options.user_agent,
            "Accept": "*/*",
            "Accept-Encoding": "identity",  # measure the file as stored, not compressed
        }

    # ---- flow ------------------------------------------------------------------------------

    def run(self, session: requests.Session) -> FetchResult:
        scheme = _scheme(self.url)
        if scheme not in _SCHEMES:
            return self.fail(FetchProblem.SCHEME, _scheme_message(self.shown, scheme))
        opened = self.open(session)
        if isinstance(opened, FetchResult):
            return opened
        with opened:
            return self.receive(opened)

    def open(self, session: requests.Session) -> requests.Response | FetchResult:
        """GET the URL, following redirects by hand, until a non-redirect answer."""
        visited = {urldefrag(self.url)[0]}
        while True:
            resp = self.request(session)
            if isinstance(resp, FetchResult):
                return resp
            self.status = resp.status_code
            target = session.get_redirect_target(resp)
            if target is None:
                return self.accept_status(resp)
            resp.close()  # never read a redirect's body
            failure = self.follow(urljoin(self.current, target), visited)
            if failure is not None:
                return failure

    def request(self, session: requests.Session) -> requests.Response | FetchResult:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return self.timed_out()
        timeout = (
            min(self.options.connect_timeout, remaining),
            min(self.options.read_timeout, remaining),
        )
        log.debug("GET %s (timeouts %.3g/%.3g s)", redact_url(self.current), *timeout)
        try:
            return session.get(
                self.current,
                stream=True,
                allow_redirects=False,
                timeout=timeout,
                headers=self.headers,
                auth=NoCredentials(),
            )
        except (requests.RequestException, urllib3.exceptions.HTTPError, ValueError) as exc:
            return self.network_failure(exc)

    def follow(self, target: str, visited: set[str]) -> FetchResult | None:
        """Record one redirect to ``target``; a failure if it must not be followed."""
        key = urldefrag(target)[0]
        shown = redact_url(target)
        if _scheme(target) not in _SCHEMES:
            message = f"{self.shown}: redirects to {shown}, which is not an http(s) URL"
        elif key in visited:
            hops = len(self.redirects) + 1
            message = f"{self.shown}: redirect loop (back to {shown} after {hops} redirects)"
        elif len(self.redirects) >= self.options.max_redirects:
            message = f"{self.shown}: more than {self.options.max_redirects} redirects"
        else:
            log.debug("redirect %d → %s", self.status or 0, shown)
            self.redirects.append(target)
            visited.add(key)
            self.current = target
            return None
        return self.fail(
            FetchProblem.REDIRECTS, f"{message}; give the API the file's final URL directly"
        )

    def accept_status(self, resp: requests.Response) -> requests.Response | FetchResult:
        if 200 <= resp.status_code < 300:
            return resp
        resp.close()
        return self.fail(FetchProblem.HTTP_STATUS, _status_message(self.shown, resp.status_code))

    def receive(self, resp: requests.Response) -> FetchResult:
        self.content_type = resp.headers.get("Content-Type")
        self.cache_headers = tuple(
            (name, resp.headers[name]) for name in _CACHE_HEADERS if name in resp.headers
        )
        self.declared = _declared_length(resp.headers.get("Content-Length"))
        cap = min(self.options.limit_bytes, self.options.max_bytes)
        if self.declared is not None and self.declared > cap:
            return self.too_large(_Body(0, truncated=True))
        with _TempFile(self.dest) as tmp:
            body = self.stream(resp, tmp)
            if isinstance(body, FetchResult):
                return body
            return self.judge(body, tmp)

    def stream(self, resp: requests.Response, tmp: _TempFile) -> _Body | FetchResult:
        """Copy the body into ``tmp``, hashing it, until EOF, the cap or the deadline."""
        digest, head, size = hashlib.sha256(), bytearray(), 0
        read = _reader(resp)
        while True:
            try:
                chunk = read()
            except _NETWORK_ERRORS as exc:
                return self.network_failure(exc, received=size)
            if not chunk:
                return _Body(size, digest.hexdigest(), bytes(head), truncated=False)
            tmp.write(chunk)
            digest.update(chunk)
            size += len(chunk)
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
            if size > self.options.max_bytes:
                return _Body(size, "", bytes(head), truncated=True)  # no hash of a part
            if time.monotonic() > self.deadline:
                return self.timed_out(received=size)

    def judge(self, body: _Body, tmp: _TempFile) -> FetchResult:
        """Turn a complete (or capped) body into the verdict; commit the file on success."""
        if body.truncated or body.size > self.options.limit_bytes:
            return self.too_large(body)
        if self.declared is not None and body.size < self.declared:
            return self.incomplete(body.size)
        container = sniff(body.head)
        accepted = is_accepted(container)
        if not accepted and not (self.options.keep_other_audio and is_audio(container)):
            return self.rejected(container, body)
        path = tmp.commit(self.dest / _file_name(self.current, body.sha256, container))
        log.debug("saved %s (%d bytes, %s)", path, body.size, container)
        warnings = self.content_type_warnings(container) if accepted else ()
        return self.result(body, path=path, sniffed=container, warnings=warnings)

    # ---- verdicts --------------------------------------------------------------------------

    def rejected(self, container: Container, body: _Body) -> FetchResult:
        if container is Container.EMPTY:
            kind, message = FetchProblem.EMPTY, _empty_message(self.shown)
        elif is_audio(container):
            kind, message = FetchProblem.WRONG_FORMAT, _format_message(self.shown, container)
        elif container is Container.UNKNOWN:
            kind, message = FetchProblem.UNRECOGNISED, _unknown_message(self.shown)
        else:
            kind = FetchProblem.NOT_AUDIO
            message = _not_audio_message(self.shown, container, self.content_type)
        return self.fail(kind, message, body=body, sniffed=container)

    def too_large(self, body: _Body) -> FetchResult:
        limit = self.options.limit_bytes
        if body.size == 0 and self.declared is not None:
            what = f"the server declares {self.declared:,} bytes (Content-Length; not downloaded)"
        elif body.truncated:
            what = (
                f"the file is larger than {self.options.max_bytes:,} bytes (stopped reading there)"
            )
        else:
            what = f"the file is {body.size:,} bytes ({body.size - limit:,} too many)"
        message = (
            f"{self.shown}: {what}; the API takes at most {limit:,} bytes. Re-encode it smaller "
            "(mono, 8-16 kHz, or a lower MP3 bitrate) or shorten it ('audioprep fix')"
        )
        return self.fail(FetchProblem.TOO_LARGE, message, body=body, fixable=True)

    def incomplete(self, received: int, reason: str | None = None) -> FetchResult:
        expected = f" of {self.declared:,} declared" if self.declared is not None else ""
        because = f" ({reason})" if reason else ""
        message = (
            f"{self.shown}: the transfer broke off after {received:,} bytes{expected}{because}; "
            "check the server and that the file was uploaded completely"
        )
        return self.fail(FetchProblem.INCOMPLETE, message, body=_Body(received))

    def timed_out(self, received: int = 0, reason: str | None = None) -> FetchResult:
        if reason is None:
            reason = f"the download took longer than {self.options.total_timeout:g} s"
        got = f" ({received:,} bytes received)" if received else ""
        message = (
            f"{self.shown}: {reason}{got}; the API gives up on slow servers too. "
            "Serve the file from a fast, public host (S3, a CDN)"
        )
        return self.fail(FetchProblem.TIMEOUT, message, body=_Body(received))

    def network_failure(self, exc: BaseException, received: int = 0) -> FetchResult:
        kind, reason = _classify(exc, self.options)
        log.debug("%s: %s: %s", self.shown, type(exc).__name__, redact_text(str(exc)))
        if kind is FetchProblem.TIMEOUT:
            return self.timed_out(received, reason)
        if kind is FetchProblem.INCOMPLETE:
            return self.incomplete(received, reason)
        if kind is FetchProblem.BAD_URL:
            target = f" (redirect target {redact_url(self.current)})" if self.redirects else ""
            message = (
                f"{self.shown}: not a usable URL{target} ({reason}); "
                "check it for spaces, stray characters and a valid host name"
            )
        else:
            host = _host(self.current)
            message = (
                f"{self.shown}: cannot download from {host} ({reason}); check the host name "
                "and that the server is reachable from the public internet"
            )
        return self.fail(kind, message, body=_Body(received))

    def content_type_warnings(self, container: Container) -> tuple[Problem, ...]:
        if content_type_matches(container, self.content_type):
            return ()
        expected = content_type_for(container)
        served = f"Content-Type '{self.content_type}'" if self.content_type else "no Content-Type"
        message = (
            f"{self.shown}: served with {served} but the content is {container.label}; "
            f"set the Content-Type to {expected} on the server (S3: --content-type {expected}, "
            "or re-upload with 'audioprep upload')"
        )
        return (Problem(FetchProblem.CONTENT_TYPE.value, Severity.WARNING, message, fixable=True),)

    # ---- result construction ---------------------------------------------------------------

    def fail(
        self,
        kind: FetchProblem,
        message: str,
        *,
        body: _Body | None = None,
        sniffed: Container | None = None,
        fixable: bool = False,
    ) -> FetchResult:
        problem = Problem(kind.value, Severity.ERROR, message, fixable=fixable)
        return self.result(body, sniffed=sniffed, problem=problem, api_code=API_CODES[kind])

    def result(
        self,
        body: _Body | None,
        *,
        path: Path | None = None,
        sniffed: Container | None = None,
        problem: Problem | None = None,
        api_code: Code | None = None,
        warnings: tuple[Problem, ...] = (),
    ) -> FetchResult:
        """A result carrying what this job has seen so far."""
        return FetchResult(
            ok=problem is None,
            url=self.shown,
            final_url=redact_url(self.current),
            redirects=tuple(redact_url(r) for r in self.redirects),
            status=self.status,
            path=path,
            size=body.size if body else 0,
            sha256=(body.sha256 or None) if body else None,
            header_content_type=self.content_type,
            declared_length=self.declared,
            sniffed=sniffed,
            elapsed_s=time.monotonic() - self.started,
            truncated_over_cap=body.truncated if body else False,
            problem=problem,
            api_code=api_code,
            cache_headers=self.cache_headers,
            warnings=warnings,
        )


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

# What reading a streamed body can raise: requests wraps urllib3 errors in iter_content, the
# raw reader does not; socket errors are OSError (requests' own exceptions are OSError too).
_NETWORK_ERRORS = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)


def _reader(resp: requests.Response) -> Callable[[], bytes]:
    """A function returning the next piece of body (``b""`` at the end).

    ``iter_content``/urllib3 ``stream()`` block until a *full* chunk arrives, so a server that
    drips bytes could hold one read open forever and the overall deadline could never be
    checked. ``read1`` (urllib3 >= 2) returns whatever one socket read brings, so the deadline
    is checked at least every ``read_timeout``. Older urllib3 falls back to ``iter_content``.
    """
    read1 = getattr(resp.raw, "read1", None)
    if read1 is not None:
        return lambda: bytes(read1(_CHUNK, decode_content=True))
    chunks: Iterator[bytes] = resp.iter_content(_CHUNK)
    return lambda: next(chunks, b"")


class _TempFile:
    """A temporary file in the destination directory, removed unless committed."""

    def __init__(self, directory: Path) -> None:
        try:
            fd, name = tempfile.mkstemp(prefix=tempfiles.prefix("part"), dir=directory)
        except OSError as exc:
            raise UsageError(f"cannot write to {directory}: {exc.strerror}") from exc
        self.path = Path(name)
        self.file = os.fdopen(fd, "wb")
        self.committed = False

    def write(self, data: bytes) -> None:
        try:
            self.file.write(data)
        except OSError as exc:
            raise UsageError(f"cannot write to {self.path.parent}: {exc.strerror}") from exc

    def commit(self, target: Path) -> Path:
        try:
            self.file.close()
            os.replace(self.path, target)
        except OSError as exc:
            raise UsageError(f"cannot write {target}: {exc.strerror}") from exc
        self.committed = True
        return target

    def __enter__(self) -> _TempFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.file.close()
        if not self.committed:
            self.path.unlink(missing_ok=True)


_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def _scheme(url: str) -> str:
    """The URL's scheme, lower-cased ("" if none); also for URLs too broken to parse."""
    match = _SCHEME_RE.match(url)
    return match.group(1).lower() if match else ""


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or "the server"
    except ValueError:
        return "the server"


def _declared_length(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


# File extensions where the container's name is not the usual one.
_EXTENSIONS = {
    Container.MP4: "m4a",
    Container.MATROSKA: "mka",
    Container.ASF: "wma",
    Container.RF64: "wav",
}


def _file_name(url: str, sha256: str, container: Container) -> str:
    """``<safe stem of the URL's file name>-<sha256[:12]>.<ext of the content>``: legal, unique."""
    base = url_file_name(url)
    extension = _EXTENSIONS.get(container, container.value)
    stem = safe_name(base or "audio", extension=extension).rsplit(".", 1)[0]
    return f"{stem}-{sha256[:12]}.{extension}"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps (causes, contexts, urllib3 ``reason``s, args)."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < 20:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += [a for a in current.args if isinstance(a, BaseException)]
        todo.extend(e for e in linked if isinstance(e, BaseException))


def _connection_reason(exc: BaseException) -> str:
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror | urllib3.exceptions.NameResolutionError):
            return "the host name does not resolve"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset by the server"
    return "connection failed"


_Classifier = tuple[type[BaseException] | tuple[type[BaseException], ...], FetchProblem, str]

# First match wins; the order matters (ConnectTimeout is also a ConnectionError, SSLError too).
_CLASSIFIERS: tuple[_Classifier, ...] = (
    (requests.ConnectTimeout, FetchProblem.TIMEOUT, "could not connect within {connect:g} s"),
    (
        (requests.ReadTimeout, urllib3.exceptions.ReadTimeoutError, TimeoutError),
        FetchProblem.TIMEOUT,
        "the server sent nothing for {read:g} s",
    ),
    (
        (requests.exceptions.SSLError, urllib3.exceptions.SSLError),
        FetchProblem.UNREACHABLE,
        "TLS handshake or certificate verification failed",
    ),
    (requests.exceptions.ProxyError, FetchProblem.UNREACHABLE, "the HTTP proxy failed"),
    (requests.TooManyRedirects, FetchProblem.REDIRECTS, "too many redirects"),
    (
        (requests.exceptions.ContentDecodingError, urllib3.exceptions.DecodeError),
        FetchProblem.INCOMPLETE,
        "its Content-Encoding cannot be decoded",
    ),
    (
        (requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError),
        FetchProblem.INCOMPLETE,
        "the server closed the connection early",
    ),
    (http.client.HTTPException, FetchProblem.INCOMPLETE, "malformed HTTP response"),
    (ValueError, FetchProblem.BAD_URL, "the URL cannot be parsed"),
)


def _classify(exc: BaseException, options: FetchOptions) -> tuple[FetchProblem, str]:
    """The problem id and a short reason (never containing the URL) for a network error."""
    for types, kind, reason in _CLASSIFIERS:
        if isinstance(exc, types):
            return kind, reason.format(connect=options.connect_timeout, read=options.read_timeout)
    if any(isinstance(c, urllib3.exceptions.ReadTimeoutError) for c in _causes(exc)):
        # iter_content re-raises a read timeout as a plain requests.ConnectionError
        return FetchProblem.TIMEOUT, f"the server sent nothing for {options.read_timeout:g} s"
    return FetchProblem.UNREACHABLE, _connection_reason(exc)


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------


def _scheme_message(shown: str, scheme: str) -> str:
    got = f"'{scheme}:'" if scheme else "no scheme"
    return (
        f"{shown or '(empty URL)'}: the audio URL must start with http:// or https:// (got {got}); "
        "host the file on a web server or S3 ('audioprep upload') and use its http(s) URL"
    )


def _status_message(shown: str, status: int) -> str:
    try:
        phrase = f"HTTP {status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        phrase = f"HTTP {status}"
    if status in (401, 403):
        advice = (
            "the file is not public (or a presigned URL has expired); make it publicly readable, "
            "e.g. with an S3 bucket policy granting s3:GetObject"
        )
    elif status in (404, 410):
        advice = "there is no file at this URL; check the path and that the upload finished"
    elif status == 429:
        advice = "the server is rate-limiting downloads; the API may be refused the same way"
    elif status >= 500:
        advice = "the server failed; try again later or host the file elsewhere"
    elif 300 <= status < 400:
        advice = "a redirect without a usable Location; give the API the file's final URL"
    else:
        advice = "the server refused the download; the API needs a plain public GET to work"
    return f"{shown}: the server answered {phrase}: {advice}"


def _empty_message(shown: str) -> str:
    return f"{shown}: the server sent an empty file (0 bytes); upload the audio again"


def _format_message(shown: str, container: Container) -> str:
    return (
        f"{shown}: the file is {container.label}, but the API takes only MP3 or WAV; "
        "convert it ('audioprep fix') and upload the result"
    )


def _unknown_message(shown: str) -> str:
    return (
        f"{shown}: the content is neither MP3 nor WAV (unrecognised data); the file may be "
        "corrupted or not audio at all. Re-export it as MP3 or WAV and upload it again"
    )


def _not_audio_message(shown: str, container: Container, content_type: str | None) -> str:
    served = f" (Content-Type '{content_type}')" if content_type else ""
    return (
        f"{shown}: the server sent {container.label}{served} instead of audio, usually an "
        "error or login page; open the URL in a private browser window and make sure it "
        "downloads the audio file itself"
    )
