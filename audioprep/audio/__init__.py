"""Reading audio, never changing it: what a file is, what it holds, what the API will say.

Data flows sniff (the container, by content) → mp3scan / wavscan (the structure, by walking it)
→ decode (one ffmpeg pass that proves it plays, and measures it) → facts → inspect (the
verdict). fetch downloads a URL the way the API does; ffmpeg finds and runs the binary; levels
holds the loudness targets everything is judged against.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audioprep.lazy import face

if TYPE_CHECKING:
    from audioprep.audio.decode import AnalyseOptions, DecodeReport, analyse
    from audioprep.audio.fetch import FetchOptions, FetchProblem, FetchResult
    from audioprep.audio.ffmpeg import Ffmpeg, find_ffmpeg
    from audioprep.audio.inspect import (
        Inspection,
        InspectOptions,
        Verdict,
        expand_targets,
        inspect_file,
        inspect_target,
        inspect_targets,
        inspect_url,
        unusable_reason,
    )
    from audioprep.audio.levels import (
        LOUDNESS_TOLERANCE_LU,
        MAX_GAIN_DB,
        TARGET_LUFS,
        TRUE_PEAK_DBTP,
    )
    from audioprep.audio.sniff import Container, sniff_file
    from audioprep.models import Snapshot

__all__ = [
    "LOUDNESS_TOLERANCE_LU",
    "MAX_GAIN_DB",
    "TARGET_LUFS",
    "TRUE_PEAK_DBTP",
    "AnalyseOptions",
    "Container",
    "DecodeReport",
    "FetchOptions",
    "FetchProblem",
    "FetchResult",
    "Ffmpeg",
    "InspectOptions",
    "Inspection",
    "Snapshot",
    "Verdict",
    "analyse",
    "expand_targets",
    "find_ffmpeg",
    "inspect_file",
    "inspect_target",
    "inspect_targets",
    "inspect_url",
    "sniff_file",
    "unusable_reason",
]

__getattr__, __dir__ = face(__name__)
