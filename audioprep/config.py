"""Settings: one table of every setting, and the one place precedence is decided.

Precedence, highest first: a command-line flag, an ``AUDIOPREP_*`` environment variable, the
project file (``audioprep.toml``, or ``[tool.audioprep]`` in ``pyproject.toml``, the nearest
found walking up from the working directory), the user's config file (``--config`` /
``AUDIOPREP_CONFIG``, else ``audioprep.toml`` in the user's config directory), then the
built-in default. Besides settings, a file may hold ``[profiles.NAME]`` tables and a
``[policy]`` table (read here, judged by :mod:`audioprep.fix.profiles` and
:mod:`audioprep.audio.policy`). Library callers use :func:`load_settings`; the CLI passes its
flags to the same function. Secrets are never shown: :meth:`Settings.describe` masks them.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from audioprep.errors import ConfigError
from audioprep.models import DEFAULT_PROFILE

log = logging.getLogger(__name__)

APP = "audioprep"
CONFIG_ENV = "AUDIOPREP_CONFIG"
DEFAULT_API_URL = "https://rest.fortytwo.com/1/voice"
#: The project's own config file, and the shared one it may live in instead (``[tool.audioprep]``).
PROJECT_FILE, PYPROJECT = "audioprep.toml", "pyproject.toml"
#: Tables a config file may hold besides settings.
TABLES = ("profiles", "policy")
#: Where uploads go in a bucket unless told otherwise (``--prefix``).
DEFAULT_PREFIX = "audio"


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One setting: its name, environment variable, default, and whether it is a secret."""

    name: str
    env: str
    default: Any
    help: str
    secret: bool = False


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("api_url", "AUDIOPREP_API_URL", DEFAULT_API_URL, "Voice API trigger-call endpoint"),
    SettingSpec("api_token", "AUDIOPREP_API_TOKEN", None, "Voice API token", secret=True),
    SettingSpec("bucket", "AUDIOPREP_BUCKET", None, "S3 bucket for hosted audio"),
    SettingSpec("s3_endpoint", "AUDIOPREP_S3_ENDPOINT", None, "S3-compatible endpoint URL"),
    SettingSpec("region", "AUDIOPREP_REGION", None, "S3 region"),
    SettingSpec("prefix", "AUDIOPREP_PREFIX", DEFAULT_PREFIX, "key prefix for uploads"),
    SettingSpec("profile", "AUDIOPREP_PROFILE", DEFAULT_PROFILE.value, "fix profile"),
    SettingSpec("journal", "AUDIOPREP_JOURNAL", None, "submission journal (SQLite)"),
)
SPEC_BY_NAME: Mapping[str, SettingSpec] = {spec.name: spec for spec in SPECS}


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Resolved settings; ``sources`` says where each value came from (flag/env/file/default)."""

    api_url: str = SPEC_BY_NAME["api_url"].default
    api_token: str | None = None
    bucket: str | None = None
    s3_endpoint: str | None = None
    region: str | None = None
    prefix: str = SPEC_BY_NAME["prefix"].default
    profile: str = SPEC_BY_NAME["profile"].default
    journal: str | None = None
    config_file: str | None = None
    project_file: str | None = None
    sources: Mapping[str, str] | None = None
    #: ``[profiles.NAME]`` tables, the project's over the user's (name -> keys).
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: The ``[policy]`` table: the project's keys over the user's.
    policy: Mapping[str, Any] = field(default_factory=dict)

    def source(self, name: str) -> str:
        """Where setting ``name`` came from."""
        return (self.sources or {}).get(name, "default")

    def describe(self) -> dict[str, str]:
        """Every setting as display text, secrets masked (never their value)."""
        shown: dict[str, str] = {}
        for spec in SPECS:
            value = getattr(self, spec.name)
            if value is None:
                text = "not set"
            elif spec.secret:
                text = "set (hidden)"
            else:
                text = str(value)
            shown[spec.name] = f"{text} [{self.source(spec.name)}]"
        return shown


def config_dir() -> Path:
    """The user's configuration directory for audioprep."""
    return Path(platformdirs.user_config_dir(APP, appauthor=False))


