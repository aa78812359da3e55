"""The Voice API's response codes, messages and rules: the one source of truth.

Everything audioprep knows about what the API accepts lives here: the table of documented
response codes (with the spec's wording), the audio URL and file-name rules, the request
validator, and the deterministic safe-name function. The checker, the inspector, the client and
the sandbox all import from this module; nothing else spells a rule or a message.

Where the published docs contradict themselves, the decision taken is recorded in
``docs/api-notes.md`` and referenced here by its number (``D1``...).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any
from urllib.parse import unquote, urlsplit

#: Largest audio file the API takes. The docs say "5 MB"; we read it as 5,000,000 bytes, the
#: stricter of the two readings, so a file we pass is never refused for size (D2).
MAX_AUDIO_BYTES = 5_000_000

#: Extensions the API accepts for audio files (case-insensitive, D3).
AUDIO_EXTENSIONS = ("mp3", "wav")


class Code(IntEnum):
    """Every ``status_code`` the Voice API documents."""

    SUCCESS = 0
    NOT_AUTHORIZED = -50
    INVALID_JSON = -80
    AUDIO_AND_TTS = -81
    PARAM_NOT_ALLOWED = -82
    DESTINATIONS_TYPE = -83
    NUMBER_MISSING = -84
    DESTINATION_LENGTH = -85
    TOO_MANY_DESTINATIONS = -86
    NO_VALID_DESTINATIONS = -87
    DESTINATIONS_MISSING = -88
    CONTENT_REQUIRED = -89
    TTS_IN_AUDIO_CALL = -90
    AUDIO_IN_TTS_CALL = -91
    SENDER_LENGTH = -92
    MENU_RESPONSE_BOOL = -93
    TTS_TEXT_LENGTH = -95
    TTS_VOICE = -96
    TTS_LANGUAGE = -97
    VOICE_CONTENT_MISSING = -98
    JOB_ID_LENGTH = -99
    JOB_PROBLEM = -101
    CUSTOM_ID_NOT_UNIQUE = -102
    SECONDS_TOO_SMALL = -103
    SECONDS_NOT_INTEGER = -104
    SERVER_TOO_BUSY = -105
    AUDIO_DOWNLOAD_FAILED = -106
    AUDIO_INVALID = -107
    AUDIO_CORRUPTED = -108
    AUDIO_UNPROCESSABLE = -109
    AUDIO_PROBLEM = -110
    AUDIO_URL_SCHEME = -111
    SERVICE_SETTINGS = -112
    CALL_NOT_FOUND = -120
    MESSAGE_ID_INVALID = -121
    TEST_ONE_DESTINATION = -122
    TEST_PERSONAL_NUMBER = -123
    JOB_NOT_FOUND = -125
    API_JOB_ID_INVALID = -126


# --------------------------------------------------------------------------------------------
# The response table
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResponseSpec:
    """One row of the documented response table.

    ``template`` is the spec's wording with typographic quotes made straight (D1); placeholders
    are ``str.format`` fields filled by :meth:`message`.
    """

    code: Code
    http_status: int
    template: str
    meaning: str

    def message(self, **fields: object) -> str:
        """The description the API sends, placeholders filled."""
        return self.template.format(**fields) if fields else self.template


_A = "Audio File"
RESPONSES: Mapping[Code, ResponseSpec] = {
    row.code: row
    for row in (
        ResponseSpec(
            Code.SUCCESS,
            200,
            "Job has been queued, Please check the progress via the HTTP Postbacks",
            "The job was accepted.",
        ),
        ResponseSpec(
            Code.NOT_AUTHORIZED, 401, "Not authorized", "The token is missing or invalid."
        ),
        ResponseSpec(
            Code.INVALID_JSON,
            403,
            "Invalid JSON Body",
            "The request sent has some invalid syntax that is breaking the JSON encoding.",
        ),
        ResponseSpec(
            Code.AUDIO_AND_TTS,
            403,
            "Cannot use both Audio File and TTS at the same time",
            "Both 'audio_file_url' and 'tts_text' were given.",
        ),
        ResponseSpec(
            Code.PARAM_NOT_ALLOWED,
            403,
            "{param_name} is not allowed",
            "The parameter passed is not a valid parameter.",
        ),
        ResponseSpec(
            Code.DESTINATIONS_TYPE,
            403,
            "Invalid type for 'destinations'",
            "The destinations element in the request is not an array.",
        ),
        ResponseSpec(
            Code.NUMBER_MISSING,
            403,
            "Missing object called 'number' in 'destinations",
            "A destination has no field called 'number'.",
        ),
        ResponseSpec(
            Code.DESTINATION_LENGTH,
            403,
            "The destination number should have at least have 7 and a maximum of 15 digits",
            "The destination phone number does not meet the length specification.",
        ),
        ResponseSpec(
            Code.TOO_MANY_DESTINATIONS,
            403,
            "There can only be {limit} destination numbers",
            "The job has more destinations than the routing preference allows per job.",
        ),
        ResponseSpec(
            Code.NO_VALID_DESTINATIONS,
            403,
            "There are no valid destination numbers in the 'destinations' parameter",
            "After the phone numbers were sanitized, no valid numbers remained.",
        ),
        ResponseSpec(
            Code.DESTINATIONS_MISSING,
            403,
            "The 'destinations' Object is missing",
            "There must be an element called 'destinations' in the main JSON body.",
        ),
        ResponseSpec(
            Code.CONTENT_REQUIRED,
            403,
            "Required 'tts_text' or 'audio_file_url' in the 'voice_content' object",
            "'voice_content' needs 'tts_text' or 'audio_file_url' to tell TTS from Audio.",
        ),
        ResponseSpec(
            Code.TTS_IN_AUDIO_CALL,
            403,
            "Cannot use 'tts' properties in a call of type 'Audio' in the 'voice_content' object",
            "An Audio call carries a TTS parameter.",
        ),
        ResponseSpec(
            Code.AUDIO_IN_TTS_CALL,
            403,
            "Cannot use 'audio_file_url' in a call of type 'TTS' in the 'voice_content' object",
            "A TTS call carries an Audio parameter.",
        ),
        ResponseSpec(
            Code.SENDER_LENGTH,
            403,
            "The 'sender_id' number {number} should at least have 7 digits and a maximum of"
            " 15 digits",
            "The sender phone number does not meet the required length specification.",
        ),
        ResponseSpec(
            Code.MENU_RESPONSE_BOOL,
            403,
            "Parameter 'enable_menu_response' has to be either 'true' or 'false'",
            "'enable_menu_response' is not a boolean.",
        ),
        ResponseSpec(
            Code.TTS_TEXT_LENGTH,
            403,
            "The 'tts_text' should at least have 7 characters and a maximum of 15",
            "The TTS text is too short (see D6 for the upper bound).",
        ),
        ResponseSpec(
            Code.TTS_VOICE,
            403,
            "The TTS voice selected is invalid. (e.g MAN or WOMAN)",
            "'tts_voice' is not MAN or WOMAN.",
        ),
        ResponseSpec(
            Code.TTS_LANGUAGE, 403, "The TTS language selected is invalid", "Bad 'tts_lang'."
        ),
        ResponseSpec(
            Code.VOICE_CONTENT_MISSING,
            403,
            "The 'voice_content' Object is missing",
            "There must be an element called 'voice_content' in the main JSON body.",
        ),
        ResponseSpec(
            Code.JOB_ID_LENGTH,
            403,
            "The 'job_id' parameter should at least have 7 characters and a maximum of 15",
            "The job id is not 7 to 15 characters long.",
        ),
        ResponseSpec(
            Code.JOB_PROBLEM,
            403,
            "There was a problem with your job: {generic_error}",
            "An error occurred while checking funds or phone number coverage.",
        ),
        ResponseSpec(
            Code.CUSTOM_ID_NOT_UNIQUE,
            403,
            "Custom ID {custom_id} is not unique",
            "The custom_ids passed along with the destinations are not unique.",
        ),
        ResponseSpec(
            Code.SECONDS_TOO_SMALL,
            403,
            "{parameter} should be bigger than 10",
            "The parameter must be more than 10 seconds (no maximum).",
        ),
        ResponseSpec(
            Code.SECONDS_NOT_INTEGER,
            403,
            "{parameter} should be integer",
            "The parameter must be an integer.",
        ),
        ResponseSpec(
            Code.SERVER_TOO_BUSY,
            403,
            "Server too busy",
            "The system is too busy to handle the request; try again later.",
        ),
        ResponseSpec(
            Code.AUDIO_DOWNLOAD_FAILED,
            403,
            f"The {_A} supplied cannot be downloaded to our servers",
            "The audio URL could not be downloaded.",
        ),
        ResponseSpec(
            Code.AUDIO_INVALID,
            403,
            f"The {_A} format supplied is Invalid (must be MP3 or WAV). Also ensure that the URL"
            " has no spaces or invalid characters and also that the File is reachable via the"
            " internet.",
            "Not MP3/WAV, or the URL or file name has characters the API refuses.",
        ),
        ResponseSpec(
            Code.AUDIO_CORRUPTED,
            403,
            f"The {_A} format supplied is corrupted",
            "The MP3 or WAV metadata could not be read.",
        ),
        ResponseSpec(
            Code.AUDIO_UNPROCESSABLE,
            403,
            f"The {_A} supplied cannot be processed. Please contact customer support",
            "There was a problem while downloading the audio file onto the servers.",
        ),
        ResponseSpec(
            Code.AUDIO_PROBLEM,
            403,
            f"There was some problems with the {_A}",
            "Downloading the audio or processing its metadata failed.",
        ),
        ResponseSpec(
            Code.AUDIO_URL_SCHEME,
            403,
            "The 'audio_file_url' must be valid (starting with http or https)",
            "The audio URL must start with http:// or https:// and name a host.",
        ),
        ResponseSpec(
            Code.SERVICE_SETTINGS,
            403,
            "Cannot establish service settings",
            "There is some problem in the provider's VoIP system.",
        ),
        ResponseSpec(
            Code.CALL_NOT_FOUND,
            403,
            "Could not load the call details",
            "The message_id is well-formed but no call has it.",
        ),
        ResponseSpec(
            Code.MESSAGE_ID_INVALID,
            403,
            "Could not verify the Call Message ID",
            "The message_id is not numeric and/or not 20 characters long.",
        ),
        ResponseSpec(
            Code.TEST_ONE_DESTINATION,
            403,
            "Only 1 Destination allowed, when using a TEST Account",
            "A TEST account may call only one number per job.",
        ),
        ResponseSpec(
            Code.TEST_PERSONAL_NUMBER,
            403,
            "Only the personal mobile phone number {personal_number} can used when using a TEST"
            " Account",
            "A TEST account may call only the account holder's own mobile number.",
        ),
        ResponseSpec(
            Code.JOB_NOT_FOUND,
            403,
            "Could not load the Job details",
            "The api_job_id is 36 characters long but no job has it.",
        ),
        ResponseSpec(
            Code.API_JOB_ID_INVALID,
            403,
            "Could not verify the api_job_id",
            "The api_job_id is not 36 characters long.",
        ),
    )
}

#: HTTP-level answers that carry no ``status_code`` of their own.
HTTP_MESSAGES: Mapping[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Server Error",
    503: "Service Unavailable",
}


def describe(code: Code, **fields: object) -> str:
    """The API's description for ``code`` with its placeholders filled."""
    return RESPONSES[code].message(**fields)


