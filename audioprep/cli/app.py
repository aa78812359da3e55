"""The ``audioprep`` command line: a thin click layer over the library.

Each command parses its options, makes one library call, renders the result and returns an
:class:`~audioprep.errors.ExitCode`. Errors raised as :class:`~audioprep.errors.AudioprepError`
become a message and their exit code; nothing else is caught, so a traceback means a bug.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import functools
import gc
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, NoReturn, ParamSpec, TypeVar

import click

from audioprep import api, check, config
from audioprep.cli import render
from audioprep.errors import AudioprepError, ExitCode, UsageError
from audioprep.version import __version__

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class CliState:
    """Options of the top-level group, shared by every command."""

    config_path: str | None
    verbose: int

    def settings(self, **flags: Any) -> config.Settings:
        """Resolve settings with this invocation's flags on top."""
        return config.load_settings(flags, config_path=self.config_path)


def env_help(text: str, setting: str) -> str:
    """Help text that names the setting's environment variable."""
    return f"{text} [env: {config.SPEC_BY_NAME[setting].env}]"


def handles_errors(fn: Callable[P, ExitCode]) -> Callable[P, None]:
    """Turn a command's ExitCode or AudioprepError into the process exit code."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            code = fn(*args, **kwargs)
        except AudioprepError as exc:
            click.echo(f"audioprep: error: {exc.message}", err=True)
            if exc.hint:
                click.echo(f"audioprep: hint: {exc.hint}", err=True)
            code = exc.exit_code
        except KeyboardInterrupt:
            click.echo("audioprep: interrupted", err=True)
            code = ExitCode.INTERRUPTED
        except OSError as exc:
            if not _is_output_failure(exc):
                raise
            _say_output_failed(exc)
            code = ExitCode.OUTPUT_FAILED
        click.get_current_context().exit(int(code))

    return wrapper


def account_options(*, splits: bool = False) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """The account options (rules.AccountLimits' fields) of the commands that validate or
    send calls; ``splits``: the command splits larger audiences into jobs."""
    limit_help = "Per-job destination limit of the token's routing preference"
    limit_help += "; larger audiences are split into jobs." if splits else "."
    decorators = (
        click.option(
            "--account-type",
            type=click.Choice([t.value for t in api.AccountType]),
            default=api.AccountType.FULL.value,
            show_default=True,
            help="TEST accounts may call only the personal number, one per job.",
        ),
        click.option("--personal-number", help="The account holder's number (TEST accounts)."),
        click.option(
            "--max-destinations",
            type=click.IntRange(min=1),
            default=api.DEFAULT_MAX_DESTINATIONS,
            show_default=True,
            help=limit_help,
        ),
    )

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        for option in reversed(decorators):
            fn = option(fn)
        return fn

    return decorate


def account_limits(
    account_type: str, personal_number: str | None, max_destinations: int
) -> api.AccountLimits:
    """The account options as limits (a TEST account needs its personal number)."""
    kind = api.AccountType(account_type)
    if kind is api.AccountType.TEST and not personal_number:
        raise UsageError(
            "--account-type test needs --personal-number",
            hint="a TEST account may call only the account holder's own number",
        )
    return api.AccountLimits(
        account_type=kind, personal_number=personal_number, max_destinations=max_destinations
    )


def listen_options(*, default_port: int) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """``--host`` and ``--port`` for the commands that serve HTTP (sandbox, postbacks serve)."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        fn = click.option(
            "--port",
            type=click.IntRange(0, 65535),
            default=default_port,
            show_default=True,
            help="Port to listen on (0 picks a free one).",
        )(fn)
        return click.option(
            "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
        )(fn)

    return decorate


