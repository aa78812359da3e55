"""Validating a trigger-call request the way the API does: the first broken rule wins.

:func:`validate_request` returns an :class:`Answer` (the code, the spec's message, notes on what
the API does silently); ``audioprep validate``, the submitter and the sandbox all use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from audioprep import jsonio
from audioprep.api.codes import Code, describe, http_status
from audioprep.api.fields import (
    MAX_SECONDS,
    MIN_SECONDS_EXCLUSIVE,
    SECONDS_FIELDS,
    TTS_TEXT_MIN,
    TTS_VOICES,
    AccountLimits,
    AccountType,
    job_id_ok,
    number_length_ok,
    parse_seconds,
    sanitise_number,
)
from audioprep.api.files import check_audio_url

OUTER_KEYS = ("destinations", "job_id", "voice_content", "callback_url")
DESTINATION_KEYS = ("number", "custom_id")
AUDIO_KEYS = ("audio_file_url",)
TTS_KEYS = ("tts_text", "tts_lang", "tts_voice")
COMMON_CONTENT_KEYS = ("sender_id", "enable_menu_response", *SECONDS_FIELDS)
CONTENT_KEYS = (*AUDIO_KEYS, *TTS_KEYS, *COMMON_CONTENT_KEYS)
_TTS_LANG_RE = re.compile(r"[A-Za-z]{2,3}-[A-Za-z]{2}")


@dataclass(frozen=True, slots=True)
class Answer:
    """What the API would answer to a request, as far as it can be told without the network.

    ``notes`` are things the API does silently that a sender should know (a destination dropped
    after sanitising). ``request`` is the parsed body (None when it was not valid JSON).
    """

    code: Code
    description: str
    job_id: str | None = None
    notes: tuple[str, ...] = ()
    request: Mapping[str, Any] | None = field(default=None, compare=False)

    @property
    def valid(self) -> bool:
        """True when the API would accept the request."""
        return self.code is Code.SUCCESS

    @property
    def http_status(self) -> int:
        """The HTTP status the API sends with this answer."""
        return http_status(self.code)

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of ``audioprep validate --json``."""
        return {
            "valid": self.valid,
            "http_status": self.http_status,
            "status_code": int(self.code),
            "description": self.description,
            "job_id": self.job_id,
            "notes": list(self.notes),
        }


class _Reject(Exception):
    """Stops validation at the first broken rule (the API reports one error per response)."""

    def __init__(self, code: Code, **fields: object) -> None:
        super().__init__(code)
        self.code = code
        self.description = describe(code, **fields)


def validate_request(
    body: bytes | str | Mapping[str, Any], limits: AccountLimits = AccountLimits()
) -> Answer:
    """Judge a trigger-call body exactly as the API would, in the order of ``docs/api-notes.md``.

    ``body`` may be the raw bytes/text sent on the wire or an already parsed mapping. The audio
    file itself is not downloaded here (-106…-110 need the network; see
    ``audioprep.audio.inspect``).
    """
    try:
        request = _parse(body)
    except _Reject as reject:
        return Answer(reject.code, reject.description)
    job_id = request.get("job_id")
    echo = job_id if isinstance(job_id, str) else None
    notes: list[str] = []
    try:
        _check_unknown_keys(request)
        destinations = _check_structure(request)
        content = request["voice_content"]
        _check_job_type(content)
        numbers = _check_destinations(destinations, notes)
        _check_account(numbers, limits)
        _check_fields(request, content)
    except _Reject as reject:
        return Answer(reject.code, reject.description, echo, tuple(notes), request)
    return Answer(Code.SUCCESS, describe(Code.SUCCESS), echo, tuple(notes), request)


