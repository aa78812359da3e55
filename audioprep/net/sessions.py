"""HTTP sessions for everything audioprep downloads or sends: loopback addresses go direct.

This module owns one network rule. A proxy in the environment (``HTTP_PROXY``, ``HTTPS_PROXY``,
``ALL_PROXY``) is honoured with requests' and botocore's usual rules, ``NO_PROXY`` included,
except for loopback hosts (``localhost``, ``127.0.0.0/8``, ``::1``): a proxy would connect to
*its own* loopback, never ours. Without this, ``run --sandbox`` (a local S3, the Voice API
sandbox and a postback receiver, all on 127.0.0.1) failed on any machine with a proxy set and
no ``NO_PROXY`` for 127.0.0.1, which is most corporate laptops.

Every :class:`requests.Session` audioprep makes comes from :func:`session` (or, one per
thread, from a :class:`PerThread`); every boto3 client's ``Config(proxies=...)`` from
:func:`botocore_proxies`.
"""

from __future__ import annotations

import ipaddress
import threading
from typing import Any
from urllib.parse import urlsplit

import requests


def is_loopback(url: str) -> bool:
    """Whether ``url``'s host is this machine's loopback (a name or an address)."""
    host = urlsplit(url).hostname
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Session(requests.Session):
    """A requests session that never sends a loopback request through a proxy."""

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """As :meth:`requests.Session.request`; a loopback URL gets ``NO_PROXY`` for its host
        (which requests then also applies to the environment's proxies)."""
        text = url.decode() if isinstance(url, bytes) else url
        if kwargs.get("proxies") is None and is_loopback(text):
            kwargs["proxies"] = {"no_proxy": urlsplit(text).hostname or ""}
        return super().request(method, url, *args, **kwargs)


def session() -> requests.Session:
    """A new session following this module's rule."""
    return Session()


class PerThread:
    """One :func:`session` per thread, made on first use: a session's connection pool may not
    be shared across threads, and keeping one per thread keeps its connections alive."""

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self) -> requests.Session:
        """This thread's session."""
        found: requests.Session | None = getattr(self._local, "session", None)
        if found is None:
            found = self._local.session = session()
        return found


def botocore_proxies(endpoint_url: str | None) -> dict[str, str] | None:
    """``Config(proxies=...)`` for a client of ``endpoint_url``: none at all for a loopback
    endpoint, botocore's own choice (the environment) otherwise."""
    return {} if endpoint_url and is_loopback(endpoint_url) else None
