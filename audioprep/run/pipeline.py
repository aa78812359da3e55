"""``audioprep run``: take these prompts, make them right, host them, and (if asked) send them.

This module owns a run from end to end (:func:`run_pipeline`): options (:class:`RunOptions`),
the run's files (output directory, state, work directory), the environment (a real bucket and
API, or the ``--sandbox`` world of :mod:`audioprep.run.sandbox_world`), handing the items to an
executor (:mod:`audioprep.run.executors`), committing each stage to the state
(:mod:`audioprep.run.state`), the submit stage (:mod:`audioprep.run.submit`), and the result:
a :class:`~audioprep.run.model.RunReport` and its exit code (:func:`exit_code`).

Per item the stages are check → fetch → inspect → fix (when needed and allowed) → upload →
verify → submit (only when asked); the first six are :mod:`audioprep.run.stages`. One item's
failure never stops the others, and every stage of every item is in the report: run, reused
from an earlier run, skipped (and why), or failed (and why). Nothing here prints: progress goes
to the ``progress`` callback, diagnostics to :mod:`logging`.
"""

from __future__ import annotations

import glob
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

from audioprep import api, tempfiles
from audioprep.audio import levels
from audioprep.audio.inspect import LONG_PROMPT_S, require_inputs
from audioprep.audio.policy import Policy
from audioprep.config import DEFAULT_API_URL, DEFAULT_PREFIX
from audioprep.errors import ConfigError, ExitCode, UsageError, storage_error
from audioprep.fix.model import FixOptions
from audioprep.fix.profiles import Profile
from audioprep.hosting.clients import HostingTarget, Warmer, release, uploader_for
from audioprep.hosting.keys import PublicMode
from audioprep.models import DEFAULT_PROFILE
from audioprep.net.urls import redact_url
from audioprep.run.executors import DaskExecutor, Executor, LocalExecutor
from audioprep.run.manifest import read_manifest
from audioprep.run.model import (
    CallResult,
    ExecutorName,
    ItemReport,
    ItemStatus,
    RunReport,
    Stage,
    StageOutcome,
    StageStatus,
)
from audioprep.run.plan import PlannedItem, plan_items
from audioprep.run.sandbox_world import SandboxEnv
from audioprep.run.stages import (
    ItemFacts,
    ItemTask,
    Prepared,
    StageConfig,
    SubmitKey,
    failed,
    outcome,
)
from audioprep.run.state import Marker, RunState
from audioprep.run.submit import SubmitResult, SubmitTarget, Submitter
from audioprep.send.submit import Destination

log = logging.getLogger(__name__)

DEFAULT_OUTDIR = "audioprep-out"


