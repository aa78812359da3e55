"""A faithful local stand-in for the Voice API (``audioprep sandbox``).

It answers ``POST /1/voice`` exactly as the documented API does (the rules, messages and wire
shapes all come from :mod:`audioprep.api`), downloads and judges the audio like the real
service, simulates every call deterministically from a seed and POSTs the documented callbacks.
``docs/sandbox.md`` lists every choice made where the public docs are silent.

>>> with Sandbox(SandboxOptions(time_scale=0.01)) as sandbox:   # doctest: +SKIP
...     requests.post(sandbox.url + "/1/voice", json=..., headers={"Authorization": "Token t"})
"""

from __future__ import annotations

from audioprep.sandbox.app import Sandbox
from audioprep.sandbox.audio import AudioJudge, AudioVerdict
from audioprep.sandbox.options import DEFAULT_PORT, FaultMode, Faults, SandboxOptions
from audioprep.sandbox.server import CALL_LOOKUP_PREFIX, JOB_LOOKUP_PREFIX, TRIGGER_PATH

__all__ = [
    "CALL_LOOKUP_PREFIX",
    "DEFAULT_PORT",
    "JOB_LOOKUP_PREFIX",
    "TRIGGER_PATH",
    "AudioJudge",
    "AudioVerdict",
    "FaultMode",
    "Faults",
    "Sandbox",
    "SandboxOptions",
]
