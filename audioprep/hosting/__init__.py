"""Hosting audio on S3 so the Voice API can download it, and proving anyone can.

upload puts files in a bucket (content-addressed keys from keys) and public proves an
anonymous download returns the same bytes; clients keeps one S3 client per worker thread for
``run``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audioprep.lazy import face

if TYPE_CHECKING:
    from audioprep.hosting.clients import HostingTarget, uploader_for
    from audioprep.hosting.keys import PublicMode, object_key, public_url
    from audioprep.hosting.public import Verification, verify_url
    from audioprep.hosting.upload import (
        UploadOptions,
        UploadResult,
        UploadSession,
        make_s3_client,
        upload_files,
    )

__all__ = [
    "HostingTarget",
    "PublicMode",
    "UploadOptions",
    "UploadResult",
    "UploadSession",
    "Verification",
    "make_s3_client",
    "object_key",
    "public_url",
    "upload_files",
    "uploader_for",
    "verify_url",
]

__getattr__, __dir__ = face(__name__)