def default_jobs() -> int:
    """ffmpeg processes at once unless told: one per core."""
    return os.cpu_count() or 1


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    """Everything a run needs besides its sources.

    ``state`` None puts the state beside the output directory (``<outdir>.state.sqlite3``).
    ``bucket`` None and ``sandbox`` off: nothing is hosted or sent (those stages say so).
    ``destinations`` go to every item the manifest does not name. ``jobs`` bounds the ffmpeg
    work running at once. The API token is kept out of ``repr``.
    """

    outdir: str = DEFAULT_OUTDIR
    state: str | None = None
    manifest: str | None = None
    profile: str = DEFAULT_PROFILE.value
    target_lufs: float = levels.TARGET_LUFS
    true_peak_dbtp: float = levels.TRUE_PEAK_DBTP
    normalise: bool = True
    max_gain_db: float = levels.MAX_GAIN_DB
    allow_fix: bool = True
    custom_profiles: tuple[Profile, ...] = ()
    fix_warnings: bool = True
    strict: bool = False
    policy: Policy | None = None
    max_duration_s: float = LONG_PROMPT_S
    bucket: str | None = None
    prefix: str = DEFAULT_PREFIX
    s3_endpoint: str | None = None
    region: str | None = None
    public_mode: str = PublicMode.AUTO.value
    submit: bool = False
    destinations: tuple[Destination, ...] = ()
    callback_url: str | None = None
    api_url: str = DEFAULT_API_URL
    api_token: str | None = field(default=None, repr=False)
    journal: str | None = None
    limits: api.AccountLimits = field(default_factory=api.AccountLimits)
    sandbox: bool = False
    jobs: int = field(default_factory=default_jobs)
    executor: str = ExecutorName.LOCAL.value
    scheduler: str | None = None
    dry_run: bool = False
    wait_for_calls_s: float = 30.0
    #: Where the caller will write the report: proven writable before any work.
    report_file: str | None = None

    @property
    def hosted(self) -> bool:
        """Whether items are uploaded (a bucket, or the sandbox's)."""
        return bool(self.bucket) or self.sandbox

    def stages(self) -> tuple[Stage, ...]:
        """The stages this run performs."""
        found = [Stage.CHECK, Stage.FETCH, Stage.INSPECT, Stage.FIX]
        found += [Stage.UPLOAD, Stage.VERIFY] if self.hosted else []
        return (*found, *([Stage.SUBMIT] if self.submit else []))


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """What a run tells its progress display. ``kind``: ``info`` (a line about the setup),
    ``stage`` (an item finished a stage) or ``item`` (an item finished; ``item`` holds it)."""

    kind: str
    total: int
    done: int = 0
    failed: int = 0
    source: str = ""
    stage: Stage | None = None
    message: str = ""
    item: ItemReport | None = None


ProgressFn = Callable[[ProgressEvent], None]


@dataclass(frozen=True, slots=True)
class RunPaths:
    """The run's files: outputs, state, and a work directory (downloads, sandbox)."""

    outdir: Path
    state: Path
    work: Path

    @classmethod
    def of(cls, options: RunOptions) -> RunPaths:
        """Paths for ``options``: the state beside the output directory unless given."""
        outdir = Path(os.path.abspath(options.outdir))
        state = Path(options.state) if options.state else default_state_path(outdir)
        return cls(outdir, state, state.with_suffix(".work"))


def default_state_path(outdir: str | os.PathLike[str]) -> Path:
    """``<outdir>.state.sqlite3``, beside the output directory."""
    path = Path(os.path.abspath(outdir))
    return path.with_name(path.name + ".state.sqlite3")


@dataclass(slots=True)
class RunContext:
    """What the items of one run share (opened by :func:`_open`)."""

    options: RunOptions
    paths: RunPaths
    work: Path
    state: RunState | None = None
    env: SandboxEnv | None = None
    hosting: HostingTarget | None = None
    warmer: Warmer | None = None
    submitter: Submitter | None = None


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One item's work and submission, as the runner received them."""

    item: PlannedItem
    prepared: Prepared
    submit: SubmitResult | None = None
    interrupted: bool = False


# --------------------------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------------------------


def run_pipeline(
    sources: Sequence[str], options: RunOptions, *, progress: ProgressFn | None = None
) -> RunReport:
    """Run every stage for every item; the report says what happened to each.

    Raises:
        UsageError: bad options, nothing to do, a bad manifest, items without destinations.
        ConfigError: no token, the bucket unusable, a required package missing.
        ServiceUnavailable: S3 cannot be reached before anything started.
    """
    started = time.monotonic()
    require_inputs(s for s in sources if not glob.has_magic(s))  # a glob may match nothing
    _check_options(options)
    paths = RunPaths.of(options)
    manifest = read_manifest(options.manifest) if options.manifest else []
    items = plan_items(
        sources,
        manifest=manifest,
        destinations=options.destinations,
        outdir=str(paths.outdir),
        profile=options.profile,
        exclude=(paths.outdir, paths.work),
        custom_profiles=options.custom_profiles,
    )
    _check_destinations(items, options)
    _prove_writable(paths, options)
    with ExitStack() as stack:
        context = _open(stack, options, paths, progress, len(items))
        runner = Runner(items, context, progress)
        interrupted = runner.execute(_executor(options))
        if context.env is not None:
            context.env.wait_ready()  # a local S3 that failed to start says why
        calls = runner.calls(wait=not interrupted)
        reports = tuple(runner.report(item, calls.get(item.index, ())) for item in items)
    return RunReport(
        items=reports,
        stages_requested=options.stages(),
        dry_run=options.dry_run,
        interrupted=interrupted,
        elapsed_s=time.monotonic() - started,
    )