def _state() -> CliState:
    state = click.get_current_context().find_object(CliState)
    return state if state is not None else CliState(None, 0)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="audioprep")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help=f"TOML config file [env: {config.CONFIG_ENV}; default: {config.default_config_path({})}]",
)
@click.option("-v", "--verbose", count=True, help="Log what happens (repeat for more).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int) -> None:
    """Preflight, repair, host and send audio prompts for the Voice API.

    Exit codes: 0 all good, 1 findings or failed items, 2 usage error, 3 configuration or
    credentials, 4 remote service unavailable, 5 unknown submission outcome, 130 interrupted.
    """
    ctx.obj = CliState(config_path, verbose)
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler.set_name("audioprep-cli")
        logger = logging.getLogger("audioprep")
        for old in [h for h in logger.handlers if h.get_name() == "audioprep-cli"]:
            logger.removeHandler(old)  # in-process re-invocations (tests) must not stack them
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)


@cli.command("check")
@click.argument("targets", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of text.")
@handles_errors
def check_cmd(targets: tuple[str, ...], as_json: bool) -> ExitCode:
    """Check file names, paths or URLs against the API's naming rules.

    Suggests a legal name where the name is the problem. Exit 0 when every target is ok.
    """
    results = check.check_targets(list(targets))
    click.echo(
        render.to_json([r.to_dict() for r in results]) if as_json else render.check_results(results)
    )
    return ExitCode.OK if all(r.ok for r in results) else ExitCode.FINDINGS


@cli.command("validate")
@click.argument("request_file", type=click.File("rb"))
@account_options()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
@handles_errors
def validate_cmd(
    request_file: BinaryIO,
    account_type: str,
    personal_number: str | None,
    max_destinations: int,
    as_json: bool,
) -> ExitCode:
    """Answer for a trigger-call body (a file, or - for stdin) exactly as the API would.

    Exit 0 when the API would accept it, 1 when it would refuse it.
    """
    limits = account_limits(account_type, personal_number, max_destinations)
    result = api.validate_request(request_file.read(), limits)
    click.echo(render.to_json(result.to_dict()) if as_json else render.answer(result))
    return ExitCode.OK if result.valid else ExitCode.FINDINGS


@cli.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
@handles_errors
def doctor_cmd(as_json: bool) -> ExitCode:
    """Show versions, the ffmpeg in use, MP3 encoding, and whether config is found.

    Secrets are never printed, only whether they are set. Exit 3 when a required part is missing.
    """
    from audioprep import doctor

    report = doctor.run_doctor(_state().settings())
    click.echo(render.to_json(report.to_dict()) if as_json else render.doctor(report))
    return ExitCode.OK if report.ok else ExitCode.CONFIG


@cli.command("inspect")
@click.argument("targets", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of text.")
@click.option("--quick", is_flag=True, help="Headers and structure only; no decoding.")
@click.option("--strict", is_flag=True, help="Warnings also fail (exit 1).")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Files decoded at once [default: number of cores].",
)
@handles_errors
def inspect_cmd(
    targets: tuple[str, ...], as_json: bool, quick: bool, strict: bool, jobs: int | None
) -> ExitCode:
    """Inspect audio files, directories (recursively) or URLs for real.

    Format by content, metadata as the API reads it, structure (MP3 frames, WAV chunks), and,
    unless --quick, a full decode that catches truncation and corruption headers hide.
    Verdicts: ok, fixable, unusable. Exit 0 when every file is ok.
    """
    from audioprep.audio.inspect import InspectOptions, inspect_targets

    options = InspectOptions(quick=quick, **({"jobs": jobs} if jobs else {}))
    items = inspect_targets(list(targets), options)
    if not items:
        raise UsageError("no audio-looking files found in " + ", ".join(targets))
    text = (
        render.to_json([i.to_dict() for i in items])
        if as_json
        else render.inspections(items, strict=strict)
    )
    click.echo(text)
    return ExitCode.OK if all(i.passes(strict=strict) for i in items) else ExitCode.FINDINGS


@cli.command("sandbox")
@listen_options(default_port=8808)
@click.option(
    "--token",
    "tokens",
    multiple=True,
    help="A token to accept (repeatable). Without one, any 'Token <t>' is accepted.",
)
@account_options()
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of call outcomes.")
@click.option(
    "--db",
    type=click.Path(dir_okay=False),
    help="SQLite file keeping jobs and calls across restarts (default: in memory).",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Real seconds per simulated second of a call (0.01: postbacks 100x sooner).",
)
@click.option("--fault", help="Inject a fault: 503, 500, busy, drop, job_problem, ...")
@click.option("--latency-ms", type=click.IntRange(min=0), default=0, help="Delay every answer.")
@handles_errors
def sandbox_cmd(
    host: str,
    port: int,
    tokens: tuple[str, ...],
    account_type: str,
    personal_number: str | None,
    max_destinations: int,
    seed: int,
    db: str | None,
    time_scale: float,
    fault: str | None,
    latency_ms: int,
) -> ExitCode:
    """Serve a local Voice API (same paths, codes, bodies and postbacks) until Ctrl-C.

    Trigger calls with POST /1/voice; look up calls and jobs with GET /1/voice/call/ID and
    GET /1/voice/job/ID. docs/sandbox.md describes every endpoint and choice.
    """
    from audioprep.sandbox import Faults, Sandbox, SandboxOptions
    from audioprep.sandbox.options import FaultMode

    if fault is not None and fault not in set(FaultMode):
        raise UsageError(f"unknown --fault {fault!r}", hint=f"use one of {', '.join(FaultMode)}")
    try:
        options = SandboxOptions(
            host=host,
            port=port,
            tokens=tokens,
            account_type=api.AccountType(account_type),
            personal_number=personal_number,
            max_destinations=max_destinations,
            seed=seed,
            db=db,
            time_scale=time_scale,
            faults=Faults(latency_s=latency_ms / 1000, mode=FaultMode(fault) if fault else None),
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    sandbox = Sandbox(options)
    try:
        url = sandbox.start()
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    try:
        click.echo(f"sandbox listening on {url} (trigger: POST {url}/1/voice)")
        accepted = f"{len(tokens)} token(s) accepted" if tokens else "any token is accepted"
        click.echo(f"tokens: {accepted}; jobs stored in {db or 'memory'}; seed {seed}")
        click.echo("press Ctrl-C to stop")
        sandbox.wait()
    finally:
        sandbox.stop()
    return ExitCode.OK


@cli.command("upload")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--bucket", help=env_help("S3 bucket.", "bucket"))
@click.option("--prefix", help=env_help("Key prefix, made legal. [default: audio]", "prefix"))
@click.option(
    "--endpoint-url",
    help=env_help("S3-compatible endpoint (MinIO, R2, Wasabi); path-style.", "s3_endpoint"),
)
@click.option("--region", help=env_help("Bucket region.", "region"))
@click.option(
    "--public-mode",
    type=click.Choice(["auto", "acl", "policy", "presign"]),
    default="auto",
    show_default=True,
    help="auto: use the bucket's public access, or set public-read where ACLs are allowed; "
    "acl: set public-read; policy: rely on a bucket policy; presign: an expiring signed URL.",
)
@click.option(
    "--expires",
    type=click.IntRange(1, 604_800),
    default=86_400,
    show_default=True,
    help="Lifetime of presigned URLs in seconds (at most 7 days).",
)
@click.option("--public-base-url", help="Where objects are served, if not the S3 endpoint (CDN).")
@click.option(
    "--apply-bucket-policy",
    is_flag=True,
    help="If objects are not public, add one public-read statement for the prefix to the "
    "bucket policy. Off by default: audioprep never changes a bucket unless told to.",
)
@click.option("--no-inspect", is_flag=True, help="Upload without inspecting the files first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (presigned URLs in full).")
@handles_errors
def upload_cmd(
    files: tuple[str, ...],
    bucket: str | None,
    prefix: str | None,
    endpoint_url: str | None,
    region: str | None,
    public_mode: str,
    expires: int,
    public_base_url: str | None,
    apply_bucket_policy: bool,
    no_inspect: bool,
    as_json: bool,
) -> ExitCode:
    """Upload audio files to S3 under content-addressed keys and prove the API can fetch them.

    Each file is inspected (refused unless its verdict is ok), uploaded once (the same bytes
    are reused), made readable, then downloaded anonymously: only a URL that returned the same
    bytes with the right Content-Type is reported. Exit 0 when all are hosted and verified,
    1 when any failed, 3 for missing credentials or bucket, 4 when S3 is unreachable.
    """
    from audioprep.hosting import upload as hosting

    settings = _state().settings(
        bucket=bucket, s3_endpoint=endpoint_url, region=region, prefix=prefix
    )
    options = hosting.UploadOptions(
        bucket=settings.bucket or "",
        prefix=settings.prefix,
        endpoint_url=settings.s3_endpoint,
        region=settings.region,
        public_mode=hosting.PublicMode(public_mode),
        expires=expires,
        inspect=not no_inspect,
        public_base_url=public_base_url,
        allow_policy_change=apply_bucket_policy,
    )
    results = hosting.upload_files(list(files), options)
    click.echo(
        render.to_json([r.to_dict() for r in results])
        if as_json
        else hosting.render_results(results)
    )
    return ExitCode.OK if all(r.ok for r in results) else ExitCode.FINDINGS


@cli.command("submit")
@click.option("--audio-url", required=True, help="Public URL of the MP3 or WAV to play.")
@click.option("--to", "numbers", multiple=True, help="A number to call (repeatable).")
@click.option(
    "--to-file",
    type=click.Path(dir_okay=False),
    help="CSV file with a 'number' column and an optional 'custom_id' column.",
)
@click.option(
    "--job-id",
    help="Your job id (7-15 characters); split jobs get <id>-1, <id>-2... "
    "[default: derived from the content, so a re-run gets the same id]",
)
@click.option("--sender-id", help="Caller id shown to the callee (7-15 digits).")
@click.option("--callback-url", help="Where the API POSTs call progress ('postbacks serve').")
@click.option("--ring-timeout", type=int, help="Seconds each phone rings (more than 10).")
@account_options(splits=True)
@click.option("--api-url", help=env_help("Voice API trigger endpoint.", "api_url"))
@click.option(
    "--journal",
    "journal_path",
    type=click.Path(dir_okay=False),
    help=env_help("Submission journal (SQLite) [default: in the state directory]", "journal"),
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds to wait for the API's answer once a request is sent.",
)
@click.option(
    "--dry-run", is_flag=True, help="Print the exact payloads and verdicts; send nothing."
)
@click.option(
    "--force",
    is_flag=True,
    help="Send even when the journal says the same job was accepted or its outcome is unknown.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (an object, or a list per job).")
@handles_errors
def submit_cmd(
    audio_url: str,
    numbers: tuple[str, ...],
    to_file: str | None,
    job_id: str | None,
    sender_id: str | None,
    callback_url: str | None,
    ring_timeout: int | None,
    account_type: str,
    personal_number: str | None,
    max_destinations: int,
    api_url: str | None,
    journal_path: str | None,
    timeout: float,
    dry_run: bool,
    force: bool,
    as_json: bool,
) -> ExitCode:
    """Submit audio calls: validate every job, journal it, send it once, report each outcome.

    Audiences over --max-destinations are split into jobs. A job is retried only when the API
    certainly did not take it (no connection, HTTP 503, -105); a request sent but unanswered is
    an unknown outcome and is never resent without --force. Re-running the same submission does
    not send again what was accepted. Exit 0 accepted (or skipped as accepted), 1 rejected or
    invalid, 3 token or configuration, 4 API unavailable, 5 unknown outcome.
    """
    from audioprep.send import submit
    from audioprep.send.client import DEFAULT_TIMEOUT

    settings = _state().settings(api_url=api_url, journal=journal_path)
    destinations = [submit.Destination(number) for number in numbers]
    if to_file:
        destinations.extend(submit.read_destinations_csv(to_file))
    options = submit.SubmitOptions(
        audio_url=audio_url,
        destinations=tuple(destinations),
        job_id=job_id,
        sender_id=sender_id,
        callback_url=callback_url,
        ring_timeout_s=ring_timeout,
        limits=account_limits(account_type, personal_number, max_destinations),
        api_url=settings.api_url,
        api_token=settings.api_token,
        journal=settings.journal,
        dry_run=dry_run,
        force=force,
        timeout=(DEFAULT_TIMEOUT[0], timeout),
    )
    outcomes = submit.submit_audio(options)
    if as_json:
        data = [item.to_dict() for item in outcomes]
        click.echo(render.to_json(data[0] if len(data) == 1 else data))
    else:
        click.echo(submit.render_outcomes(outcomes))
    return submit.exit_code(outcomes)


@cli.group("postbacks")
def postbacks_group() -> None:
    """Receive and store the Voice API's postbacks (how each call went)."""


@postbacks_group.command("serve")
@listen_options(default_port=8809)
@click.option(
    "--db",
    type=click.Path(dir_okay=False),
    help="SQLite file for postbacks [default: postbacks.sqlite3 in the state directory].",
)
@click.option(
    "--secret",
    envvar="AUDIOPREP_POSTBACK_SECRET",
    show_envvar=True,
    help="Take only requests carrying it (last path segment or ?secret=).",
)
@handles_errors
def postbacks_serve_cmd(host: str, port: int, db: str | None, secret: str | None) -> ExitCode:
    """Receive postbacks until Ctrl-C: answer 200 at once, store each raw and parsed.

    Bodies that are not the documented callback shape are answered 400 (the reason is logged;
    use -v). Give '<url>/postback' as --callback-url to 'audioprep submit'.
    """
    from audioprep.send import postbacks

    server = postbacks.PostbackServer(
        postbacks.PostbackOptions(host=host, port=port, db=db, secret=secret)
    )
    try:
        url = server.start()
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    try:
        click.echo(f"receiving postbacks on {url}; storing in {server.store.path}")
        click.echo(f"callback URL: {postbacks.callback_url(url, secret=bool(secret))}")
        click.echo("press Ctrl-C to stop")
        server.wait()
    finally:
        server.stop()
    return ExitCode.OK


@cli.command("status")
@click.option("--job-id", help="Your job id (split jobs <id>-N are included).")
@click.option("--api-job-id", help="The api_job_id the API answered (36 characters).")
@click.option("--message-id", help="One call's message_id (20 digits).")
@click.option(
    "--db",
    type=click.Path(dir_okay=False),
    help="Postbacks database of 'postbacks serve' [default: in the state directory].",
)
@click.option(
    "--journal",
    "journal_path",
    type=click.Path(dir_okay=False),
    help=env_help("Submission journal [default: in the state directory]", "journal"),
)
@click.option("--lookup", is_flag=True, help="Also ask the API's lookup endpoints (needs a token).")
@click.option("--api-url", help=env_help("Voice API trigger endpoint.", "api_url"))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
@handles_errors
def status_cmd(
    job_id: str | None,
    api_job_id: str | None,
    message_id: str | None,
    db: str | None,
    journal_path: str | None,
    lookup: bool,
    api_url: str | None,
    as_json: bool,
) -> ExitCode:
    """Show how each destination's call went: journal, stored postbacks and, with --lookup, the API.

    Exit 0 when the id is known, 1 when nothing is known about it.
    """
    from audioprep.send import status

    settings = _state().settings(api_url=api_url, journal=journal_path)
    query = status.StatusQuery(
        job_id=job_id,
        api_job_id=api_job_id,
        message_id=message_id,
        journal=settings.journal,
        postbacks_db=db,
        lookup=lookup,
        api_url=settings.api_url,
        api_token=settings.api_token,
    )
    report = status.job_status(query)
    click.echo(render.to_json(report.to_dict()) if as_json else status.render_status(report))
    return ExitCode.OK if report.found else ExitCode.FINDINGS


@cli.command("fix")
@click.argument("targets", nargs=-1, required=True)
@click.option(
    "-o", "--outdir", required=True, type=click.Path(file_okay=False), help="Output directory."
)
@click.option(
    "--profile",
    type=click.Choice(["voice-mp3", "voice-wav", "keep"]),
    help=env_help("Output profile. [default: voice-mp3]", "profile"),
)
@click.option("--loudness", "target_lufs", type=float, default=-19.0, show_default=True,
              help="Integrated loudness target (LUFS).")  # fmt: skip
@click.option("--true-peak", type=float, default=-1.0, show_default=True,
              help="Peak ceiling (dBTP).")  # fmt: skip
@click.option("--no-normalise", is_flag=True, help="Skip loudness normalisation and trimming.")
@click.option("--max-gain", "max_gain_db", type=click.FloatRange(0, 60), default=40.0,
              show_default=True, help="Most gain normalising may add (dB); a file that needs "
              "more is nearly silent and fails.")  # fmt: skip
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Files fixed at once [default: number of cores].",
)
@click.option("--dry-run", is_flag=True, help="Plan and measure; write nothing.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files that differ.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of text.")
@handles_errors
def fix_cmd(
    targets: tuple[str, ...],
    outdir: str,
    profile: str | None,
    target_lufs: float,
    true_peak: float,
    no_normalise: bool,
    max_gain_db: float,
    jobs: int | None,
    dry_run: bool,
    overwrite: bool,
    as_json: bool,
) -> ExitCode:
    """Repair audio files, directories (recursively) or URLs into phone-ready files in OUTDIR.

    Decodes what ffmpeg decodes, salvages damaged streams, downmixes, resamples, normalises
    loudness (refusing to raise a nearly silent file by more than --max-gain), trims silence,
    strips tags, fits 5 MB and writes a legal name; every output is inspected again.
    Originals are never modified. Exit 0 when every output is ok.
    """
    from audioprep.fix.batch import fix_targets
    from audioprep.fix.model import FixOptions

    settings = _state().settings(profile=profile)
    options = FixOptions(
        outdir=outdir,
        profile=settings.profile,
        target_lufs=target_lufs,
        true_peak_dbtp=true_peak,
        normalise=not no_normalise,
        max_gain_db=max_gain_db,
        dry_run=dry_run,
        overwrite=overwrite,
        **({"jobs": jobs} if jobs else {}),
    )
    results = fix_targets(list(targets), options)
    text = render.to_json([r.to_dict() for r in results]) if as_json else None
    click.echo(text or render.fix_results(results, dry_run=dry_run))
    return ExitCode.OK if all(r.ok for r in results) else ExitCode.FINDINGS


@cli.command("lint")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--report",
    "report_format",
    type=click.Choice(["text", "json", "junit", "github", "sarif"]),
    help="Report format [default: github when GITHUB_ACTIONS=true, else text].",
)
@click.option(
    "--report-file",
    type=click.Path(dir_okay=False),
    help="Write the report to this file (atomically); stdout then gets the default format.",
)
@click.option("--quick", is_flag=True, help="Headers and structure only [default: full decode].")
@click.option("--strict", is_flag=True, help="Warnings also fail (exit 1).")
@handles_errors
def lint_cmd(
    paths: tuple[str, ...],
    report_format: str | None,
    report_file: str | None,
    quick: bool,
    strict: bool,
) -> ExitCode:
    """Check names and inspect audio files, directories or URLs for CI and pre-commit.

    'run' limited to check and inspect. Exit 0 when every item is ok, 1 otherwise.
    """
    from audioprep.run import reports
    from audioprep.run.linting import lint
    from audioprep.run.model import ItemStatus

    report = lint(list(paths), quick=quick, strict=strict)
    if not report.items:
        raise UsageError("no audio-looking files found in " + ", ".join(paths))
    default = reports.default_format()
    chosen = reports.ReportFormat(report_format) if report_format else default
    if report_file:
        try:
            reports.write_report(report_file, reports.render(report, chosen))
        except OSError as exc:
            raise UsageError(f"cannot write {report_file}: {exc.strerror or exc}") from exc
        chosen = default
    click.echo(reports.render(report, chosen), nl=False)
    passed = all(item.status is ItemStatus.OK for item in report.items)
    return ExitCode.OK if passed else ExitCode.FINDINGS


