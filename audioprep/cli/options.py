"""The CLI's options: every option two commands share, and every default, defined once.

Defaults and choices come from the library, never from a literal here: a value of a light
module is used as it is (:mod:`audioprep.audio.levels`, the enums); a value of a heavy one is
named (``from_library("audioprep.send.client:READ_TIMEOUT_S")``) and imported only when a
command or its ``--help`` needs it, so ``audioprep --help`` stays cheap. Settings that can also
come from the environment or the config file say so in their help (``[env: …]``).
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import click

from audioprep import api, config
from audioprep.audio import levels
from audioprep.errors import UsageError
from audioprep.hosting.keys import PublicMode
from audioprep.models import DEFAULT_PROFILE, ProfileName
from audioprep.run.model import ReportFormat

if TYPE_CHECKING:
    from audioprep.audio.policy import Policy
    from audioprep.fix.profiles import Profile
    from audioprep.send.submit import Destination

F = TypeVar("F", bound=Callable[..., Any])


class Decorator(Protocol):
    """What click's option decorators are: a command function in, the same one out."""

    def __call__(self, fn: F, /) -> F: ...


def library_value(path: str) -> Any:
    """The value at ``module:Name`` or ``module:DataClass.field`` (that field's default)."""
    module, _, name = path.partition(":")
    owner, _, field = name.partition(".")
    value = getattr(importlib.import_module(module), owner)
    if not field:
        return value
    found = {f.name: f for f in dataclasses.fields(value)}[field]
    if found.default_factory is not dataclasses.MISSING:
        return found.default_factory()
    return found.default


class LibraryDefault(click.Option):
    """An option whose default is a library value, imported when it is first needed."""

    def __init__(self, *args: Any, default_from: str, **kwargs: Any) -> None:
        self.default_from = default_from
        kwargs.setdefault("show_default", True)
        super().__init__(*args, **kwargs)

    def get_default(self, ctx: click.Context, call: bool = True) -> Any:
        return library_value(self.default_from)


def from_library(path: str) -> dict[str, Any]:
    """``click.option`` arguments for a default that is the library value at ``path``."""
    return {"cls": LibraryDefault, "default_from": path}


def env_help(text: str, setting: str) -> str:
    """Help text that names the setting's environment variable."""
    return f"{text} [env: {config.SPEC_BY_NAME[setting].env}]"


def stack(*decorators: Callable[[Any], Any]) -> Decorator:
    """Apply ``decorators`` so the options appear in ``--help`` in the order given."""

    def decorate(fn: F) -> F:
        for option in reversed(decorators):
            fn = option(fn)
        return fn

    return decorate


def _values(enum: Iterable[Any]) -> list[str]:
    return [member.value for member in enum]


# --------------------------------------------------------------------------------------------
# Output and scope
# --------------------------------------------------------------------------------------------


def json_option(what: str) -> Decorator:
    """``--json``: print ``what`` as JSON instead of text."""
    return click.option("--json", "as_json", is_flag=True, help=f"Print {what} instead of text.")


quick_option = click.option(
    "--quick", is_flag=True, help="Headers and structure only; no decoding."
)


def strict_option(what: str = "Warnings also fail (exit 1).") -> Decorator:
    """``--strict``: warnings count as failures (``what`` says which)."""
    return click.option("--strict", is_flag=True, help=what)


detail_option = click.option(
    "-v",
    "--verbose",
    "detail",
    count=True,
    help="Text output: every problem, every action and before -> after of each item.",
)


def text_width(environ: Mapping[str, str] | None = None) -> int | None:
    """Columns the text output may use: ``COLUMNS`` when set, else the terminal's when
    stdout is one, else no limit (a pipe or a file keeps whole lines)."""
    env = os.environ if environ is None else environ
    given = env.get("COLUMNS", "")
    if given.isdigit() and int(given) > 0:
        return int(given)
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def jobs_option(what: str) -> Decorator:
    """``--jobs``: how many of ``what`` at once (the library's default: the cores)."""
    return click.option(
        "--jobs", type=click.IntRange(min=1), help=f"{what} at once [default: number of cores]."
    )


