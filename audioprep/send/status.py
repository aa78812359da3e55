"""What is known about submitted calls, per destination: the journal plus the postbacks.

This module owns ``audioprep status`` (:func:`job_status`). The id asked about is checked
first with the API's own rules (a message_id has 20 digits: -121; an api_job_id 36 characters:
-126; a job_id 7 to 15: -99). The journal says which submissions, numbers and message ids
belong to it; the postback store (and, with ``lookup``, the API's lookup endpoints) how each
call went. A destination's summary is its latest event (a final one — with a hang-up date —
wins over a ringing one whatever order they arrived in).

Postbacks that carry our ``client_job_id`` but an api_job_id the journal never saw belong to a
submission whose answer was lost: they are how an *unknown* outcome is resolved, and the report
says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audioprep import api
from audioprep.config import DEFAULT_API_URL
from audioprep.errors import UsageError
from audioprep.send import journal as journal_mod
from audioprep.send import postbacks as postbacks_mod
from audioprep.send.client import DEFAULT_TIMEOUT, ApiReply, VoiceClient
from audioprep.send.journal import Entry, Journal
from audioprep.send.postbacks import CallEvent, PostbackStore, events_from_body

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusQuery:
    """Which job or call to report on (exactly one id), where to look, and whether to ask the
    API too. The token is kept out of ``repr``."""

    job_id: str | None = None
    api_job_id: str | None = None
    message_id: str | None = None
    journal: str | Path | None = None
    postbacks_db: str | Path | None = None
    lookup: bool = False
    api_url: str = DEFAULT_API_URL
    api_token: str | None = field(default=None, repr=False)
    timeout: tuple[float, float] = DEFAULT_TIMEOUT

    def selector(self) -> tuple[str, str]:
        """``(kind, id)`` of the one id given; :class:`UsageError` unless exactly one."""
        given = [
            (kind, value)
            for kind, value in (
                ("job_id", self.job_id),
                ("api_job_id", self.api_job_id),
                ("message_id", self.message_id),
            )
            if value
        ]
        if len(given) != 1:
            raise UsageError("give exactly one of --job-id, --api-job-id, --message-id")
        return given[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallSummary:
    """One destination: its latest known state (None fields: not known yet)."""

    number: str
    message_id: str | None
    status: str | None = None
    error_code: int | str | None = None
    error_description: str | None = None
    answered: bool | None = None
    ring_date: int | None = None
    answer_date: int | None = None
    hang_date: int | None = None
    actual_duration: int | None = None
    billed_duration: int | None = None
    final: bool = False
    events: int = 0
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of one destination."""
        return {name: getattr(self, name) for name in CallSummary.__dataclass_fields__}


