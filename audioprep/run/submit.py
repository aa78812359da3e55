"""The submit stage of ``audioprep run`` and what the calls did, on the caller's side.

This module owns sending one item's campaign through :func:`audioprep.send.submit.submit_audio` —
so the journal decides, and a job the API has (or may have) is never sent again — and reading
back per destination what each call did (:func:`audioprep.send.status.job_status`). It runs where
the run state, the journal and the token are: never on a Dask worker.

``docs/run.md`` (*The submit stage*) has the details and the measurements.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from audioprep import api, jsonio
from audioprep.errors import AudioprepError, ExitCode
from audioprep.run.model import CallResult, Stage, StageOutcome, StageStatus
from audioprep.run.plan import PlannedItem
from audioprep.run.stages import ItemFacts, SubmitKey, failed, hosted_name, outcome, setup_exit_code
from audioprep.run.state import Marker
from audioprep.send import submit
from audioprep.send.client import VoiceClient
from audioprep.send.journal import BLOCKING, Entry, Journal, Settlement, State
from audioprep.send.journal import default_path as default_journal
from audioprep.send.submit import (
    Destination,
    JobOutcome,
    Outcome,
    PlannedJob,
    SubmitOptions,
    plan_jobs,
    submit_audio,
)

if TYPE_CHECKING:
    from audioprep.run.sandbox_world import SandboxEnv

log = logging.getLogger(__name__)

_OK = frozenset({Outcome.ACCEPTED, Outcome.SKIPPED})
_UNAVAILABLE = frozenset({Outcome.UNAVAILABLE, Outcome.NOT_SENT})
#: The worst outcome names the stage's result: unknown beats unavailable beats refusals.
_RANK = [
    Outcome.UNKNOWN,
    Outcome.UNAVAILABLE,
    Outcome.CONFLICT,
    Outcome.REJECTED,
    Outcome.INVALID,
    Outcome.NOT_SENT,
    Outcome.ACCEPTED,
    Outcome.SKIPPED,
]


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitTarget:
    """Where a run's submissions go. ``label`` identifies the API in fingerprints (a job sent
    to the sandbox is not "done" for the real API); ``lookup`` asks the API's lookup endpoints
    for call details (the sandbox serves them)."""

    api_url: str
    api_token: str = field(repr=False)
    label: str
    journal: str | None = None
    callback_url: str | None = None
    postbacks_db: str | None = None
    limits: api.AccountLimits = field(default_factory=api.AccountLimits)
    lookup: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitResult:
    """One item's submit stage: the outcome, the job ids, and the marker to record."""

    outcome: StageOutcome
    base_job_id: str | None = None
    job_ids: tuple[str, ...] = ()
    api_job_ids: tuple[str, ...] = ()
    message_ids: tuple[str, ...] = ()
    submit_outcome: str | None = None
    marker: Marker | None = None