def dry_run_option(what: str) -> Decorator:
    """``--dry-run``: what the command does instead of its work."""
    return click.option("--dry-run", is_flag=True, help=what)


def report_options(
    *, default: ReportFormat | None, to_file: str, formats: Iterable[ReportFormat] = ReportFormat
) -> Decorator:
    """``--report`` (one of ``formats``; without ``default``, the environment's) and
    ``--report-file``."""
    shown = (
        {"default": default.value, "show_default": True, "help": "Report format."}
        if default is not None
        else {"help": "Report format [default: github when GITHUB_ACTIONS=true, else text]."}
    )
    return stack(
        click.option(
            "--report",
            "report_format",
            type=click.Choice(_values(formats)),
            **shown,
        ),
        click.option("--report-file", type=click.Path(dir_okay=False), help=to_file),
    )


embed_audio_option = click.option(
    "--embed-audio",
    is_flag=True,
    help="--report html: put the audio in the page (one file to share) instead of beside it.",
)


def html_report(report: Any, report_file: str | None, default_dir: str, embed: bool) -> str:
    """Write the html report (default ``audioprep-report.html`` in ``default_dir``); its path."""
    from audioprep.run import html

    path = Path(html_report_path(report_file, default_dir))
    return str(html.write_html(report, html.HtmlOptions(path=path, embed_audio=embed)))


def html_report_path(report_file: str | None, default_dir: str) -> str:
    """Where :func:`html_report` will write (proven writable before the work)."""
    from audioprep.run.html import DEFAULT_NAME

    return report_file or os.path.join(default_dir, DEFAULT_NAME)


# --------------------------------------------------------------------------------------------
# Fixing
# --------------------------------------------------------------------------------------------

profile_option = click.option(
    "--profile",
    metavar="NAME",
    help=env_help(
        f"Fix profile: {', '.join(_values(ProfileName))}, or one of the config's [profiles.NAME]"
        f" ('audioprep profiles' lists them). [default: {DEFAULT_PROFILE.value}]",
        "profile",
    ),
)


def custom_profiles(settings: config.Settings) -> tuple[Profile, ...]:
    """The config files' ``[profiles.NAME]`` tables as profiles (judged here: exit 3)."""
    from audioprep.fix.profiles import user_profiles

    return user_profiles(settings.profiles)


def policy(settings: config.Settings) -> Policy:
    """The config files' ``[policy]`` table (judged here: exit 3)."""
    from audioprep.audio.policy import Policy

    return Policy.from_table(settings.policy)


def default_jobs() -> int:
    """Work at once unless told: one per core (the library's own default)."""
    return os.cpu_count() or 1


level_options = stack(
    click.option(
        "--loudness",
        "target_lufs",
        type=float,
        default=levels.TARGET_LUFS,
        show_default=True,
        help="Integrated loudness target (LUFS).",
    ),
    click.option(
        "--true-peak",
        type=float,
        default=levels.TRUE_PEAK_DBTP,
        show_default=True,
        help="Peak ceiling (dBTP).",
    ),
    click.option("--no-normalise", is_flag=True, help="Skip loudness normalisation and trimming."),
    click.option(
        "--max-gain",
        "max_gain_db",
        type=click.FloatRange(0, levels.MAX_GAIN_CEILING_DB),
        default=levels.MAX_GAIN_DB,
        show_default=True,
        help="Most gain normalising may add (dB); a file that needs more is nearly silent and "
        "fails.",
    ),
)


# --------------------------------------------------------------------------------------------
# Hosting
# --------------------------------------------------------------------------------------------

s3_options = stack(
    click.option("--bucket", help=env_help("S3 bucket to host the audio in.", "bucket")),
    click.option(
        "--prefix",
        help=env_help(
            f"Key prefix, made legal. [default: {config.SPEC_BY_NAME['prefix'].default}]",
            "prefix",
        ),
    ),
    click.option(
        "--endpoint-url",
        help=env_help("S3-compatible endpoint (MinIO, R2, Wasabi); path-style.", "s3_endpoint"),
    ),
    click.option("--region", help=env_help("Bucket region.", "region")),
    click.option(
        "--public-mode",
        type=click.Choice(_values(PublicMode)),
        default=PublicMode.AUTO.value,
        show_default=True,
        help="auto: use the bucket's public access, or set public-read where ACLs are allowed; "
        "acl: set public-read; policy: rely on a bucket policy; presign: an expiring signed URL.",
    ),
)


