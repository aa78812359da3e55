"""``python -m audioprep`` runs the command line interface."""

from audioprep.cli.app import main

main()
