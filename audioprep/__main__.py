"""``python -m audioprep`` runs the command line interface."""

from audioprep.cli import main

main()
