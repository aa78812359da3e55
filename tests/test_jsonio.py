"""``audioprep.jsonio``: the one encoder and the one strict parser."""

from __future__ import annotations

import decimal
import json
import time

import pytest

from audioprep.jsonio import LONG_DIGITS, MAX_DEPTH, JSONError, dumps, loads


@pytest.mark.parametrize(
    ("text", "reason", "where"),
    [
        (b'{"a": NaN}', "NaN is not a JSON number", (1, 7)),
        (b"[1,\n -Infinity]", "-Infinity is not a JSON number", (2, 2)),
        (b"[1e999]", "1e999 is too large for a number", (1, 2)),
        (b'{"a": "\\udc00"}', "a lone surrogate", (1, 8)),
        (b'["ok", "\xff"]', "not UTF-8 (byte 0xff)", (1, 9)),
        ('["é"]'.encode("utf-16"), "the text is UTF-16; send UTF-8", (1, 1)),
        ('["é"]'.encode("utf-32"), "the text is UTF-32; send UTF-8", (1, 1)),
        (b"[" * (MAX_DEPTH + 1), f"nested more than {MAX_DEPTH} deep", (1, MAX_DEPTH + 1)),
        (b'{"a": 1,}', "Expecting property name enclosed in double quotes", (1, 9)),
    ],
)
def test_what_is_refused_and_where(text: bytes, reason: str, where: tuple[int, int]) -> None:
    with pytest.raises(JSONError) as caught:
        loads(text)
    assert caught.value.reason.startswith(reason)
    assert (caught.value.line, caught.value.column) == where
    assert caught.value.message.startswith(f"not valid JSON at line {where[0]}, column {where[1]}")


def test_what_is_accepted() -> None:
    assert loads(b'\xef\xbb\xbf{"a": [1, 2.5, "\\u00e9", "\\ud83d\\ude00"]}') == {
        "a": [1, 2.5, "é", "😀"]
    }
    assert loads('["[{not a bracket"]') == ["[{not a bracket"]  # strings are skipped whole
    assert loads(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None


def test_integers_of_any_length_are_exact_and_cheap() -> None:
    short = loads(b"[" + b"7" * LONG_DIGITS + b"]")[0]
    assert isinstance(short, int) and short == int("7" * LONG_DIGITS)
    started = time.monotonic()
    (huge,) = loads(b"[" + b"9" * 2_000_000 + b"]")
    assert time.monotonic() - started < 2.0
    assert isinstance(huge, decimal.Decimal) and huge == decimal.Decimal("9" * 2_000_000)
    assert dumps([huge]) == "[" + "9" * 2_000_000 + "]"
    assert dumps({"n": 10**13000}).startswith('{"n": 1000')


def test_the_encoder_writes_only_rfc_8259() -> None:
    for bad in (float("nan"), float("inf"), float("-inf"), decimal.Decimal("NaN")):
        with pytest.raises(ValueError, match="not a JSON number"):
            dumps({"x": bad})
    text = dumps({"path": "a\udcffb.mp3", "lone": "\ud800"}, indent=2)
    assert json.loads(text) == {"path": "a\ufffdb.mp3", "lone": "\ufffd\ufffd\ufffd"}
    text.encode("utf-8")  # never a surrogate in what we write
    assert dumps({"b": 1, "a": [1]}, compact=True, sort_keys=True) == '{"a":[1],"b":1}'
    assert dumps({"token": "audioprep-integer-x-0"}) == '{"token": "audioprep-integer-x-0"}'
