"""The ``audioprep`` command line: the click layer only.

:mod:`~audioprep.cli.app` is the group, its error handling and the process; the commands live
in :mod:`~audioprep.cli.prepare` (check, validate, inspect, fix, lint, doctor),
:mod:`~audioprep.cli.deliver` (upload, submit, status, postbacks, sandbox) and
:mod:`~audioprep.cli.run`; the options they share in :mod:`~audioprep.cli.options`; text for
people in :mod:`~audioprep.cli.render` and :mod:`~audioprep.cli.progress`.
"""

from audioprep.cli import deliver, prepare, run
from audioprep.cli.app import cli, main
from audioprep.cli.options import name_metavars

__all__ = ["cli", "main"]

COMMAND_MODULES = (prepare, deliver, run)  # imported for the commands they add to ``cli``
name_metavars(cli)
