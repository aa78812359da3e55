"""``audioprep.cli.options``: each shared option defined once, every default the library's."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from audioprep.audio import levels
from audioprep.cli import options
from audioprep.cli.app import cli
from audioprep.hosting.keys import DEFAULT_EXPIRES
from audioprep.models import DEFAULT_PROFILE, ProfileName
from audioprep.run.model import ExecutorName, ReportFormat
from audioprep.run.pipeline import RunOptions
from audioprep.sandbox.options import DEFAULT_PORT, SandboxOptions
from audioprep.send.client import READ_TIMEOUT_S
from audioprep.send.postbacks import PostbackOptions

CLI = Path(options.__file__).parent


def _command(*path: str) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def _defaults(*path: str) -> dict[str, object]:
    command = _command(*path)
    with click.Context(command) as ctx:
        return {p.name or "": p.get_default(ctx) for p in command.params}


def test_the_defaults_are_the_librarys() -> None:
    fix = _defaults("fix")
    assert (fix["target_lufs"], fix["true_peak"], fix["max_gain_db"]) == (
        levels.TARGET_LUFS,
        levels.TRUE_PEAK_DBTP,
        levels.MAX_GAIN_DB,
    )
    run = _defaults("run")
    assert run["outdir"] == RunOptions.__dataclass_fields__["outdir"].default
    assert run["executor"] == ExecutorName.LOCAL.value
    assert run["report_format"] == ReportFormat.TEXT.value
    sandbox = _defaults("sandbox")
    assert (sandbox["host"], sandbox["port"]) == (SandboxOptions().host, DEFAULT_PORT)
    assert sandbox["seed"] == SandboxOptions().seed
    assert sandbox["time_scale"] == SandboxOptions().time_scale
    serve = _defaults("postbacks", "serve")
    assert (serve["host"], serve["port"]) == (PostbackOptions().host, PostbackOptions().port)
    assert _defaults("submit")["timeout"] == READ_TIMEOUT_S
    assert _defaults("upload")["expires"] == DEFAULT_EXPIRES


def test_choices_are_the_librarys_enums() -> None:
    for path in (("fix",), ("run",)):  # a profile may also be the config's: named in the help
        param = next(p for p in _command(*path).params if p.name == "profile")
        assert all(name.value in (getattr(param, "help", "") or "") for name in ProfileName)
    for path, name, enum in [
        (("run",), "report_format", ReportFormat),
        (("lint",), "report_format", ReportFormat),
        (("run",), "executor", ExecutorName),
    ]:
        param = next(p for p in _command(*path).params if p.name == name)
        assert isinstance(param.type, click.Choice)
        assert list(param.type.choices) == [e.value for e in enum]


def test_help_shows_the_library_defaults() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "audioprep", "run", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "200", "PATH": ""},
    ).stdout
    assert re.search(r"-o, --outdir DIRECTORY\s+Fixed files\.\s+\[default: audioprep-out\]", run)
    assert f"[default: {DEFAULT_PROFILE.value}]" in " ".join(run.split())


@pytest.mark.parametrize(
    "flag",
    ["--bucket", "--prefix", "--endpoint-url", "--public-mode", "--to", "--to-file",
     "--callback-url", "--api-url", "--journal", "--account-type", "--report", "--profile",
     "--loudness", "--max-gain", "--port", "--json", "--jobs", "--quick", "--strict"],
)  # fmt: skip
def test_a_shared_option_is_written_once(flag: str) -> None:
    written = [
        path.name
        for path in sorted(CLI.glob("*.py"))
        for _ in re.finditer(rf'"{re.escape(flag)}"', path.read_text(encoding="utf-8"))
    ]
    assert written == ["options.py"], f"{flag} is written in {written}"


def test_library_value_reads_constants_and_dataclass_fields() -> None:
    assert options.library_value("audioprep.audio.levels:TARGET_LUFS") == levels.TARGET_LUFS
    assert options.library_value("audioprep.run.pipeline:RunOptions.jobs") >= 1  # a factory


def _options() -> Iterator[tuple[str, click.Option, tuple[str, str]]]:
    """(command path, option, help record) of every option of every command."""

    def walk(command: click.Command, path: str) -> Iterator[tuple[str, click.Option, Any]]:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, f"{path} {name}".strip())
        ctx = click.Context(command, info_name=path or "audioprep")
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                yield path, param, param.get_help_record(ctx)

    yield from walk(cli, "")


def test_every_option_is_described_and_env_reads_one_way() -> None:
    for path, option, record in _options():
        assert record is not None and (option.help or "").strip(), (path, option.name)
        for env in re.findall(r"env[:=][^\]]*", record[1]):
            assert re.fullmatch(r"env: AUDIOPREP_[A-Z0-9_]+", env), (path, option.name, env)
        assert "(default:" not in record[1], (path, option.name)  # [default: ...], as click


def test_the_same_kind_of_value_has_the_same_metavar() -> None:
    seen: dict[str, set[str]] = {}
    for _, option, record in _options():
        if option.is_flag or option.count:
            continue
        last = record[0].split()[-1]
        shown = "" if last.startswith("-") else last
        if not shown.startswith("["):  # a choice lists its values
            seen.setdefault(option.opts[-1], set()).add(shown)
    mixed = {name: kinds for name, kinds in seen.items() if len(kinds) > 1}
    assert mixed == {}
    assert seen["--outdir"] == {"DIRECTORY"} and seen["--journal"] == {"FILE"}
    assert seen["--api-url"] == seen["--callback-url"] == {"URL"}
    assert not {"TEXT", "INTEGER", "FLOAT", "RANGE"} & {k for kinds in seen.values() for k in kinds}
