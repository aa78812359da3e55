"""The commands that look at prompts and make them right: check, validate, inspect, fix, lint,
doctor."""

from __future__ import annotations

from typing import BinaryIO

import click

from audioprep import api, check
from audioprep.cli import options as opt
from audioprep.cli import render
from audioprep.cli.app import cli, current, handles_errors
from audioprep.errors import ExitCode, UsageError
from audioprep.models import PreviewCodec
from audioprep.run.model import ReportFormat


@cli.command("check")
@click.argument("targets", nargs=-1, required=True)
@opt.json_option("a JSON list")
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
@opt.account_options()
@opt.json_option("a JSON object")
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
    limits = opt.account_limits(account_type, personal_number, max_destinations)
    result = api.validate_request(request_file.read(), limits)
    click.echo(render.to_json(result.to_dict()) if as_json else render.answer(result))
    return ExitCode.OK if result.valid else ExitCode.FINDINGS


@cli.command("inspect")
@click.argument("targets", nargs=-1, required=True)
@opt.json_option("a JSON list")
@opt.quick_option
@opt.strict_option()
@opt.jobs_option("Files decoded")
@opt.detail_option
@opt.report_options(
    default=ReportFormat.TEXT,
    to_file="--report html: the page [default: audioprep-report.html here].",
    formats=(ReportFormat.TEXT, ReportFormat.JSON, ReportFormat.HTML),
)
@opt.embed_audio_option
@handles_errors
def inspect_cmd(
    targets: tuple[str, ...],
    as_json: bool,
    quick: bool,
    strict: bool,
    jobs: int | None,
    detail: int,
    report_format: str,
    report_file: str | None,
    embed_audio: bool,
) -> ExitCode:
    """Inspect audio files, directories (recursively) or URLs for real.

    Format by content, metadata as the API reads it, structure (MP3 frames, WAV chunks), and,
    unless --quick, a full decode that catches truncation and corruption headers hide.
    Verdicts: ok, fixable, unusable. Exit 0 when every file is ok.
    """
    from audioprep.audio.inspect import InspectOptions, inspect_targets

    options = InspectOptions(quick=quick, jobs=jobs or opt.default_jobs())
    items = inspect_targets(list(targets), options)
    if strict:  # the project's policy decides what fails
        policy = opt.policy(current().settings())
        items = [policy.apply(item) for item in items]
    if not items:
        raise UsageError("no audio-looking files found in " + ", ".join(targets))
    passed = all(i.passes(strict=strict) for i in items)
    if report_format == ReportFormat.HTML.value:
        from audioprep.run.linting import as_report

        page = opt.html_report(as_report(items, strict=strict), report_file, ".", embed_audio)
        click.echo(f"{len(items)} inspected; report in {page}", err=True)
        return ExitCode.OK if passed else ExitCode.FINDINGS
    text = (
        render.to_json([i.to_dict() for i in items])
        if as_json or report_format == "json"
        else render.inspections(items, strict=strict, verbose=bool(detail or current().verbose))
    )
    click.echo(text)
    return ExitCode.OK if all(i.passes(strict=strict) for i in items) else ExitCode.FINDINGS


@cli.command("fix")
@click.argument("targets", nargs=-1, required=True)
@click.option(
    "-o", "--outdir", required=True, type=click.Path(file_okay=False), help="Output directory."
)
@opt.profile_option
@opt.level_options
@opt.jobs_option("Files fixed")
@opt.dry_run_option("Plan and measure; write nothing.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files that differ.")
@opt.json_option("a JSON list")
@opt.detail_option
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
    detail: int,
) -> ExitCode:
    """Repair audio files, directories (recursively) or URLs into phone-ready files in OUTDIR.

    Decodes what ffmpeg decodes, salvages damaged streams, downmixes, resamples, normalises
    loudness (refusing to raise a nearly silent file by more than --max-gain), trims silence,
    strips tags, fits 5 MB and writes a legal name; every output is inspected again.
    Originals are never modified. Exit 0 when every output is ok.
    """
    from audioprep.fix.batch import fix_targets
    from audioprep.fix.model import FixOptions

    settings = current().settings(profile=profile)
    options = FixOptions(
        outdir=outdir,
        profile=settings.profile,
        target_lufs=target_lufs,
        true_peak_dbtp=true_peak,
        normalise=not no_normalise,
        max_gain_db=max_gain_db,
        dry_run=dry_run,
        overwrite=overwrite,
        jobs=jobs or opt.default_jobs(),
        custom_profiles=opt.custom_profiles(settings),
    )
    results = fix_targets(list(targets), options)
    text = render.to_json([r.to_dict() for r in results]) if as_json else None
    verbose = bool(detail or current().verbose)
    click.echo(text or render.fix_results(results, dry_run=dry_run, verbose=verbose))
    return ExitCode.OK if all(r.ok for r in results) else ExitCode.FINDINGS


