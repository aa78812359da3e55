"""The API's bodies on the wire: its answers, and the callbacks (postbacks) it sends.

Built here for the sandbox, read here by the client, checked here by the postback receiver:
one shape for all three.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from audioprep.api.codes import HTTP_MESSAGES, Code, describe
from audioprep.api.request import TTS_KEYS


def error_body(
    code: Code, description: str, *, api_job_id: str, job_id: str | None = None
) -> dict[str, Any]:
    """The documented error body: ``client_job_id`` (when a job_id was sent), ``api_job_id``,
    ``result_info`` with an integer ``status_code``."""
    body: dict[str, Any] = {}
    if job_id is not None:
        body["client_job_id"] = job_id
    body["api_job_id"] = api_job_id
    body["result_info"] = {"status_code": int(code), "description": description}
    return body


def success_body(
    *, api_job_id: str, job_id: str | None, results: Mapping[str, Mapping[str, str]]
) -> dict[str, Any]:
    """The documented success body; ``status_code`` is the string ``"0"`` as in the sample (D4)."""
    body: dict[str, Any] = {"api_job_id": api_job_id}
    if job_id is not None:
        body["client_job_id"] = job_id
    body["results"] = {number: dict(result) for number, result in results.items()}
    body["result_info"] = {"status_code": "0", "description": describe(Code.SUCCESS)}
    return body


#: The CALLBACK_INFO fields of the documented callback-format samples, in their order. The
#: samples are TTS jobs; an AUDIO job carries ``audio_file_url`` where they carry ``tts_*``.
CALLBACK_INFO_FIELDS = (
    "type",
    "timestamp",
    "micro_timestamp",
    "from",
    "job_type",
    "callback_url",
    "tts_text",
    "tts_voice",
    "tts_lang",
    "message_id",
    "client_message_id",
    "to",
    "ring_date",
    "answer_date",
    "hang_date",
    "actual_duration",
    "billed_duration",
    "status",
    "error_code",
    "error_description",
)


def callback_body(
    *, api_job_id: str, job_id: str | None, data: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The documented "callback format": ``api_job_id``, ``client_job_id`` (when a job_id was
    sent) and ``data``, an array of CALLBACK_INFO objects (postbacks and lookups alike)."""
    body: dict[str, Any] = {"api_job_id": api_job_id}
    if job_id is not None:
        body["client_job_id"] = job_id
    body["data"] = [dict(item) for item in data]
    return body


def http_error_body(status: int) -> dict[str, Any]:
    """The body of an HTTP-level answer (400, 404, 405, 500, 503) that has no ``status_code``:
    the table lists these with code "–", so ``result_info`` carries only the description."""
    return {"result_info": {"description": HTTP_MESSAGES[status]}}


# --------------------------------------------------------------------------------------------
# The callback (postback) shape, as a receiver checks it
# --------------------------------------------------------------------------------------------

#: What a CALLBACK_INFO object must carry to say anything: which call, to whom, how it stands.
#: The other documented fields are type-checked when present: the samples differ in which they
#: carry (``callback_url``/``tts_*`` are in one sample only; an audio job echoes
#: ``audio_file_url``; ``client_message_id`` is the destination's custom_id, absent without one).
CALLBACK_REQUIRED_FIELDS = ("type", "message_id", "to", "status")
_CALLBACK_INTS = ("timestamp", "micro_timestamp", "actual_duration", "billed_duration")
#: Dates are Unix seconds, or ``false`` for what did not happen (``answer_date`` in the sample).
_CALLBACK_DATES = ("ring_date", "answer_date", "hang_date")
_CALLBACK_STRINGS = (
    "type",
    "message_id",
    "to",
    "status",
    "from",
    "job_type",
    "client_message_id",
    "error_description",
    "callback_url",
    "audio_file_url",
    *TTS_KEYS,
)


def callback_items(body: Mapping[str, Any]) -> list[Any]:
    """The CALLBACK_INFO entries of a callback body. ``data`` is typed CALLBACK_INFO in the
    docs but is an array in both samples; a lone object is taken as a list of one."""
    data = body.get("data")
    return [data] if isinstance(data, dict) else list(data) if isinstance(data, list) else []


def check_callback_body(body: object) -> tuple[str, ...]:
    """Why a parsed callback body is not the documented shape (empty when it is).

    Outer: ``api_job_id`` (string), optional ``client_job_id`` (string), ``data`` (one or more
    CALLBACK_INFO objects). Unknown keys are tolerated: a receiver must not refuse a postback
    because the API added a field.
    """
    if not isinstance(body, dict):
        return ("the body is not a JSON object",)
    problems: list[str] = []
    if not isinstance(body.get("api_job_id"), str) or not body["api_job_id"]:
        problems.append("api_job_id: missing or not a string")
    if body.get("client_job_id") is not None and not isinstance(body["client_job_id"], str):
        problems.append("client_job_id: not a string")
    items = callback_items(body)
    if not items:
        problems.append("data: missing, empty, or not an array of objects")
    for index, item in enumerate(items):
        problems.extend(f"data[{index}].{p}" for p in _callback_info_problems(item))
    return tuple(problems)


def _callback_info_problems(item: object) -> list[str]:
    if not isinstance(item, dict):
        return ["not an object"]
    found = [f"{key}: missing" for key in CALLBACK_REQUIRED_FIELDS if key not in item]
    found.extend(
        f"{key}: expected a string, got {item[key]!r}"
        for key in _CALLBACK_STRINGS
        if key in item and not isinstance(item[key], str)
    )
    found.extend(
        f"{key}: expected an integer, got {item[key]!r}"
        for key in _CALLBACK_INTS
        if key in item and not _is_int(item[key])
    )
    found.extend(
        f"{key}: expected Unix seconds or false, got {item[key]!r}"
        for key in _CALLBACK_DATES
        if key in item and item[key] is not False and not _is_int(item[key])
    )
    code = item.get("error_code")
    if "error_code" in item and not (_is_int(code) or isinstance(code, str)):
        found.append(f"error_code: expected an integer, got {code!r}")
    if isinstance(item.get("type"), str) and item["type"] != "voice":
        found.append(f"type: expected 'voice', got {item['type']!r}")
    return found


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