def _check_options(options: RunOptions) -> None:
    if options.executor not in set(ExecutorName):
        known = " or ".join(ExecutorName)
        raise UsageError(f"unknown executor {options.executor!r}", hint=f"use {known}")
    if options.scheduler and options.executor != ExecutorName.DASK:
        raise UsageError("--scheduler needs --executor dask")
    if options.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if options.sandbox and (options.bucket or options.callback_url):
        raise UsageError(
            "--sandbox brings its own bucket and callback URL",
            hint="drop --bucket and --callback-url (or drop --sandbox)",
        )
    if options.submit and not options.hosted:
        raise ConfigError(
            "--submit needs the audio hosted where the API can download it",
            hint="give --bucket (or AUDIOPREP_BUCKET), or try the whole flow with --sandbox",
        )
    if options.submit and not options.sandbox and not options.dry_run:
        from audioprep.send.client import check_token

        check_token(options.api_token)
    FixOptions(  # UsageError for a bad profile
        outdir=options.outdir, profile=options.profile, custom_profiles=options.custom_profiles
    )


def _check_destinations(items: Sequence[PlannedItem], options: RunOptions) -> None:
    """Every destination by the API's rules and the account's, every bad one at once."""
    if not options.submit:
        return
    bad = _bad_destinations([*options.destinations, *(d for i in items for d in i.destinations)],
                            options.limits)  # fmt: skip
    if bad:
        shown = "; ".join(bad[:10]) + (f"; and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise UsageError(
            f"--submit: {len(bad)} destination(s) the API would refuse: {shown}",
            hint="correct them in --to, --to-file or the manifest; nothing was fetched or sent",
        )
    missing = [item.shown for item in items if not item.destinations]
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        shown = ", ".join(missing[:5]) + more
        raise UsageError(
            f"--submit: no destinations for {shown}",
            hint="give --to NUMBER (repeatable) or --to-file, or name them in --manifest",
        )


_DESTINATION_WORDS = {
    api.Code.NO_VALID_DESTINATIONS: "not a phone number",
    api.Code.DESTINATION_LENGTH: (
        f"a number has {api.NUMBER_MIN_DIGITS}-{api.NUMBER_MAX_DIGITS} digits"
    ),
    api.Code.TEST_PERSONAL_NUMBER: "a TEST account may call only its personal number",
}


def _bad_destinations(found: Sequence[Destination], limits: api.AccountLimits) -> list[str]:
    """``'123': a number has 7-15 digits (-85)`` for each number the API would refuse."""
    bad: dict[str, str] = {}
    for dest in found:
        code = api.destination_code(dest.number, limits)
        if code is not None and dest.number not in bad:
            bad[dest.number] = f"{dest.number!r}: {_DESTINATION_WORDS[code]} ({int(code)})"
    return list(bad.values())


def _prove_writable(paths: RunPaths, options: RunOptions) -> None:
    """The output directory, the state file and the report file can be written, before any
    work (a full disk or a read-only folder found after the calls were placed loses the
    report)."""
    places = [] if options.dry_run else [paths.outdir, paths.state.parent]
    files = [] if options.dry_run else [paths.state]
    if options.report_file:
        report = Path(os.path.abspath(options.report_file))
        places.append(report.parent)
        files.append(report)
    for place in places:
        _probe_directory(place)
    for path in files:
        if path.is_dir():
            raise UsageError(f"cannot write {path}: it is a directory", hint="name a file")
        if path.exists() and not os.access(path, os.W_OK):
            raise UsageError(f"cannot write {path}: permission denied")