@cli.command("preview")
@click.argument("targets", nargs=-1, required=True)
@click.option(
    "-o", "--outdir", required=True, type=click.Path(file_okay=False), help="Output directory."
)
@click.option(
    "--codec",
    type=click.Choice([c.value for c in PreviewCodec]),
    default=PreviewCodec.MULAW.value,
    show_default=True,
    help="G.711 law: mulaw (North America, Japan) or alaw (Europe, most of the world).",
)
@opt.json_option("a JSON list")
@handles_errors
def preview_cmd(targets: tuple[str, ...], outdir: str, codec: str, as_json: bool) -> ExitCode:
    """Render what a caller hears: 300-3400 Hz, 8 kHz mono, G.711, as a WAV in OUTDIR.

    Each preview has the source's duration; play it beside the source to hear what the phone
    network takes away. Exit 0 when every preview was written.
    """
    from audioprep.fix.preview import preview_targets

    results = preview_targets(list(targets), outdir, PreviewCodec(codec))
    if as_json:
        click.echo(render.to_json([r.to_dict() for r in results]))
    else:
        click.echo(render.previews(results))
    return ExitCode.OK if all(r.ok for r in results) else ExitCode.FINDINGS


@cli.command("rules")
@opt.json_option("a JSON list")
@handles_errors
def rules_cmd(as_json: bool) -> ExitCode:
    """List every problem id with its usual severity and what it means.

    These are the ids a [policy] table names (error, warning, ignore; globs such as wav.*).
    """
    from audioprep.audio.rules import RULES

    if as_json:
        click.echo(render.to_json([rule.to_dict() for rule in RULES.values()]))
    else:
        click.echo(render.rules(list(RULES.values())))
    return ExitCode.OK


@cli.command("profiles")
@opt.json_option("a JSON list")
@handles_errors
def profiles_cmd(as_json: bool) -> ExitCode:
    """List the fix profiles, built-in and the config's [profiles.NAME], with their values."""
    from audioprep.fix.profiles import all_profiles

    found = list(all_profiles(opt.custom_profiles(current().settings())).values())
    if as_json:
        click.echo(render.to_json([profile.to_dict() for profile in found]))
    else:
        click.echo(render.profiles(found))
    return ExitCode.OK


@cli.command("lint")
@click.argument("paths", nargs=-1, required=True)
@opt.report_options(
    default=None,
    to_file="Write the report to this file (atomically); stdout then gets the default format.",
)
@opt.quick_option
@opt.strict_option()
@opt.embed_audio_option
@handles_errors
def lint_cmd(
    paths: tuple[str, ...],
    report_format: str | None,
    report_file: str | None,
    quick: bool,
    strict: bool,
    embed_audio: bool,
) -> ExitCode:
    """Check names and inspect audio files, directories or URLs for CI and pre-commit.

    'run' limited to check and inspect. Exit 0 when every item is ok, 1 otherwise.
    """
    from audioprep.run import reports
    from audioprep.run.linting import lint
    from audioprep.run.model import ItemStatus

    policy = opt.policy(current().settings())
    report = lint(list(paths), quick=quick, strict=strict, policy=policy)
    if not report.items:
        raise UsageError("no audio-looking files found in " + ", ".join(paths))
    default = reports.default_format()
    chosen = ReportFormat(report_format) if report_format else default
    passed = all(item.status is ItemStatus.OK for item in report.items)
    if chosen is ReportFormat.HTML:
        page = opt.html_report(report, report_file, ".", embed_audio)
        click.echo(f"{reports.summary_line(report)}; report in {page}", err=True)
        return ExitCode.OK if passed else ExitCode.FINDINGS
    if report_file:
        try:
            reports.write_report(report_file, reports.render(report, chosen))
        except OSError as exc:
            raise UsageError(f"cannot write {report_file}: {exc.strerror or exc}") from exc
        chosen = default
    click.echo(reports.render(report, chosen), nl=False)
    return ExitCode.OK if passed else ExitCode.FINDINGS


@cli.command("doctor")
@opt.json_option("a JSON object")
@handles_errors
def doctor_cmd(as_json: bool) -> ExitCode:
    """Show versions, the ffmpeg in use, MP3 encoding, and whether config is found.

    Secrets are never printed, only whether they are set. Exit 3 when a required part is missing.
    """
    from audioprep import doctor

    report = doctor.run_doctor(current().settings())
    click.echo(render.to_json(report.to_dict()) if as_json else render.doctor(report))
    return ExitCode.OK if report.ok else ExitCode.CONFIG