@dataclass(frozen=True, slots=True, kw_only=True)
class JobStatus:
    """One submitted job: what the journal says and each destination's summary."""

    job_id: str | None
    api_job_id: str | None
    state: str | None
    submitted_at: float | None = None
    description: str | None = None
    calls: tuple[CallSummary, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of one job."""
        return {
            "job_id": self.job_id,
            "api_job_id": self.api_job_id,
            "state": self.state,
            "submitted_at": self.submitted_at,
            "description": self.description,
            "calls": [call.to_dict() for call in self.calls],
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class StatusReport:
    """Everything known for one query; :meth:`to_dict` is ``status --json``."""

    kind: str
    ident: str
    jobs: tuple[JobStatus, ...]
    notes: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        """True when the journal or a postback knew the id."""
        return bool(self.jobs)

    def totals(self) -> dict[str, Any]:
        """Destinations, how many ended, were answered, and a count per status."""
        calls = [call for job in self.jobs for call in job.calls]
        by_status: dict[str, int] = {}
        for call in calls:
            key = call.status or "no postback yet"
            by_status[key] = by_status.get(key, 0) + 1
        return {
            "destinations": len(calls),
            "final": sum(call.final for call in calls),
            "answered": sum(bool(call.answered) for call in calls),
            "by_status": by_status,
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``audioprep status --json``."""
        return {
            "query": {self.kind: self.ident},
            "found": self.found,
            "jobs": [job.to_dict() for job in self.jobs],
            "totals": self.totals(),
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------------------------
# Building the report
# --------------------------------------------------------------------------------------------


def check_id(kind: str, ident: str) -> None:
    """Refuse an id the API would refuse, with the API's code and description."""
    checks = {
        "message_id": (api.message_id_ok, api.Code.MESSAGE_ID_INVALID),
        "api_job_id": (api.api_job_id_ok, api.Code.API_JOB_ID_INVALID),
        "job_id": (api.job_id_ok, api.Code.JOB_ID_LENGTH),
    }
    ok, code = checks[kind]
    if not ok(ident):
        raise UsageError(f"{kind} {ident!r}: {api.describe(code)} ({int(code)})")


def job_status(query: StatusQuery) -> StatusReport:
    """The report for ``query``: journal, stored postbacks and (optionally) lookups merged."""
    kind, ident = query.selector()
    check_id(kind, ident)
    with _Sources(query) as sources:
        return _report(query, kind, ident, sources)


def job_statuses(query: StatusQuery, job_ids: Sequence[str]) -> dict[str, StatusReport]:
    """:func:`job_status` for each of ``job_ids`` (the ids in ``query`` are ignored; where to
    look and whether to ask the API are shared), reading the journal and the postback store
    through one connection each. Ids that break the API's rules are left out."""
    valid = [job_id for job_id in job_ids if api.job_id_ok(job_id)]
    with _Sources(query) as sources:
        return {job_id: _report(query, "job_id", job_id, sources) for job_id in valid}


class _Sources:
    """The journal and the postback store of a query, opened read-only once (None: absent)."""

    def __init__(self, query: StatusQuery) -> None:
        self.journal_path = Path(query.journal) if query.journal else journal_mod.default_path()
        store = Path(query.postbacks_db) if query.postbacks_db else postbacks_mod.default_path()
        self.store_path = store
        self.journal: Journal | None = None
        self.store: PostbackStore | None = None

    def __enter__(self) -> _Sources:
        if self.journal_path.is_file():
            self.journal = Journal(self.journal_path, read_only=True)
        if self.store_path.is_file():
            self.store = PostbackStore(self.store_path, read_only=True)
        return self

    def __exit__(self, *exc: object) -> None:
        for opened in (self.journal, self.store):
            if opened is not None:
                opened.close()


def _report(query: StatusQuery, kind: str, ident: str, sources: _Sources) -> StatusReport:
    entries = _entries(sources.journal, kind, ident)
    events = _stored_events(sources.store, kind, ident, entries)
    notes: list[str] = []
    if query.lookup:
        events += _looked_up(query, kind, ident, entries, events, notes)
    jobs = _group(entries, events)
    if not jobs:
        notes.append(f"nothing known about {kind} {ident} (journal and postbacks searched)")
    return StatusReport(kind, ident, tuple(jobs), tuple(notes))


def _entries(journal: Journal | None, kind: str, ident: str) -> list[Entry]:
    if journal is None:
        return []
    if kind == "job_id":
        return journal.by_job_id(ident)
    if kind == "api_job_id":
        return journal.by_api_job_id(ident)
    return journal.by_message_id(ident)


def _stored_events(
    store: PostbackStore | None, kind: str, ident: str, entries: Sequence[Entry]
) -> list[CallEvent]:
    if store is None:
        return []
    api_job_ids = {e.api_job_id for e in entries if e.api_job_id}
    client_job_ids = {e.job_id for e in entries}
    message_ids = {m for e in entries for m in e.message_ids.values()}
    if kind == "job_id":
        client_job_ids.add(ident)
    elif kind == "api_job_id":
        api_job_ids.add(ident)
    else:
        message_ids.add(ident)
    found = store.events(
        api_job_ids=api_job_ids, client_job_ids=client_job_ids, message_ids=message_ids
    )
    if kind == "message_id":
        found = [event for event in found if event.message_id == ident]
    return found


def _looked_up(
    query: StatusQuery,
    kind: str,
    ident: str,
    entries: Sequence[Entry],
    events: Sequence[CallEvent],
    notes: list[str],
) -> list[CallEvent]:
    """Ask the API: each known api_job_id's job lookup, or the call lookup for a message_id."""
    api_job_ids = sorted(
        {e.api_job_id for e in entries if e.api_job_id} | {e.api_job_id for e in events}
    )
    if kind == "api_job_id" and ident not in api_job_ids:
        api_job_ids.append(ident)
    found: list[CallEvent] = []
    with VoiceClient(query.api_url, query.api_token, timeout=query.timeout) as voice:
        if kind == "message_id":
            found += _lookup_events(voice.lookup_call(ident), f"message_id {ident}", notes)
        else:
            for api_job_id in api_job_ids:
                reply = voice.lookup_job(api_job_id)
                found += _lookup_events(reply, f"api_job_id {api_job_id}", notes)
    if kind == "job_id" and not api_job_ids:
        notes.append(
            "no api_job_id is known for this job, and the API has no lookup by job_id: wait for "
            "its postbacks, or ask with --message-id once one is known"
        )
    return found


def _lookup_events(reply: ApiReply, what: str, notes: list[str]) -> list[CallEvent]:
    if reply.status_code not in (None, 0) or not isinstance(reply.body, dict):
        notes.append(f"lookup of {what}: {reply.description} ({reply.status_code})")
        return []
    return events_from_body(reply.body, received_at=time.time(), source="lookup")


def _group(entries: Sequence[Entry], events: Sequence[CallEvent]) -> list[JobStatus]:
    """One JobStatus per submission; events are matched by api_job_id, and events of an
    api_job_id the journal never saw go to the unanswered submission with their job_id."""
    by_api: dict[str, list[CallEvent]] = {}
    for event in events:
        by_api.setdefault(event.api_job_id, []).append(event)
    known = {e.api_job_id for e in entries if e.api_job_id}
    orphans = {api_id: evs for api_id, evs in by_api.items() if api_id not in known}
    jobs: list[JobStatus] = []
    for entry in entries:
        if entry.api_job_id:
            jobs.append(_job(entry, entry.api_job_id, by_api.get(entry.api_job_id, [])))
            continue
        adopted = [
            api_id for api_id, evs in orphans.items() if evs[0].client_job_id == entry.job_id
        ]
        if not adopted:
            jobs.append(_job(entry, None, []))
        jobs.extend(_job(entry, api_id, orphans.pop(api_id)) for api_id in adopted)
    jobs.extend(_job(None, api_id, evs) for api_id, evs in orphans.items())
    return jobs


def _job(entry: Entry | None, api_job_id: str | None, events: Sequence[CallEvent]) -> JobStatus:
    notes: list[str] = []
    if entry is not None and not entry.api_job_id and events:
        notes.append(
            f"the API did queue this job: postbacks name api_job_id {api_job_id} although its "
            "answer was lost. Do not resend it"
        )
    if entry is None:
        notes.append("no journal entry: known from postbacks only")
    return JobStatus(
        job_id=entry.job_id if entry else (events[0].client_job_id if events else None),
        api_job_id=api_job_id,
        state=entry.state.value if entry else None,
        submitted_at=entry.created_at if entry else None,
        description=entry.description if entry else None,
        calls=tuple(_calls(entry.message_ids if entry else {}, events)),
        notes=tuple(notes),
    )


def _calls(numbers: Mapping[str, str], events: Iterable[CallEvent]) -> list[CallSummary]:
    """A summary per destination: numbers from the journal first, then any only events name."""
    latest: dict[str, CallEvent] = {}
    counts: dict[str, int] = {}
    for event in sorted(events, key=lambda e: e.order):
        latest[event.message_id] = event
        counts[event.message_id] = counts.get(event.message_id, 0) + 1
    summaries = [_summary(n, m, latest.get(m), counts.get(m, 0)) for n, m in numbers.items()]
    listed = set(numbers.values())
    summaries.extend(
        _summary(event.to, mid, event, counts[mid])
        for mid, event in latest.items()
        if mid not in listed
    )
    return summaries


def _summary(number: str, message_id: str, event: CallEvent | None, count: int) -> CallSummary:
    if event is None:
        return CallSummary(number=number, message_id=message_id)
    return CallSummary(
        number=number,
        message_id=message_id,
        status=event.status,
        error_code=event.error_code,
        error_description=event.error_description,
        answered=event.answered,
        ring_date=event.ring_date,
        answer_date=event.answer_date,
        hang_date=event.hang_date,
        actual_duration=event.actual_duration,
        billed_duration=event.billed_duration,
        final=event.final,
        events=count,
        source=event.source,
    )


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------