def _probe_directory(place: Path) -> None:
    """Prove a file can be made in ``place`` (when it is missing: in the nearest folder above
    it that exists, where it would be created), leaving nothing behind."""
    existing = place
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"cannot write in {place}: {existing} is not a directory")
    try:
        with tempfile.NamedTemporaryFile(prefix=tempfiles.prefix("probe"), dir=existing):
            pass
    except OSError as exc:
        found = storage_error(exc, "in", place)
        reason = exc.strerror or str(exc)
        raise found or UsageError(f"cannot write in {place}: {reason}") from exc


def _executor(options: RunOptions) -> Executor:
    if options.executor == ExecutorName.DASK:
        return DaskExecutor(options.scheduler, options.jobs)
    return LocalExecutor(options.jobs)


# --------------------------------------------------------------------------------------------
# The environment
# --------------------------------------------------------------------------------------------


def _open(
    stack: ExitStack,
    options: RunOptions,
    paths: RunPaths,
    progress: ProgressFn | None,
    total: int,
) -> RunContext:
    """Open the state, start the sandbox or check the bucket, prepare submitting."""
    if options.dry_run:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="audioprep-dry-")))
        return RunContext(options, paths, work)
    try:
        paths.outdir.mkdir(parents=True, exist_ok=True)
        paths.work.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {exc.filename}: {exc.strerror}") from exc
    context = RunContext(options, paths, paths.work)
    context.state = stack.enter_context(RunState(paths.state))
    for place in (paths.outdir, paths.work / "incoming"):  # what a killed run left
        tempfiles.remove_leftovers(place)
    if options.sandbox:
        env = SandboxEnv(paths.work / "sandbox", limits=options.limits)
        context.env = stack.enter_context(env)
        for line in context.env.describe():
            _tell(progress, ProgressEvent("info", total, message=f"sandbox: {line}"))
        context.hosting = context.env.hosting()
    elif options.bucket:
        context.hosting = _real_hosting(options)
    if context.hosting is not None:
        stack.callback(release, context.hosting)
    if context.env is not None and context.hosting is not None:
        # A real bucket's client is built (and the bucket checked) above, before any work;
        # the sandbox's is built in the background once the first item is inspected.
        context.warmer = Warmer(context.hosting)
        stack.callback(context.warmer.join)  # before release (callbacks run last-in first)
    if options.submit:
        context.submitter = Submitter(_submit_target(options, context.env), context.env)
        stack.callback(context.submitter.close)
        settled = context.submitter.settle_earlier()
        if settled:
            message = f"sandbox: settled {settled} send(s) an interrupted run left open"
            _tell(progress, ProgressEvent("info", total, message=message))
    return context


def _real_hosting(options: RunOptions) -> HostingTarget:
    """The user's bucket, checked once before any work (no credentials or bucket: exit 3)."""
    target = HostingTarget(
        bucket=options.bucket or "",
        prefix=options.prefix,
        endpoint_url=options.s3_endpoint,
        region=options.region,
        public_mode=options.public_mode,
        label=redact_url(options.s3_endpoint or "aws"),
    )
    uploader_for(target)  # raises ConfigError / ServiceUnavailable before any work
    return target


def _submit_target(options: RunOptions, env: SandboxEnv | None) -> SubmitTarget:
    if env is not None:
        from audioprep.run.sandbox_world import TOKEN

        return SubmitTarget(
            api_url=env.api_url,
            api_token=TOKEN,
            label="sandbox",
            journal=str(env.files.journal),
            callback_url=env.callback_url,
            postbacks_db=str(env.files.postbacks_db),
            limits=options.limits,
            lookup=True,
        )
    return SubmitTarget(
        api_url=options.api_url,
        api_token=options.api_token or "",
        label=redact_url(options.api_url),
        journal=options.journal,
        callback_url=options.callback_url,
        limits=options.limits,
    )


