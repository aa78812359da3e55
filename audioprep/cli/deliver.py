"""The commands that host and send: upload, submit, status, postbacks serve, and the sandbox
that stands in for the Voice API."""

from __future__ import annotations

import click

from audioprep import api
from audioprep.cli import options as opt
from audioprep.cli import render
from audioprep.cli.app import cli, current, handles_errors
from audioprep.errors import ExitCode, UsageError
from audioprep.hosting.keys import DEFAULT_EXPIRES, MAX_EXPIRES, PublicMode


@cli.command("upload")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@opt.s3_options
@click.option(
    "--expires",
    type=click.IntRange(1, MAX_EXPIRES),
    default=DEFAULT_EXPIRES,
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
@opt.json_option("JSON (presigned URLs in full)")
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

    settings = current().settings(
        bucket=bucket, s3_endpoint=endpoint_url, region=region, prefix=prefix
    )
    options = hosting.UploadOptions(
        bucket=settings.bucket or "",
        prefix=settings.prefix,
        endpoint_url=settings.s3_endpoint,
        region=settings.region,
        public_mode=PublicMode(public_mode),
        expires=expires,
        inspect=not no_inspect,
        public_base_url=public_base_url,
        allow_policy_change=apply_bucket_policy,
    )
    results = hosting.upload_files(list(files), options)
    click.echo(
        render.to_json([r.to_dict() for r in results])
        if as_json
        else render.upload_results(results)
    )
    return ExitCode.OK if all(r.ok for r in results) else ExitCode.FINDINGS


@cli.command("submit")
@click.option("--audio-url", required=True, help="Public URL of the MP3 or WAV to play.")
@opt.destination_options
@click.option(
    "--job-id",
    help="Your job id (7-15 characters); split jobs get <id>-1, <id>-2... "
    "[default: derived from the content, so a re-run gets the same id]",
)
@click.option("--sender-id", help="Caller id shown to the callee (7-15 digits).")
@click.option("--ring-timeout", type=int, help="Seconds each phone rings (more than 10).")
@opt.account_options(splits=True)
@opt.api_url_option
@opt.journal_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds to wait for the API's answer once a request is sent.",
    **opt.from_library("audioprep.send.client:READ_TIMEOUT_S"),
)
@opt.dry_run_option("Print the exact payloads and verdicts; send nothing.")
@click.option(
    "--force",
    is_flag=True,
    help="Send even when the journal says the same job was accepted or its outcome is unknown.",
)
@opt.json_option("JSON (an object, or a list per job)")
@handles_errors
def submit_cmd(
    audio_url: str,
    numbers: tuple[str, ...],
    to_file: str | None,
    callback_url: str | None,
    job_id: str | None,
    sender_id: str | None,
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
    from audioprep.send.client import CONNECT_TIMEOUT_S

    settings = current().settings(api_url=api_url, journal=journal_path)
    options = submit.SubmitOptions(
        audio_url=audio_url,
        destinations=opt.destinations(numbers, to_file),
        job_id=job_id,
        sender_id=sender_id,
        callback_url=callback_url,
        ring_timeout_s=ring_timeout,
        limits=opt.account_limits(account_type, personal_number, max_destinations),
        api_url=settings.api_url,
        api_token=settings.api_token,
        journal=settings.journal,
        dry_run=dry_run,
        force=force,
        timeout=(CONNECT_TIMEOUT_S, timeout),
    )
    outcomes = submit.submit_audio(options)
    if as_json:
        data = [item.to_dict() for item in outcomes]
        click.echo(render.to_json(data[0] if len(data) == 1 else data))
    else:
        click.echo(render.submit_outcomes(outcomes))
    return submit.exit_code(outcomes)


@cli.command("status")
@click.option("--job-id", help="Your job id (split jobs <id>-N are included).")
@click.option("--api-job-id", help="The api_job_id the API answered (36 characters).")
@click.option("--message-id", help="One call's message_id (20 digits).")
@click.option(
    "--db",
    type=click.Path(dir_okay=False),
    help="Postbacks database of 'postbacks serve' [default: in the state directory].",
)
@opt.journal_option
@click.option("--lookup", is_flag=True, help="Also ask the API's lookup endpoints (needs a token).")
@opt.api_url_option
@opt.json_option("a JSON object")
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

    settings = current().settings(api_url=api_url, journal=journal_path)
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
    click.echo(render.to_json(report.to_dict()) if as_json else render.status_report(report))
    return ExitCode.OK if report.found else ExitCode.FINDINGS


@cli.group("postbacks")
def postbacks_group() -> None:
    """Receive and store the Voice API's postbacks (how each call went)."""


@postbacks_group.command("serve")
@opt.listen_options(
    host="audioprep.send.postbacks:PostbackOptions.host",
    port="audioprep.send.postbacks:PostbackOptions.port",
)
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


@cli.command("sandbox")
@opt.listen_options(
    host="audioprep.sandbox.options:SandboxOptions.host",
    port="audioprep.sandbox.options:DEFAULT_PORT",
)
@click.option(
    "--token",
    "tokens",
    multiple=True,
    help="A token to accept (repeatable). Without one, any 'Token <t>' is accepted.",
)
@opt.account_options()
@click.option(
    "--seed",
    type=int,
    help="Seed of call outcomes.",
    **opt.from_library("audioprep.sandbox.options:SandboxOptions.seed"),
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False),
    help="SQLite file keeping jobs and calls across restarts [default: in memory].",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=0, min_open=True),
    help="Real seconds per simulated second of a call (0.01: postbacks 100x sooner).",
    **opt.from_library("audioprep.sandbox.options:SandboxOptions.time_scale"),
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
