"""The sandbox's lifecycle: wire the parts together, start them, stop them cleanly.

This module owns :class:`Sandbox`: it opens the store, resumes pending postbacks, starts the
postback dispatcher and the HTTP server (on a background thread, so tests and ``run --sandbox``
can use it in-process), and tears everything down in the reverse order on :meth:`Sandbox.stop`.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Any

from audioprep.net.serving import ServerThread
from audioprep.sandbox.audio import AudioJudge
from audioprep.sandbox.options import FaultState, SandboxOptions
from audioprep.sandbox.postbacks import PostbackDispatcher
from audioprep.sandbox.server import Backend, SandboxHTTPServer
from audioprep.sandbox.service import VoiceService
from audioprep.sandbox.store import Store

log = logging.getLogger(__name__)


class Sandbox:
    """A local Voice API. ``with Sandbox(SandboxOptions()) as sb: requests.post(sb.url + ...)``.

    :meth:`start` returns the base URL (``http://127.0.0.1:<port>``); the trigger endpoint is
    ``<url>/1/voice``. :attr:`faults` changes injected faults at runtime.
    """

    def __init__(self, options: SandboxOptions | None = None) -> None:
        self.options = options or SandboxOptions()
        self.faults = FaultState(self.options.faults)
        self._store: Store | None = None
        self._dispatcher: PostbackDispatcher | None = None
        self._service: VoiceService | None = None
        self._server: SandboxHTTPServer | None = None
        self._running: ServerThread | None = None
        self._stopped = threading.Event()
        self._url = ""

    @property
    def url(self) -> str:
        """The base URL (empty before :meth:`start`)."""
        return self._url

    @property
    def store(self) -> Store:
        """The job store (for tests and benchmarks); only while running."""
        if self._store is None:
            raise RuntimeError("the sandbox is not running")
        return self._store

    def start(self) -> str:
        """Open the store, start postbacks and the server; returns the base URL."""
        if self._server is not None:
            return self._url
        opts = self.options
        store = self._store = Store(opts.db)
        dispatcher = self._dispatcher = PostbackDispatcher(
            store,
            attempts=opts.postback_attempts,
            backoff_s=opts.postback_backoff_s,
            timeout_s=opts.postback_timeout_s,
            workers=opts.postback_workers,
        )
        judge = opts.audio_judge or AudioJudge(cache=opts.audio_cache)
        self._service = VoiceService(opts, store, dispatcher, judge, self.faults)
        backend = Backend(self._service, self.faults, opts.tokens, self.stats, store.job_ids)
        try:
            self._server = SandboxHTTPServer((opts.host, opts.port), backend)
        except OSError:
            store.close()
            raise
        dispatcher.start()
        dispatcher.submit(store.pending_postbacks())
        self._running = ServerThread(self._server)
        self._url = self._running.url
        log.info("sandbox listening on %s", self._url)
        return self._url

    def stop(self) -> None:
        """Stop serving, finish requests and postback attempts in flight, close the store."""
        if self._server is None:
            return
        self._server = None
        if self._running is not None:
            self._running.stop()
            self._running = None
        if self._dispatcher is not None:
            self._dispatcher.stop()
        if self._store is not None:
            self._store.close()
        self._store = None
        self._stopped.set()
        log.info("sandbox stopped")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until :meth:`stop` (Ctrl-C interrupts); True when it has stopped."""
        return self._stopped.wait(timeout)

    def stats(self) -> dict[str, Any]:
        """Counters (requests, answers per HTTP status and code, jobs) and stored totals."""
        found: dict[str, Any] = {}
        if self._service is not None:
            found["counters"] = self._service.counters.snapshot()
        if self._store is not None:
            found["store"] = self._store.counts()
        if self._dispatcher is not None:
            found["postbacks"] = {
                "attempted": self._dispatcher.attempted,
                "delivered": self._dispatcher.delivered,
                "failed": self._dispatcher.failed,
                "waiting": self._dispatcher.pending(),
            }
        return found

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
