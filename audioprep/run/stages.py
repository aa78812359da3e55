"""The per-item stages of ``audioprep run`` up to a verified public URL, as one picklable function.

This module owns what happens to one item between its source and a URL the Voice API can
download: **check** (name and URL rules), **fetch** (read and hash a file, or download a URL),
**inspect** (structure first; a full decode only when the structure finds nothing to fix,
since a fix decodes anyway), **fix** (only when the verdict is ``fixable``), **upload** and
**verify**. Each stage function returns a :class:`~audioprep.run.model.StageOutcome`; a failed
stage stops the item. Submitting is not here: it needs the journal and the token, which stay
with the caller (:mod:`audioprep.run.pipeline`).

``docs/run.md`` (*The stages of one item*) has the details and the measurements.
"""

from __future__ import annotations

import errno
import glob
import hashlib
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from audioprep import api, check
from audioprep.audio.fetch import FetchOptions
from audioprep.audio.inspect import (
    LONG_PROMPT_S,
    Inspection,
    InspectOptions,
    Verdict,
    inspect_file,
    unusable_reason,
)
from audioprep.audio.policy import Policy
from audioprep.errors import AudioprepError, ConfigError, ExitCode, ServiceUnavailable
from audioprep.fix.batch import fix_source
from audioprep.fix.model import FixOptions
from audioprep.fix.model import Source as FixSource
from audioprep.fix.model import Status as FixStatus
from audioprep.fix.profiles import get_profile, has_shape
from audioprep.hosting.clients import HostingTarget
from audioprep.models import Problem, Severity, Snapshot
from audioprep.net import sessions, urls
from audioprep.net.urls import redact_text
from audioprep.run.model import Stage, StageOutcome, StageStatus
from audioprep.run.state import Marker, fingerprint
from audioprep.send.submit import Destination

log = logging.getLogger(__name__)

#: The item's own work: its source and its ffmpeg process (the CPU part of a run).
MAKE_STAGES = (Stage.CHECK, Stage.FETCH, Stage.INSPECT, Stage.FIX)
#: Handing the made file over: waits on S3, not on the CPU.
HOST_STAGES = (Stage.UPLOAD, Stage.VERIFY)
#: Stages :func:`prepare_item` runs, in order (``submit`` follows in the caller).
PREPARE_STAGES = MAKE_STAGES + HOST_STAGES