# --------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------

destination_options = stack(
    click.option("--to", "numbers", multiple=True, help="A number to call (repeatable)."),
    click.option(
        "--to-file",
        type=click.Path(dir_okay=False),
        help="CSV file with a 'number' column and an optional 'custom_id' column.",
    ),
    click.option("--callback-url", help="Where the API POSTs call progress ('postbacks serve')."),
)

api_url_option = click.option("--api-url", help=env_help("Voice API trigger endpoint.", "api_url"))

journal_option = click.option(
    "--journal",
    "journal_path",
    type=click.Path(dir_okay=False),
    help=env_help("Submission journal (SQLite) [default: in the state directory]", "journal"),
)


def account_options(*, splits: bool = False) -> Decorator:
    """The account options (:class:`~audioprep.api.AccountLimits`' fields) of the commands
    that validate or send calls; ``splits``: the command splits larger audiences into jobs."""
    limit_help = "Per-job destination limit of the token's routing preference"
    limit_help += "; larger audiences are split into jobs." if splits else "."
    return stack(
        click.option(
            "--account-type",
            type=click.Choice(_values(api.AccountType)),
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


# --------------------------------------------------------------------------------------------
# Serving
# --------------------------------------------------------------------------------------------


def listen_options(*, host: str, port: str) -> Decorator:
    """``--host`` and ``--port`` for the commands that serve HTTP; each names the library
    value that is its default (``module:NAME`` or ``module:Class.field``)."""
    return stack(
        click.option("--host", help="Address to listen on.", **from_library(host)),
        click.option(
            "--port",
            type=click.IntRange(0, 65535),
            help="Port to listen on (0 picks a free one).",
            **from_library(port),
        ),
    )


def destinations(numbers: Iterable[str], to_file: str | None) -> tuple[Destination, ...]:
    """The destinations of ``--to`` and ``--to-file``, in that order."""
    from audioprep.send.submit import Destination, read_destinations_csv

    found = [Destination(number) for number in numbers]
    if to_file:
        found.extend(read_destinations_csv(to_file))
    return tuple(found)


# --------------------------------------------------------------------------------------------
# Help that reads the same everywhere
# --------------------------------------------------------------------------------------------

#: The metavar of every option that takes a value of one kind, whichever command it is on.
METAVARS: dict[str, str] = {
    **dict.fromkeys(
        ("audio_url", "callback_url", "api_url", "endpoint_url", "public_base_url"), "URL"
    ),
    **dict.fromkeys(("numbers", "personal_number", "sender_id"), "NUMBER"),
    **dict.fromkeys(("ring_timeout", "timeout", "expires", "max_duration_s"), "SECONDS"),
    **dict.fromkeys(("jobs", "seed", "max_destinations", "port"), "N"),
    **dict.fromkeys(("job_id", "api_job_id", "message_id"), "ID"),
    "outdir": "DIRECTORY",
    "bucket": "BUCKET",
    "prefix": "PREFIX",
    "region": "REGION",
    "host": "HOST",
    "scheduler": "ADDRESS",
    "secret": "SECRET",
    "tokens": "TOKEN",
    "fault": "NAME",
    "latency_ms": "MS",
    "time_scale": "FACTOR",
    "target_lufs": "LUFS",
    "true_peak": "DBTP",
    "max_gain_db": "DB",
}


def name_metavars(group: click.Group) -> None:
    """Give every option of every command its kind's metavar (:data:`METAVARS`; files are
    ``FILE`` and directories ``DIRECTORY`` by their click type)."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            name_metavars(command)
            continue
        for param in command.params:
            if not isinstance(param, click.Option) or param.is_flag or param.count:
                continue
            if param.name in METAVARS:
                param.metavar = METAVARS[param.name]
            elif isinstance(param.type, click.Path):
                param.metavar = "DIRECTORY" if not param.type.file_okay else "FILE"
