"""``audioprep run`` and ``lint``: every stage over a batch, resumable, with reports.

plan (and manifest) name the items; stages take one item from its source to a verified URL;
executors run them on threads or Dask; state remembers finished stages; submit sends the calls;
pipeline ties a run together; model holds its results and reports renders them.
sandbox_world is the ``--sandbox`` campaign on loopback; linting is run limited to check and
inspect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audioprep.lazy import face

if TYPE_CHECKING:
    from audioprep.run.linting import lint
    from audioprep.run.manifest import ManifestEntry, read_manifest
    from audioprep.run.model import (
        ItemReport,
        ItemStatus,
        ReportFormat,
        RunReport,
        Stage,
        StageOutcome,
        StageStatus,
    )
    from audioprep.run.pipeline import RunOptions, exit_code, run_pipeline
    from audioprep.run.reports import render, write_report

__all__ = [
    "ItemReport",
    "ItemStatus",
    "ManifestEntry",
    "ReportFormat",
    "RunOptions",
    "RunReport",
    "Stage",
    "StageOutcome",
    "StageStatus",
    "exit_code",
    "lint",
    "read_manifest",
    "render",
    "run_pipeline",
    "write_report",
]

__getattr__, __dir__ = face(__name__)
