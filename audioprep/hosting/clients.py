"""Hosting for ``audioprep run``: one S3 client per worker thread, reused for every item.

This module owns where a run uploads (:class:`HostingTarget`, a picklable value that also
travels to Dask workers) and the uploader each worker thread keeps (:func:`uploader_for`).
:func:`audioprep.hosting.upload.upload_files` builds a boto3 client and checks the bucket on every
call, which costs more than a small prompt's upload; a run makes those once per thread and then
uploads each file with the same steps as ``audioprep upload`` (content-addressed key, reuse by
SHA-256, one PutObject, public access, an anonymous download that must return the same bytes).

Credentials come from the standard AWS chain, except in ``--sandbox`` mode, where the target
carries fake ones for the local S3 and they are given to that one client only: the process
environment and the user's AWS files are never touched.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from audioprep.config import DEFAULT_PREFIX
from audioprep.hosting import upload as hosting
from audioprep.hosting.keys import PublicMode
from audioprep.hosting.public import anonymous_session
from audioprep.hosting.upload import UploadOptions, UploadResult

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class HostingTarget:
    """Where and how a run hosts audio. ``label`` identifies the store in stage fingerprints
    (an object uploaded to one store is not reused for another); ``credentials`` are set only
    for the sandbox's local S3 and never shown; ``empty`` says the bucket was created empty
    for this run (the sandbox's), so no object can be reused and none is looked for."""

    bucket: str
    prefix: str = DEFAULT_PREFIX
    endpoint_url: str | None = None
    region: str | None = None
    public_mode: str = PublicMode.AUTO.value
    label: str = ""
    credentials: tuple[str, str] | None = field(default=None, repr=False)
    empty: bool = False

    def upload_options(self) -> UploadOptions:
        """The options of ``audioprep upload`` for this target (the run inspects files itself)."""
        return UploadOptions(
            bucket=self.bucket,
            prefix=self.prefix,
            endpoint_url=self.endpoint_url,
            region=self.region,
            public_mode=PublicMode(self.public_mode),
            inspect=False,
            reuse=not self.empty,
        )


def make_client(target: HostingTarget) -> Any:
    """The boto3 S3 client for ``target``: :func:`audioprep.hosting.upload.make_s3_client`, or with
    the target's own credentials when it has them (the sandbox)."""
    options = target.upload_options()
    if target.credentials is None:
        return hosting.make_s3_client(options)
    import boto3

    key, secret = target.credentials
    session = boto3.session.Session(
        aws_access_key_id=key, aws_secret_access_key=secret, region_name=target.region
    )
    config = hosting.s3_config(replace(options, path_style=True))
    return session.client("s3", endpoint_url=target.endpoint_url, config=config)


class Uploader:
    """An S3 client, an anonymous session and the bucket's facts, looked up once.

    ``shared`` (the client and the bucket's region) is shared by all threads (boto3 clients
    are thread-safe; building one costs more than a small upload); the anonymous session is
    the uploader's own. Raises
    :class:`~audioprep.errors.ConfigError` / :class:`~audioprep.errors.ServiceUnavailable` on
    creation when the bucket cannot be used, like ``audioprep upload`` does.
    """

    def __init__(self, target: HostingTarget, shared: SharedClient | None = None) -> None:
        self.options = hosting.validated(target.upload_options())
        with hosting.s3_errors(self.options):
            shared = shared or SharedClient.for_target(target)
            self._http = anonymous_session()
            self._session = hosting.UploadSession(
                self.options, shared.client, self._http, (shared.region,)
            )

    def upload(self, path: Path) -> UploadResult:
        """Upload (or reuse), publish and verify one file; per-file failures are data."""
        with hosting.s3_errors(self.options):
            return self._session.upload(path)

    def close(self) -> None:
        """Close the anonymous HTTP session."""
        self._http.close()


@dataclass(frozen=True, slots=True)
class SharedClient:
    """A target's client and its bucket's region, checked once for all of a run's threads."""

    client: Any
    region: str | None

    @classmethod
    def for_target(cls, target: HostingTarget) -> SharedClient:
        """Build the client and check the bucket (raises like ``audioprep upload``)."""
        options = hosting.validated(target.upload_options())
        with hosting.s3_errors(options):
            client = make_client(target)
            return cls(client, hosting.bucket_region(client, options))


_local = threading.local()
_clients: dict[HostingTarget, SharedClient] = {}
_clients_lock = threading.Lock()


def uploader_for(target: HostingTarget) -> Uploader:
    """This thread's uploader for ``target`` (made on first use, around the process's one
    client and bucket check for the target)."""
    cache: dict[HostingTarget, Uploader] | None = getattr(_local, "uploaders", None)
    if cache is None:
        cache = _local.uploaders = {}
    found = cache.get(target)
    if found is None:
        found = cache[target] = Uploader(target, _client(target))
        log.debug("uploader for s3://%s ready in thread %s", target.bucket, threading.get_ident())
    return found


class Warmer:
    """Builds a target's shared client on a background thread, once, when :meth:`start` is
    first called: in ``--sandbox`` mode that also starts moto (with boto3's client ~0.7 s of
    CPU, measured in a run), which otherwise begins only when the first upload asks, so that
    the made items then queue for it (and the last of them are hosted later). A failure is
    left for that first upload to raise (the client is cached only when it was built)."""

    def __init__(self, target: HostingTarget) -> None:
        self.target = target
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start building (no-op after the first call)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._build, name="audioprep-warm")
                self._thread.daemon = True
                self._thread.start()

    def _build(self) -> None:
        try:
            _client(self.target)
        except Exception as exc:  # the first upload raises it, with its message and hint
            log.debug("warming the S3 client for s3://%s failed: %s", self.target.bucket, exc)

    def join(self, timeout_s: float = 60.0) -> None:
        """Wait (bounded) for a build in progress, so that :func:`release` forgets it."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout_s)


def release(target: HostingTarget) -> None:
    """Forget the client kept for ``target`` (at the end of a run; threads' uploaders go with
    their threads)."""
    with _clients_lock:
        _clients.pop(target, None)


def _client(target: HostingTarget) -> SharedClient:
    with _clients_lock:
        shared = _clients.get(target)
        if shared is None:
            shared = _clients[target] = SharedClient.for_target(target)
        return shared
