"""The Voice API's semantics: triggering a job and looking up calls and jobs.

This module owns what the sandbox *answers*, independent of HTTP: :class:`VoiceService` takes a
request body or an id and returns a :class:`Reply` (status and JSON body). Every rule and message
comes from :mod:`audioprep.api` (``validate_request``, ``error_body``, ``success_body``,
``callback_body``, ``message_id_ok``, ``api_job_id_ok``); the audio verdict from the judge; call
timelines from :mod:`audioprep.sandbox.calls`. Accepted jobs are stored before the answer is sent,
so an answer of 200 always means a stored job.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from audioprep import api
from audioprep.api import Code
from audioprep.net.urls import redact_url
from audioprep.sandbox.audio import AudioVerdict
from audioprep.sandbox.calls import callback_info, plan_call, postback_moments
from audioprep.sandbox.options import FaultMode, FaultState, SandboxOptions
from audioprep.sandbox.postbacks import PostbackDispatcher
from audioprep.sandbox.store import CallRecord, JobRecord, PostbackRecord, Store

log = logging.getLogger(__name__)

_ID_ATTEMPTS = 3
#: Seconds a TTS text takes per word, plus one (TTS jobs have no file to measure).
_TTS_S_PER_WORD = 0.4


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer: HTTP status, JSON body, extra headers; ``drop`` closes without answering."""

    status: int
    body: Mapping[str, Any]
    headers: tuple[tuple[str, str], ...] = ()
    drop: bool = False

    @property
    def status_code(self) -> object:
        """``result_info.status_code`` of the body, for logs (None when absent)."""
        info = self.body.get("result_info")
        return info.get("status_code") if isinstance(info, Mapping) else None