def _tell(progress: ProgressFn | None, event: ProgressEvent) -> None:
    if progress is not None:
        progress(event)


# --------------------------------------------------------------------------------------------
# The runner
# --------------------------------------------------------------------------------------------


class Runner:
    """Hands items to an executor and takes their results: state, submit, progress."""

    def __init__(
        self, items: Sequence[PlannedItem], context: RunContext, progress: ProgressFn | None
    ) -> None:
        self.items = list(items)
        self.context = context
        self.options = context.options
        self.progress = progress
        self.stop = threading.Event()
        self.results: dict[int, ItemResult] = {}
        self.config = self._config()
        self.tasks = [self._task(item) for item in self.items]
        if context.state is not None:
            rows = [(i.source_id, i.shown, None, i.output, None) for i in self.items]
            context.state.note_items(rows)
        self._lock = threading.Lock()
        self._done = self._failed = 0
        self._shown = {item.source_id: item.shown for item in self.items}

    def _task(self, item: PlannedItem) -> ItemTask:
        state = self.context.state
        markers: tuple[Marker, ...] = ()
        overwrite = False
        if state is not None:
            markers = state.markers(item.source_id)
            overwrite = state.item_output(item.source_id) == item.output
        return ItemTask(
            index=item.index,
            source=item.source,
            shown=item.shown,
            source_id=item.source_id,
            name=item.name,
            output=item.output,
            config=self.config,
            overwrite=overwrite,
            markers=markers,
            submit=self._submit_key(item),
        )

    def _submit_key(self, item: PlannedItem) -> SubmitKey | None:
        submitter = self.context.submitter
        if submitter is None:
            return None
        return SubmitKey.of(item.job_id, item.destinations, submitter.target.label)

    def _config(self) -> StageConfig:
        o = self.options
        fix = FixOptions(
            outdir=str(self.context.paths.outdir),
            profile=o.profile,
            target_lufs=o.target_lufs,
            true_peak_dbtp=o.true_peak_dbtp,
            normalise=o.normalise,
            max_gain_db=o.max_gain_db,
            jobs=1,
            dry_run=o.dry_run,
            custom_profiles=o.custom_profiles,
        )
        return StageConfig(
            fix=fix,
            work_dir=str(self.context.work),
            allow_fix=o.allow_fix,
            fix_warnings=o.fix_warnings,
            strict=o.strict,
            policy=o.policy,
            max_duration_s=o.max_duration_s,
            hosting=self.context.hosting,
            dry_run=o.dry_run,
        )

    def execute(self, executor: Executor) -> bool:
        """Run every item; True when Ctrl-C stopped the run (what finished is kept)."""
        try:
            executor.run(self.tasks, self)
        except KeyboardInterrupt:
            log.info("interrupted: stages in flight finished, the rest is left for the next run")
            return True
        return False

    # --- called by executors (from their threads) ------------------------------------------

    def record(self, source_id: str, marker: Marker) -> None:
        """Commit a finished stage at once, and say so."""
        if self.context.state is not None:
            self.context.state.record(source_id, marker)
        if marker.stage is Stage.INSPECT and self.context.warmer is not None:
            self.context.warmer.start()  # this item goes on to be fixed and uploaded
        with self._lock:
            self._event("stage", self._shown.get(source_id, ""), stage=marker.stage)

    def finish(self, prepared: Prepared, *, committed: bool) -> None:
        """An item's work is back: commit it (if the executor did not), submit, report."""
        item = self.items[prepared.index]
        state = self.context.state
        if state is not None and not committed:
            for marker in prepared.records:
                state.record(item.source_id, marker)
        result = self._submitted(item, prepared)
        report = build_item(item, result)
        if state is not None:
            sha256 = prepared.facts.content_sha256
            state.note_item(item.source_id, item.shown, content_sha256=sha256, status=report.status)
        with self._lock:
            self.results[item.index] = result
            self._done += 1
            self._failed += report.status is ItemStatus.FAILED
            self._event("item", item.shown, item=report)

    def _submitted(self, item: PlannedItem, prepared: Prepared) -> ItemResult:
        if prepared.failed or prepared.interrupted:
            return ItemResult(item, prepared, interrupted=prepared.interrupted)
        if self.stop.is_set():
            return ItemResult(item, prepared, interrupted=True)
        submitter = self.context.submitter
        if submitter is None or self.options.dry_run or prepared.facts.url is None:
            return ItemResult(item, prepared, SubmitResult(outcome=self._not_submitted(prepared)))
        started = time.monotonic()
        try:
            submitted = submitter.submit(item, prepared.facts, self.tasks[item.index].markers)
        except Exception as exc:  # a bug must not stop the other items; logged in full
            log.exception("%s: submit crashed", item.shown)
            submitted = SubmitResult(outcome=failed(Stage.SUBMIT, f"internal error: {exc!r}"))
        timed = replace(submitted.outcome, elapsed_s=time.monotonic() - started)
        submitted = replace(submitted, outcome=timed)
        if submitted.marker is not None and self.context.state is not None:
            self.context.state.record(item.source_id, submitted.marker)
        return ItemResult(item, prepared, submitted)

    def _not_submitted(self, prepared: Prepared) -> StageOutcome:
        if not self.options.submit:
            return outcome(Stage.SUBMIT, StageStatus.SKIPPED, "not asked (--submit sends calls)")
        if self.options.dry_run:
            return outcome(Stage.SUBMIT, StageStatus.SKIPPED, "dry run: nothing sent")
        return outcome(Stage.SUBMIT, StageStatus.SKIPPED, "nothing hosted to send")

    def _event(
        self,
        kind: str,
        source: str,
        *,
        stage: Stage | None = None,
        item: ItemReport | None = None,
    ) -> None:
        total = len(self.items)
        event = ProgressEvent(kind, total, self._done, self._failed, source, stage, item=item)
        _tell(self.progress, event)

    # --- after the executor --------------------------------------------------------------

    def calls(self, *, wait: bool) -> dict[int, tuple[CallResult, ...]]:
        """What each submitted item's calls did. In sandbox mode the run first waits (bounded)
        for the calls to end; the API's lookups are asked only when postbacks are missing (a
        timeout, or jobs sent by an earlier run whose receiver is gone)."""
        submitter = self.context.submitter
        if submitter is None:
            return {}
        jobs = {
            index: result.submit
            for index, result in self.results.items()
            if result.submit is not None and result.submit.base_job_id and result.submit.job_ids
        }
        env = self.context.env
        complete = False
        sent_now = [sub for sub in jobs.values() if sub.outcome.status is StageStatus.DONE]
        if env is not None and wait and sent_now:  # earlier runs' postbacks went elsewhere
            message_ids = {m for sub in sent_now for m in sub.message_ids}
            complete = env.wait_for_calls(message_ids, self.options.wait_for_calls_s)
        # the calls of each group (asking the API's lookups or not) are read at once
        asked: dict[bool, list[str]] = {True: [], False: []}
        for sub in jobs.values():
            lookup = not complete or sub.outcome.status is StageStatus.REUSED
            asked[lookup].append(sub.base_job_id or "")
        known = {
            **submitter.calls_of(asked[False], lookup=False),
            **submitter.calls_of(asked[True], lookup=True),
        }
        return {index: known.get(sub.base_job_id or "", ()) for index, sub in jobs.items()}

    def report(self, item: PlannedItem, calls: tuple[CallResult, ...]) -> ItemReport:
        """The item's final report (with its calls)."""
        result = self.results.get(item.index)
        return replace(build_item(item, result), calls=calls)


