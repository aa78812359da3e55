"""``audioprep.run.state``: the run state as a real SQLite file, across opens and processes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from audioprep.errors import ConfigError
from audioprep.run.model import Stage
from audioprep.run.state import Marker, RunState, fingerprint


def test_fingerprint_is_stable_and_order_of_keys_does_not_matter() -> None:
    assert fingerprint("fix", {"a": 1, "b": 2}) == fingerprint("fix", {"b": 2, "a": 1})
    assert fingerprint("fix", {"a": 1}) != fingerprint("fix", {"a": 2})
    assert fingerprint("fix", "x") != fingerprint("upload", "x")


def test_markers_survive_a_reopen_and_replace_older_ones(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    first = Marker(Stage.FIX, "abc", "p1", {"output": "out/a.mp3", "sha256": "f"}, "fixed")
    with RunState(path) as state:
        state.record("src-1", first)
        state.record("src-1", Marker(Stage.FETCH, "", "p0", {"path": "x"}))
        state.record("src-2", Marker(Stage.FIX, "def", "p9"))
    with RunState(path) as state:
        found = {m.stage: m for m in state.markers("src-1")}
        assert found[Stage.FIX] == first  # outputs come back as they were written
        assert found[Stage.FETCH].content_sha256 == ""
        replaced = Marker(Stage.FIX, "abc", "p2", {"output": "out/b.mp3"}, "fixed again")
        state.record("src-1", replaced)
        state.forget("src-1", "", Stage.FETCH)
    with RunState(path) as state:
        assert state.markers("src-1") == (replaced,)
        assert [m.fingerprint for m in state.markers("src-2")] == ["p9"]
        assert state.markers("unknown") == ()


def test_items_keep_what_they_knew(tmp_path: Path) -> None:
    with RunState(tmp_path / "s.sqlite3") as state:
        state.note_item("id", "a.mp3", content_sha256="c1", output="out/a.mp3")
        state.note_item("id", "a.mp3", status="fixed")  # None does not erase what was known
        assert state.item_output("id") == "out/a.mp3"
        assert state.item_output("other") is None
        assert state.items() == [
            {
                "source_id": "id",
                "source": "a.mp3",
                "content_sha256": "c1",
                "output": "out/a.mp3",
                "status": "fixed",
            }
        ]


def test_a_second_run_on_the_same_state_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    code = (
        "import sys, time; from audioprep.run.state import RunState\n"
        "s = RunState(sys.argv[1]); print('open', flush=True); time.sleep(30)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(ConfigError, match="another 'audioprep run' is using the state"):
            RunState(path)
    finally:
        holder.kill()
        holder.wait()
    with RunState(path):  # the lock went with the process
        pass


def test_a_state_of_another_schema_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with RunState(path):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema'")
    with pytest.raises(ConfigError, match="schema version 999") as caught:
        RunState(path)
    assert caught.value.hint and "--state" in caught.value.hint


def test_a_file_that_is_not_sqlite_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConfigError, match="cannot open the run state"):
        RunState(path)
