"""HTTP plumbing every stage shares: URLs shown without secrets, client sessions, servers.

urls says what a URL is and redacts it; sessions builds the requests sessions (loopback goes
direct, proxies honoured otherwise); serving runs the in-process HTTP servers of the sandbox,
its S3 and the postback receiver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audioprep.lazy import face

if TYPE_CHECKING:
    from audioprep.net.serving import ServerThread, wsgi_server
    from audioprep.net.sessions import PerThread, is_loopback, session
    from audioprep.net.urls import is_url, redact_text, redact_url

__all__ = [
    "PerThread",
    "ServerThread",
    "is_loopback",
    "is_url",
    "redact_text",
    "redact_url",
    "session",
    "wsgi_server",
]

__getattr__, __dir__ = face(__name__)