# --------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------


def build_item(item: PlannedItem, result: ItemResult | None) -> ItemReport:
    """An item's report from what the runner received (``None``: never started)."""
    prepared = result.prepared if result is not None else None
    facts = prepared.facts if prepared is not None else ItemFacts()
    outcomes = list(prepared.outcomes) if prepared is not None else []
    submitted = result.submit if result is not None else None
    if submitted is not None:
        outcomes.append(submitted.outcome)
    failure = next((o for o in outcomes if o.status is StageStatus.FAILED), None)
    interrupted = result is None or result.interrupted or bool(prepared and prepared.interrupted)
    stages = _all_stages(outcomes, failure, interrupted)
    status, failed_stage, error = _status(facts, stages, failure, interrupted)
    return ItemReport(
        source=item.shown,
        path=_relative(facts.path),
        status=status,
        failed_stage=failed_stage,
        error=error,
        verdict=facts.verdict,
        api_code=facts.api_code,
        problems=facts.problems,
        output=_relative(facts.output),
        output_verdict=facts.output_verdict,
        actions=facts.actions,
        before=facts.before,
        after=facts.after if status is not ItemStatus.FAILED else None,
        url=redact_url(facts.url) if facts.url else None,
        sha256=facts.hosted_sha256,
        job_ids=submitted.job_ids if submitted else (),
        api_job_ids=submitted.api_job_ids if submitted else (),
        submit_outcome=submitted.submit_outcome if submitted else None,
        stages=tuple(stages),
    )


