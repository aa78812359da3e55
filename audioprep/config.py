"""Settings: one table of every setting, and the one place precedence is decided.

Precedence, highest first: a command-line flag, an ``AUDIOPREP_*`` environment variable, the TOML
config file (``--config``/``AUDIOPREP_CONFIG``, else ``audioprep.toml`` in the user's config
directory), then the built-in default. Library callers use :func:`load_settings`; the CLI passes
its flags to the same function. Secrets are never shown: :meth:`Settings.describe` masks them.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from audioprep.errors import ConfigError
from audioprep.models import DEFAULT_PROFILE

log = logging.getLogger(__name__)

APP = "audioprep"
CONFIG_ENV = "AUDIOPREP_CONFIG"
DEFAULT_API_URL = "https://rest.fortytwo.com/1/voice"
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
    sources: Mapping[str, str] | None = None

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
    unknown = sorted(set(section) - set(SPEC_BY_NAME))
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(unknown)}",
            hint="known settings: " + ", ".join(SPEC_BY_NAME),
        )
    return dict(section)


def load_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    config_path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting: flag > environment > config file > default.

    ``flags`` holds values given on the command line (or by a library caller); ``None`` values
    mean "not given". ``config_path`` names a file that must exist; without it the default file
    is read when present.
    """
    env = os.environ if env is None else env
    path = Path(config_path) if config_path else default_config_path(env)
    file_values = read_config_file(path, required=config_path is not None or CONFIG_ENV in env)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for spec in SPECS:
        value, source = _resolve(spec, flags or {}, env, file_values)
        if source != "default":
            values[spec.name] = value
            sources[spec.name] = source
            log.debug("setting %s from %s", spec.name, source)
    return Settings(**values, config_file=str(path) if file_values else None, sources=sources)


def _resolve(
    spec: SettingSpec, flags: Mapping[str, Any], env: Mapping[str, str], file: Mapping[str, Any]
) -> tuple[Any, str]:
    if flags.get(spec.name) is not None:
        return flags[spec.name], "flag"
    if env.get(spec.env):
        return env[spec.env], f"env {spec.env}"
    if file.get(spec.name) is not None:
        return file[spec.name], "config file"
    return spec.default, "default"
