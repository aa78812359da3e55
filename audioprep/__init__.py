"""audioprep: make audio prompts safe to send through the Voice API.

The package is a library first; :mod:`audioprep.cli` is a thin click layer over it.
Public entry points are re-exported here.
"""

from __future__ import annotations

from audioprep.version import __version__

__all__ = ["__version__"]
