"""Making a file phone-ready: profiles, the fix of a batch and of one file, and proof.

batch picks the strategy for each source (keep or voice), which run the steps of job (plan,
closed loop, atomic write) over the passes of convert and the lossless gain of mp3gain;
profiles says what an output must be; model holds the options and results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audioprep.lazy import face

if TYPE_CHECKING:
    from audioprep.fix.batch import fix_source, fix_targets, output_names
    from audioprep.fix.model import FixOptions, FixResult, Source, Status
    from audioprep.fix.profiles import Profile, get_profile
    from audioprep.models import ProfileName

__all__ = [
    "FixOptions",
    "FixResult",
    "Profile",
    "ProfileName",
    "Source",
    "Status",
    "fix_source",
    "fix_targets",
    "get_profile",
    "output_names",
]

__getattr__, __dir__ = face(__name__)