def state_dir() -> Path:
    """The user's state directory (journals, run state)."""
    return Path(platformdirs.user_state_dir(APP, appauthor=False))


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``AUDIOPREP_CONFIG`` if set, else ``audioprep.toml`` in :func:`config_dir`."""
    env = os.environ if env is None else env
    return Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else config_dir() / "audioprep.toml"


def read_config_file(path: Path, *, required: bool) -> dict[str, Any]:
    """Read a TOML config file; unknown keys and syntax errors are configuration errors."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        if required:
            raise ConfigError(f"config file {path} does not exist") from None
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    section = data.get(APP, data)
    if path.name == PYPROJECT:
        section = data.get("tool", {}).get(APP, {})
    return _checked(section, path)


def _checked(section: Any, path: Path) -> dict[str, Any]:
    """A file's audioprep table: known settings, ``profiles`` and ``policy`` tables."""
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: the audioprep settings must be a table")
    unknown = sorted(set(section) - set(SPEC_BY_NAME) - set(TABLES))
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(unknown)}",
            hint="known settings: " + ", ".join([*SPEC_BY_NAME, *TABLES]),
        )
    for table in TABLES:
        if not isinstance(section.get(table, {}), dict):
            raise ConfigError(f"{path}: '{table}' must be a table ([{table}])")
    return dict(section)


def find_project_file(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest ``audioprep.toml``, or ``pyproject.toml`` with a ``[tool.audioprep]``
    table, in ``start`` (the working directory) or a folder above it (as ruff and black
    look: in one folder ``audioprep.toml`` wins; a ``pyproject.toml`` without the table is
    passed over)."""
    here = Path(os.path.abspath(start if start is not None else os.getcwd()))
    for folder in (here, *here.parents):
        own = folder / PROJECT_FILE
        if own.is_file():
            return own
        pyproject = folder / PYPROJECT
        if pyproject.is_file() and _has_table(pyproject):
            return pyproject
    return None


def _has_table(pyproject: Path) -> bool:
    try:
        with pyproject.open("rb") as fh:
            return APP in tomllib.load(fh).get("tool", {})
    except (OSError, tomllib.TOMLDecodeError):
        return False  # someone else's broken file is not audioprep's to refuse


def load_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    config_path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    project_dir: str | os.PathLike[str] | None = None,
) -> Settings:
    """Resolve every setting: flag > environment > project file > config file > default.

    ``flags`` holds values given on the command line (or by a library caller); ``None`` values
    mean "not given". ``config_path`` names a file that must exist; without it the default file
    is read when present.
    """
    env = os.environ if env is None else env
    path = Path(config_path) if config_path else default_config_path(env)
    user = read_config_file(path, required=config_path is not None or CONFIG_ENV in env)
    found = find_project_file(project_dir)
    project = read_config_file(found, required=True) if found is not None else {}
    files = ((f"project file {found}", project), ("config file", user))
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for spec in SPECS:
        value, source = _resolve(spec, flags or {}, env, files)
        if source != "default":
            values[spec.name] = value
            sources[spec.name] = source
            log.debug("setting %s from %s", spec.name, source)
    return Settings(
        **values,
        config_file=str(path) if user else None,
        project_file=str(found) if found is not None else None,
        sources=sources,
        profiles={**user.get("profiles", {}), **project.get("profiles", {})},
        policy={**user.get("policy", {}), **project.get("policy", {})},
    )


def _resolve(
    spec: SettingSpec,
    flags: Mapping[str, Any],
    env: Mapping[str, str],
    files: tuple[tuple[str, Mapping[str, Any]], ...],
) -> tuple[Any, str]:
    if flags.get(spec.name) is not None:
        return flags[spec.name], "flag"
    if env.get(spec.env):
        return env[spec.env], f"env {spec.env}"
    for where, values in files:
        if values.get(spec.name) is not None:
            return values[spec.name], where
    return spec.default, "default"