def _parse(body: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        return body
    try:
        parsed = jsonio.loads(body)  # RFC 8259 read strictly (D17)
    except jsonio.JSONError as exc:
        raise _Reject(Code.INVALID_JSON) from exc
    if not isinstance(parsed, dict):
        raise _Reject(Code.INVALID_JSON)
    return parsed


def _check_unknown_keys(request: Mapping[str, Any]) -> None:
    _reject_unknown(request, OUTER_KEYS)
    destinations = request.get("destinations")
    if isinstance(destinations, list):
        for item in destinations:
            if isinstance(item, dict):
                _reject_unknown(item, DESTINATION_KEYS)
    content = request.get("voice_content")
    if isinstance(content, dict):
        _reject_unknown(content, CONTENT_KEYS)


def _reject_unknown(obj: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for key in obj:
        if key not in allowed:
            raise _Reject(Code.PARAM_NOT_ALLOWED, param_name=key)


def _check_structure(request: Mapping[str, Any]) -> list[Any]:
    if "destinations" not in request:
        raise _Reject(Code.DESTINATIONS_MISSING)
    destinations = request["destinations"]
    if not isinstance(destinations, list):
        raise _Reject(Code.DESTINATIONS_TYPE)
    if not isinstance(request.get("voice_content"), dict):
        raise _Reject(Code.VOICE_CONTENT_MISSING)
    return destinations


def _present(content: Mapping[str, Any], key: str) -> bool:
    """A field counts as given when it is there and not null or empty (D5)."""
    return content.get(key) not in (None, "")


def _check_job_type(content: Mapping[str, Any]) -> None:
    audio, tts = _present(content, "audio_file_url"), _present(content, "tts_text")
    if audio and tts:
        raise _Reject(Code.AUDIO_AND_TTS)
    if not audio and not tts:
        raise _Reject(Code.CONTENT_REQUIRED)
    if audio and any(key in content for key in TTS_KEYS):
        raise _Reject(Code.TTS_IN_AUDIO_CALL)
    if tts and any(key in content for key in AUDIO_KEYS):
        raise _Reject(Code.AUDIO_IN_TTS_CALL)


def _check_destinations(destinations: list[Any], notes: list[str]) -> list[str]:
    numbers: list[str] = []
    custom_ids: set[str] = set()
    for item in destinations:
        if not isinstance(item, dict) or "number" not in item:
            raise _Reject(Code.NUMBER_MISSING)
        digits = sanitise_number(item["number"])
        if digits is None:
            notes.append(f"destination {item['number']!r} is not a phone number; the API drops it")
            continue
        if not number_length_ok(digits):
            raise _Reject(Code.DESTINATION_LENGTH)
        custom_id = item.get("custom_id")
        if custom_id is not None:
            if str(custom_id) in custom_ids:
                raise _Reject(Code.CUSTOM_ID_NOT_UNIQUE, custom_id=custom_id)
            custom_ids.add(str(custom_id))
        numbers.append(digits)
    if not numbers:
        raise _Reject(Code.NO_VALID_DESTINATIONS)
    return numbers


def _check_account(numbers: list[str], limits: AccountLimits) -> None:
    if len(numbers) > limits.max_destinations:
        raise _Reject(Code.TOO_MANY_DESTINATIONS, limit=limits.max_destinations)
    if limits.account_type is AccountType.TEST:
        if len(numbers) > limits.per_job:
            raise _Reject(Code.TEST_ONE_DESTINATION)
        if not _callable(numbers[0], limits):
            raise _Reject(Code.TEST_PERSONAL_NUMBER, personal_number=limits.personal_number or "")


def _callable(digits: str, limits: AccountLimits) -> bool:
    """Whether the account may call ``digits`` (a TEST account: only its personal number)."""
    if limits.account_type is not AccountType.TEST:
        return True
    return digits == (sanitise_number(limits.personal_number or "") or "")


def destination_code(number: object, limits: AccountLimits = AccountLimits()) -> Code | None:
    """What the API would say about ``number`` as a destination of this account: ``None``
    when it takes it; -87 for something that is not a phone number (the API drops it, and
    with no other destination refuses the job), -85 for the wrong length, -123 for a number
    a TEST account may not call."""
    digits = sanitise_number(number)
    if digits is None:
        return Code.NO_VALID_DESTINATIONS
    if not number_length_ok(digits):
        return Code.DESTINATION_LENGTH
    return None if _callable(digits, limits) else Code.TEST_PERSONAL_NUMBER


def _check_fields(request: Mapping[str, Any], content: Mapping[str, Any]) -> None:
    if "sender_id" in content:
        sender = sanitise_number(content["sender_id"])
        if sender is None or not number_length_ok(sender):
            raise _Reject(Code.SENDER_LENGTH, number=content["sender_id"])
    if "enable_menu_response" in content and not isinstance(content["enable_menu_response"], bool):
        raise _Reject(Code.MENU_RESPONSE_BOOL)
    _check_tts(content)
    if "job_id" in request and not job_id_ok(request["job_id"]):
        raise _Reject(Code.JOB_ID_LENGTH)
    for name in SECONDS_FIELDS:
        if name in content:
            seconds = parse_seconds(content[name])
            if seconds is None or seconds > MAX_SECONDS:  # D16: beyond what the service stores
                raise _Reject(Code.SECONDS_NOT_INTEGER, parameter=name)
            if seconds <= MIN_SECONDS_EXCLUSIVE:
                raise _Reject(Code.SECONDS_TOO_SMALL, parameter=name)
    if _present(content, "audio_file_url"):
        _check_url_field(content["audio_file_url"])


def _check_tts(content: Mapping[str, Any]) -> None:
    if not _present(content, "tts_text"):
        return
    text = content["tts_text"]
    if not isinstance(text, str) or len(text.strip()) < TTS_TEXT_MIN:
        raise _Reject(Code.TTS_TEXT_LENGTH)
    voice = content.get("tts_voice")
    if voice is not None and (not isinstance(voice, str) or voice.upper() not in TTS_VOICES):
        raise _Reject(Code.TTS_VOICE)
    lang = content.get("tts_lang")
    if lang is not None and (not isinstance(lang, str) or not _TTS_LANG_RE.fullmatch(lang)):
        raise _Reject(Code.TTS_LANGUAGE)


def _check_url_field(url: object) -> None:
    if not isinstance(url, str):
        raise _Reject(Code.AUDIO_URL_SCHEME)
    violations = check_audio_url(url)
    if violations:
        raise _Reject(violations[0].code)
