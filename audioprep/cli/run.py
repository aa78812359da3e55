"""``audioprep run``: the whole pipeline over a batch, from the command line."""

from __future__ import annotations

import os

import click

from audioprep.cli import options as opt
from audioprep.cli.app import _freeze_imports, cli, current, handles_errors
from audioprep.errors import ExitCode, UsageError
from audioprep.run.model import ExecutorName, ReportFormat


@cli.command("run")
@click.argument("sources", nargs=-1)
@click.option("--manifest", type=click.Path(dir_okay=False), help="CSV or JSON: audio -> numbers.")
@click.option(
    "-o",
    "--outdir",
    type=click.Path(file_okay=False),
    help="Fixed files.",
    **opt.from_library("audioprep.run.pipeline:RunOptions.outdir"),
)
@opt.profile_option
@click.option("--no-fix", is_flag=True, help="Fail items that need fixing instead of fixing.")
@click.option(
    "--no-fix-warnings",
    is_flag=True,
    help="Fix only items whose verdict is fixable; host items with warnings as they are.",
)
@opt.strict_option(
    "Fail, before upload, items left with warnings no fix repairs (clipping, length)."
)
@click.option(
    "--max-duration",
    "max_duration_s",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Warn about prompts longer than this (with --strict: fail them).",
    **opt.from_library("audioprep.run.pipeline:RunOptions.max_duration_s"),
)
@opt.s3_options
@click.option("--submit", is_flag=True, help="Send the calls (to --to/--to-file/--manifest).")
@opt.destination_options
@opt.account_options(splits=True)
@opt.api_url_option
@opt.journal_option
@click.option(
    "--sandbox",
    is_flag=True,
    help="Start a local S3, the Voice API sandbox and a postback receiver in this process and "
    "use them: the whole flow, no credentials.",
)
@opt.jobs_option("ffmpeg processes")
@click.option(
    "--executor",
    type=click.Choice([e.value for e in ExecutorName]),
    help="Where each item's work runs: this machine, or a Dask cluster (--scheduler).",
    **opt.from_library("audioprep.run.pipeline:RunOptions.executor"),
)
@click.option("--scheduler", help="Dask scheduler (tcp://HOST:8786) [default: a local cluster].")
@click.option(
    "--state",
    type=click.Path(dir_okay=False),
    help="Run state (SQLite) [default: OUTDIR.state.sqlite3 beside OUTDIR].",
)
@opt.report_options(
    default=ReportFormat.TEXT,
    to_file="Write the report here (atomically; checked before any work).",
)
@opt.dry_run_option("Check, inspect and plan fixes; write nothing.")
@opt.embed_audio_option
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@opt.detail_option
@handles_errors
def run_cmd(
    sources: tuple[str, ...],
    manifest: str | None,
    outdir: str,
    profile: str | None,
    no_fix: bool,
    no_fix_warnings: bool,
    strict: bool,
    max_duration_s: float,
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
    embed_audio: bool,
    quiet: bool,
    detail: int,
) -> ExitCode:
    """Check, fetch, inspect, fix, host, verify and (with --submit) send audio prompts.

    SOURCE: files, directories (recursively), globs or URLs. Every stage of every item is
    reported; one item's failure never stops the others. A re-run continues from the state
    and never sends a job twice. Exit 0 all ok/fixed, 1 an item failed, 2 usage, 3 config or
    credentials, 4 a service unavailable, 5 a submission's outcome unknown, 130 interrupted.
    """
    from audioprep.cli.progress import RunProgress
    from audioprep.run import pipeline, reports

    _freeze_imports()

    if not sources and not manifest:
        raise UsageError("give at least one SOURCE or --manifest")
    settings = current().settings(
        bucket=bucket, s3_endpoint=endpoint_url, region=region, prefix=prefix,
        profile=profile, api_url=api_url, journal=journal_path,
    )  # fmt: skip
    options = pipeline.RunOptions(
        outdir=outdir, state=state, manifest=manifest, profile=settings.profile,
        allow_fix=not no_fix, fix_warnings=not no_fix_warnings, strict=strict,
        custom_profiles=opt.custom_profiles(settings), policy=opt.policy(settings),
        max_duration_s=max_duration_s,
        report_file=_html_path(report_file, outdir) if report_format == "html" else report_file,
        bucket=bucket if sandbox else settings.bucket,
        prefix=settings.prefix, s3_endpoint=settings.s3_endpoint, region=settings.region,
        public_mode=public_mode, submit=submit, destinations=opt.destinations(numbers, to_file),
        callback_url=callback_url, api_url=settings.api_url, api_token=settings.api_token,
        journal=settings.journal, sandbox=sandbox, executor=executor, scheduler=scheduler,
        dry_run=dry_run, jobs=jobs or pipeline.default_jobs(),
        limits=opt.account_limits(account_type, personal_number, max_destinations),
    )  # fmt: skip
    progress = RunProgress.for_terminal(quiet=quiet)
    try:
        report = pipeline.run_pipeline(list(sources), options, progress=progress)
    finally:
        progress.close()
    if report_format == ReportFormat.HTML.value:
        page = opt.html_report(report, options.report_file, ".", embed_audio)
        if not quiet:
            click.echo(f"{reports.summary_line(report)}; report in {page}", err=True)
        return pipeline.exit_code(report)
    shown = reports.TextOptions(
        width=None if report_file else opt.text_width(), verbose=bool(detail or current().verbose)
    )
    text = reports.render(report, ReportFormat(report_format), shown)
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


def _html_path(report_file: str | None, outdir: str) -> str:
    """The html report's place: ``--report-file``, else beside OUTDIR."""
    return opt.html_report_path(report_file, os.path.dirname(os.path.abspath(outdir)))
