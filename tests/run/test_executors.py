"""``audioprep.run.executors.LocalExecutor``: making items never waits for hosting them, and Ctrl-C.

The "ffmpeg" is a real executable (the logging sleeper of :mod:`tests.support.fake_ffmpeg`): the
overlap of
processes is read from their own log. The stages are stand-ins (the executor's scheduling is
what is under test, and the real stages need S3 and audio): each fix runs that ffmpeg, each
upload waits on an event, the way every thread waited for the sandbox's S3 to start.
"""

from __future__ import annotations

import _thread
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from audioprep.audio import ffmpeg
from audioprep.fix.model import FixOptions
from audioprep.run import stages as runstages
from audioprep.run.executors import LocalExecutor, io_threads
from audioprep.run.model import Stage, StageOutcome, StageStatus
from audioprep.run.stages import ItemRun, ItemTask, Prepared, StageConfig
from audioprep.run.state import Marker
from tests.support.fake_ffmpeg import most_at_once

JOBS = 2
#: More items than the old single pool had threads: there, all of them waited in upload.
ITEMS = io_threads(JOBS) + 4


class Sink:
    """An :class:`~audioprep.run.executors.ItemSink` that keeps what it is given."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.recorded: list[tuple[str, Stage]] = []
        self.finished: list[Prepared] = []
        self._lock = threading.Lock()

    def record(self, source_id: str, marker: Marker) -> None:
        with self._lock:
            self.recorded.append((source_id, marker.stage))

    def finish(self, prepared: Prepared, *, committed: bool) -> None:
        assert committed
        with self._lock:
            self.finished.append(prepared)


def tasks(tmp_path: Path, count: int = ITEMS) -> list[ItemTask]:
    config = StageConfig(fix=FixOptions(outdir=str(tmp_path)), work_dir=str(tmp_path))
    return [
        ItemTask(
            index=i,
            source=f"s{i}.wav",
            shown=f"s{i}.wav",
            source_id=f"id{i}",
            name=f"s{i}",
            output=str(tmp_path / f"s{i}.mp3"),
            config=config,
        )
        for i in range(count)
    ]


Stages = dict[Stage, Callable[[ItemRun], StageOutcome]]


@pytest.fixture
def stages(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stages]:
    """Every stage done at once and marked; tests replace the ones they watch."""

    def done(stage: Stage) -> Callable[[ItemRun], StageOutcome]:
        def run(item: ItemRun) -> StageOutcome:
            item.finished(Marker(stage, "sha", "print"))
            return runstages.outcome(stage, StageStatus.DONE, "ok")

        return run

    table: Stages = {stage: done(stage) for stage in runstages.PREPARE_STAGES}
    monkeypatch.setattr(runstages, "STAGE_FUNCTIONS", table)
    yield table


def test_uploads_that_wait_never_keep_ffmpeg_idle(
    tmp_path: Path,
    stages: Stages,
    sleeper: Path,
) -> None:
    all_fixed = threading.Event()
    fixed: list[int] = []
    lock = threading.Lock()

    def fix(item: ItemRun) -> StageOutcome:
        assert ffmpeg.run([]).returncode == 0
        with lock:
            fixed.append(item.task.index)
            if len(fixed) == ITEMS:
                all_fixed.set()
        return runstages.outcome(Stage.FIX, StageStatus.DONE, "fixed")

    def upload(item: ItemRun) -> StageOutcome:
        # Every upload waits until every item is fixed: a stalled S3. With the threads that
        # upload also being the ones that fix, this never happens and the uploads fail.
        if not all_fixed.wait(30):
            return runstages.failed(Stage.UPLOAD, "the fixes stopped while uploads waited")
        return runstages.outcome(Stage.UPLOAD, StageStatus.DONE, "uploaded")

    stages[Stage.FIX], stages[Stage.UPLOAD] = fix, upload
    sink = Sink()
    LocalExecutor(JOBS).run(tasks(tmp_path), sink)

    assert sorted(p.index for p in sink.finished) == list(range(ITEMS))
    assert not any(p.failed or p.interrupted for p in sink.finished)
    assert all(
        [o.stage for o in p.outcomes] == list(runstages.PREPARE_STAGES) for p in sink.finished
    )
    assert most_at_once(sleeper) == JOBS  # still at most --jobs ffmpeg processes
    assert len(sink.recorded) == ITEMS * (len(runstages.PREPARE_STAGES) - 2)  # fix, upload


def test_ctrl_c_reports_the_items_made_but_not_hosted(tmp_path: Path, stages: Stages) -> None:
    uploaded: list[int] = []
    lock = threading.Lock()
    interrupt_at = 3  # the fourth item to be fixed presses Ctrl-C
    count = [0]

    def fix(item: ItemRun) -> StageOutcome:
        with lock:
            count[0] += 1
            if count[0] == interrupt_at + 1:
                _thread.interrupt_main()  # KeyboardInterrupt in the thread waiting on the pools
        item.finished(Marker(Stage.FIX, "sha", "print"))
        return runstages.outcome(Stage.FIX, StageStatus.DONE, "fixed")

    def upload(item: ItemRun) -> StageOutcome:
        with lock:
            uploaded.append(item.task.index)
        return runstages.outcome(Stage.UPLOAD, StageStatus.DONE, "uploaded")

    stages[Stage.FIX], stages[Stage.UPLOAD] = fix, upload
    sink = Sink()
    with pytest.raises(KeyboardInterrupt):
        LocalExecutor(JOBS).run(tasks(tmp_path, 40), sink)

    assert sink.stop.is_set()
    finished = {p.index: p for p in sink.finished}
    assert len(finished) < 40  # items not started were left for the next run
    made = [p for p in finished.values() if p.interrupted]
    assert made, "an item fixed after Ctrl-C is reported, not lost"
    for item in made:
        # what it finished is kept; it was not uploaded after the stop
        assert item.outcomes[-1].stage in (Stage.FIX, Stage.UPLOAD, Stage.VERIFY)
        assert not item.failed
    hosted = [p for p in finished.values() if not p.interrupted]
    assert {p.index for p in hosted} <= set(uploaded)
    recorded_fixes = {sid for sid, stage in sink.recorded if stage is Stage.FIX}
    assert {f"id{p.index}" for p in finished.values()} <= recorded_fixes
