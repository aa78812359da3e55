"""Executors of ``audioprep run``: where the per-item work runs, and how Ctrl-C stops it.

This module owns the two ways of running :func:`audioprep.run.stages.prepare_item` over a run's
items; the caller (:mod:`audioprep.run.pipeline`) receives every result through an :class:`ItemSink`
and keeps the state, the journal and the report.

``docs/run.md`` (*Executors*) has the details and the measurements.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from typing import Any, Protocol

from audioprep.audio import ffmpeg
from audioprep.errors import ConfigError, ServiceUnavailable
from audioprep.run.model import Stage
from audioprep.run.stages import (
    HOST_STAGES,
    MAKE_STAGES,
    ItemFacts,
    ItemRun,
    ItemTask,
    Prepared,
    failed,
    prepare_item,
)
from audioprep.run.state import Marker

log = logging.getLogger(__name__)


class ItemSink(Protocol):
    """What an executor reports to."""

    stop: threading.Event

    def record(self, source_id: str, marker: Marker) -> None:
        """A stage finished (local executor: committed at once)."""

    def finish(self, prepared: Prepared, *, committed: bool) -> None:
        """An item's work is back (``committed``: its markers were already recorded)."""


class Executor(Protocol):
    """Runs every task; raises KeyboardInterrupt (after stopping cleanly) on Ctrl-C."""

    def run(self, tasks: Sequence[ItemTask], sink: ItemSink) -> None:
        """Run ``tasks``, reporting each to ``sink``."""


def make_threads(jobs: int) -> int:
    """Threads taking items to their fixed files: ``jobs`` in ffmpeg, the others downloading
    the next sources, so that a free ffmpeg slot always finds an item ready for it."""
    return min(64, 2 * jobs + 2)


def io_threads(jobs: int) -> int:
    """Threads uploading, verifying and submitting (each mostly waits on the network)."""
    return min(64, 3 * jobs + 4)


def wait_all(futures: Sequence[Future[Any]], stop: threading.Event, *, cancel: bool = True) -> None:
    """Wait for ``futures`` in slices (so Ctrl-C is seen); on Ctrl-C set ``stop``, cancel what
    has not started (unless not ``cancel``: work that ends at once when ``stop`` is set, and
    reports itself) and re-raise. An exception in a future (a bug) is re-raised too."""
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(pending, timeout=0.25, return_when=FIRST_EXCEPTION)
            for future in done:
                future.result()
    except KeyboardInterrupt:
        stop.set()
        for future in futures if cancel else ():
            future.cancel()
        raise


class LocalExecutor:
    """Threads on this machine; ``jobs`` CPU slots."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs

    def run(self, tasks: Sequence[ItemTask], sink: ItemSink) -> None:
        """Run every task on the pools; markers are committed stage by stage."""
        # The host pool is left last: items still being made on Ctrl-C hand themselves on.
        with (
            ffmpeg.limit(self.jobs),
            ThreadPoolExecutor(io_threads(self.jobs), thread_name_prefix="audioprep-host") as host,
            ThreadPoolExecutor(make_threads(self.jobs), thread_name_prefix="audioprep") as make,
        ):
            handed: list[Future[None]] = []
            made: list[Future[None]] = []
            try:
                # (extend keeps the futures handed out before a Ctrl-C, to be cancelled)
                made.extend(make.submit(self._make, task, sink, host, handed) for task in tasks)
                wait_all(made, sink.stop)
                # Every item is made (or failed), so ``handed`` is complete. Its futures are
                # left to run on Ctrl-C: an item whose stop is set ends at once, reported.
                wait_all(handed, sink.stop, cancel=False)
            except KeyboardInterrupt:  # also while the items were being handed out
                sink.stop.set()
                for future in made:
                    future.cancel()
                raise

    @staticmethod
    def _make(
        task: ItemTask, sink: ItemSink, host: ThreadPoolExecutor, handed: list[Future[None]]
    ) -> None:
        if sink.stop.is_set():
            return
        run = ItemRun(task, sink.record)
        run.advance(MAKE_STAGES, sink.stop)
        handed.append(host.submit(LocalExecutor._host, run, sink))

    @staticmethod
    def _host(run: ItemRun, sink: ItemSink) -> None:
        run.advance(HOST_STAGES, sink.stop)
        sink.finish(run.prepared(), committed=True)


class DaskExecutor:
    """Per-item work on a Dask cluster; state, journal and submissions stay here."""

    def __init__(self, scheduler: str | None, jobs: int, *, processes: bool = True) -> None:
        self.scheduler = scheduler
        self.jobs = jobs
        self.processes = processes

    def run(self, tasks: Sequence[ItemTask], sink: ItemSink) -> None:
        """Submit every task to the cluster; commit and submit results as they arrive."""
        _dask()  # fails early, with the fix, when the extra is missing
        with ExitStack() as stack:
            client = stack.enter_context(self._client())
            # pure=False: a fresh random key per task, so runs sharing a cluster never share
            # a result, and the same item run again is run again.
            futures = {client.submit(prepare_item, task, pure=False): task for task in tasks}
            pool = stack.enter_context(ThreadPoolExecutor(io_threads(self.jobs)))
            handed: list[Future[Any]] = []
            try:
                for future in _dask().as_completed(list(futures)):
                    prepared = _result(future, futures[future])
                    handed.append(pool.submit(sink.finish, prepared, committed=False))
            except KeyboardInterrupt:
                sink.stop.set()
                client.cancel(list(futures))
                raise
            wait_all(handed, sink.stop)

    def _client(self) -> Any:
        dask = _dask()
        try:
            if self.scheduler:
                return dask.Client(self.scheduler, timeout="10s")
            cluster = dask.LocalCluster(
                n_workers=1,
                threads_per_worker=self.jobs,
                processes=self.processes,
                dashboard_address=None,
            )
            return _ClusterClient(dask.Client(cluster), cluster)
        except OSError as exc:
            raise ServiceUnavailable(
                f"cannot reach the Dask scheduler {self.scheduler}: {exc}",
                hint="start one with 'dask scheduler' and workers with 'dask worker ADDRESS'",
            ) from None


def _dask() -> Any:
    """The ``distributed`` module (imported on use: it is an optional extra, and untyped)."""
    try:
        import distributed
    except ImportError as exc:
        raise ConfigError(
            f"--executor dask needs the 'distributed' package ({exc})",
            hint="pip install 'audioprep[dask]'",
        ) from None
    return distributed


class _ClusterClient:
    """A client with the local cluster it owns: closing one closes both."""

    def __init__(self, client: Any, cluster: Any) -> None:
        self.client, self.cluster = client, cluster

    def __enter__(self) -> Any:
        return self.client

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.cluster.close()


def _result(future: Any, task: ItemTask) -> Prepared:
    """The worker's result, or a failed item when the worker could not run it."""
    try:
        prepared: Prepared = future.result()
        return prepared
    except Exception as exc:
        log.warning("%s: the Dask task failed: %s", task.shown, exc)
        return Prepared(
            index=task.index,
            source_id=task.source_id,
            facts=ItemFacts(),
            outcomes=(failed(Stage.CHECK, f"the Dask worker failed: {type(exc).__name__}: {exc}"),),
        )