def http_status(code: Code) -> int:
    """The HTTP status the API sends with ``code``."""
    return RESPONSES[code].http_status


# --------------------------------------------------------------------------------------------
# Names and URLs (-107, -111)
# --------------------------------------------------------------------------------------------

_STEM_RE = re.compile(r"[A-Za-z0-9_-]+")
# RFC 3986 unreserved + reserved characters, plus '%' for escapes: anything else is refused.
_URL_CHARS_RE = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
_SAFE_STEM_MAX = 100


@dataclass(frozen=True, slots=True)
class RuleViolation:
    """A broken API rule: the code the API answers, our stable id, and a human message."""

    code: Code
    id: str
    message: str
    fix: str | None = None


def split_name(name: str) -> tuple[str, str]:
    """Split ``name`` into stem and extension (without the dot; ``""`` when there is none)."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return name, ""
    return stem, ext


def check_file_name(name: str) -> list[RuleViolation]:
    """The file-name rule (-107): letters, digits, ``-``, ``_``, then ``.mp3`` or ``.wav``."""
    stem, ext = split_name(name)
    found: list[RuleViolation] = []
    if ext.lower() not in AUDIO_EXTENSIONS:
        shown = f".{ext}" if ext else "no extension"
        found.append(
            RuleViolation(
                Code.AUDIO_INVALID,
                "name.extension",
                f"'{name}': {shown} — the API takes only .mp3 or .wav files",
                "convert it with 'audioprep fix'",
            )
        )
    if not _STEM_RE.fullmatch(stem):
        bad = sorted({c for c in stem if not _STEM_RE.fullmatch(c)})
        shown = " ".join(repr(c) for c in bad) if bad else "an empty name"
        found.append(
            RuleViolation(
                Code.AUDIO_INVALID,
                "name.characters",
                f"'{name}': file name has {shown}; only letters, digits, '-' and '_' are allowed",
                f"rename it to '{safe_name(name)}'",
            )
        )
    return found


def check_audio_url(url: str) -> list[RuleViolation]:
    """The URL rules: http/https with a host (-111), legal characters and file name (-107)."""
    parts = urlsplit(url.strip()) if url.strip() == url else None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return [
            RuleViolation(
                Code.AUDIO_URL_SCHEME,
                "url.scheme",
                "the audio URL must start with http:// or https:// and name a host",
                "host the file on a web server or S3 ('audioprep upload')",
            )
        ]
    found: list[RuleViolation] = []
    if not _URL_CHARS_RE.fullmatch(url):
        bad = sorted({c for c in url if not _URL_CHARS_RE.fullmatch(c)})
        found.append(
            RuleViolation(
                Code.AUDIO_INVALID,
                "url.characters",
                "the URL has characters the API refuses: " + " ".join(repr(c) for c in bad),
                "upload it under a legal key ('audioprep upload')",
            )
        )
    found.extend(check_file_name(unquote(parts.path.rsplit("/", 1)[-1])))
    return found


def safe_name(name: str, *, extension: str | None = None) -> str:
    """A legal file name for ``name``: deterministic, idempotent, never empty.

    Non-ASCII letters are transliterated where Unicode allows (``é`` → ``e``) and dropped
    otherwise; runs of other characters become one ``_``. The extension is lower-cased, and an
    extension the API does not take becomes ``extension`` (default ``mp3``, what ``fix`` writes).
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, ext = split_name(base)
    ext = ext.lower()
    if extension is not None:
        ext = extension.lower().lstrip(".")
    elif ext not in AUDIO_EXTENSIONS:
        ext = "mp3"
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_stem)
    cleaned = re.sub(r"_{2,}", "_", cleaned).strip("_")[:_SAFE_STEM_MAX].strip("_")
    return f"{cleaned or 'audio'}.{ext}"


