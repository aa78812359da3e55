"""The Voice API client: one HTTP session, explicit timeouts, and retries that never resend a
request the API may have processed.

This module owns the wire between audioprep and the API: the session (``Authorization: Token
…``, an ``audioprep/<version>`` User-Agent, urllib3's own retries switched off so nothing is
resent behind our back), what each attempt came to (:class:`AttemptKind`, decided by the pure
functions :func:`classify_error` and :func:`classify_reply`), whether and when to try again
(:class:`RetryPolicy`, pure), tolerant parsing of answers (``status_code`` as ``"0"`` or ``0``,
``results`` as an object or an array: ``docs/api-notes.md`` D4 and research notes §4.4) and the
lookups. The token is never logged, shown in an error or kept in a ``repr``.

Only two kinds of failure are retried: the connection failed *before* the request was written
(refused, DNS, connect timeout), or the service answered that it did not take it (HTTP 503 or
429, ``status_code`` -105). A timeout or a dropped connection after the request was written is
an unknown outcome and is never resent.
"""

from __future__ import annotations

import logging
import random
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError
from urllib3.util.retry import Retry

from audioprep import api, jsonio
from audioprep.api import Code
from audioprep.errors import ConfigError, ServiceUnavailable
from audioprep.net import sessions
from audioprep.net.urls import redact_url
from audioprep.version import __version__

log = logging.getLogger(__name__)

#: Path of the trigger endpoint, appended when ``api_url`` names only a host.
TRIGGER_PATH = "/1/voice"
#: Seconds to connect to the API.
CONNECT_TIMEOUT_S = 5.0
#: Seconds to wait for the API's answer once a request is sent: it downloads and reads the
#: audio before it answers, so this is generous (``submit --timeout``).
READ_TIMEOUT_S = 60.0
#: ``(connect, read)`` seconds.
DEFAULT_TIMEOUT = (CONNECT_TIMEOUT_S, READ_TIMEOUT_S)
USER_AGENT = f"audioprep/{__version__}"


class AttemptKind(StrEnum):
    """What one HTTP attempt came to."""

    ACCEPTED = "accepted"  # 200 with status_code 0
    REJECTED = "rejected"  # the API refused the job (403 with a code, 400, other 4xx)
    UNAUTHORIZED = "unauthorized"  # 401 / -50: the token
    BAD_ENDPOINT = "bad_endpoint"  # 404, 405, a redirect: the URL is not the trigger endpoint
    NOT_SENT = "not_sent"  # the connection failed before the request was written
    UNAVAILABLE = "unavailable"  # 503 / 429: the service did not take the request
    BUSY = "busy"  # -105 "Server too busy"
    UNKNOWN = "unknown"  # sent, and no usable answer: it may have been processed


#: Kinds after which the request certainly was not processed, so sending it again is safe.
SAFE_TO_RETRY = frozenset({AttemptKind.NOT_SENT, AttemptKind.UNAVAILABLE, AttemptKind.BUSY})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try again: only after a failure in :data:`SAFE_TO_RETRY`, at most
    ``max_attempts`` attempts in all and never past ``max_total_s`` seconds since the first.

    Waits grow exponentially from ``base_delay_s`` up to ``max_delay_s``, with "equal jitter"
    (half fixed, half random) so that many clients do not retry in step. A ``Retry-After``
    from the server lengthens the wait (up to ``max_delay_s``).
    """

    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_total_s: float = 60.0

    def delay(
        self,
        kind: AttemptKind,
        attempt: int,
        elapsed_s: float,
        rand: float,
        retry_after_s: float | None = None,
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to stop.

        ``attempt`` counts from 1; ``rand`` is uniform in [0, 1) (injected: this is pure).
        """
        if kind not in SAFE_TO_RETRY or attempt >= self.max_attempts:
            return None
        cap = min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 1))
        wait = cap / 2 + cap / 2 * rand
        if retry_after_s is not None:
            wait = max(wait, min(retry_after_s, self.max_delay_s))
        if elapsed_s + wait > self.max_total_s:
            return None
        return wait