Emit = Callable[[str, Marker], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class StageConfig:
    """What every item of a run shares. ``fix`` carries the output directory and profile;
    ``work_dir`` holds downloads; ``hosting`` None means nothing is uploaded."""

    fix: FixOptions
    work_dir: str
    allow_fix: bool = True
    fix_warnings: bool = True
    strict: bool = False
    policy: Policy | None = None
    max_duration_s: float = LONG_PROMPT_S
    hosting: HostingTarget | None = None
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class SubmitKey:
    """What identifies an item's submission besides its audio: the job id given (if any),
    the destinations and the API (``label``). Workers use it to see that an item was sent."""

    job_id: str | None
    destinations: tuple[tuple[str, str], ...]
    label: str

    @classmethod
    def of(cls, job_id: str | None, destinations: Iterable[Destination], label: str) -> SubmitKey:
        """The key for an item's job id, destinations and API."""
        people = tuple(sorted((d.number, d.custom_id or "") for d in destinations))
        return cls(job_id, people, label)

    def identify(self, hosted_sha256: str, hosted_name: str) -> tuple[str, str]:
        """``(job id, fingerprint)`` of sending this audio (its SHA-256 and file name).
        Without a given job id it is ``ap-`` and 8 hex digits of the audio, its name and the
        destinations: the same prompt to the same numbers is the same job in every run, and
        two prompts that happen to sound the same (identical bytes under two names) are two."""
        people = "\n".join(f"{number}/{custom}" for number, custom in self.destinations)
        text = f"{hosted_sha256}\n{hosted_name}\n{people}".encode("utf-8", "surrogateescape")
        job_id = self.job_id or "ap-" + hashlib.sha256(text).hexdigest()[:8]
        print_ = fingerprint("submit", hosted_sha256, hosted_name, self.destinations, job_id)
        return job_id, fingerprint(print_, self.label)


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemTask:
    """One item to prepare. ``source`` is as given (a URL may carry a signature: it is used,
    never shown); ``shown`` is safe to print; ``name`` is the file name the API would see;
    ``output`` is where a fix writes; ``overwrite`` says the output belongs to this item;
    ``submit`` is set when the run submits."""

    index: int
    source: str
    shown: str
    source_id: str
    name: str
    output: str
    config: StageConfig
    overwrite: bool = False
    markers: tuple[Marker, ...] = ()
    submit: SubmitKey | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemFacts:
    """What the stages learnt about one item. ``inspection`` is the one this run made of the
    source (None when an earlier run's was reused: ``verdict`` and ``problems`` then come from
    the state); ``hosted`` is the file uploaded (the source, the download or the fix's
    output); ``url`` the verified public URL (it may be presigned: redact it before showing
    it)."""

    path: str | None = None
    content_sha256: str | None = None
    inspection: Inspection | None = None
    verdict: Verdict | None = None
    api_code: int | None = None
    problems: tuple[Problem, ...] = ()
    fixed: bool = False
    output: str | None = None
    output_verdict: str | None = None
    actions: tuple[str, ...] = ()
    before: Snapshot | None = None
    after: Snapshot | None = None
    hosted: str | None = None
    hosted_sha256: str | None = None
    url: str | None = field(default=None, repr=False)
    proof: str | None = None
    sent_earlier: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """The result of :func:`prepare_item`: outcomes in stage order (stopping at a failure),
    the markers of the stages finished, and whether a stop request cut it short."""

    index: int
    source_id: str
    facts: ItemFacts
    outcomes: tuple[StageOutcome, ...]
    records: tuple[Marker, ...] = ()
    interrupted: bool = False

    @property
    def failed(self) -> bool:
        """Whether a stage failed."""
        return any(o.status is StageStatus.FAILED for o in self.outcomes)


class StageFailed(Exception):
    """Raised inside a stage to end it as FAILED with ``message`` (and ``detail``)."""

    def __init__(self, message: str, /, **detail: Any) -> None:
        super().__init__(message)
        self.message, self.detail = message, detail


class ItemRun:
    """The mutable state of one item while its stages run (worker side)."""

    def __init__(self, task: ItemTask, emit: Emit | None) -> None:
        self.task = task
        self.config = task.config
        self.emit = emit
        self.facts = ItemFacts()
        self.records: list[Marker] = []
        self.prior = {(m.content_sha256, m.stage): m for m in task.markers}
        self.outcomes: list[StageOutcome] = []
        self.interrupted = False

    @property
    def ended(self) -> bool:
        """Whether a stage failed or a stop request cut the item short."""
        return self.interrupted or any(o.status is StageStatus.FAILED for o in self.outcomes)

    def advance(self, stages: Sequence[Stage], stop: threading.Event | None = None) -> None:
        """Run ``stages`` in order, unless the item has ended; stop at a failure. ``stop`` set
        between stages ends the item early (a stage that fails after it was set is not
        counted: Ctrl-C reaches ffmpeg too)."""
        for stage in stages:
            if self.ended:
                return
            if stop is not None and stop.is_set():
                self.interrupted = True
                return
            outcome = run_stage(stage, self)
            if outcome.status is StageStatus.FAILED and stop is not None and stop.is_set():
                self.interrupted = True
                return
            self.outcomes.append(outcome)

    def prepared(self) -> Prepared:
        """What the stages run so far made of the item."""
        return Prepared(
            index=self.task.index,
            source_id=self.task.source_id,
            facts=self.facts,
            outcomes=tuple(self.outcomes),
            records=tuple(self.records),
            interrupted=self.interrupted,
        )

    def update(self, **changes: Any) -> None:
        """Add what a stage learnt."""
        self.facts = replace(self.facts, **changes)

    def reusable(self, stage: Stage, content: str, print_: str) -> Marker | None:
        """The earlier run's marker for ``stage`` when its fingerprint matches."""
        found = self.prior.get((content, stage))
        return found if found is not None and found.fingerprint == print_ else None

    def finished(self, marker: Marker) -> None:
        """A stage finished: keep its marker and hand it to the caller at once."""
        if self.config.dry_run:
            return
        self.records.append(marker)
        if self.emit is not None:
            self.emit(self.task.source_id, marker)


# --------------------------------------------------------------------------------------------
# The work function
# --------------------------------------------------------------------------------------------


def prepare_item(
    task: ItemTask,
    emit: Emit | None = None,
    stop: threading.Event | None = None,
) -> Prepared:
    """Run check → fetch → inspect → fix → upload → verify for one item; never raises.

    ``emit`` receives each finished stage's marker as soon as it is known (the local executor
    commits it to the state then); ``stop``: see :meth:`ItemRun.advance`.
    """
    run = ItemRun(task, emit)
    run.advance(PREPARE_STAGES, stop)
    return run.prepared()


def run_stage(stage: Stage, run: ItemRun) -> StageOutcome:
    """One stage, timed; failures (expected or not) become a FAILED outcome."""
    started = time.monotonic()
    try:
        outcome = STAGE_FUNCTIONS[stage](run)
    except StageFailed as failure:
        outcome = failed(stage, failure.message, **failure.detail)
    except AudioprepError as exc:
        message = exc.message + (f" (hint: {exc.hint})" if exc.hint else "")
        outcome = failed(stage, redact_text(message), exit_code=setup_exit_code(exc))
    except Exception as exc:  # one item's bug must not stop the others; it is logged in full
        log.exception("%s: %s crashed", run.task.shown, stage.value)
        outcome = failed(stage, redact_text(f"internal error: {type(exc).__name__}: {exc}"))
    return replace(outcome, elapsed_s=time.monotonic() - started)


def setup_exit_code(exc: AudioprepError) -> ExitCode:
    """The exit code a stage's error calls for: an error of the setup (configuration,
    credentials, a service) carries its own; anything else (an ffmpeg that timed out on this
    file) is a finding about the item."""
    if isinstance(exc, ConfigError | ServiceUnavailable):
        return exc.exit_code
    return ExitCode.FINDINGS


def outcome(stage: Stage, status: StageStatus, message: str, /, **detail: Any) -> StageOutcome:
    """A stage outcome with JSON-ready detail."""
    return StageOutcome(stage=stage, status=status, message=message, detail=detail)


def failed(
    stage: Stage, message: str, /, exit_code: ExitCode | None = None, **detail: Any
) -> StageOutcome:
    """A FAILED outcome; ``exit_code`` when an error decided it (:func:`setup_exit_code`)."""
    return StageOutcome(
        stage=stage, status=StageStatus.FAILED, message=message, detail=detail, exit_code=exit_code
    )


# --------------------------------------------------------------------------------------------
# check, fetch
# --------------------------------------------------------------------------------------------


def stage_check(run: ItemRun) -> StageOutcome:
    """The API's name and URL rules. Only a URL that cannot be downloaded at all fails here;
    an illegal name is fixed later (the output and the S3 key get legal names)."""
    source = run.task.source
    if not urls.is_url(source) and glob.has_magic(source) and not os.path.exists(source):
        raise StageFailed(f"{source}: matches no file")
    result = check.check_target(source)
    errors = [p for p in result.problems if p.severity is Severity.ERROR]
    detail = {"problems": [p.to_dict() for p in result.problems]}
    blocking = [p for p in errors if p.id == "url.scheme"]
    if blocking:
        raise StageFailed(f"{blocking[0].id}: {blocking[0].message}", api_code=result.api_code)
    if not errors:
        return outcome(Stage.CHECK, StageStatus.DONE, "legal name", **detail)
    fix = f" (will be {result.suggested_name})" if result.suggested_name else ""
    message = f"{len(errors)} problem(s): {', '.join(p.id for p in errors)}{fix}"
    return outcome(Stage.CHECK, StageStatus.DONE, message, api_code=result.api_code, **detail)


def stage_fetch(run: ItemRun) -> StageOutcome:
    """A file is read and hashed; a URL is downloaded like the API would (or reused)."""
    if urls.is_url(run.task.source):
        return _fetch_url(run)
    path = Path(run.task.source)
    try:
        found = path.stat()
    except OSError as exc:  # missing, a symlink loop, a folder we may not enter
        reason = (
            "does not exist" if exc.errno == errno.ENOENT else f"cannot be read: {exc.strerror}"
        )
        raise StageFailed(f"{run.task.source} {reason}") from None
    if not stat.S_ISREG(found.st_mode):
        raise StageFailed(f"{run.task.source} is not a file")
    sha256, size = file_sha256(path)
    run.update(path=str(path), content_sha256=sha256)
    return outcome(Stage.FETCH, StageStatus.DONE, f"local file, {size:,} bytes", sha256=sha256)


def _fetch_url(run: ItemRun) -> StageOutcome:
    print_ = fingerprint("fetch", run.task.source_id)
    earlier = run.reusable(Stage.FETCH, "", print_)
    if earlier is not None and _file_holds(earlier.outputs):
        path, sha256 = str(earlier.outputs["path"]), str(earlier.outputs["sha256"])
        run.update(path=path, content_sha256=sha256)
        return outcome(Stage.FETCH, StageStatus.REUSED, "downloaded earlier", sha256=sha256)
    from audioprep.audio import fetch

    got = fetch.fetch(
        run.task.source,
        Path(run.config.work_dir) / "incoming",
        FetchOptions(keep_other_audio=True),
        session=_downloads.get(),
    )
    if not got.ok or got.path is None or got.sha256 is None:
        reason = got.problem.message if got.problem else "the download failed"
        code = int(got.api_code) if got.api_code is not None else None
        raise StageFailed(f"download failed: {reason}", api_code=code)
    kept = str(_file_under_name(got.path, got.sha256, run))
    run.update(path=kept, content_sha256=got.sha256)
    run.finished(
        Marker(Stage.FETCH, "", print_, {"path": kept, "sha256": got.sha256, "size": got.size})
    )
    message = f"downloaded {got.size:,} bytes ({got.sniffed.label if got.sniffed else '?'})"
    return outcome(Stage.FETCH, StageStatus.DONE, message, sha256=got.sha256, size=got.size)


#: Each worker thread's HTTP session for downloads (kept alive between items).
_downloads = sessions.PerThread()


def _file_under_name(path: Path, sha256: str, run: ItemRun) -> Path:
    """Move a download to ``<work>/downloads/<hash>/<the URL's name, made legal>``: hosted as
    it is, its key then carries its own name rather than the download's."""
    target = Path(run.config.work_dir) / "downloads" / sha256[:16] / legal_name(run.task.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    return target


def legal_name(name: str) -> str:
    """``name`` as the API allows it (its extension kept when it has one)."""
    return api.safe_name(name or "audio")


# --------------------------------------------------------------------------------------------
# inspect, fix
# --------------------------------------------------------------------------------------------


def stage_inspect(run: ItemRun) -> StageOutcome:
    """Structure first; a full decode only if the structure finds nothing to fix."""
    sha256 = run.facts.content_sha256 or ""
    policy = run.config.policy if run.config.strict else None
    print_ = fingerprint("inspect", sha256, run.task.name, run.config.max_duration_s, repr(policy))
    earlier = run.reusable(Stage.INSPECT, sha256, print_)
    if earlier is not None:
        found = dict(earlier.outputs)
        run.update(**_facts_from_state(found))
        return outcome(Stage.INSPECT, StageStatus.REUSED, earlier.message, **_brief(found))
    item = _inspect(Path(run.facts.path or ""), run.task.name, run.config.max_duration_s)
    if run.config.strict and run.config.policy is not None:  # --strict: the project's policy
        item = run.config.policy.apply(item)
    run.update(
        inspection=item,
        verdict=item.verdict,
        api_code=item.api_code,
        problems=item.problems,
        before=item.snapshot(),
    )
    found = _inspection_state(item)
    message = _verdict_text(item)
    if item.verdict is Verdict.UNUSABLE:
        raise StageFailed(message, **_brief(found))
    run.finished(Marker(Stage.INSPECT, sha256, print_, found, message))
    return outcome(Stage.INSPECT, StageStatus.DONE, message, **_brief(found))


def _inspect(path: Path, name: str, max_duration_s: float) -> Inspection:
    """The structure (in-process, cheap); then, only when it finds nothing, a full decode
    in ffmpeg."""
    quick = inspect_file(
        path,
        options=InspectOptions(quick=True, max_duration_s=max_duration_s),
        display_name=name,
    )
    if quick.verdict is not Verdict.OK:
        return quick  # a fix decodes it anyway; unusable needs no more proof
    return inspect_file(
        path, options=InspectOptions(max_duration_s=max_duration_s), display_name=name
    )


def _inspection_state(item: Inspection) -> dict[str, Any]:
    """What the run state keeps of an inspection (read back by a later run)."""
    return {
        "verdict": item.verdict.value,
        "api_code": item.api_code,
        "decoded": item.decoded,
        "format": item.format,
        "duration_s": item.duration_s,
        "problems": [p.to_dict() for p in item.problems],
        "before": item.snapshot().to_dict(),
    }


def _facts_from_state(found: dict[str, Any]) -> dict[str, Any]:
    """An earlier run's inspection, as read from the run state."""
    problems = tuple(
        Problem(p["id"], Severity(p["severity"]), p["message"], bool(p["fixable"]))
        for p in found.get("problems", ())
    )
    before = found.get("before")
    return {
        "verdict": Verdict(found["verdict"]),
        "api_code": found.get("api_code"),
        "problems": problems,
        "before": Snapshot.from_dict(before) if isinstance(before, dict) else None,
    }


def _brief(found: dict[str, Any]) -> dict[str, Any]:
    return {k: found.get(k) for k in ("verdict", "api_code", "decoded", "format", "duration_s")}


def _verdict_text(item: Inspection) -> str:
    errors = item.errors
    if item.verdict is Verdict.OK:
        return f"ok ({'decoded' if item.decoded else 'structure only'})"
    if item.verdict is Verdict.UNUSABLE:
        return f"unusable: {unusable_reason(item)}"
    return f"fixable: {', '.join(p.id for p in errors)}"


def stage_fix(run: ItemRun) -> StageOutcome:
    """Repair an item into the output directory when its inspection found something a fix
    repairs (with ``fix_warnings`` off: only a ``fixable`` verdict); then, with ``strict``,
    fail it (before upload) if warnings remain that no fix repairs."""
    done = _fix(run)
    left = _remaining_warnings(run.facts)
    if run.config.strict and left:
        ids = ", ".join(dict.fromkeys(p.id for p in left))
        raise StageFailed(f"--strict: {len(left)} warning(s) a fix does not repair: {ids}")
    return done


def fix_reasons(facts: ItemFacts, *, fix_warnings: bool = True) -> tuple[Problem, ...]:
    """What makes the item worth fixing: its errors (a ``fixable`` verdict), and with
    ``fix_warnings`` the warnings a fix repairs (level, edge silence, WAV flavour, rate...)."""
    if facts.verdict is not Verdict.OK:
        return tuple(p for p in facts.problems if p.severity is Severity.ERROR)
    if not fix_warnings:
        return ()
    return tuple(p for p in facts.problems if p.severity is Severity.WARNING and p.fixable)


def _off_profile(run: ItemRun) -> bool:
    """Whether a user's profile (a platform's requirements: ``[profiles.NAME]``) asks for a
    shape the file does not have. The built-in profiles leave an ``ok`` file as it is."""
    options, facts = run.config.fix, run.facts
    profile = get_profile(options.profile, options.custom_profiles)
    if profile.extends is None or facts.inspection is None or not run.config.allow_fix:
        return False
    path = Path(facts.path or "")
    return not has_shape(path, facts.inspection, profile, options.max_bytes)


def _remaining_warnings(facts: ItemFacts) -> tuple[Problem, ...]:
    """Warnings still true of what is hosted: those no fix repairs, and, when the item was
    not fixed, the rest too."""
    warnings = [p for p in facts.problems if p.severity is Severity.WARNING]
    return tuple(p for p in warnings if not p.fixable or not facts.fixed)


def _fix(run: ItemRun) -> StageOutcome:
    facts = run.facts
    wanted = run.config.fix_warnings and run.config.allow_fix  # --no-fix: warnings stay
    reasons = fix_reasons(facts, fix_warnings=wanted)
    if not reasons and not _off_profile(run):
        sha256 = facts.content_sha256
        run.update(hosted=facts.path, hosted_sha256=sha256, after=facts.before)
        return outcome(Stage.FIX, StageStatus.SKIPPED, "not needed: ready as it is")
    if not run.config.allow_fix:
        raise StageFailed("the file needs fixing, and fixing is off (--no-fix)")
    options = replace(run.config.fix, overwrite=run.task.overwrite)
    print_ = fingerprint("fix", facts.content_sha256, run.task.output, _fix_settings(options))
    earlier = run.reusable(Stage.FIX, facts.content_sha256 or "", print_)
    if earlier is not None and _file_holds(earlier.outputs, key="output"):
        found = dict(earlier.outputs)
        output, sha256 = str(found["output"]), str(found["sha256"])
        run.update(
            fixed=found.get("status") == FixStatus.FIXED.value,
            output=output,
            output_verdict=found.get("verdict"),
            actions=tuple(found.get("details", ())),
            hosted=output,
            hosted_sha256=sha256,
            **_snapshots(found),
        )
        return outcome(Stage.FIX, StageStatus.REUSED, earlier.message, **found)
    return _fix_now(run, options, print_)


def _snapshots(found: dict[str, Any]) -> dict[str, Snapshot]:
    """``before``/``after`` of a fix as the run state keeps them (an earlier run's may lack
    them)."""
    return {
        key: Snapshot.from_dict(found[key])
        for key in ("before", "after")
        if isinstance(found.get(key), dict)
    }


def _fix_settings(options: FixOptions) -> dict[str, Any]:
    keep = ("profile", "target_lufs", "true_peak_dbtp", "normalise", "loudness_tolerance_lu")
    return {name: getattr(options, name) for name in keep}


def _fix_now(run: ItemRun, options: FixOptions, print_: str) -> StageOutcome:
    """Fix with the inspection this run made (the source is not inspected again)."""
    source = FixSource(run.facts.path or "", run.task.shown, run.task.name)
    result = fix_source(source, Path(run.task.output), options, run.facts.inspection)
    if not result.ok:
        raise StageFailed(f"fix failed: {result.error}", **result.to_dict())
    fixed = result.status is FixStatus.FIXED
    message = f"{result.status.value}: {', '.join(result.actions) or 'copied'}"
    report: dict[str, Any] = {**result.to_dict(), "source": run.task.shown}
    before = {"before": result.before} if result.before else {}
    if result.planned:
        run.update(fixed=fixed, actions=result.details, **before)
        return outcome(Stage.FIX, StageStatus.DONE, "planned " + message, **report)
    output = result.output or ""
    sha256, size = file_sha256(Path(output))
    run.update(
        fixed=fixed,
        output=output,
        output_verdict=result.verdict,
        actions=result.details,
        hosted=output,
        hosted_sha256=sha256,
        after=result.after,
        **before,
    )
    report.update(sha256=sha256, size=size)
    run.finished(Marker(Stage.FIX, run.facts.content_sha256 or "", print_, report, message))
    return outcome(Stage.FIX, StageStatus.DONE, message, **report)


# --------------------------------------------------------------------------------------------
# upload, verify
# --------------------------------------------------------------------------------------------


def stage_upload(run: ItemRun) -> StageOutcome:
    """Host the file (the source, the download or the fix's output) and prove the URL."""
    target = run.config.hosting
    if run.config.dry_run:
        return outcome(Stage.UPLOAD, StageStatus.SKIPPED, "dry run: nothing uploaded")
    if target is None:
        return outcome(Stage.UPLOAD, StageStatus.SKIPPED, "not hosted: no --bucket or --sandbox")
    sha256 = run.facts.hosted_sha256 or ""
    print_ = fingerprint(
        "upload", sha256, target.label, target.bucket, target.prefix, target.endpoint_url
    )
    earlier = run.reusable(Stage.UPLOAD, run.facts.content_sha256 or "", print_)
    if earlier is not None:
        proof = _still_served(dict(earlier.outputs))
        if proof is not None:
            run.update(url=earlier.outputs["url"], proof=proof)
            shown = _public(dict(earlier.outputs))
            return outcome(Stage.UPLOAD, StageStatus.REUSED, earlier.message, **shown)
    sent = _sent_earlier(run)
    if sent is not None:
        return sent
    return _upload_now(run, target, print_)


def _sent_earlier(run: ItemRun) -> StageOutcome | None:
    """When this audio was already sent to these destinations, its earlier upload stands.
    Not in ``--sandbox`` mode: the store that held it stopped with the run that made it, so
    it is hosted again on this run's (the report never names a server that is gone)."""
    key, content = run.task.submit, run.facts.content_sha256 or ""
    last = run.prior.get((content, Stage.UPLOAD))
    target = run.config.hosting
    if key is None or last is None or (target is not None and target.empty):
        return None
    job_id, print_ = key.identify(run.facts.hosted_sha256 or "", hosted_name(run.facts))
    if run.reusable(Stage.SUBMIT, content, print_) is None:
        return None
    run.update(url=last.outputs["url"], sent_earlier=True, proof="verified when it was sent")
    message = f"sent earlier as job {job_id}: not uploaded again"
    return outcome(Stage.UPLOAD, StageStatus.REUSED, message, **_public(dict(last.outputs)))


def _upload_now(run: ItemRun, target: HostingTarget, print_: str) -> StageOutcome:
    from audioprep.hosting.clients import uploader_for

    result = uploader_for(target).upload(Path(run.facts.hosted or ""))
    if not result.ok or result.url is None:
        hint = f" (hint: {result.hint})" if result.hint else ""
        raise StageFailed(redact_text(f"{result.error}{hint}"), bucket=result.bucket)
    found = {
        "url": result.url,
        "bucket": result.bucket,
        "key": result.key,
        "sha256": result.sha256,
        "size": result.size,
        "content_type": result.content_type,
        "public_mode": result.public_mode.value if result.public_mode else None,
    }
    verb = "reused the object already there" if result.reused else "uploaded"
    message = f"{verb}: s3://{result.bucket}/{result.key}"
    run.update(url=result.url, proof="anonymous download matched the file (during upload)")
    run.finished(Marker(Stage.UPLOAD, run.facts.content_sha256 or "", print_, found, message))
    return outcome(Stage.UPLOAD, StageStatus.DONE, message, **_public(found))


def _public(found: dict[str, Any]) -> dict[str, Any]:
    """Upload outputs safe for reports: the URL without a presigned signature."""
    from audioprep.net.urls import redact_url

    return {**found, "url": redact_url(str(found.get("url") or ""))}


def _still_served(found: dict[str, Any]) -> str | None:
    """An anonymous download of an earlier upload's URL: its proof text, or None if gone."""
    from audioprep.hosting.public import verify_url

    check_ = verify_url(
        str(found["url"]),
        sha256=str(found["sha256"]),
        size=int(found["size"]),
        content_type=str(found["content_type"]),
        timeout=(5.0, 30.0),
    )
    return f"re-checked: {check_.message}" if check_.ok else None


def hosted_name(facts: ItemFacts) -> str:
    """The file name of what is (or was) hosted: the object key's name derives from it."""
    return Path(facts.hosted or "").name


def stage_verify(run: ItemRun) -> StageOutcome:
    """The URL passes the API's URL rules and an anonymous download returned the same bytes."""
    url = run.facts.url
    if url is None:
        return outcome(Stage.VERIFY, StageStatus.SKIPPED, "nothing hosted")
    violations = api.check_audio_url(url)
    if violations:
        raise StageFailed(f"the URL breaks the API's rules: {violations[0].message}")
    status = StageStatus.REUSED if run.facts.sent_earlier else StageStatus.DONE
    return outcome(Stage.VERIFY, status, run.facts.proof or "verified")


STAGE_FUNCTIONS: dict[Stage, Callable[[ItemRun], StageOutcome]] = {
    Stage.CHECK: stage_check,
    Stage.FETCH: stage_fetch,
    Stage.INSPECT: stage_inspect,
    Stage.FIX: stage_fix,
    Stage.UPLOAD: stage_upload,
    Stage.VERIFY: stage_verify,
}


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def file_sha256(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for chunk in _chunks(fh):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _chunks(fh: Any, size: int = 1 << 20) -> Iterator[bytes]:
    while chunk := fh.read(size):
        yield chunk


def _file_holds(outputs: Any, key: str = "path") -> bool:
    """Whether the file an earlier stage made is still there with the same SHA-256."""
    path = Path(str(outputs.get(key) or ""))
    if not path.is_file():
        return False
    return bool(file_sha256(path)[0] == outputs.get("sha256"))
