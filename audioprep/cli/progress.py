"""What ``audioprep run`` shows on stderr while it works.

This module owns the progress display (:class:`RunProgress`, fed by :mod:`audioprep.run.pipeline`'s
progress callback): on a terminal one line rewritten in place (items done and failed, the
latest stage and item, an ETA); elsewhere (CI, a pipe) one quiet line per finished item; with
``-q`` nothing. Setup lines (what ``--sandbox`` started where) are printed in both visible
modes. The report itself is :mod:`audioprep.run.reports`' business and goes to stdout.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

import click

from audioprep.run.model import ItemStatus
from audioprep.run.pipeline import ProgressEvent

#: Redraws of the terminal line per second, at most.
REDRAW_HZ = 10.0


class RunProgress:
    """A progress callback for :func:`audioprep.run.pipeline.run_pipeline`; thread-safe.

    ``mode`` is ``tty`` (one updating line), ``lines`` (a line per finished item) or
    ``quiet`` (nothing).
    """

    def __init__(
        self,
        mode: str,
        stream: TextIO | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.mode = mode
        self.stream = stream
        self._clock = clock
        self._started = clock()
        self._drawn = 0.0
        self._line = 0  # length of the line on screen (0: none)
        self._lock = threading.Lock()

    @classmethod
    def for_terminal(cls, *, quiet: bool) -> RunProgress:
        """The display for this process's stderr."""
        stream = sys.stderr
        if quiet:
            return cls("quiet", stream)
        return cls("tty" if stream.isatty() else "lines", stream)

    def __call__(self, event: ProgressEvent) -> None:
        if self.mode == "quiet":
            return
        with self._lock:
            if event.kind == "info":
                self._say(event.message)
            elif self.mode == "lines":
                if event.kind == "item":
                    self._say(item_line(event))
            else:
                self._draw(event)

    def close(self) -> None:
        """Clear the terminal line (call before printing the report)."""
        with self._lock:
            self._clear()

    def _say(self, text: str) -> None:
        self._clear()
        click.echo(text, file=self.stream)

    def _draw(self, event: ProgressEvent) -> None:
        now = self._clock()
        if event.kind != "item" and now - self._drawn < 1 / REDRAW_HZ:
            return
        self._drawn = now
        width = shutil.get_terminal_size((100, 20)).columns - 1
        line = tty_line(event, now - self._started)[:width]
        click.echo("\r" + line.ljust(self._line), nl=False, file=self.stream)
        self._line = len(line)

    def _clear(self) -> None:
        """Blank the line drawn last (plain spaces: no terminal codes needed)."""
        if self._line:
            click.echo("\r" + " " * self._line + "\r", nl=False, file=self.stream)
            self._line = 0


def tty_line(event: ProgressEvent, elapsed_s: float) -> str:
    """``[12/100] 1 failed  fix: prompts/a.mp3  ETA 0:42``."""
    head = f"[{event.done}/{event.total}]"
    failed = f" {event.failed} failed" if event.failed else ""
    what = event.stage.value if event.stage else (event.item.status.value if event.item else "")
    eta = ""
    if event.done:
        left = elapsed_s / event.done * (event.total - event.done)
        eta = f"  ETA {int(left // 60)}:{int(left % 60):02d}"
    return f"{head}{failed}  {what}: {event.source}{eta}"


def item_line(event: ProgressEvent) -> str:
    """``[3/5] fixed  samples/x.ogg`` (and the failing stage and why)."""
    item = event.item
    if item is None:
        return f"[{event.done}/{event.total}] {event.source}"
    line = f"[{event.done}/{event.total}] {item.status.value:<6} {item.source}"
    if item.status is ItemStatus.FAILED:
        stage = item.failed_stage.value if item.failed_stage else "?"
        line += f"  ({stage}: {item.error})"
    return line
