"""``audioprep.run.stages``: one item from its source to a made file, on real files and ffmpeg.

Hosting is off here (``tests/run/test_pipeline.py`` runs the stages against a real S3); what is
shown is what the stages hand each other and what a re-run reuses.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from audioprep.audio import inspect as inspect_module
from audioprep.audio.inspect import Inspection, Verdict, inspect_file
from audioprep.errors import ConfigError, ExitCode, ToolError
from audioprep.fix.model import FixOptions
from audioprep.run import stages
from audioprep.run.model import Stage, StageStatus
from audioprep.run.plan import source_id
from audioprep.run.stages import ItemTask, StageConfig, prepare_item
from audioprep.run.state import Marker

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _task(source: Path, tmp_path: Path, markers: tuple[Marker, ...] = ()) -> ItemTask:
    out = tmp_path / "out"
    config = StageConfig(fix=FixOptions(outdir=str(out), jobs=1), work_dir=str(tmp_path / "work"))
    return ItemTask(
        index=0,
        source=str(source),
        shown=str(source),
        source_id=source_id(str(source)),
        name=source.name,
        output=str(out / (source.stem + ".mp3")),
        config=config,
        markers=markers,
    )


@pytest.fixture
def examined(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Every structural look at a file (path, quick), as inspection makes it."""
    seen: list[tuple[str, bool]] = []
    real = inspect_module.examine

    def spy(path: Path, container: Any, *, quick: bool) -> Any:
        seen.append((str(path), quick))
        return real(path, container, quick=quick)

    monkeypatch.setattr(inspect_module, "examine", spy)
    return seen


def test_a_fixable_source_is_inspected_once_and_fixed(
    tmp_path: Path, examined: list[tuple[str, bool]]
) -> None:
    source = shutil.copy(SAMPLES / "callback_notice.ogg", tmp_path / "callback_notice.ogg")
    done = prepare_item(_task(Path(source), tmp_path))
    statuses = {o.stage: o.status for o in done.outcomes}
    assert statuses[Stage.FIX] is StageStatus.DONE and not done.failed
    assert statuses[Stage.UPLOAD] is StageStatus.SKIPPED  # no hosting given
    facts = done.facts
    assert isinstance(facts.inspection, Inspection) and facts.verdict is Verdict.FIXABLE
    assert facts.problems == facts.inspection.problems
    assert facts.fixed and facts.hosted == facts.output
    assert inspect_file(facts.output or "").verdict is Verdict.OK  # the made file, re-inspected
    looks_at_source = [quick for path, quick in examined if path == str(source)]
    assert looks_at_source == [True], "the fix used the run's inspection of the source"


def test_a_ready_source_is_hosted_as_it_is(tmp_path: Path) -> None:
    source = SAMPLES / "welcome.mp3"
    done = prepare_item(_task(source, tmp_path))
    fix = next(o for o in done.outcomes if o.stage is Stage.FIX)
    assert fix.status is StageStatus.SKIPPED
    assert done.facts.verdict is Verdict.OK and done.facts.hosted == str(source)
    assert not (tmp_path / "out").exists()


def test_a_rerun_reuses_inspection_and_fix_from_the_state(tmp_path: Path) -> None:
    source = Path(shutil.copy(SAMPLES / "callback_notice.ogg", tmp_path / "callback_notice.ogg"))
    kept: list[Marker] = []
    first = prepare_item(_task(source, tmp_path), emit=lambda _id, marker: kept.append(marker))
    assert {m.stage for m in kept} == {Stage.INSPECT, Stage.FIX}
    again = prepare_item(_task(source, tmp_path, markers=tuple(kept)))
    statuses = {o.stage: o.status for o in again.outcomes}
    assert statuses[Stage.INSPECT] is statuses[Stage.FIX] is StageStatus.REUSED
    assert again.facts.inspection is None  # nothing was inspected in this run
    assert again.facts.verdict is Verdict.FIXABLE  # typed again, from the state
    assert again.facts.problems == first.facts.problems
    assert again.facts.hosted == first.facts.hosted and again.facts.fixed


def test_a_missing_source_fails_at_fetch(tmp_path: Path) -> None:
    done = prepare_item(_task(tmp_path / "missing.mp3", tmp_path))
    failed = done.outcomes[-1]
    assert (failed.stage, failed.status) == (Stage.FETCH, StageStatus.FAILED)
    assert "does not exist" in failed.message and failed.exit_code is None


@pytest.mark.parametrize(
    ("error", "code", "kind"),
    [
        (ConfigError("no credentials"), ExitCode.CONFIG, "config"),
        (ToolError("ffmpeg did not finish within 60 s"), ExitCode.FINDINGS, None),
    ],
)
def test_an_error_in_a_stage_carries_its_exit_code(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    code: ExitCode,
    kind: str | None,
) -> None:
    # Stubbed: no real check can be made to raise a configuration error on demand.
    def broken(run: stages.ItemRun) -> Any:
        raise error

    monkeypatch.setitem(stages.STAGE_FUNCTIONS, Stage.CHECK, broken)
    done = prepare_item(_task(SAMPLES / "welcome.mp3", tmp_path))
    (failed,) = done.outcomes
    assert failed.status is StageStatus.FAILED and failed.exit_code is code
    assert failed.to_dict()["detail"] == {"error_kind": kind}
