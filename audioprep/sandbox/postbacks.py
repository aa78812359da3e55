"""Delivering postbacks: a scheduler thread, a small worker pool, bounded retries with backoff.

This module owns *when* and *how* a stored postback is POSTed. One scheduler thread keeps a heap
of due deliveries and hands them to a thread pool; a failed attempt (connection error, timeout,
any non-2xx answer) is retried after ``backoff_s``, ``2 × backoff_s``, ``4 × backoff_s``… until
``attempts`` tries were made, then given up. A call's postbacks go out in order: its final one is
scheduled only after its ringing one was delivered or given up. Results are written back to the
store. :meth:`PostbackDispatcher.stop` waits for attempts in flight (bounded by the timeout).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import requests

from audioprep import jsonio
from audioprep.net import sessions
from audioprep.net.urls import without_path
from audioprep.sandbox.store import PostbackRecord, Store
from audioprep.version import __version__

log = logging.getLogger(__name__)

_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "User-Agent": f"audioprep-sandbox/{__version__}",
}


@dataclass(order=True, slots=True)
class _Due:
    """A delivery waiting in the heap; ``then`` are the same call's later postbacks."""

    due: float
    seq: int
    record: PostbackRecord = field(compare=False)
    then: tuple[PostbackRecord, ...] = field(compare=False, default=())


#: The longest the scheduler sleeps at once before looking at its heap again (seconds).
_LONGEST_WAIT_S = 3600.0


class PostbackDispatcher:
    """Schedules and sends postbacks; thread-safe; ``start`` once, ``stop`` once."""

    def __init__(
        self,
        store: Store,
        *,
        attempts: int = 4,
        backoff_s: float = 1.0,
        timeout_s: float = 5.0,
        workers: int = 8,
    ) -> None:
        self._store = store
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        self._sessions = sessions.PerThread()  # one connection per receiver, kept alive
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="sandbox-postback")
        self._cond = threading.Condition()
        self._heap: list[_Due] = []
        self._seq = itertools.count()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sandbox-scheduler", daemon=True)
        self.delivered = 0
        self.failed = 0
        self.attempted = 0

    def start(self) -> None:
        """Start the scheduler thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop scheduling, wait for attempts in flight; undelivered postbacks stay pending."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, records: Sequence[PostbackRecord]) -> None:
        """Schedule stored postbacks; each call's are chained in the order given."""
        chains: dict[str, list[PostbackRecord]] = {}
        for record in records:
            chains.setdefault(record.message_id, []).append(record)
        with self._cond:
            for first, *rest in chains.values():
                self._push(first.due_at, first, tuple(rest))
            self._cond.notify_all()

    def pending(self) -> int:
        """How many deliveries are waiting (not counting chained ones or those in flight)."""
        with self._cond:
            return len(self._heap)

    def _push(self, due: float, record: PostbackRecord, then: tuple[PostbackRecord, ...]) -> None:
        heapq.heappush(self._heap, _Due(due, next(self._seq), record, then))

    def _run(self) -> None:
        while True:
            with self._cond:
                item = self._next_due()
                if item is None:
                    return
            try:
                self._pool.submit(self._deliver, item)
            except RuntimeError:  # the pool was shut down under us
                return

    def _next_due(self) -> _Due | None:
        """Wait (holding the condition) until a delivery is due; None when stopping."""
        while not self._stopping:
            now = time.time()
            if self._heap and self._heap[0].due <= now:
                return heapq.heappop(self._heap)
            # A wait is capped: a due time far in the future (a timeout of centuries) must not
            # overflow the clock and end this thread, which serves every later job too.
            self._cond.wait(min(self._heap[0].due - now, _LONGEST_WAIT_S) if self._heap else None)
        return None

    def _deliver(self, item: _Due) -> None:
        try:
            self._attempt(item)
        except Exception:  # a bug must not vanish inside the pool
            log.exception("postback delivery of %s crashed", item.record.message_id)

    def _attempt(self, item: _Due) -> None:
        """One attempt; then a retry, the call's next postback, or nothing."""
        record = replace(item.record, attempts=item.record.attempts + 1)
        error = self._post(record)
        with self._cond:
            self.attempted += 1
        if error is not None and record.attempts < self._attempts:
            delay = self._backoff_s * 2 ** (record.attempts - 1)
            log.info("postback %s failed (%s); retry in %.2f s", record.kind, error, delay)
            self._store.update_postback(replace(record, last_error=error))
            self._schedule(time.time() + delay, replace(record, last_error=error), item.then)
            return
        final = replace(record, state="delivered" if error is None else "failed", last_error=error)
        self._store.update_postback(final)
        with self._cond:
            if error is None:
                self.delivered += 1
            else:
                self.failed += 1
                log.warning("postback %s given up after %d attempts", record.kind, record.attempts)
        if item.then:
            nxt, *rest = item.then
            self._schedule(max(nxt.due_at, time.time()), nxt, tuple(rest))

    def _schedule(
        self, due: float, record: PostbackRecord, then: tuple[PostbackRecord, ...]
    ) -> None:
        with self._cond:
            if not self._stopping:
                self._push(due, record, then)
                self._cond.notify_all()

    def _post(self, record: PostbackRecord) -> str | None:
        """One attempt; None on a 2xx answer, else what went wrong."""
        data = jsonio.dumps(record.body).encode("utf-8")
        try:
            response = self._sessions.get().post(
                record.url,
                data=data,
                headers=_HEADERS,
                timeout=self._timeout_s,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return type(exc).__name__
        with response:
            ok = 200 <= response.status_code < 300
        log.info(
            "postback %s %s -> %s: HTTP %d",
            record.kind,
            record.message_id,
            without_path(record.url),  # the receiver's secret may be its path
            response.status_code,
        )
        return None if ok else f"HTTP {response.status_code}"
