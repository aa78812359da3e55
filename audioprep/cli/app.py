"""The ``audioprep`` group, its error handling, and the process it runs in.

Each command (in :mod:`~audioprep.cli.prepare`, :mod:`~audioprep.cli.deliver` and
:mod:`~audioprep.cli.run`) parses its options, makes one library call, renders the result and
returns an :class:`~audioprep.errors.ExitCode`; :func:`handles_errors` turns an
:class:`~audioprep.errors.AudioprepError` into a message and its exit code. Nothing else is
caught, so a traceback means a bug.
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
from typing import Any, NoReturn, ParamSpec, TypeVar

import click

from audioprep import config
from audioprep.errors import AudioprepError, ExitCode
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


def current() -> CliState:
    """This invocation's group options (defaults outside a click context)."""
    state = click.get_current_context().find_object(CliState)
    return state if state is not None else CliState(None, 0)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="audioprep")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help=f"TOML config file. [default: {config.default_config_path({})}]"
    f" [env: {config.CONFIG_ENV}]",
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
