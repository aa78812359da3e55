"""Names for hosted audio: content-addressed S3 keys, public URLs and the public-read policy.

Pure functions, no I/O. Every key is built from legal segments only (letters, digits, ``-``,
``_``: :func:`audioprep.api.safe_segment` and :func:`~audioprep.api.safe_name`), so the
URLs
built here pass :func:`audioprep.api.check_audio_url`. The same bytes under the same name give
the same key; changed bytes give a new key, so a URL never changes meaning and no cache serves a
stale prompt.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from audioprep import jsonio
from audioprep.api import safe_name, safe_segment

#: Hex digits of the content hash in a key (48 bits; reuse still compares the full SHA-256).
HASH_CHARS = 12


def clean_prefix(prefix: str) -> str:
    """``prefix`` with every ``/``-separated segment made legal; empty segments dropped."""
    return "/".join(s for s in (safe_segment(part) for part in prefix.split("/")) if s)


def object_key(name: str, sha256: str, extension: str, prefix: str) -> str:
    """``<prefix>/<safe-name>-<short hash>.<ext>``: same bytes and name, same key."""
    stem = safe_name(name, extension=extension).rsplit(".", 1)[0]
    base = f"{stem}-{sha256[:HASH_CHARS]}.{extension}"
    cleaned = clean_prefix(prefix)
    return f"{cleaned}/{base}" if cleaned else base


def public_url(
    bucket: str,
    key: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    public_base_url: str | None = None,
) -> str:
    """The unsigned URL an anonymous client downloads ``key`` from.

    A public base URL wins; a custom endpoint is addressed path-style (``endpoint/bucket/key``);
    AWS gets virtual-hosted style unless the bucket name would break TLS (dots) or DNS.
    """
    quoted = quote(key, safe="/")
    if public_base_url:
        return f"{public_base_url.rstrip('/')}/{quoted}"
    if endpoint_url:
        return f"{endpoint_url.rstrip('/')}/{bucket}/{quoted}"
    region = region or "us-east-1"
    host = f"s3.{region}.amazonaws.com" + (".cn" if region.startswith("cn-") else "")
    if re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", bucket):
        return f"https://{bucket}.{host}/{quoted}"
    return f"https://{host}/{bucket}/{quoted}"


def partition(region: str | None) -> str:
    """The ARN partition of ``region`` (``aws``, ``aws-cn``, ``aws-us-gov``)."""
    if region and region.startswith("cn-"):
        return "aws-cn"
    if region and region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def policy_statement(bucket: str, prefix: str, region: str | None = None) -> dict[str, Any]:
    """The one bucket-policy statement that makes ``prefix`` publicly readable, nothing more."""
    cleaned = clean_prefix(prefix)
    resource = f"arn:{partition(region)}:s3:::{bucket}/" + (f"{cleaned}/*" if cleaned else "*")
    sid = "AudioprepPublicRead" + re.sub(r"[^A-Za-z0-9]", "", cleaned.title())
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": resource,
    }


def policy_snippet(bucket: str, prefix: str, region: str | None = None) -> str:
    """A complete bucket-policy document granting anonymous read under ``prefix``."""
    document = {"Version": "2012-10-17", "Statement": [policy_statement(bucket, prefix, region)]}
    return jsonio.dumps(document, indent=2)


class PublicMode(StrEnum):
    """How the object is made downloadable by the API."""

    AUTO = "auto"
    ACL = "acl"
    POLICY = "policy"
    PRESIGN = "presign"


#: Lifetime of a presigned URL unless told otherwise (``upload --expires``): one day.
DEFAULT_EXPIRES = 86_400
#: SigV4 presigned URLs live at most seven days.
MAX_EXPIRES = 604_800