class Counters:
    """Thread-safe event counters for ``GET /_sandbox/stats``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, key: str, n: int = 1) -> None:
        """Count ``n`` more of ``key``."""
        with self._lock:
            self._counts[key] += n

    def snapshot(self) -> dict[str, int]:
        """A copy of every counter."""
        with self._lock:
            return dict(self._counts)


class VoiceService:
    """Answers trigger and lookup requests; thread-safe."""

    def __init__(
        self,
        options: SandboxOptions,
        store: Store,
        dispatcher: PostbackDispatcher,
        judge: Callable[[str], AudioVerdict],
        faults: FaultState,
    ) -> None:
        self._options = options
        self._limits = options.limits
        self._store = store
        self._dispatcher = dispatcher
        self._judge = judge
        self._faults = faults
        self.counters = Counters()

    # -- replies ---------------------------------------------------------------------------

    def error(self, code: Code, job_id: str | None = None, **fields: object) -> Reply:
        """The documented error answer for ``code``, placeholders filled from ``fields``."""
        return self._error(code, api.describe(code, **fields), job_id)

    def _error(self, code: Code, description: str, job_id: str | None) -> Reply:
        """An error body with a fresh api_job_id (the docs: one is generated even then)."""
        self.counters.add(f"code_{int(code)}")
        body = api.error_body(code, description, api_job_id=str(uuid.uuid4()), job_id=job_id)
        return Reply(api.http_status(code), body)

    # -- trigger ---------------------------------------------------------------------------

    def trigger(self, body: bytes) -> Reply:
        """``POST /1/voice``: validate, judge the audio, apply service faults, accept."""
        verdict = api.validate_request(body, self._limits)
        if not verdict.valid or verdict.request is None:
            return self._error(verdict.code, verdict.description, verdict.job_id)
        content = verdict.request["voice_content"]
        length = self._content_seconds(content)
        if isinstance(length, Code):
            return self.error(length, verdict.job_id)
        mode = self._faults.take(frozenset({FaultMode.JOB_PROBLEM, FaultMode.SERVICE_SETTINGS}))
        if mode is FaultMode.JOB_PROBLEM:
            generic = self._faults.get().generic_error
            return self.error(Code.JOB_PROBLEM, verdict.job_id, generic_error=generic)
        if mode is FaultMode.SERVICE_SETTINGS:
            return self.error(Code.SERVICE_SETTINGS, verdict.job_id)
        return self._accept(verdict.request, verdict.job_id, length)

    def busy(self, body: bytes | None) -> Reply:
        """-105 "Server too busy", echoing the request's job_id when one can be read."""
        job_id = api.validate_request(body, self._limits).job_id if body else None
        return self.error(Code.SERVER_TOO_BUSY, job_id)

    def _content_seconds(self, content: Mapping[str, Any]) -> float | Code:
        """How long the message plays, or the code refusing its audio."""
        url = _audio_url(content)
        if url is not None:
            verdict = self._judge(url)
            outcome = "accepted" if verdict.accepted else f"refused ({verdict.code})"
            log.info("audio %s %s: %s", redact_url(url), outcome, verdict.detail or "-")
            return verdict.code if verdict.code is not None else (verdict.duration_s or 0.0)
        words = len(str(content.get("tts_text", "")).split())
        return 1.0 + _TTS_S_PER_WORD * words

    def _accept(self, request: Mapping[str, Any], job_id: str | None, audio_s: float) -> Reply:
        attempt = 1
        while True:  # a random id already taken (about never): draw new ones
            job, calls = self._plan_job(request, job_id, audio_s)
            try:
                stored = self._store.add_job(job, calls, self._postbacks(job, calls))
                break
            except sqlite3.IntegrityError:
                if attempt == _ID_ATTEMPTS:
                    raise
                attempt += 1
        self._dispatcher.submit(stored)
        self.counters.add("jobs_accepted")
        self.counters.add("calls_planned", len(calls))
        return Reply(api.http_status(Code.SUCCESS), _success(job, calls))

    def _plan_job(
        self, request: Mapping[str, Any], job_id: str | None, audio_s: float
    ) -> tuple[JobRecord, list[CallRecord]]:
        content = request["voice_content"]
        callback = request.get("callback_url")
        job = JobRecord(
            api_job_id=str(uuid.uuid4()),
            client_job_id=job_id,
            job_type="AUDIO" if _audio_url(content) else "TTS",
            sender=api.sanitise_number(content.get("sender_id")) or self._options.default_sender_id,
            callback_url=callback if isinstance(callback, str) and callback else None,
            content=_echoed_content(content),
            accepted_at=time.time(),
            time_scale=self._options.time_scale,
            audio_s=audio_s,
        )
        return job, self._plan_calls(job, request, audio_s)

    def _plan_calls(
        self, job: JobRecord, request: Mapping[str, Any], audio_s: float
    ) -> list[CallRecord]:
        content = request["voice_content"]
        ring_timeout = api.parse_seconds(content.get("ring_timeout_seconds"))
        time_limit = api.parse_seconds(content.get("time_limit_seconds"))
        message_ids = _message_ids(job.accepted_at, len(request["destinations"]))
        calls = []
        for seq, (to, custom_id) in enumerate(_destinations(request)):
            plan = plan_call(
                self._options.seed,
                to,
                audio_s=audio_s,
                ring_timeout_s=ring_timeout or self._options.default_ring_timeout_s,
                time_limit_s=time_limit,
            )
            calls.append(
                CallRecord(
                    message_id=message_ids[seq],
                    api_job_id=job.api_job_id,
                    seq=seq,
                    to=to,
                    custom_id=custom_id,
                    outcome=plan.outcome.value,
                    ring_at=plan.ring_at,
                    answer_at=plan.answer_at,
                    hang_at=plan.hang_at,
                    duration=plan.duration,
                )
            )
        return calls

    def _postbacks(self, job: JobRecord, calls: list[CallRecord]) -> list[PostbackRecord]:
        url = job.callback_url
        if url is None:
            return []
        parts = api.split_url(url)
        if parts is None or parts.scheme.lower() not in ("http", "https"):
            log.warning("job %s: callback_url is not http(s); no postbacks", job.api_job_id)
            return []
        return [
            PostbackRecord(
                message_id=call.message_id,
                url=url,
                kind=kind,
                due_at=job.accepted_at + at * job.time_scale,
                body=api.callback_body(
                    api_job_id=job.api_job_id,
                    job_id=job.client_job_id,
                    data=[callback_info(job, call, at)],
                ),
            )
            for call in calls
            for kind, at in postback_moments(call)
        ]

    # -- lookups ---------------------------------------------------------------------------

    def lookup_call(self, message_id: str) -> Reply:
        """One call with its job's details, in the callback format (-121, -120)."""
        if not api.message_id_ok(message_id):
            return self.error(Code.MESSAGE_ID_INVALID)
        call = self._store.get_call(message_id)
        job = self._store.get_job(call.api_job_id) if call is not None else None
        if call is None or job is None:
            return self.error(Code.CALL_NOT_FOUND)
        return self._callback_reply(job, [call])

    def lookup_job(self, api_job_id: str) -> Reply:
        """A job with all its calls, in the callback format (-126, -125)."""
        if not api.api_job_id_ok(api_job_id):
            return self.error(Code.API_JOB_ID_INVALID)
        job = self._store.get_job(api_job_id)
        if job is None:
            return self.error(Code.JOB_NOT_FOUND)
        return self._callback_reply(job, self._store.calls_of(api_job_id))

    def _callback_reply(self, job: JobRecord, calls: list[CallRecord]) -> Reply:
        at = (time.time() - job.accepted_at) / job.time_scale
        data = [callback_info(job, call, at) for call in calls]
        body = api.callback_body(api_job_id=job.api_job_id, job_id=job.client_job_id, data=data)
        return Reply(api.http_status(Code.SUCCESS), body)


