"""Submitting audio calls: plan, validate, journal, send each job once, report.

This module owns the submission step (:func:`submit_audio`). Destinations (from options or
:func:`read_destinations_csv`) are de-duplicated and split into jobs of at most the account's
per-job limit, with job ids derived from one base (``<base>-1``, ``<base>-2``…; a base is
generated from the content when none is given, so a re-run gets the same ids). Every request is
judged by :func:`audioprep.api.validate_request` before anything is sent: one invalid job and
nothing goes out. Each job is then claimed in the journal (:mod:`audioprep.send.journal`; the intent
is committed before the POST) and sent with :class:`audioprep.send.client.VoiceClient`, which
retries only what certainly was not processed.

Per-job outcomes are data (:class:`JobOutcome`); only what stops the whole run is raised: a
missing or refused token or a wrong endpoint (:class:`~audioprep.errors.ConfigError`), an
unreadable destinations file (:class:`~audioprep.errors.UsageError`).
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from audioprep import api, jsonio
from audioprep.config import DEFAULT_API_URL
from audioprep.errors import ConfigError, ExitCode, UsageError
from audioprep.net.urls import redact_url
from audioprep.send.client import DEFAULT_TIMEOUT, AttemptKind, Delivery, RetryPolicy, VoiceClient
from audioprep.send.journal import (
    BLOCKING,
    Claim,
    Entry,
    Intent,
    Journal,
    Settlement,
    State,
    default_path,
)

log = logging.getLogger(__name__)

#: Prefix of generated job ids: ``ap-`` and 8 hex digits of the content hash (11 characters,
#: leaving room for ``-999`` within the 15 the API allows).
GENERATED_PREFIX = "ap-"
_GENERATED_HEX = 8

#: Retry policy used when the options name none (read at call time, so tests can shorten it).
DEFAULT_POLICY = RetryPolicy()


class Outcome(StrEnum):
    """What became of one job in this run."""

    ACCEPTED = "accepted"  # the API queued it
    REJECTED = "rejected"  # the API refused it (nothing queued)
    UNKNOWN = "unknown"  # sent, no answer: it may be queued; never resent automatically
    SKIPPED = "skipped"  # accepted in an earlier run: not sent again
    UNAVAILABLE = "unavailable"  # the API could not be reached or kept refusing; not processed
    INVALID = "invalid"  # the validator refused it: not sent
    CONFLICT = "conflict"  # its job_id was used before for different content: not sent
    NOT_SENT = "not_sent"  # held back because another job of the run failed first
    DRY_RUN = "dry_run"  # --dry-run: planned and validated only


@dataclass(frozen=True, slots=True)
class Destination:
    """One number to call, with the optional ``custom_id`` echoed in results and postbacks."""

    number: str
    custom_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitOptions:
    """Everything one submission needs. ``journal`` None means the user's state directory;
    ``retry`` None means :data:`DEFAULT_POLICY`. The token is kept out of ``repr``."""

    audio_url: str
    destinations: tuple[Destination, ...]
    job_id: str | None = None
    sender_id: str | None = None
    callback_url: str | None = None
    ring_timeout_s: int | None = None
    limits: api.AccountLimits = field(default_factory=api.AccountLimits)
    api_url: str = DEFAULT_API_URL
    api_token: str | None = field(default=None, repr=False)
    journal: str | Path | None = None
    dry_run: bool = False
    force: bool = False
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    retry: RetryPolicy | None = None


@dataclass(frozen=True, slots=True)
class PlannedJob:
    """One request ready to send: exact payload bytes, hashes, and the validator's answer.

    ``content_sha256`` hashes the request without its ``job_id`` (canonical JSON): the same
    calls under another job id are the same content.
    """

    job_id: str
    request: Mapping[str, Any]
    payload: bytes
    content_sha256: str
    answer: api.Answer

    @property
    def payload_sha256(self) -> str:
        """SHA-256 of the exact bytes sent."""
        return hashlib.sha256(self.payload).hexdigest()

    @property
    def destinations(self) -> int:
        """How many destinations the request carries."""
        return len(self.request["destinations"])


@dataclass(frozen=True, slots=True, kw_only=True)
class JobOutcome:
    """What happened to one job; :meth:`to_dict` is the ``submit --json`` contract."""

    job_id: str
    outcome: Outcome
    destinations: int
    api_job_id: str | None = None
    http_status: int | None = None
    status_code: int | None = None
    description: str = ""
    results: Mapping[str, str] = field(default_factory=dict)
    attempts: int = 0
    notes: tuple[str, ...] = ()
    hint: str | None = None
    payload: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """``job_id``, ``api_job_id``, ``status_code``, ``description``, ``results`` (number →
        message_id), ``outcome`` and the rest; ``payload`` only for a dry run."""
        found: dict[str, Any] = {
            "job_id": self.job_id,
            "api_job_id": self.api_job_id,
            "outcome": self.outcome.value,
            "http_status": self.http_status,
            "status_code": self.status_code,
            "description": self.description,
            "results": dict(self.results),
            "destinations": self.destinations,
            "attempts": self.attempts,
            "notes": list(self.notes),
            "hint": self.hint,
        }
        if self.payload is not None:
            found["payload"] = dict(self.payload)
        return found


# --------------------------------------------------------------------------------------------
# Destinations
# --------------------------------------------------------------------------------------------


def read_destinations_csv(path: str | Path) -> tuple[Destination, ...]:
    """Destinations from a CSV file with a header row: a ``number`` column and optionally a
    ``custom_id`` column (other columns are ignored; blank rows are skipped)."""
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = [name.strip().lower() for name in reader.fieldnames or ()]
            if "number" not in columns:
                raise UsageError(
                    f"{path}: no 'number' column",
                    hint="the first row must name the columns: number[,custom_id]",
                )
            reader.fieldnames = columns
            return tuple(_csv_rows(reader))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{path} is not a UTF-8 CSV file: {exc}") from exc


def _csv_rows(reader: csv.DictReader[str]) -> Iterator[Destination]:
    for row in reader:
        number = (row.get("number") or "").strip()
        custom_id = (row.get("custom_id") or "").strip() or None
        if number:
            yield Destination(number, custom_id)


def unique_destinations(
    destinations: Sequence[Destination],
) -> tuple[list[Destination], list[str]]:
    """Destinations with each number once (the first wins), sanitised to digits where it is a
    number; plus notes on what was removed. A number in two jobs would be called twice."""
    seen: set[str] = set()
    kept: list[Destination] = []
    dropped = 0
    for item in destinations:
        digits = api.sanitise_number(item.number)
        key = digits if digits is not None else item.number
        if key in seen:
            dropped += 1
            continue
        seen.add(key)
        kept.append(Destination(key, item.custom_id))
    notes = [f"{dropped} duplicate destination(s) removed (each number is called once)"]
    return kept, notes if dropped else []


# --------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------


def plan_jobs(options: SubmitOptions) -> tuple[list[PlannedJob], list[str]]:
    """Split, build and validate every job of a submission; returns the jobs and notes."""
    if not options.destinations:
        raise UsageError("no destinations", hint="give --to NUMBER (repeatable) or --to-file")
    destinations, notes = unique_destinations(options.destinations)
    size = max(1, options.limits.per_job)
    chunks = [destinations[i : i + size] for i in range(0, len(destinations), size)]
    base = options.job_id or _generated_base(options, destinations)
    job_ids = derive_job_ids(base, len(chunks))
    jobs = [_plan(options, job_id, chunk) for job_id, chunk in zip(job_ids, chunks, strict=True)]
    if len(chunks) > 1:
        notes.append(
            f"{len(destinations)} destinations split into {len(chunks)} jobs of at most {size}"
        )
    return jobs, notes


def derive_job_ids(base: str, count: int) -> list[str]:
    """``[base]`` for one job; else ``<base>-1``…``<base>-N``, the base shortened so that each
    id keeps within the API's 15 characters."""
    if count == 1:
        return [base]
    ids = []
    for index in range(1, count + 1):
        suffix = f"-{index}"
        ids.append(base[: api.JOB_ID_MAX - len(suffix)] + suffix)
    return ids


