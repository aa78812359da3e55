"""The sandbox's audio judge: download ``audio_file_url`` and answer as the real API would.

This module owns the step between a valid request and an accepted job: the file is downloaded
with :func:`audioprep.audio.fetch.fetch` (http/https, timeouts, the 5 MB cap) and judged with
:func:`audioprep.audio.inspect.inspect_file`; the code comes from their ``api_code`` and nothing
here re-decides a rule. A file that inspects "fixable" but has no ``api_code`` is accepted, because
the real API reads only metadata. A crash while downloading answers -109 and one while reading
metadata -110, the two codes the docs give for "a problem on our side".

With ``cache`` on, the judge behaves like an HTTP cache keyed by URL (the provider is believed
to cache by URL too): a verdict is reused without asking for as long as the host's
``Cache-Control: max-age`` allows, and after that while a HEAD request shows the same
ETag/Last-Modified/Content-Length. The validators of a first download come from its own
answer (no HEAD before it). Files without validators are downloaded every time; jobs naming
the same URL at the same moment share one download.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import requests

from audioprep import api
from audioprep.api import Code
from audioprep.net import sessions
from audioprep.net.urls import redact_url

log = logging.getLogger(__name__)

_HEAD_TIMEOUT_S = 5.0
#: Verdicts that depend on the network rather than the file, never cached.
_UNCACHED = frozenset({Code.AUDIO_DOWNLOAD_FAILED, Code.AUDIO_UNPROCESSABLE})


@dataclass(frozen=True, slots=True)
class AudioVerdict:
    """What the API answers about an audio URL: ``code`` None means accepted.

    ``duration_s`` (when known) bounds the simulated calls; ``detail`` is for the log only.
    """

    code: Code | None
    duration_s: float | None = None
    detail: str = ""

    @property
    def accepted(self) -> bool:
        """True when the API would take the file."""
        return self.code is None


@dataclass(frozen=True, slots=True)
class _Head:
    """What a HEAD request says about a URL: its validators and how long it stays fresh."""

    validators: tuple[str, str, str]
    max_age_s: float


@dataclass(frozen=True, slots=True)
class _Entry:
    head: _Head
    verdict: AudioVerdict
    fresh_until: float


class AudioJudge:
    """Downloads and inspects audio URLs; thread-safe; callable as ``judge(url)``."""

    def __init__(self, *, cache: bool = True, cache_size: int = 256) -> None:
        self._cache_on = cache
        self._cache_size = cache_size
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._sessions = sessions.PerThread()  # keep-alive where the host allows it
        self._pending: dict[str, Future[AudioVerdict]] = {}

    def __call__(self, url: str) -> AudioVerdict:
        if not self._cache_on:
            return judge_url(url)
        entry = self._entry(url)
        if entry is not None:
            if time.monotonic() < entry.fresh_until:
                return entry.verdict
            head = _head(self._sessions.get(), url)
            if head is not None and entry.head.validators == head.validators:
                self._remember(url, head, entry.verdict)
                return entry.verdict
        return self._judge_once(url)

    def _judge_once(self, url: str) -> AudioVerdict:
        """Judge ``url``; requests for it arriving meanwhile wait for this verdict."""
        with self._lock:
            pending = self._pending.get(url)
            leader = pending is None
            if pending is None:
                pending = self._pending[url] = Future()
        if not leader:
            return pending.result()
        try:
            verdict, head = _judge(url, self._sessions.get())
            if head is not None and verdict.code not in _UNCACHED:
                self._remember(url, head, verdict)
            pending.set_result(verdict)
            return verdict
        except BaseException as exc:
            pending.set_exception(exc)
            raise
        finally:
            with self._lock:
                del self._pending[url]

    def _entry(self, url: str) -> _Entry | None:
        with self._lock:
            entry = self._cache.get(url)
            if entry is not None:
                self._cache.move_to_end(url)
            return entry

    def _remember(self, url: str, head: _Head, verdict: AudioVerdict) -> None:
        entry = _Entry(head, verdict, time.monotonic() + head.max_age_s)
        with self._lock:
            self._cache[url] = entry
            self._cache.move_to_end(url)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)


def judge_url(url: str) -> AudioVerdict:
    """Download ``url`` into a temporary directory and inspect it (no cache)."""
    return _judge(url)[0]


def _judge(url: str, session: requests.Session | None = None) -> tuple[AudioVerdict, _Head | None]:
    """The verdict on ``url``, and the download's validators (None: nothing to cache by)."""
    from audioprep.audio import fetch, inspect

    shown = redact_url(url)
    quick = inspect.InspectOptions(quick=True, jobs=1)  # the API reads metadata, not audio
    with tempfile.TemporaryDirectory(prefix="audioprep-sandbox-") as tmp:
        try:
            result = fetch.fetch(url, Path(tmp), session=session)
        except Exception:
            log.exception("audio download of %s crashed", shown)
            return AudioVerdict(Code.AUDIO_UNPROCESSABLE, detail="download crashed"), None
        if not result.ok or result.path is None:
            code = _as_code(result.api_code) or Code.AUDIO_DOWNLOAD_FAILED
            return AudioVerdict(code, detail=f"download: {result.problem}"), None
        try:
            inspection = inspect.inspect_file(
                result.path, options=quick, display_name=_file_name(url)
            )
        except Exception:
            log.exception("audio inspection of %s crashed", shown)
            return AudioVerdict(Code.AUDIO_PROBLEM, detail="inspection crashed"), None
    detail = f"{inspection.verdict}: {inspection.format}, {inspection.duration_s} s"
    verdict = AudioVerdict(_as_code(inspection.api_code), inspection.duration_s, detail)
    return verdict, _validators(dict(result.cache_headers))


def _file_name(url: str) -> str:
    """The file name the API sees: the URL's last path segment, percent-decoded."""
    return api.url_file_name(url)


def _as_code(value: int | None) -> Code | None:
    """The documented code for ``value``; an unknown negative value reads as -110."""
    if value is None:
        return None
    try:
        return Code(value)
    except ValueError:
        return Code.AUDIO_PROBLEM


def _head(session: requests.Session, url: str) -> _Head | None:
    """ETag, Last-Modified, Content-Length and max-age from a HEAD; None when uncacheable."""
    from audioprep.audio import fetch  # noqa: F401  (its log filter keeps query strings out of logs)

    try:
        response = session.head(url, timeout=_HEAD_TIMEOUT_S, allow_redirects=False)
    except requests.RequestException:
        return None
    with response:
        if response.status_code != 200:
            return None
        return _validators(response.headers)


def _validators(headers: Mapping[str, str]) -> _Head | None:
    """ETag, Last-Modified, Content-Length and max-age of an answer; None when uncacheable."""
    if "no-store" in headers.get("Cache-Control", ""):
        return None
    etag = headers.get("ETag", "")
    modified = headers.get("Last-Modified", "")
    validators = (etag, modified, headers.get("Content-Length", ""))
    max_age = _max_age(headers.get("Cache-Control", ""))
    return _Head(validators, max_age) if etag or modified else None


def _max_age(cache_control: str) -> float:
    """Seconds a response may be reused without asking again (0 unless ``max-age`` says so)."""
    directives = [d.strip().lower() for d in cache_control.split(",")]
    if "no-cache" in directives:
        return 0.0
    for directive in directives:
        name, _, value = directive.partition("=")
        if name == "max-age" and value.strip().isdigit():
            return float(value.strip())
    return 0.0