def _success(job: JobRecord, calls: list[CallRecord]) -> dict[str, Any]:
    results: dict[str, dict[str, str]] = {}
    for call in calls:
        result = {"message_id": call.message_id}
        if call.custom_id is not None:
            result["custom_id"] = call.custom_id
        results[call.to] = result
    return api.success_body(api_job_id=job.api_job_id, job_id=job.client_job_id, results=results)


def _destinations(request: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """The numbers called, sanitised as the validator does; non-numbers are dropped (D10) and a
    number given twice is called once (its first custom_id wins)."""
    found: dict[str, str | None] = {}
    for item in request["destinations"]:
        digits = api.sanitise_number(item["number"])
        if digits is not None and digits not in found:
            custom_id = item.get("custom_id")
            found[digits] = None if custom_id is None else str(custom_id)
    return list(found.items())


def _audio_url(content: Mapping[str, Any]) -> str | None:
    """The audio URL of a validated AUDIO job, None for a TTS job."""
    url = content.get("audio_file_url")
    return url if isinstance(url, str) and url else None


def _echoed_content(content: Mapping[str, Any]) -> dict[str, str]:
    """What callbacks repeat of ``voice_content``: the audio URL, or the TTS fields."""
    url = _audio_url(content)
    if url is not None:
        return {"audio_file_url": url}
    echoed = {"tts_text": str(content["tts_text"])}
    if isinstance(content.get("tts_voice"), str):
        echoed["tts_voice"] = content["tts_voice"].upper()
    if isinstance(content.get("tts_lang"), str):
        echoed["tts_lang"] = content["tts_lang"]
    return echoed


def _message_ids(accepted_at: float, count: int) -> list[str]:
    """``count`` distinct 20-digit message_ids: the Unix second, then 10 random digits (the
    documented samples start with a timestamp too)."""
    prefix = f"{int(accepted_at) % 10**10:010d}"
    ids: set[str] = set()
    while len(ids) < count:
        ids.add(f"{prefix}{secrets.randbelow(10**10):010d}")
    return list(ids)