@dataclass(frozen=True, slots=True)
class ApiReply:
    """An answer of the API, parsed tolerantly.

    ``status_code`` is None when the body carried none (HTTP-level answers, non-JSON bodies).
    ``results`` maps each called number to its message_id; ``custom_ids`` number → custom_id.
    """

    http_status: int
    status_code: int | None
    description: str
    api_job_id: str | None = None
    client_job_id: str | None = None
    results: Mapping[str, str] = field(default_factory=dict)
    custom_ids: Mapping[str, str] = field(default_factory=dict)
    retry_after_s: float | None = None
    body: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt: its kind, the reply (None when no answer came), and what went wrong."""

    kind: AttemptKind
    reply: ApiReply | None = None
    error: str = ""

    @property
    def summary(self) -> str:
        """A short description for logs and messages."""
        if self.reply is None:
            return self.error
        code = f", status_code {self.reply.status_code}" if self.reply.status_code else ""
        return f"HTTP {self.reply.http_status}{code}: {self.reply.description}"


@dataclass(frozen=True, slots=True)
class Delivery:
    """The result of sending one request with retries: the last attempt and how many were made."""

    last: Attempt
    attempts: int
    elapsed_s: float

    @property
    def kind(self) -> AttemptKind:
        """The kind of the last attempt (what the delivery came to)."""
        return self.last.kind


# --------------------------------------------------------------------------------------------
# Pure classification and parsing
# --------------------------------------------------------------------------------------------


def classify_error(exc: BaseException) -> AttemptKind:
    """Whether a failed request was never sent (:attr:`AttemptKind.NOT_SENT`) or may have
    reached the server (:attr:`AttemptKind.UNKNOWN`).

    Not sent: a new connection could not be made (refused, DNS, connect timeout) or its TLS
    certificate was refused, all before a byte of the request went out. Anything else (read
    timeout, connection reset or closed after writing) is unknown.
    """
    causes = list(_causes(exc))
    if any(isinstance(c, ReadTimeoutError | requests.ReadTimeout) for c in causes):
        return AttemptKind.UNKNOWN
    not_sent = (NewConnectionError, ConnectTimeoutError, ssl.SSLCertVerificationError)
    if any(isinstance(c, not_sent) for c in causes):
        return AttemptKind.NOT_SENT
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.ProxyError):
        return AttemptKind.NOT_SENT
    return AttemptKind.UNKNOWN


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps: ``args``, ``reason`` (urllib3), cause and context."""
    stack: list[BaseException] = [exc]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [getattr(current, "reason", None), current.__cause__, current.__context__]
        linked.extend(current.args)
        stack.extend(item for item in linked if isinstance(item, BaseException))


def classify_reply(reply: ApiReply) -> AttemptKind:
    """What an answer means for the job (see the module docstring for the retry rules).

    A 5xx other than 503 or a 200 without ``status_code`` 0 is *unknown*: the service may have
    queued the job before it failed to say so.
    """
    status, code = reply.http_status, reply.status_code
    if status == 401 or code == Code.NOT_AUTHORIZED:
        return AttemptKind.UNAUTHORIZED
    if code == Code.SERVER_TOO_BUSY:
        return AttemptKind.BUSY
    if status in (503, 429):
        return AttemptKind.UNAVAILABLE
    if 200 <= status < 300:
        if code == Code.SUCCESS:
            return AttemptKind.ACCEPTED
        return AttemptKind.REJECTED if code is not None and code < 0 else AttemptKind.UNKNOWN
    if 300 <= status < 400 or status in (404, 405):
        return AttemptKind.BAD_ENDPOINT
    if 400 <= status < 500:
        return AttemptKind.REJECTED
    return AttemptKind.UNKNOWN


def parse_reply(
    http_status: int, content: bytes, headers: Mapping[str, str] | None = None
) -> ApiReply:
    """Parse an answer body; never raises. Accepts ``status_code`` ``"0"`` or ``0`` (D4) and
    ``results`` as an object keyed by number or as an array of objects (§4.4)."""
    try:
        body: Any = jsonio.loads(content) if content else None
    except jsonio.JSONError:
        body = None
    info = body.get("result_info") if isinstance(body, dict) else None
    info = info if isinstance(info, dict) else {}
    description = info.get("description")
    if not isinstance(description, str) or not description:
        description = api.HTTP_MESSAGES.get(http_status, f"HTTP {http_status}")
    results, custom_ids = _results(body.get("results") if isinstance(body, dict) else None)
    return ApiReply(
        http_status=http_status,
        status_code=parse_status_code(info.get("status_code")),
        description=description,
        api_job_id=_str_or_none(body, "api_job_id"),
        client_job_id=_str_or_none(body, "client_job_id"),
        results=results,
        custom_ids=custom_ids,
        retry_after_s=_retry_after((headers or {}).get("Retry-After")),
        body=body,
    )