def _all_stages(
    outcomes: list[StageOutcome], failure: StageOutcome | None, interrupted: bool
) -> list[StageOutcome]:
    """Every stage in order; those never reached say why."""
    done = {o.stage: o for o in outcomes}
    why = f"not run: {failure.stage.value} failed" if failure else "not run: interrupted"
    return [
        done.get(stage) or outcome(stage, StageStatus.SKIPPED, why, not_run=True) for stage in Stage
    ]


def _status(
    facts: ItemFacts,
    stages: list[StageOutcome],
    failure: StageOutcome | None,
    interrupted: bool,
) -> tuple[ItemStatus, Stage | None, str | None]:
    if failure is not None:
        return ItemStatus.FAILED, failure.stage, failure.message
    if interrupted:
        pending = next((s.stage for s in stages if s.detail.get("not_run")), Stage.CHECK)
        message = f"interrupted before {pending.value}; the next run continues from there"
        return ItemStatus.FAILED, pending, message
    if _all_reused(stages):
        return ItemStatus.REUSED, None, None
    return (ItemStatus.FIXED if facts.fixed else ItemStatus.OK), None, None


#: The stages whose work a re-run takes from the state. Check, fetch and the proof of the
#: hosted object are done every time (they are how a re-run knows the rest still holds), and
#: the sandbox's store is new each run, so hosting does not decide ``reused`` either.
_REUSABLE = frozenset({Stage.INSPECT, Stage.FIX, Stage.SUBMIT})


def _all_reused(stages: list[StageOutcome]) -> bool:
    """Whether every stage with work to do took it from an earlier run."""
    kept = [
        s.status for s in stages if s.stage in _REUSABLE and s.status is not StageStatus.SKIPPED
    ]
    return bool(kept) and all(status is StageStatus.REUSED for status in kept)


def _relative(path: str | None) -> str | None:
    if not path:
        return None
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if relative.startswith("..") else relative


def exit_code(report: RunReport) -> ExitCode:
    """130 interrupted; 5 a submission's outcome unknown; 4 a service unavailable; 3 the
    configuration or credentials; 1 any item failed; 0 every item ok or fixed."""
    if report.interrupted:
        return ExitCode.INTERRUPTED
    codes = {
        stage.exit_code
        for item in report.items
        for stage in item.stages
        if stage.status is StageStatus.FAILED
    }
    for code in (ExitCode.UNKNOWN_OUTCOME, ExitCode.UNAVAILABLE, ExitCode.CONFIG):
        if code in codes:
            return code
    return ExitCode.OK if report.ok else ExitCode.FINDINGS
