"""JSON in and out: one encoder that writes only RFC 8259, one strict parser for what we read.

:func:`dumps` is how audioprep writes every JSON document (outputs, reports, state, wire
bodies): it refuses NaN and infinities (producers give ``None`` for a level that is not a
number, such as the peak of digital silence), writes text that is valid UTF-8 whatever
strings it is given, and integers of any length. :func:`loads` is how it reads what others
send (request bodies, postbacks, manifests): RFC 8259 only (no ``NaN``/``Infinity``), UTF-8
only (a leading BOM is tolerated), nesting at most :data:`MAX_DEPTH` deep, no lone surrogates,
integers of any length (past :data:`LONG_DIGITS` digits as exact :class:`decimal.Decimal`
values). What it refuses is a :class:`JSONError` that says where.
"""

from __future__ import annotations

import decimal
import json
import math
import re
import secrets
from typing import Any

from audioprep.errors import AudioprepError, ExitCode

#: The deepest nesting accepted (the API's bodies need 3; manifests 4).
MAX_DEPTH = 64
#: Integers with more digits are read as exact :class:`decimal.Decimal` values, not ``int``.
LONG_DIGITS = 4000
_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class JSONError(AudioprepError):
    """Text that is not the JSON audioprep reads; ``line`` and ``column`` count from 1."""

    exit_code = ExitCode.USAGE

    def __init__(self, reason: str, line: int = 1, column: int = 1) -> None:
        super().__init__(f"not valid JSON at line {line}, column {column}: {reason}")
        self.reason, self.line, self.column = reason, line, column


# --------------------------------------------------------------------------------------------
# Out
# --------------------------------------------------------------------------------------------


def dumps(
    data: Any, *, indent: int | None = None, compact: bool = False, sort_keys: bool = False
) -> str:
    """``data`` as RFC 8259 JSON text (UTF-8 safe, not ASCII-escaped).

    Raises:
        ValueError: ``data`` holds NaN or an infinity (a bug of the producer).
    """
    big: dict[str, str] = {}
    clean = _outgoing(data, big, secrets.token_hex(8))
    separators = (",", ":") if compact else None
    text = json.dumps(
        clean,
        indent=indent,
        separators=separators,
        sort_keys=sort_keys,
        ensure_ascii=False,
        allow_nan=False,
    )
    for token, digits in big.items():
        text = text.replace(f'"{token}"', digits)
    return text


def _outgoing(value: Any, big: dict[str, str], nonce: str) -> Any:
    """``value`` with every string valid UTF-8 and every huge integer a placeholder."""
    if isinstance(value, str):
        return value if value.isascii() else valid_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and value.bit_length() < 3 * LONG_DIGITS:
        return value
    if isinstance(value, int | decimal.Decimal):  # written as a number, digit for digit
        if isinstance(value, decimal.Decimal) and not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        token = f"audioprep-integer-{nonce}-{len(big)}"
        big[token] = str(decimal.Decimal(value))
        return token
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a JSON number: give None for a missing level")
        return value
    if isinstance(value, dict):
        return {_outgoing(k, big, nonce): _outgoing(v, big, nonce) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_outgoing(v, big, nonce) for v in value]
    return value  # json.dumps says what it cannot encode


def valid_text(text: str) -> str:
    """``text`` as valid UTF-8: a lone surrogate (a file name's undecodable byte) becomes
    U+FFFD. What JSON and SQLite are given."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape" if _escaped_bytes(text) else "surrogatepass")
        return raw.decode("utf-8", "replace")
    return text


def _escaped_bytes(text: str) -> bool:
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in text)


# --------------------------------------------------------------------------------------------
# In
# --------------------------------------------------------------------------------------------


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``data`` strictly; :class:`JSONError` for anything RFC 8259 and UTF-8 refuse."""
    text = _text(data) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    _check_depth(text, max_depth)
    try:
        value = json.loads(text, parse_constant=_constant, parse_int=_integer, parse_float=_float)
    except json.JSONDecodeError as exc:
        raise JSONError(exc.msg, exc.lineno, exc.colno) from None
    except _Refused as exc:
        raise JSONError(exc.reason, *_where(text, exc.token)) from None
    if _SURROGATE_ESCAPE.search(text):
        _check_text(value, text)
    return value


class _Refused(Exception):
    def __init__(self, reason: str, token: str) -> None:
        super().__init__(reason)
        self.reason, self.token = reason, token


def _text(data: bytes) -> str:
    for bom, name in _BOMS.items():
        if data.startswith(bom):
            raise JSONError(f"the text is {name}; send UTF-8")
    if len(data) >= 2 and (data[0] == 0 or data[1] == 0):
        raise JSONError("the text looks like UTF-16 or UTF-32; send UTF-8")
    try:
        return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        head = data[: exc.start].decode("utf-8", "replace")
        byte = data[exc.start]
        raise JSONError(f"not UTF-8 (byte {byte:#04x})", *_position(head)) from None


def _check_depth(text: str, limit: int) -> None:
    """Refuse nesting deeper than ``limit`` before the parser recurses into it (strings are
    skipped whole, so the scan runs at the regular expression engine's speed)."""
    depth = 0
    for token in _STRUCTURE.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > limit:
                where = _position(text[: token.start()])
                raise JSONError(f"nested more than {limit} deep", *where)
        elif char in "]}":
            depth -= 1


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number", name)


def _integer(digits: str) -> int | decimal.Decimal:
    """An ``int``; past :data:`LONG_DIGITS` digits an exact :class:`decimal.Decimal` (making
    an ``int`` of a megabyte of digits takes Python seconds, a ``Decimal`` microseconds)."""
    return int(digits) if len(digits) <= LONG_DIGITS else decimal.Decimal(digits)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"{text[:20]} is too large for a number", text)
    return value


def _check_text(value: Any, text: str) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            found = _SURROGATE_ESCAPE.search(text)
            where = _where(text, found.group(0)) if found else (1, 1)
            raise JSONError("a lone surrogate (\\ud800-\\udfff) is not text", *where) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, text)
            _check_text(item, text)
    elif isinstance(value, list):
        for item in value:
            _check_text(item, text)


def _where(text: str, token: str) -> tuple[int, int]:
    index = text.find(token)
    return _position(text[: max(index, 0)])


def _position(head: str) -> tuple[int, int]:
    line = head.count("\n") + 1
    return line, len(head) - (head.rfind("\n") + 1) + 1
