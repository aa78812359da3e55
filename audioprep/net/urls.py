"""URLs as audioprep shows them: what counts as one, and the same URL without its secrets.

Presigned URLs carry their signature and credentials in the query string, and a URL may carry
a password in its user-info; neither is ever shown. Every message, log line and report that
names a URL passes it through :func:`redact_url` (free text through :func:`redact_text`), and
urllib3's own debug line of a request is filtered at the source.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

_QUERY_RE = re.compile(r"\?[^\s'\"<>)]*")
_USERINFO_RE = re.compile(r"(//)[^/@\s]*@")
#: ``postbacks serve`` takes its secret as the last segment of ``/postback/<secret>``.
_POSTBACK_SECRET_RE = re.compile(r"(/postback/)[^\s\"'?/<>]+")


def is_url(target: str) -> bool:
    """Whether ``target`` is meant as a URL rather than a file name or path."""
    return "://" in target or target.lower().startswith(("http:", "https:"))


def redact_url(url: str) -> str:
    """``url`` without query string, fragment or user-info: safe for messages and logs.

    Never raises, whatever ``url`` holds.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO_RE.sub(r"\1", re.split(r"[?#]", url, maxsplit=1)[0])
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def without_userinfo(text: str) -> str:
    """``text`` with every URL's ``user:password@`` removed (the rest as it is)."""
    return _USERINFO_RE.sub(r"\1", text)


def without_path(url: str) -> str:
    """``url`` without user-info, query *and* path: a postback receiver's secret may be the
    last path segment (as ``postbacks serve`` takes it). Never raises."""
    scheme, sep, rest = redact_url(url).partition("://")
    if not sep:
        return "<hidden>"
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host}/<hidden>" if slash and path else f"{scheme}://{host}{slash}"


def redact_text(text: str) -> str:
    """Remove query strings, user-info and postback secret paths from free text (exception
    texts, log lines)."""
    text = _POSTBACK_SECRET_RE.sub(r"\1<hidden>", _QUERY_RE.sub("", text))
    return _USERINFO_RE.sub(r"\1", text)


class _RedactQueryFilter(logging.Filter):
    """Rewrites urllib3's debug request line (``"GET /a.mp3?X-Amz-Signature=..."``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args or "?" in str(record.msg):
            record.msg = redact_text(record.getMessage())
            record.args = None
        return True


def _install_log_filter() -> None:
    """urllib3 logs request paths, query included, at debug level; redact them at the source."""
    for name in ("urllib3.connectionpool", "urllib3.util.retry"):
        target = logging.getLogger(name)
        if not any(isinstance(f, _RedactQueryFilter) for f in target.filters):
            target.addFilter(_RedactQueryFilter())


_install_log_filter()
