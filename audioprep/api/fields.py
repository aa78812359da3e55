"""The API's rules for the request's fields: numbers, ids, seconds, and the account's limits.

Pure predicates and parsers (:func:`sanitise_number`, :func:`job_id_ok`, :func:`parse_seconds`
...), used by the validator, the submitter, ``status`` and the sandbox alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

NUMBER_MIN_DIGITS = 7
NUMBER_MAX_DIGITS = 15
JOB_ID_MIN = 7
JOB_ID_MAX = 15
MESSAGE_ID_LENGTH = 20
API_JOB_ID_LENGTH = 36
MIN_SECONDS_EXCLUSIVE = 10
#: The most seconds a field may hold: the service keeps them in a signed 32-bit integer (D16).
MAX_SECONDS = 2**31 - 1
#: Digits beyond which a seconds string is certainly over :data:`MAX_SECONDS` (not converted).
_SECONDS_DIGITS = 18
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
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return None
    digits = _NUMBER_FORMATTING_RE.sub("", str(value))  # a JSON integer of any length is exact
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
    """An integer seconds value; numeric strings like ``"60"`` count (D8). None if not integer.
    A digit string too long for any clock is read as ``MAX_SECONDS + 1`` (its size is enough)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return (
            -(MAX_SECONDS + 1) if value < 0 else MAX_SECONDS + 1
        )  # a JSON integer of 4000+ digits
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        text = value.strip()
        if len(text.lstrip("-")) > _SECONDS_DIGITS:  # beyond every clock: its size is enough
            return -(MAX_SECONDS + 1) if text.startswith("-") else MAX_SECONDS + 1
        return int(text)
    return None


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