class Submitter:
    """Submits items' campaigns; thread-safe (each call opens its own journal connection)."""

    def __init__(self, target: SubmitTarget, env: SandboxEnv | None = None) -> None:
        self.target = target
        self.env = env
        self._lock = threading.Lock()
        self._halted: StageOutcome | None = None
        self._local = threading.local()
        self._clients: list[VoiceClient] = []

    def submit(
        self, item: PlannedItem, facts: ItemFacts, markers: Sequence[Marker]
    ) -> SubmitResult:
        """Send (or find already sent) the item's job(s); failures are data."""
        key = SubmitKey.of(item.job_id, item.destinations, self.target.label)
        job_id, print_ = key.identify(facts.hosted_sha256 or "", hosted_name(facts))
        content = facts.content_sha256 or ""
        for marker in markers:
            if (marker.stage, marker.content_sha256, marker.fingerprint) == (
                Stage.SUBMIT,
                content,
                print_,
            ):
                return _reused(marker, job_id)
        halted = self._halted
        if halted is not None:
            return SubmitResult(outcome=halted, base_job_id=job_id)
        result = self._send(item, facts, job_id, Marker(Stage.SUBMIT, content, print_))
        self._halt_after(result.outcome)
        return result

    def _send(self, item: PlannedItem, facts: ItemFacts, job_id: str, base: Marker) -> SubmitResult:
        options = self._options(item, facts, job_id)
        try:
            jobs, _ = plan_jobs(options)
            if not all(job.answer.valid for job in jobs):
                return _result(submit_audio(options, client=self._client()), job_id, base)
            outcomes = self._journaled(jobs)
            for job in (job for job in jobs if job.job_id not in outcomes):
                outcomes[job.job_id] = self._send_one(options, job, outcomes.values())
        except AudioprepError as exc:
            shown = exc.message + (f" (hint: {exc.hint})" if exc.hint else "")
            return SubmitResult(
                outcome=failed(Stage.SUBMIT, shown, exit_code=setup_exit_code(exc)),
                base_job_id=job_id,
            )
        return _result([outcomes[job.job_id] for job in jobs], job_id, base)

    def _send_one(
        self, options: SubmitOptions, job: PlannedJob, earlier: Iterable[JobOutcome]
    ) -> JobOutcome:
        """One job of a split audience; held back once the API was unavailable for another."""
        if any(o.outcome is Outcome.UNAVAILABLE for o in earlier):
            return JobOutcome(
                job_id=job.job_id,
                outcome=Outcome.NOT_SENT,
                destinations=job.destinations,
                description="not sent: the API was unavailable for an earlier job of this item",
            )
        return submit_audio(_one_job(options, job), client=self._client())[0]

    def _journaled(self, jobs: Sequence[PlannedJob]) -> dict[str, JobOutcome]:
        """The planned jobs the journal already has — accepted, or possibly sent — as the
        same calls (the same destinations and the same audio file, which the key's name
        identifies by its SHA-256), whatever URL or callback they were sent with: in
        ``--sandbox`` mode those change between runs, and calling the same people twice is
        what the journal exists to prevent. Other matches are left to :func:`submit_audio`
        (a ``conflict``)."""
        path = Path(self.target.journal) if self.target.journal else default_journal()
        found: dict[str, JobOutcome] = {}
        with Journal(path) as journal:  # not read-only: another thread may be creating it
            for job in jobs:
                previous = journal.latest(job.job_id, job.content_sha256)
                if (
                    previous is not None
                    and previous.state in BLOCKING
                    and _same_calls(previous.payload, job.request)
                ):
                    found[job.job_id] = _from_journal(job, previous)
        return found

    def _halt_after(self, stage: StageOutcome) -> None:
        """After the API was unavailable or refused the setup (token, endpoint), the run's
        other items are not sent: each would wait out the same retries for the same answer."""
        if stage.exit_code not in (ExitCode.UNAVAILABLE, ExitCode.CONFIG):
            return
        with self._lock:
            if self._halted is None:
                message = f"not sent: an earlier item's submission failed ({stage.message})"
                self._halted = failed(Stage.SUBMIT, message, exit_code=stage.exit_code)

    def _client(self) -> VoiceClient:
        """This thread's API client (one keep-alive connection per thread)."""
        client: VoiceClient | None = getattr(self._local, "client", None)
        if client is None:
            target = self.target
            client = VoiceClient(target.api_url, target.api_token, policy=submit.DEFAULT_POLICY)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def close(self) -> None:
        """Close every thread's API client."""
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()

    def _options(self, item: PlannedItem, facts: ItemFacts, job_id: str) -> SubmitOptions:
        target = self.target
        return SubmitOptions(
            audio_url=facts.url or "",
            destinations=item.destinations,
            job_id=job_id,
            callback_url=target.callback_url,
            limits=target.limits,
            api_url=target.api_url,
            api_token=target.api_token,
            journal=target.journal,
        )

    def settle_earlier(self) -> int:
        """Sandbox only: settle the sends an earlier run left open (``intent``/``unknown``:
        it died between journaling a job and hearing the answer), from the sandbox's own
        records. Called once, before this run sends anything; returns how many it settled."""
        if self.env is None or self.target.journal is None:
            return 0
        path = Path(self.target.journal)
        if not path.is_file():
            return 0
        settled = 0
        with Journal(path) as journal:
            for entry in journal.entries():
                if entry.state in (State.INTENT, State.UNKNOWN):
                    journal.settle(entry.id, self._settlement(entry.job_id))
                    settled += 1
        return settled

    def _settlement(self, job_id: str) -> Settlement:
        found = self.env.find_job(job_id) if self.env is not None else None
        if found is None:
            log.info("sandbox: job %s was never received; it may be sent", job_id)
            return Settlement(
                state=State.FAILED_BEFORE_SEND,
                note="the sandbox has no such job: the earlier run died before sending it",
            )
        api_job_id, message_ids = found
        log.info("sandbox: job %s was queued as %s before the earlier run died", job_id, api_job_id)
        return Settlement(
            state=State.ACCEPTED,
            api_job_id=api_job_id,
            message_ids=message_ids,
            description="accepted (settled from the sandbox's records after an interrupted run)",
            note="settled from the sandbox's records",
        )

    # --- calls ---------------------------------------------------------------------------

    def calls_of(
        self, base_job_ids: Sequence[str], *, lookup: bool = False
    ) -> dict[str, tuple[CallResult, ...]]:
        """What each call of each job (and of the jobs split from it) did, as known now: from
        the journal and the postbacks (read once for all jobs), and with ``lookup`` (where the
        target allows it) from the API's lookup endpoints too."""
        from audioprep.send.status import StatusQuery, job_statuses

        if not base_job_ids:
            return {}
        query = StatusQuery(
            journal=self.target.journal,
            postbacks_db=self.target.postbacks_db,
            lookup=lookup and self.target.lookup,
            api_url=self.target.api_url,
            api_token=self.target.api_token,
        )
        try:
            reports = job_statuses(query, base_job_ids)
        except AudioprepError as exc:
            log.info("calls of %d job(s): %s", len(base_job_ids), exc.message)
            return {}
        return {
            job_id: tuple(_call(call) for job in report.jobs for call in job.calls)
            for job_id, report in reports.items()
        }


