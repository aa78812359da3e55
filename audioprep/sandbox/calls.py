"""Simulated calls: how each destination's call goes, and what it looks like on the wire.

This module owns the call model of the sandbox. :func:`plan_call` draws a call's outcome and
timeline from the seed and the destination number alone (no clock, no global state), so the
same seed gives the same calls in any order and after a restart. :func:`callback_info` renders
a call as the documented CALLBACK_INFO object *as of* a simulated moment; postbacks and lookups
both use it.
The status values and error codes the docs do not list are chosen in ``docs/sandbox.md``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from audioprep.sandbox.store import CallRecord, JobRecord


class Outcome(StrEnum):
    """How a simulated call ends."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"


class CallStatus(StrEnum):
    """The ``status`` values the sandbox sends. Only ``UNDELIV`` appears in the docs."""

    QUEUED = "QUEUED"
    RINGING = "RINGING"
    ANSWERED = "ANSWERED"
    DELIVERED = "DELIVRD"
    UNDELIVERED = "UNDELIV"


#: How often each outcome is drawn (relative weights).
OUTCOME_WEIGHTS: dict[Outcome, int] = {
    Outcome.ANSWERED: 60,
    Outcome.BUSY: 15,
    Outcome.NO_ANSWER: 15,
    Outcome.FAILED: 10,
}

#: Final ``status``, ``error_code`` and ``error_description`` per outcome. The documented sample
#: pairs 4017 with USER_BUSY, i.e. 4000 + the Q.850 cause (17); the others follow that pattern.
FINAL_STATUS: dict[Outcome, tuple[CallStatus, int, str]] = {
    Outcome.ANSWERED: (CallStatus.DELIVERED, 0, ""),
    Outcome.BUSY: (CallStatus.UNDELIVERED, 4017, "USER_BUSY"),
    Outcome.NO_ANSWER: (CallStatus.UNDELIVERED, 4019, "NO_ANSWER"),
    Outcome.FAILED: (CallStatus.UNDELIVERED, 4041, "NORMAL_TEMPORARY_FAILURE"),
}

#: Postback kinds, in the order a call sends them.
RINGING, FINAL = "ringing", "final"


@dataclass(frozen=True, slots=True)
class CallPlan:
    """A call's timeline in simulated seconds after the job was accepted.

    ``ring_at`` is None for a call that never rang (failed), ``answer_at`` for one never
    answered. ``duration`` is the whole seconds listened (0 unless answered).
    """

    outcome: Outcome
    ring_at: float | None
    answer_at: float | None
    hang_at: float
    duration: int


def plan_call(
    seed: int,
    to: str,
    *,
    audio_s: float,
    ring_timeout_s: int,
    time_limit_s: int | None = None,
) -> CallPlan:
    """Draw one call from ``seed`` and the number alone: the same number under the same seed
    always gets the same outcome and timings, whatever the job, order or restart.

    The time listened never exceeds the audio's length (rounded up to whole seconds) nor
    ``time_limit_s``; an unanswered call rings for ``ring_timeout_s``.
    """
    rng = random.Random(f"audioprep-sandbox|{seed}|{to}")
    outcome = rng.choices(list(OUTCOME_WEIGHTS), weights=list(OUTCOME_WEIGHTS.values()))[0]
    setup = round(rng.uniform(1.0, 4.0), 3)
    if outcome is Outcome.FAILED:
        return CallPlan(outcome, None, None, round(setup + rng.uniform(0.5, 3.0), 3), 0)
    if outcome is Outcome.NO_ANSWER:
        return CallPlan(outcome, setup, None, setup + ring_timeout_s, 0)
    if outcome is Outcome.BUSY:
        ring = min(rng.uniform(2.0, 8.0), ring_timeout_s)
        return CallPlan(outcome, setup, None, round(setup + ring, 3), 0)
    answer = round(setup + rng.uniform(2.0, min(20.0, ring_timeout_s - 1.0)), 3)
    whole = max(1, math.ceil(audio_s))
    listened = whole if rng.random() < 0.75 else rng.randint(1, whole)
    if time_limit_s is not None:
        listened = min(listened, time_limit_s)
    return CallPlan(outcome, setup, answer, answer + listened, listened)


def postback_moments(call: CallRecord) -> list[tuple[str, float]]:
    """The postbacks a call sends and when (simulated seconds): ringing (if it rang), final."""
    moments = [(RINGING, call.ring_at)] if call.ring_at is not None else []
    return [*moments, (FINAL, call.hang_at)]


def status_at(call: CallRecord, at: float) -> tuple[CallStatus, int, str]:
    """The call's ``status``, ``error_code`` and ``error_description`` at simulated ``at``."""
    if at >= call.hang_at:
        return FINAL_STATUS[Outcome(call.outcome)]
    if call.answer_at is not None and at >= call.answer_at:
        return CallStatus.ANSWERED, 0, ""
    if call.ring_at is not None and at >= call.ring_at:
        return CallStatus.RINGING, 0, ""
    return CallStatus.QUEUED, 0, ""


def callback_info(job: JobRecord, call: CallRecord, at: float) -> dict[str, Any]:
    """The CALLBACK_INFO object for ``call`` as of ``at`` simulated seconds after acceptance.

    ``timestamp`` is when the latest event up to ``at`` happened (a postback's own moment), so
    a lookup under a compressed clock never shows a time in the future. Dates not reached yet
    are ``false`` (as ``answer_date`` of an unanswered call in the docs);
    ``client_message_id`` is the destination's custom_id and is left out when none was sent.
    """
    sent = job.accepted_at + _last_event(call, at)
    info: dict[str, Any] = {
        "type": "voice",
        "timestamp": int(sent),
        "micro_timestamp": int(sent * 1000),
        "from": job.sender,
        "job_type": job.job_type,
    }
    if job.callback_url is not None:
        info["callback_url"] = job.callback_url
    info.update(job.content)
    info["message_id"] = call.message_id
    if call.custom_id is not None:
        info["client_message_id"] = call.custom_id
    info["to"] = call.to
    info["ring_date"] = _date(job, call.ring_at, at)
    info["answer_date"] = _date(job, call.answer_at, at)
    info["hang_date"] = _date(job, call.hang_at, at)
    ended = at >= call.hang_at
    info["actual_duration"] = call.duration if ended else 0
    info["billed_duration"] = call.duration if ended else 0
    status, code, description = status_at(call, at)
    info["status"] = status.value
    info["error_code"] = code
    info["error_description"] = description
    return info


def _last_event(call: CallRecord, at: float) -> float:
    moments = (call.ring_at, call.answer_at, call.hang_at)
    return max((m for m in moments if m is not None and m <= at), default=0.0)


def _date(job: JobRecord, offset: float | None, at: float) -> int | bool:
    if offset is None or offset > at:
        return False
    return int(job.accepted_at + offset)