def safe_segment(segment: str) -> str:
    """A path segment (an S3 prefix part) made of letters, digits, ``-`` and ``_`` only."""
    ascii_seg = unicodedata.normalize("NFKD", segment).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"_{2,}", "_", re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_seg)).strip("_")
    return cleaned[:_SAFE_STEM_MAX]


# --------------------------------------------------------------------------------------------
# Numbers and identifiers
# --------------------------------------------------------------------------------------------

NUMBER_MIN_DIGITS = 7
NUMBER_MAX_DIGITS = 15
JOB_ID_MIN = 7
JOB_ID_MAX = 15
MESSAGE_ID_LENGTH = 20
API_JOB_ID_LENGTH = 36
MIN_SECONDS_EXCLUSIVE = 10
DEFAULT_MAX_DESTINATIONS = 500
TTS_TEXT_MIN = 7
TTS_VOICES = ("MAN", "WOMAN")
SECONDS_FIELDS = ("ring_timeout_seconds", "time_limit_seconds")

# Formatting characters people type in phone numbers; removed before the length check (D9).
_NUMBER_FORMATTING_RE = re.compile(r"[\s\-.()/+]")


def sanitise_number(value: object) -> str | None:
    """Digits of a phone number with formatting removed, or None when it is not a number.

    ``"+356 99-000 000"`` → ``"35699000000"``. Integers are accepted (JSON numbers).
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    digits = _NUMBER_FORMATTING_RE.sub("", str(value))
    return digits if digits.isdigit() and digits.isascii() else None


def number_length_ok(digits: str) -> bool:
    """Whether a sanitised number has 7 to 15 digits (-85, -92)."""
    return NUMBER_MIN_DIGITS <= len(digits) <= NUMBER_MAX_DIGITS


def job_id_ok(job_id: object) -> bool:
    """Whether ``job_id`` is a string of 7 to 15 characters (-99)."""
    return isinstance(job_id, str) and JOB_ID_MIN <= len(job_id) <= JOB_ID_MAX


def message_id_ok(message_id: str) -> bool:
    """Whether a call's message_id is numeric and 20 characters long (-121)."""
    return message_id.isascii() and message_id.isdigit() and len(message_id) == MESSAGE_ID_LENGTH