def parse_status_code(value: object) -> int | None:
    """``0``, ``"0"``, ``-89`` or ``"-89"`` as an int; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit() and text.isascii():
            return int(text)
    return None


def _results(raw: object) -> tuple[dict[str, str], dict[str, str]]:
    items: list[tuple[str, object]]
    if isinstance(raw, dict):
        items = [(str(number), value) for number, value in raw.items()]
    elif isinstance(raw, list):
        items = [(_array_number(value, index), value) for index, value in enumerate(raw)]
    else:
        return {}, {}
    results: dict[str, str] = {}
    custom_ids: dict[str, str] = {}
    for number, value in items:
        if isinstance(value, dict) and value.get("message_id") is not None:
            results[number] = str(value["message_id"])
            if value.get("custom_id") is not None:
                custom_ids[number] = str(value["custom_id"])
    return results, custom_ids


def _array_number(value: object, index: int) -> str:
    """The number an array-style result is for; the docs never show one, so several names."""
    if isinstance(value, dict):
        for key in ("number", "to", "destination", "msisdn"):
            if value.get(key) is not None:
                return str(value[key])
    return f"#{index + 1}"


def _str_or_none(body: object, key: str) -> str | None:
    value = body.get(key) if isinstance(body, dict) else None
    return value if isinstance(value, str) and value else None


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


def trigger_url(api_url: str) -> str:
    """The trigger endpoint: ``api_url`` itself, or ``<api_url>/1/voice`` when it names only a
    host (``http://127.0.0.1:8808``). Raises :class:`ConfigError` for a URL that is not
    http(s) with a host."""
    parts = urlsplit(api_url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"the API URL {redact_url(api_url)!r} is not an http(s) URL with a host",
            hint="set --api-url or AUDIOPREP_API_URL, e.g. https://rest.fortytwo.com/1/voice",
        )
    path = parts.path.rstrip("/") or TRIGGER_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def check_token(token: str | None) -> str:
    """The token, stripped; :class:`ConfigError` when missing or unusable in a header.

    The message never contains the token.
    """
    value = (token or "").strip()
    if not value:
        raise ConfigError(
            "no Voice API token",
            hint="set AUDIOPREP_API_TOKEN or api_token in the config file",
        )
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ConfigError("the Voice API token contains spaces or control characters")
    return value


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------


class VoiceClient:
    """Talks to the Voice API over one :class:`requests.Session`; a context manager.

    ``sleep``, ``clock`` and ``rand`` are injectable so retry tests need not wait.
    """

    def __init__(
        self,
        api_url: str,
        token: str | None,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.endpoint = trigger_url(api_url)
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self._sleep, self._clock, self._rand = sleep, clock, rand
        self._session = _session(check_token(token))

    def __repr__(self) -> str:
        return f"VoiceClient({redact_url(self.endpoint)!r})"

    def close(self) -> None:
        """Close the session's connections."""
        self._session.close()

    def __enter__(self) -> VoiceClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def post_once(self, payload: bytes) -> Attempt:
        """One POST of ``payload`` to the trigger endpoint, classified; never raises a
        :mod:`requests` error."""
        try:
            response = self._session.post(
                self.endpoint,
                data=payload,
                headers={"Content-Type": "application/json; charset=utf-8"},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return Attempt(classify_error(exc), error=_describe_error(exc))
        with response:
            reply = parse_reply(response.status_code, response.content, response.headers)
        return Attempt(classify_reply(reply), reply)

    def submit(self, payload: bytes, *, label: str = "") -> Delivery:
        """POST ``payload``, retrying only as :attr:`policy` allows; returns the last attempt."""
        started = self._clock()
        attempt_no = 0
        while True:
            attempt_no += 1
            attempt = self.post_once(payload)
            elapsed = self._clock() - started
            retry_after = attempt.reply.retry_after_s if attempt.reply else None
            wait = self.policy.delay(attempt.kind, attempt_no, elapsed, self._rand(), retry_after)
            log.info(
                "POST %s %s attempt %d: %s (%s)",
                redact_url(self.endpoint),
                label,
                attempt_no,
                attempt.kind.value,
                attempt.summary,
            )
            if wait is None:
                return Delivery(attempt, attempt_no, elapsed)
            log.info("not processed, so safe to retry: waiting %.2f s", wait)
            self._sleep(wait)

    def lookup_call(self, message_id: str) -> ApiReply:
        """``GET <endpoint>/call/<message_id>``: one call in the callback format."""
        return self._lookup("call", message_id)

    def lookup_job(self, api_job_id: str) -> ApiReply:
        """``GET <endpoint>/job/<api_job_id>``: a job and all its calls."""
        return self._lookup("job", api_job_id)

    def _lookup(self, kind: str, ident: str) -> ApiReply:
        url = f"{self.endpoint}/{kind}/{quote(ident, safe='')}"
        try:
            response = self._session.get(url, timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise ServiceUnavailable(
                f"lookup of {kind} {ident} failed: {_describe_error(exc)}"
            ) from None
        with response:
            reply = parse_reply(response.status_code, response.content, response.headers)
        outcome = classify_reply(reply)
        if outcome is AttemptKind.UNAUTHORIZED:
            raise ConfigError("the Voice API refused the token (HTTP 401)")
        if outcome in (AttemptKind.UNAVAILABLE, AttemptKind.BUSY) or reply.http_status >= 500:
            raise ServiceUnavailable(f"lookup of {kind} {ident}: {Attempt(outcome, reply).summary}")
        return reply


def _session(token: str) -> requests.Session:
    session = sessions.session()
    no_retries = Retry(
        total=0, connect=0, read=0, redirect=0, status=0, other=0, raise_on_status=False
    )
    adapter = HTTPAdapter(max_retries=no_retries)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update(
        {"User-Agent": USER_AGENT, "Accept": "application/json", "Authorization": f"Token {token}"}
    )
    return session


def _describe_error(exc: requests.RequestException) -> str:
    """A short, secret-free description of a transport failure."""
    names = [type(c).__name__ for c in _causes(exc)]
    detail = next((n for n in reversed(names) if n not in ("MaxRetryError",)), type(exc).__name__)
    kind = classify_error(exc)
    if kind is AttemptKind.NOT_SENT:
        return f"could not connect ({detail}); the request was not sent"
    if isinstance(exc, requests.ReadTimeout):
        return "no answer before the read timeout; the request had been sent"
    return f"the connection broke after the request was sent ({detail})"
