"""The submission journal: intents before sending, settlements after, and what blocks a resend."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from audioprep.send.journal import BLOCKING, Intent, Journal, Settlement, State
from audioprep.walmode import enable_wal


def _intent(job_id: str = "job-0001", content: str = "c1", payload: bytes = b"{}") -> Intent:
    return Intent(
        job_id=job_id,
        content_sha256=content,
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        payload=payload,
        endpoint="http://127.0.0.1/1/voice",
        destinations=1,
    )


def test_intent_is_committed_before_anything_is_sent(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal(path) as journal:
        claim = journal.claim(_intent())
        assert claim.entry is not None and claim.previous is None
        # Another connection (another process) sees the intent at once: it is committed.
        other = sqlite3.connect(path)
        assert other.execute("SELECT job_id, state FROM submissions").fetchall() == [
            ("job-0001", "intent")
        ]
        other.close()


def test_settle_records_the_outcome(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3") as journal:
        claim = journal.claim(_intent())
        assert claim.entry is not None
        entry = journal.settle(
            claim.entry.id,
            Settlement(
                state=State.ACCEPTED,
                api_job_id="a" * 36,
                http_status=200,
                status_code=0,
                description="queued",
                message_ids={"35699000001": "1" * 20},
                attempts=2,
            ),
        )
    assert entry.state is State.ACCEPTED and entry.attempts == 2
    assert entry.message_ids == {"35699000001": "1" * 20}
    assert entry.to_dict()["api_job_id"] == "a" * 36


@pytest.mark.parametrize("state", list(State))
def test_what_blocks_a_resend(tmp_path: Path, state: State) -> None:
    with Journal(tmp_path / "j.sqlite3") as journal:
        first = journal.claim(_intent())
        assert first.entry is not None
        if state is not State.INTENT:
            journal.settle(first.entry.id, Settlement(state=state))
        again = journal.claim(_intent())
    assert (again.entry is None) is (state in BLOCKING)
    assert again.previous is not None and again.previous.state is state


def test_same_content_under_another_job_id_is_blocked(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3") as journal:
        journal.claim(_intent("job-0001", "same"))
        claim = journal.claim(_intent("job-0002", "same"))
    assert claim.entry is None and claim.previous is not None
    assert claim.previous.job_id == "job-0001"


def test_force_writes_a_new_intent_with_a_note(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3") as journal:
        journal.claim(_intent())
        forced = journal.claim(_intent(), force=True)
        assert forced.entry is not None and forced.entry.forced
        assert forced.entry.note == "forced over submission 1 (intent)"
        assert len(journal.entries()) == 2


def test_an_old_acceptance_still_blocks_after_a_rejected_forced_resend(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3") as journal:
        first = journal.claim(_intent())
        assert first.entry is not None
        journal.settle(first.entry.id, Settlement(state=State.ACCEPTED))
        forced = journal.claim(_intent(), force=True)
        assert forced.entry is not None
        journal.settle(forced.entry.id, Settlement(state=State.REJECTED))
        again = journal.claim(_intent())
    assert again.entry is None
    assert again.previous is not None and again.previous.state is State.ACCEPTED


def test_a_crash_leaves_intent_which_a_new_process_treats_as_blocking(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    journal.claim(_intent())
    del journal  # no settle, no close: the process "died"
    with Journal(path) as reopened:
        claim = reopened.claim(_intent())
    assert claim.entry is None
    assert claim.previous is not None and claim.previous.state is State.INTENT


def test_queries(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3") as journal:
        for job_id in ("camp-01", "camp-01-1", "camp-01-2", "camp-011", "camp-01-x", "camp-01-٣"):
            claim = journal.claim(_intent(job_id, content=job_id))
            assert claim.entry is not None
            journal.settle(
                claim.entry.id,
                Settlement(
                    state=State.ACCEPTED,
                    api_job_id=job_id.ljust(36, "x"),
                    message_ids={"35699000001": job_id.ljust(20, "9")},
                ),
            )
        assert [e.job_id for e in journal.by_job_id("camp-01")] == [
            "camp-01",
            "camp-01-1",
            "camp-01-2",
        ]
        assert [e.job_id for e in journal.by_api_job_id("camp-011".ljust(36, "x"))] == ["camp-011"]
        assert [e.job_id for e in journal.by_message_id("camp-01-2".ljust(20, "9"))] == [
            "camp-01-2"
        ]
    with Journal(tmp_path / "j.sqlite3", read_only=True) as reader:
        assert len(reader.entries()) == 6


def test_threads_opening_a_new_journal_together_all_get_it(tmp_path: Path) -> None:
    # Switching a new file to WAL answered "database is locked" at once (no busy wait) to a
    # connection that raced another: two items submitted together failed. 1 try in ~30.
    for trial in range(40):
        path = tmp_path / f"t{trial}" / "journal.sqlite3"
        barrier = threading.Barrier(8)

        def open_it(path: Path = path, barrier: threading.Barrier = barrier) -> str:
            barrier.wait()
            with Journal(path) as journal:
                mode: str = journal._conn.execute("PRAGMA journal_mode").fetchone()[0]
                return mode

        with ThreadPoolExecutor(8) as pool:
            modes = list(pool.map(lambda _: open_it(), range(8)))
        assert modes == ["wal"] * 8


def test_enable_wal_waits_out_a_lock_and_gives_up_at_its_deadline(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    waiter = sqlite3.connect(path, timeout=0, isolation_level=None)  # busy answers at once
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        enable_wal(waiter, deadline_s=0.3)
    assert 0.25 <= time.monotonic() - started < 5
    threading.Timer(0.2, lambda: holder.execute("COMMIT")).start()
    enable_wal(waiter, deadline_s=10)  # succeeds once the holder lets go
    assert waiter.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    holder.close()
    waiter.close()
