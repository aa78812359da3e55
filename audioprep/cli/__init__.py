"""The ``audioprep`` command line: the click layer only."""

from audioprep.cli.app import cli, main

__all__ = ["cli", "main"]