def _one_job(options: SubmitOptions, job: PlannedJob) -> SubmitOptions:
    """``options`` narrowed to one planned job (its id and its share of the destinations)."""
    people = tuple(
        Destination(str(d["number"]), d.get("custom_id")) for d in job.request["destinations"]
    )
    return replace(options, job_id=job.job_id, destinations=people)


def _same_calls(payload: str, request: Mapping[str, Any]) -> bool:
    """Whether a journaled payload calls the same people with the same audio file."""
    try:
        sent = jsonio.loads(payload)
    except jsonio.JSONError:
        return False

    def people(body: Mapping[str, Any]) -> set[tuple[str, str]]:
        return {(str(d.get("number")), str(d.get("custom_id"))) for d in body["destinations"]}

    def audio(body: Mapping[str, Any]) -> str:
        url = str(body.get("voice_content", {}).get("audio_file_url") or "")
        return urlsplit(url).path.rsplit("/", 1)[-1]

    return people(sent) == people(request) and audio(sent) == audio(request) != ""


def _from_journal(job: PlannedJob, entry: Entry) -> JobOutcome:
    if entry.state is State.ACCEPTED:
        text = "already accepted; not sent again"
        outcome_ = Outcome.SKIPPED
    else:
        text = "an earlier send's outcome is unknown; not sent again"
        outcome_ = Outcome.UNKNOWN
    return JobOutcome(
        job_id=job.job_id,
        outcome=outcome_,
        destinations=job.destinations,
        api_job_id=entry.api_job_id,
        description=f"{text} (journal: submission {entry.id}, {entry.state.value})",
        results=entry.message_ids if entry.state is State.ACCEPTED else {},
        hint=None
        if entry.state is State.ACCEPTED
        else (
            f"the API may have queued job {entry.job_id}; check 'audioprep status --job-id "
            f"{entry.job_id}' before sending it again with 'audioprep submit --force'"
        ),
    )


def _call(call: Any) -> CallResult:
    code = call.error_code
    error = None
    if code not in (None, 0, "0") or call.error_description:
        error = " ".join(str(x) for x in (code, call.error_description) if x not in (None, ""))
    return CallResult(
        number=call.number,
        message_id=call.message_id,
        status=call.status,
        error=error or None,
        answered=bool(call.answered),
        duration_s=call.actual_duration,
    )


def _reused(marker: Marker, job_id: str) -> SubmitResult:
    found = marker.outputs
    return SubmitResult(
        outcome=outcome(Stage.SUBMIT, StageStatus.REUSED, marker.message, **dict(found)),
        base_job_id=job_id,
        job_ids=tuple(found.get("job_ids", ())),
        api_job_ids=tuple(found.get("api_job_ids", ())),
        message_ids=tuple(found.get("message_ids", ())),
        submit_outcome=str(found.get("outcome") or "skipped"),
    )


def _result(outcomes: Sequence[JobOutcome], job_id: str, base: Marker) -> SubmitResult:
    kinds = {o.outcome for o in outcomes}
    worst = min(kinds, key=_RANK.index)
    result = SubmitResult(
        outcome=outcome(Stage.SUBMIT, StageStatus.DONE, ""),
        base_job_id=job_id,
        job_ids=tuple(o.job_id for o in outcomes),
        api_job_ids=tuple(o.api_job_id for o in outcomes if o.api_job_id),
        message_ids=tuple(m for o in outcomes for m in o.results.values()),
        submit_outcome=worst.value,
    )
    found: dict[str, Any] = {  # for the run state and the report
        "job_ids": list(result.job_ids),
        "api_job_ids": list(result.api_job_ids),
        "message_ids": list(result.message_ids),
        "outcome": worst.value,
        "destinations": sum(o.destinations for o in outcomes),
    }
    if kinds <= _OK:
        message = _ok_text(outcomes, kinds)
        status = StageStatus.REUSED if kinds == {Outcome.SKIPPED} else StageStatus.DONE
        marker = Marker(base.stage, base.content_sha256, base.fingerprint, found, message)
        return _with(result, outcome(Stage.SUBMIT, status, message, **found), marker)
    bad = next(o for o in outcomes if o.outcome is worst)
    code = ExitCode.UNKNOWN_OUTCOME if worst is Outcome.UNKNOWN else ExitCode.FINDINGS
    code = ExitCode.UNAVAILABLE if worst in _UNAVAILABLE else code
    message = f"{worst.value}: job {bad.job_id}: {bad.description}"
    message += f" ({bad.status_code})" if bad.status_code not in (None, 0) else ""
    message += f" (hint: {bad.hint})" if bad.hint else ""
    return _with(result, failed(Stage.SUBMIT, message, exit_code=code, **found), None)


def _ok_text(outcomes: Sequence[JobOutcome], kinds: set[Outcome]) -> str:
    people = sum(o.destinations for o in outcomes)
    ids = ", ".join(o.job_id for o in outcomes)
    if kinds == {Outcome.SKIPPED}:
        return f"already accepted earlier (journal): job {ids}, not sent again"
    return f"accepted: job {ids}, {people} destination(s)"


def _with(result: SubmitResult, stage: StageOutcome, marker: Marker | None) -> SubmitResult:
    return replace(result, outcome=stage, marker=marker)
