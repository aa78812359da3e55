"""The strict JSON reading of the whole suite: what a JavaScript ``JSON.parse`` would accept.

:func:`install` (called by ``conftest.py`` before any test) makes :func:`json.loads` — and so
:func:`json.load` and requests' ``Response.json()``, which call it — refuse ``NaN``,
``Infinity`` and ``-Infinity`` and bytes that are not UTF-8, unless the caller passes its own
``parse_constant`` (audioprep's own strict parser does). Every JSON document a test reads from
audioprep, its servers or its files is therefore checked against RFC 8259 as it is read.
"""

from __future__ import annotations

import json
from typing import Any

_loads = json.loads


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (RFC 8259 has no NaN or infinities)")


def loads(text: str | bytes | bytearray, *args: Any, **kwargs: Any) -> Any:
    """:func:`json.loads`, refusing what RFC 8259 refuses."""
    kwargs.setdefault("parse_constant", _refuse)
    if isinstance(text, bytes | bytearray):
        text = bytes(text).removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    return _loads(text, *args, **kwargs)


def install() -> None:
    """Make every ``json.loads`` of the test process strict."""
    json.loads = loads
