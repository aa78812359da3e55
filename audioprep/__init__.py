"""audioprep: make audio prompts safe to send through the Voice API.

The verbs a script uses, in the order a prompt meets them: :func:`check_target` (names and
URLs), :func:`inspect_file` (what the API and a phone will make of a file), :func:`fix_targets`
(a phone-ready file, proven), :func:`upload_files` (public S3, proven), :func:`submit_audio`
(calls, never sent twice) and :func:`run_pipeline` (all of it over a batch; :func:`exit_code`
is its verdict); with :func:`validate_request` for a request body and :func:`lint` for CI.
Each takes an options value and returns frozen results; errors it raises on purpose are
:class:`AudioprepError`.

Names are imported on first use, so ``import audioprep`` is cheap; ``docs/architecture.md``
shows the packages behind them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audioprep.lazy import face
from audioprep.version import __version__

if TYPE_CHECKING:
    from audioprep.api import AccountLimits, Answer, Code, validate_request
    from audioprep.audio import Inspection, InspectOptions, Verdict, inspect_file, inspect_targets
    from audioprep.check import CheckResult, check_target, check_targets
    from audioprep.errors import AudioprepError, ExitCode
    from audioprep.fix import FixOptions, FixResult, ProfileName, fix_source, fix_targets
    from audioprep.fix import Status as FixStatus
    from audioprep.hosting import UploadOptions, UploadResult, upload_files
    from audioprep.models import Problem, Severity
    from audioprep.run import ReportFormat, RunOptions, RunReport, exit_code, lint, run_pipeline
    from audioprep.run import render as render_report
    from audioprep.send import Destination, JobOutcome, SubmitOptions, submit_audio

__all__ = [
    "AccountLimits",
    "Answer",
    "AudioprepError",
    "CheckResult",
    "Code",
    "Destination",
    "ExitCode",
    "FixOptions",
    "FixResult",
    "FixStatus",
    "InspectOptions",
    "Inspection",
    "JobOutcome",
    "Problem",
    "ProfileName",
    "ReportFormat",
    "RunOptions",
    "RunReport",
    "Severity",
    "SubmitOptions",
    "UploadOptions",
    "UploadResult",
    "Verdict",
    "__version__",
    "check_target",
    "check_targets",
    "exit_code",
    "fix_source",
    "fix_targets",
    "inspect_file",
    "inspect_targets",
    "lint",
    "render_report",
    "run_pipeline",
    "submit_audio",
    "upload_files",
    "validate_request",
]

__getattr__, __dir__ = face(__name__)