def api_job_id_ok(api_job_id: str) -> bool:
    """Whether an api_job_id has the documented 36 characters (-126)."""
    return len(api_job_id) == API_JOB_ID_LENGTH


def parse_seconds(value: object) -> int | None:
    """An integer seconds value; numeric strings like ``"60"`` count (D8). None if not integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value)
    return None


# --------------------------------------------------------------------------------------------
# The trigger-call request validator
# --------------------------------------------------------------------------------------------

OUTER_KEYS = ("destinations", "job_id", "voice_content", "callback_url")
DESTINATION_KEYS = ("number", "custom_id")
AUDIO_KEYS = ("audio_file_url",)
TTS_KEYS = ("tts_text", "tts_lang", "tts_voice")
COMMON_CONTENT_KEYS = ("sender_id", "enable_menu_response", *SECONDS_FIELDS)
CONTENT_KEYS = (*AUDIO_KEYS, *TTS_KEYS, *COMMON_CONTENT_KEYS)
_TTS_LANG_RE = re.compile(r"[A-Za-z]{2,3}-[A-Za-z]{2}")


class AccountType(StrEnum):
    """The account kinds the docs name; TEST accounts may call only the holder's number."""

    FULL = "full"
    TEST = "test"


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountLimits:
    """What the token behind a request allows (routing preference and account type)."""

    account_type: AccountType = AccountType.FULL
    personal_number: str | None = None
    max_destinations: int = DEFAULT_MAX_DESTINATIONS

    @property
    def per_job(self) -> int:
        """The most destinations one job may have: the token's limit, and 1 on a TEST
        account (-122)."""
        return 1 if self.account_type is AccountType.TEST else self.max_destinations


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
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
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
        personal = sanitise_number(limits.personal_number or "") or ""
        if numbers[0] != personal:
            raise _Reject(Code.TEST_PERSONAL_NUMBER, personal_number=limits.personal_number or "")


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
            if seconds is None:
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


# --------------------------------------------------------------------------------------------
# Wire shapes of the answers (shared by the sandbox and the client)
# --------------------------------------------------------------------------------------------


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