@cli.command("run")
@click.argument("sources", nargs=-1)
@click.option("--manifest", type=click.Path(dir_okay=False), help="CSV or JSON: audio -> numbers.")
@click.option("-o", "--outdir", default="audioprep-out", show_default=True, help="Fixed files.")
@click.option(
    "--profile",
    type=click.Choice(["voice-mp3", "voice-wav", "keep"]),
    help=env_help("Fix profile. [default: voice-mp3]", "profile"),
)
@click.option("--no-fix", is_flag=True, help="Fail items that need fixing instead of fixing.")
@click.option("--bucket", help=env_help("S3 bucket to host the audio in.", "bucket"))
@click.option("--prefix", help=env_help("Key prefix. [default: audio]", "prefix"))
@click.option("--endpoint-url", help=env_help("S3-compatible endpoint.", "s3_endpoint"))
@click.option("--region", help=env_help("Bucket region.", "region"))
@click.option(
    "--public-mode",
    type=click.Choice(["auto", "acl", "policy", "presign"]),
    default="auto",
    show_default=True,
    help="How objects become readable (see 'upload').",
)
@click.option("--submit", is_flag=True, help="Send the calls (to --to/--to-file/--manifest).")
@click.option("--to", "numbers", multiple=True, help="A number to call (repeatable).")
@click.option("--to-file", type=click.Path(dir_okay=False), help="CSV: number[,custom_id].")
@click.option("--callback-url", help="Where the API POSTs call progress.")
@account_options(splits=True)
@click.option("--api-url", help=env_help("Voice API trigger endpoint.", "api_url"))
@click.option("--journal", "journal_path", help=env_help("Submission journal.", "journal"))
@click.option(
    "--sandbox",
    is_flag=True,
    help="Start a local S3, the Voice API sandbox and a postback receiver in this process and "
    "use them: the whole flow, no credentials.",
)
@click.option("--jobs", type=click.IntRange(min=1), help="ffmpeg work at once [default: cores].")
@click.option(
    "--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True
)
@click.option("--scheduler", help="Dask scheduler (tcp://HOST:8786) [default: a local cluster].")
@click.option(
    "--state",
    type=click.Path(dir_okay=False),
    help="Run state (SQLite) [default: OUTDIR.state.sqlite3 beside OUTDIR].",
)
@click.option(
    "--report",
    "report_format",
    type=click.Choice(["text", "json", "junit", "github", "sarif"]),
    default="text",
    show_default=True,
)
@click.option("--report-file", type=click.Path(dir_okay=False), help="Write the report here.")
@click.option("--dry-run", is_flag=True, help="Check, inspect and plan fixes; write nothing.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@handles_errors
def run_cmd(
    sources: tuple[str, ...],
    manifest: str | None,
    outdir: str,
    profile: str | None,
    no_fix: bool,
    bucket: str | None,
    prefix: str | None,
    endpoint_url: str | None,
    region: str | None,
    public_mode: str,
    submit: bool,
    numbers: tuple[str, ...],
    to_file: str | None,
    callback_url: str | None,
    account_type: str,
    personal_number: str | None,
    max_destinations: int,
    api_url: str | None,
    journal_path: str | None,
    sandbox: bool,
    jobs: int | None,
    executor: str,
    scheduler: str | None,
    state: str | None,
    report_format: str,
    report_file: str | None,
    dry_run: bool,
    quiet: bool,
) -> ExitCode:
    """Check, fetch, inspect, fix, host, verify and (with --submit) send audio prompts.

    SOURCE: files, directories (recursively), globs or URLs. Every stage of every item is
    reported; one item's failure never stops the others. A re-run continues from the state
    and never sends a job twice. Exit 0 all ok/fixed, 1 an item failed, 2 usage, 3 config or
    credentials, 4 a service unavailable, 5 a submission's outcome unknown, 130 interrupted.
    """
    from audioprep.cli.progress import RunProgress
    from audioprep.run import pipeline, reports
    from audioprep.send import submit as submit_mod

    _freeze_imports()

    if not sources and not manifest:
        raise UsageError("give at least one SOURCE or --manifest")
    settings = _state().settings(
        bucket=bucket, s3_endpoint=endpoint_url, region=region, prefix=prefix,
        profile=profile, api_url=api_url, journal=journal_path,
    )  # fmt: skip
    destinations = [submit_mod.Destination(number) for number in numbers]
    if to_file:
        destinations.extend(submit_mod.read_destinations_csv(to_file))
    options = pipeline.RunOptions(
        outdir=outdir, state=state, manifest=manifest, profile=settings.profile,
        allow_fix=not no_fix, bucket=bucket if sandbox else settings.bucket,
        prefix=settings.prefix, s3_endpoint=settings.s3_endpoint, region=settings.region,
        public_mode=public_mode, submit=submit, destinations=tuple(destinations),
        callback_url=callback_url, api_url=settings.api_url, api_token=settings.api_token,
        journal=settings.journal, sandbox=sandbox, executor=executor, scheduler=scheduler,
        dry_run=dry_run, jobs=jobs or pipeline.default_jobs(),
        limits=account_limits(account_type, personal_number, max_destinations),
    )  # fmt: skip
    progress = RunProgress.for_terminal(quiet=quiet)
    try:
        report = pipeline.run_pipeline(list(sources), options, progress=progress)
    finally:
        progress.close()
    text = reports.render(report, reports.ReportFormat(report_format))
    if report_file:
        try:
            reports.write_report(report_file, text)
        except OSError as exc:
            raise UsageError(f"cannot write {report_file}: {exc.strerror or exc}") from exc
        if not quiet:
            click.echo(f"{reports.summary_line(report)}; report in {report_file}", err=True)
    else:
        click.echo(text, nl=False)
    return pipeline.exit_code(report)


#: Set by :func:`main`: this process is the command's own, so process-wide settings are ours.
_owns_process = False


def _freeze_imports() -> None:
    """In the command's own process, move what the imports built (it lives as long as the
    process) out of the garbage collector's sight: a full collection walking it took ~70 ms
    just as ``run`` started its first ffmpeg processes, and found nothing to free."""
    if _owns_process:
        gc.freeze()


def main() -> None:
    """Console-script entry point.

    When the command is done the process leaves without the interpreter's teardown: the
    exit handlers run (logging, thread pools, temporary files) and the standard streams are
    flushed, then :func:`os._exit`. Tearing down every module and object botocore and moto
    built costs 0.1-0.5 s after a ``run --sandbox``, and nothing is left for it to do:
    files, databases and sockets are closed by their ``with`` blocks before this point.
    (:func:`gc.freeze` first, in case an exit handler triggers a collection.) An exit code
    that is not a number, and any exception that is not an exit, go the usual way.
    """
    global _owns_process
    _owns_process = True
    try:
        cli(prog_name="audioprep")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            _leave(exc.code or 0)
        raise
    finally:
        gc.freeze()
    _leave(0)


#: Write errors of the standard streams themselves (a full disk, a dead terminal or pipe).
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EIO, errno.EPIPE, errno.EDQUOT})


def _is_output_failure(exc: OSError) -> bool:
    """An error writing our own output. Files audioprep reads or writes are turned into
    :class:`AudioprepError` where they are opened, and carry a file name."""
    return exc.filename is None and exc.errno in _OUTPUT_ERRNOS


def _say_output_failed(exc: OSError | ValueError) -> None:
    """Say so on stderr (if it still takes text), and stop writing to stdout."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(f"audioprep: could not write the output: {reason}\n")
        sys.stderr.flush()
    with contextlib.suppress(OSError, ValueError):  # drop what is still buffered for it
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _leave(code: int) -> NoReturn:
    gc.freeze()
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left (``| head``): nothing is lost that it wanted
        pass
    except (OSError, ValueError) as exc:  # a full disk: say so, as Python's own exit would
        _say_output_failed(exc)
        code = code or ExitCode.OUTPUT_FAILED
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)