def build_request(
    options: SubmitOptions, job_id: str, destinations: Sequence[Destination]
) -> dict[str, Any]:
    """The trigger-call body for one job (only keys the API knows; none left empty)."""
    content: dict[str, Any] = {"audio_file_url": options.audio_url}
    if options.sender_id is not None:
        content["sender_id"] = options.sender_id
    if options.ring_timeout_s is not None:
        content["ring_timeout_seconds"] = options.ring_timeout_s
    request: dict[str, Any] = {
        "job_id": job_id,
        "destinations": [_destination(item) for item in destinations],
        "voice_content": content,
    }
    if options.callback_url:
        request["callback_url"] = options.callback_url
    return request


def content_sha256(request: Mapping[str, Any]) -> str:
    """SHA-256 of the request's canonical JSON without ``job_id``."""
    content = {key: value for key, value in request.items() if key != "job_id"}
    canonical = jsonio.dumps(content, sort_keys=True, compact=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _destination(item: Destination) -> dict[str, str]:
    found = {"number": item.number}
    if item.custom_id is not None:
        found["custom_id"] = item.custom_id
    return found


def _generated_base(options: SubmitOptions, destinations: Sequence[Destination]) -> str:
    whole = build_request(options, "", destinations)
    return GENERATED_PREFIX + content_sha256(whole)[:_GENERATED_HEX]


def _plan(options: SubmitOptions, job_id: str, chunk: Sequence[Destination]) -> PlannedJob:
    request = build_request(options, job_id, chunk)
    payload = jsonio.dumps(request, compact=True).encode("utf-8")
    answer = api.validate_request(request, options.limits)
    return PlannedJob(job_id, request, payload, content_sha256(request), answer)


# --------------------------------------------------------------------------------------------
# Submitting
# --------------------------------------------------------------------------------------------


def submit_audio(options: SubmitOptions, *, client: VoiceClient | None = None) -> list[JobOutcome]:
    """Plan, validate, and (unless a dry run) send every job once; one outcome per job.

    Raises :class:`ConfigError` for a missing or refused token and a wrong endpoint (after
    journaling what was sent), :class:`UsageError` for no destinations.
    """
    jobs, notes = plan_jobs(options)
    for note in notes:
        log.info("%s", note)
    if options.dry_run:
        return [_dry_run(options, job, notes) for job in jobs]
    if not all(job.answer.valid for job in jobs):
        return [_invalid(job) for job in jobs]
    with _client(options, client) as voice, Journal(_journal_path(options)) as journal:
        return _send_all(jobs, options, voice, journal, tuple(notes))


@contextmanager
def _client(options: SubmitOptions, given: VoiceClient | None) -> Iterator[VoiceClient]:
    if given is not None:
        yield given
        return
    policy = options.retry or DEFAULT_POLICY
    with VoiceClient(
        options.api_url, options.api_token, timeout=options.timeout, policy=policy
    ) as voice:
        yield voice


def _journal_path(options: SubmitOptions) -> Path:
    return Path(options.journal) if options.journal else default_path()


def _send_all(
    jobs: Sequence[PlannedJob],
    options: SubmitOptions,
    voice: VoiceClient,
    journal: Journal,
    notes: tuple[str, ...],
) -> list[JobOutcome]:
    outcomes: list[JobOutcome] = []
    for job in jobs:
        if outcomes and outcomes[-1].outcome is Outcome.UNAVAILABLE:
            outcomes.append(_held_back(job))
            continue
        outcome = _send_one(job, options, voice, journal)
        outcomes.append(_with_notes(outcome, notes + job.answer.notes))
    return outcomes


def _send_one(
    job: PlannedJob, options: SubmitOptions, voice: VoiceClient, journal: Journal
) -> JobOutcome:
    endpoint = redact_url(voice.endpoint)
    intent = Intent(
        job_id=job.job_id,
        content_sha256=job.content_sha256,
        payload_sha256=job.payload_sha256,
        payload=job.payload,
        endpoint=endpoint,
        destinations=job.destinations,
    )
    claim = journal.claim(intent, force=options.force)
    if claim.entry is None:
        return _blocked(job, claim)
    delivery = _deliver(job, voice, journal, claim.entry.id)
    entry = journal.settle(claim.entry.id, _settlement(delivery))
    _raise_for_config(delivery, endpoint)
    forced = (_forced_text(claim.previous),) if claim.previous and options.force else ()
    return _outcome(job, entry, delivery, forced)


def _deliver(job: PlannedJob, voice: VoiceClient, journal: Journal, entry_id: int) -> Delivery:
    """Send; anything that interrupts the send (Ctrl-C, a crash in the client) leaves the job
    journaled as unknown, since the request may have gone out."""
    try:
        return voice.submit(job.payload, label=f"job {job.job_id}")
    except BaseException:
        journal.settle(
            entry_id,
            Settlement(state=State.UNKNOWN, note="interrupted while sending", attempts=1),
        )
        raise


def _settlement(delivery: Delivery) -> Settlement:
    reply = delivery.last.reply
    return Settlement(
        state=_STATES[delivery.kind],
        api_job_id=reply.api_job_id if reply else None,
        http_status=reply.http_status if reply else None,
        status_code=reply.status_code if reply else None,
        description=reply.description if reply else delivery.last.error,
        message_ids=reply.results if reply and delivery.kind is AttemptKind.ACCEPTED else {},
        attempts=delivery.attempts,
    )


_STATES = {
    AttemptKind.ACCEPTED: State.ACCEPTED,
    AttemptKind.REJECTED: State.REJECTED,
    AttemptKind.UNAUTHORIZED: State.REJECTED,
    AttemptKind.BAD_ENDPOINT: State.REJECTED,
    AttemptKind.NOT_SENT: State.FAILED_BEFORE_SEND,
    AttemptKind.UNAVAILABLE: State.FAILED_BEFORE_SEND,
    AttemptKind.BUSY: State.FAILED_BEFORE_SEND,
    AttemptKind.UNKNOWN: State.UNKNOWN,
}
_OUTCOMES = {
    State.ACCEPTED: Outcome.ACCEPTED,
    State.REJECTED: Outcome.REJECTED,
    State.FAILED_BEFORE_SEND: Outcome.UNAVAILABLE,
    State.UNKNOWN: Outcome.UNKNOWN,
}


def _raise_for_config(delivery: Delivery, endpoint: str) -> None:
    reply = delivery.last.reply
    if delivery.kind is AttemptKind.UNAUTHORIZED:
        raise ConfigError(
            f"the Voice API at {endpoint} refused the token (HTTP "
            f"{reply.http_status if reply else 401}); nothing was queued",
            hint="check AUDIOPREP_API_TOKEN or api_token in the config file (a VOICE token, "
            "and this machine's IP in its whitelist)",
        )
    if delivery.kind is AttemptKind.BAD_ENDPOINT:
        raise ConfigError(
            f"{endpoint} is not the trigger endpoint ({delivery.last.summary}); nothing was queued",
            hint="set --api-url or AUDIOPREP_API_URL to the Voice API's trigger URL",
        )


def _outcome(
    job: PlannedJob, entry: Entry, delivery: Delivery, notes: tuple[str, ...]
) -> JobOutcome:
    outcome = _OUTCOMES[entry.state]
    return JobOutcome(
        job_id=job.job_id,
        outcome=outcome,
        destinations=job.destinations,
        api_job_id=entry.api_job_id,
        http_status=entry.http_status,
        status_code=entry.status_code,
        description=entry.description or "",
        results=entry.message_ids,
        attempts=delivery.attempts,
        notes=notes,
        hint=_hint(outcome, job.job_id),
    )


def _blocked(job: PlannedJob, claim: Claim) -> JobOutcome:
    """An earlier submission stops this one: skipped (accepted), unknown, or a conflict."""
    previous = claim.previous
    assert previous is not None
    same = previous.content_sha256 == job.content_sha256
    if not same:
        outcome = Outcome.CONFLICT
        text = f"job_id {job.job_id} was used for different calls ({previous.state.value})"
    elif previous.state is State.ACCEPTED:
        outcome, text = Outcome.SKIPPED, "already accepted; not sent again"
    else:
        outcome, text = Outcome.UNKNOWN, "an earlier send's outcome is unknown; not sent again"
    when = f"submission {previous.id} of job {previous.job_id}, {previous.state.value}"
    return JobOutcome(
        job_id=job.job_id,
        outcome=outcome,
        destinations=job.destinations,
        api_job_id=previous.api_job_id,
        http_status=previous.http_status,
        status_code=previous.status_code,
        description=f"{text} (journal: {when})",
        results=previous.message_ids if previous.state is State.ACCEPTED else {},
        hint=_hint(outcome, previous.job_id),
    )


def _forced_text(previous: Entry | None) -> str:
    assert previous is not None
    text = (
        f"--force: sent although submission {previous.id} (job {previous.job_id}) is "
        f"{previous.state.value}"
    )
    if previous.state in BLOCKING:
        text += "; the same calls may now be made twice"
    return text


def _hint(outcome: Outcome, job_id: str) -> str | None:
    if outcome is Outcome.UNKNOWN:
        return (
            "the API may have queued this job, so it was not sent again. Check its postbacks "
            f"with 'audioprep status --job-id {job_id}', or ask the API with "
            f"'audioprep status --job-id {job_id} --lookup' (needs an api_job_id or "
            "message_id from a postback); resend with --force only once sure it was not queued"
        )
    if outcome is Outcome.UNAVAILABLE:
        return "nothing was queued; run the same command again later (it is safe to repeat)"
    if outcome is Outcome.CONFLICT:
        return "choose another --job-id, or --force to send these calls under this one"
    if outcome is Outcome.SKIPPED:
        return "use --force to send the same calls again"
    return None


def _with_notes(outcome: JobOutcome, notes: tuple[str, ...]) -> JobOutcome:
    merged = tuple(dict.fromkeys(notes + outcome.notes))
    return JobOutcome(**{**_fields(outcome), "notes": merged})


def _fields(outcome: JobOutcome) -> dict[str, Any]:
    return {name: getattr(outcome, name) for name in JobOutcome.__dataclass_fields__}


def _held_back(job: PlannedJob) -> JobOutcome:
    return JobOutcome(
        job_id=job.job_id,
        outcome=Outcome.NOT_SENT,
        destinations=job.destinations,
        description="not sent: the API was unavailable for an earlier job of this run",
        hint=_hint(Outcome.UNAVAILABLE, job.job_id),
    )


def _invalid(job: PlannedJob) -> JobOutcome:
    answer = job.answer
    if answer.valid:
        return JobOutcome(
            job_id=job.job_id,
            outcome=Outcome.NOT_SENT,
            destinations=job.destinations,
            description="not sent: another job of this submission is invalid",
            notes=answer.notes,
        )
    return JobOutcome(
        job_id=job.job_id,
        outcome=Outcome.INVALID,
        destinations=job.destinations,
        http_status=answer.http_status,
        status_code=int(answer.code),
        description=answer.description,
        notes=answer.notes,
        hint="nothing was sent; 'audioprep submit --dry-run' shows the exact request",
    )


def _dry_run(options: SubmitOptions, job: PlannedJob, notes: Sequence[str]) -> JobOutcome:
    answer = job.answer
    journaled = _journaled_note(options, job)
    return JobOutcome(
        job_id=job.job_id,
        outcome=Outcome.DRY_RUN,
        destinations=job.destinations,
        http_status=answer.http_status,
        status_code=int(answer.code),
        description=answer.description,
        notes=tuple(dict.fromkeys((*notes, *answer.notes, *journaled))),
        payload=job.request,
    )


def _journaled_note(options: SubmitOptions, job: PlannedJob) -> tuple[str, ...]:
    """What the journal already says about this job (read-only; never creates the file)."""
    path = _journal_path(options)
    if not path.is_file():
        return ()
    with Journal(path, read_only=True) as journal:
        previous = journal.latest(job.job_id, job.content_sha256)
    if previous is None:
        return ()
    text = f"journal: submission {previous.id} (job {previous.job_id}) is {previous.state.value}"
    if previous.state in BLOCKING:
        text += "; it would not be sent again without --force"
    return (text,)


# --------------------------------------------------------------------------------------------
# Exit code and rendering
# --------------------------------------------------------------------------------------------


def exit_code(outcomes: Sequence[JobOutcome]) -> ExitCode:
    """5 if any outcome is unknown, else 4 if the API was unavailable, else 1 if any job was
    refused, invalid or in conflict, else 0 (accepted, skipped as accepted, dry run valid)."""
    kinds = {item.outcome for item in outcomes}
    if Outcome.UNKNOWN in kinds:
        return ExitCode.UNKNOWN_OUTCOME
    if Outcome.UNAVAILABLE in kinds:
        return ExitCode.UNAVAILABLE
    failed = {Outcome.REJECTED, Outcome.INVALID, Outcome.CONFLICT, Outcome.NOT_SENT}
    dry_invalid = any(i.outcome is Outcome.DRY_RUN and i.status_code != 0 for i in outcomes)
    return ExitCode.FINDINGS if kinds & failed or dry_invalid else ExitCode.OK
