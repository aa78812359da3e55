"""A fake ffmpeg for tests of how many processes run at once: a real executable (a Python
script, given through ``AUDIOPREP_FFMPEG``) that logs when it starts and ends and sleeps in
between, so overlap is measured from the processes' side. The ``sleeper`` fixture
(``conftest.py``) installs it."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

SCRIPT = """#!{python}
import sys, time
with open({log!r}, "a") as log:
    log.write(f"{{time.time()}} 1\\n")
time.sleep(0.3)
with open({log!r}, "a") as log:
    log.write(f"{{time.time()}} -1\\n")
"""


def install(directory: Path) -> tuple[Path, Path]:
    """Write the fake into ``directory``; ``(executable, log)``."""
    log = directory / "runs.log"
    fake = directory / "ffmpeg"
    fake.write_text(SCRIPT.format(python=sys.executable, log=str(log)))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return fake, log


def most_at_once(log: Path) -> int:
    """The most fake processes that were running at the same moment."""
    events = sorted(
        (float(t), int(d)) for t, d in (line.split() for line in log.read_text().splitlines())
    )
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak
