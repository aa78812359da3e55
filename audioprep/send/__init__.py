"""Sending calls: the API client, submission that never sends a job twice, and what happened.

submit plans and validates jobs and sends each once through client, recording every attempt
in journal first; postbacks receives the API's callbacks; status joins the two per
destination.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audioprep.lazy import face

if TYPE_CHECKING:
    from audioprep.send.client import ApiReply, RetryPolicy, VoiceClient
    from audioprep.send.journal import Journal
    from audioprep.send.postbacks import CallEvent, PostbackOptions, PostbackServer, PostbackStore
    from audioprep.send.status import StatusQuery, StatusReport, job_status
    from audioprep.send.submit import (
        Destination,
        JobOutcome,
        Outcome,
        SubmitOptions,
        read_destinations_csv,
        submit_audio,
    )

__all__ = [
    "ApiReply",
    "CallEvent",
    "Destination",
    "JobOutcome",
    "Journal",
    "Outcome",
    "PostbackOptions",
    "PostbackServer",
    "PostbackStore",
    "RetryPolicy",
    "StatusQuery",
    "StatusReport",
    "SubmitOptions",
    "VoiceClient",
    "job_status",
    "read_destinations_csv",
    "submit_audio",
]

__getattr__, __dir__ = face(__name__)
