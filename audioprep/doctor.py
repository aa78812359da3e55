"""``audioprep doctor``: what this installation can do, checked for real.

Reports the Python and package versions, which ffmpeg is used and from where, whether it can
actually encode MP3, and whether configuration and credentials are found. Values of secrets are
never read into the report: only whether they are set and where from.
"""

from __future__ import annotations

import platform
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from audioprep.audio import ffmpeg
from audioprep.config import Settings
from audioprep.errors import AudioprepError
from audioprep.version import __version__

PACKAGES = (
    "click",
    "requests",
    "mutagen",
    "pydub",
    "boto3",
    "botocore",
    "platformdirs",
    "imageio-ffmpeg",
    "moto",
)


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the doctor's report; ``required`` checks decide the exit code."""

    name: str
    ok: bool
    detail: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class DoctorReport:
    """All checks, in display order."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """True when every required check passed."""
        return all(c.ok for c in self.checks if c.required)

    def to_dict(self) -> dict[str, object]:
        """JSON shape of ``audioprep doctor --json``."""
        return {
            "ok": self.ok,
            "checks": [
                {"name": c.name, "ok": c.ok, "detail": c.detail, "required": c.required}
                for c in self.checks
            ],
        }


def _from_files(table: Mapping[str, Any], settings: Settings) -> str:
    """The names a config table holds, and the files it was read from."""
    if not table:
        return "none set (built-in only)"
    files = [f for f in (settings.project_file, settings.config_file) if f]
    return f"{', '.join(sorted(table))} [from {' and '.join(files)}]"


def run_doctor(settings: Settings) -> DoctorReport:
    """Run every check; never raises for a missing tool (that is a failed check)."""
    checks = [
        Check("python", sys.version_info >= (3, 11), platform.python_version(), required=True),
        Check("audioprep", True, __version__),
        *_package_checks(),
        _pydub_check(),
        *_ffmpeg_checks(),
        Check("config file", True, settings.config_file or "none found (defaults in use)"),
        Check("project file", True, settings.project_file or "none found above this folder"),
        *(Check(f"setting {k}", True, v) for k, v in settings.describe().items()),
        Check("profiles", True, _from_files(settings.profiles, settings)),
        Check("policy", True, _from_files(settings.policy, settings)),
        _aws_check(),
    ]
    return DoctorReport(tuple(checks))


def _package_checks() -> list[Check]:
    found = []
    for name in PACKAGES:
        try:
            found.append(Check(f"package {name}", True, metadata.version(name)))
        except metadata.PackageNotFoundError:
            optional = name == "moto"
            detail = "not installed" + (" (optional: pip install 'audioprep[sandbox]')" * optional)
            found.append(Check(f"package {name}", optional, detail, required=not optional))
    return found


def _pydub_check() -> Check:
    try:
        with warnings.catch_warnings():  # pydub warns at import when ffmpeg is not on PATH
            warnings.simplefilter("ignore")
            import pydub  # noqa: F401  (the import proves audioop is available)
    except ImportError as exc:
        hint = "on Python 3.13+ install audioop-lts" if "audioop" in str(exc) else str(exc)
        return Check("pydub import", False, hint, required=True)
    return Check("pydub import", True, "ok")


def _ffmpeg_checks() -> list[Check]:
    try:
        found = ffmpeg.find_ffmpeg()
    except AudioprepError as exc:
        return [Check("ffmpeg", False, f"{exc.message}; {exc.hint}", required=True)]
    checks = [Check("ffmpeg", True, f"{found.path} ({found.source}): {ffmpeg.version()}")]
    checks.append(_ffmpeg_version_check())
    encode = ["-v", "error", "-f", "lavfi", "-i", "sine=duration=0.2"]
    proc = ffmpeg.run([*encode, "-c:a", "libmp3lame", "-f", "mp3", "-"], timeout=30)
    encodes = proc.returncode == 0 and len(proc.stdout) > 0
    detail = "yes (libmp3lame)" if encodes else "no: " + proc.stderr.decode(errors="replace")[-200:]
    checks.append(Check("ffmpeg encodes MP3", encodes, detail, required=True))
    return checks


def _ffmpeg_version_check() -> Check:
    """A warning (not a failure) for a release older than any the suite is run with."""
    tested = " and ".join(f"{major}.{minor}" for major, minor in ffmpeg.TESTED_VERSIONS)
    number = ffmpeg.version_number()
    if ffmpeg.older_than_tested() and number is not None:
        detail = (
            f"{number[0]}.{number[1]} is older than any release audioprep is tested with"
            f" ({tested}): measurements and repairs may differ; set AUDIOPREP_FFMPEG to a newer"
            " one, or uninstall it to use the bundled build"
        )
        return Check("ffmpeg version", False, detail)
    shown = f"{number[0]}.{number[1]}" if number else "a development build"
    return Check("ffmpeg version", True, f"{shown} (tested: {tested})")


def _aws_check() -> Check:
    try:
        import boto3

        credentials = boto3.Session().get_credentials()
    except Exception as exc:  # botocore raises many kinds for broken config files
        return Check("AWS credentials", False, f"cannot read AWS configuration: {exc}")
    if credentials is None:
        return Check("AWS credentials", False, "none found (needed only for upload)")
    return Check("AWS credentials", True, f"found (via {credentials.method})")
