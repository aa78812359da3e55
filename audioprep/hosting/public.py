"""Whether the world can read an S3 object, proving it, and making it so when allowed.

This module owns two things. First the anonymous check (:func:`verify_url`): a GET with no
credentials of any kind and no redirects followed, which must return HTTP 200, the right
Content-Type and length and the same SHA-256 — what the Voice API's downloader will get.
Second, public access on AWS: reading Object Ownership (are ACLs allowed?) and Block Public
Access, granting ``public-read`` on one object, adding the one public-read statement to a
bucket policy (only when the caller opted in), and explaining in a :class:`Refused` exactly
what to change when none of that is possible. It never changes Block Public Access.

moto does not produce ``AccessControlListNotSupported`` nor enforce Block Public Access, so the
explanations are tested with botocore's Stubber (see ``tests/test_upload.py``).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import requests

from audioprep import jsonio
from audioprep.audio.fetch import NoCredentials
from audioprep.hosting.keys import policy_snippet, policy_statement
from audioprep.models import Problem
from audioprep.net import sessions
from audioprep.version import __version__

log = logging.getLogger(__name__)

_READ_CHUNK = 65_536


class Refused(Exception):
    """One file cannot be hosted; ``hint`` says what to change. Callers turn it into data."""

    def __init__(
        self, error: str, hint: str | None = None, problems: tuple[Problem, ...] = ()
    ) -> None:
        super().__init__(error)
        self.error, self.hint, self.problems = error, hint, problems


@dataclass(frozen=True, slots=True)
class Verification:
    """What an anonymous GET of a URL showed; ``status`` is None when nothing answered."""

    ok: bool
    status: int | None
    message: str


# --------------------------------------------------------------------------------------------
# The anonymous check
# --------------------------------------------------------------------------------------------


def anonymous_session() -> requests.Session:
    """An HTTP session that sends no credentials of any kind, like the Voice API's fetcher."""
    session = sessions.session()
    session.auth = NoCredentials()
    session.headers["User-Agent"] = f"audioprep/{__version__} (anonymous check)"
    session.headers["Accept-Encoding"] = "identity"  # compare the object as stored
    return session


def verify_url(
    url: str,
    *,
    sha256: str,
    size: int,
    content_type: str,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = (5.0, 30.0),
) -> Verification:
    """Download ``url`` as the API will (no credentials, no redirects) and compare everything.

    Requires HTTP 200, ``content_type`` (parameters ignored), a Content-Length of ``size`` when
    one is sent, exactly ``size`` bytes, and the same SHA-256. Never raises for network trouble:
    that is a failed verification. Messages never contain the URL.
    """
    http = session or anonymous_session()
    try:
        with http.get(url, stream=True, timeout=timeout, allow_redirects=False) as response:
            problem = _header_problem(response, size, content_type)
            if problem is not None:
                return Verification(False, response.status_code, problem)
            digest, length = _digest(response, size)
    except requests.RequestException as exc:
        return Verification(False, None, f"no answer ({type(exc).__name__})")
    finally:
        if session is None:
            http.close()
    if length != size:
        return Verification(False, 200, f"downloaded {length} bytes, expected {size}")
    if digest != sha256:
        return Verification(False, 200, "downloaded bytes differ from the file (SHA-256)")
    return Verification(True, 200, f"HTTP 200, {content_type}, {size} bytes, same SHA-256")


def _header_problem(response: requests.Response, size: int, content_type: str) -> str | None:
    status = response.status_code
    if 300 <= status < 400:
        return f"HTTP {status} redirect (a URL we hand out must not redirect)"
    if status != 200:
        return f"HTTP {status}"
    served = response.headers.get("Content-Type", "")
    if served.split(";", 1)[0].strip().lower() != content_type:
        return f"served as Content-Type {served or 'none'!r}, expected {content_type!r}"
    length = response.headers.get("Content-Length")
    if length is not None and length.strip() != str(size):
        return f"Content-Length {length}, expected {size}"
    return None


def _digest(response: requests.Response, size: int) -> tuple[str, int]:
    hasher, length = hashlib.sha256(), 0
    for chunk in response.iter_content(_READ_CHUNK):
        hasher.update(chunk)
        length += len(chunk)
        if length > size:  # more than the file: stop reading, it cannot match
            break
    return hasher.hexdigest(), length


# --------------------------------------------------------------------------------------------
# Public access on AWS: Object Ownership, ACLs, Block Public Access, bucket policy
# --------------------------------------------------------------------------------------------


def error_code(exc: Any) -> str:
    """The S3 error code of a botocore ``ClientError`` (``""`` when absent)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def http_status(exc: Any) -> int:
    """The HTTP status of a botocore ``ClientError`` (0 when absent)."""
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def ownership_allows_acls(client: Any, bucket: str) -> bool | None:
    """Whether ``bucket`` takes ACLs (Object Ownership); None when we may not ask."""
    from botocore.exceptions import ClientError

    try:
        answer = client.get_bucket_ownership_controls(Bucket=bucket)
    except ClientError as exc:
        if error_code(exc) == "OwnershipControlsNotFoundError":
            return True  # a bucket from before April 2023 that never opted in: ACLs work
        log.debug("cannot read Object Ownership of %s: %s", bucket, error_code(exc))
        return None
    rules = answer.get("OwnershipControls", {}).get("Rules", [])
    return not any(r.get("ObjectOwnership") == "BucketOwnerEnforced" for r in rules)


def grant_public_read(client: Any, bucket: str, key: str, hint: str) -> None:
    """Set the ``public-read`` ACL on one object; :class:`Refused` when the bucket forbids it."""
    from botocore.exceptions import ClientError

    try:
        client.put_object_acl(Bucket=bucket, Key=key, ACL="public-read")
    except ClientError as exc:
        refusal = acl_refusal(client, bucket, exc, hint)
        if refusal is not None:
            raise refusal from None
        raise
    log.info("granted public-read on s3://%s/%s", bucket, key)


def acl_refusal(client: Any, bucket: str, exc: Any, hint: str) -> Refused | None:
    """Explain a refused ``public-read`` ACL, or None when ``exc`` is about something else."""
    code = error_code(exc)
    if code == "AccessControlListNotSupported":
        return Refused(
            f"bucket '{bucket}' does not allow ACLs (Object Ownership is 'bucket owner "
            "enforced', the S3 default since April 2023), so public-read cannot be set",
            hint="use --public-mode policy (or auto) instead. " + hint,
        )
    if code != "AccessDenied":
        return None
    if public_access_block(client, bucket).get("BlockPublicAcls"):
        why = "Block Public Access (BlockPublicAcls) on the bucket refuses public ACLs"
    else:
        why = (
            "the credentials may lack s3:PutObjectAcl, or Block Public Access "
            "(BlockPublicAcls, perhaps account-wide) refuses public ACLs"
        )
    return Refused(f"S3 denied the public-read ACL on bucket '{bucket}': {why}", hint=hint)


def public_access_block(client: Any, bucket: str) -> dict[str, bool]:
    """The bucket's Block Public Access flags; empty when none are set or we may not read them."""
    from botocore.exceptions import ClientError

    try:
        answer = client.get_public_access_block(Bucket=bucket)
    except ClientError:
        return {}
    flags = answer.get("PublicAccessBlockConfiguration", {})
    return {str(k): bool(v) for k, v in flags.items()}


def not_public_hint(bucket: str, prefix: str, region: str | None) -> str:
    """How to make ``prefix`` readable by the API: the exact policy, and the alternatives."""
    return (
        f"Grant anonymous read on the prefix with this bucket policy for '{bucket}' "
        "(S3 console: bucket → Permissions → Bucket policy):\n"
        f"{policy_snippet(bucket, prefix, region)}\n"
        "Block Public Access must allow it: turn off BlockPublicPolicy and "
        "RestrictPublicBuckets for this bucket (audioprep never changes those).\n"
        "Or rerun with --apply-bucket-policy to let audioprep add exactly that statement, "
        "or with --public-mode presign for an expiring URL that needs no public access."
    )


def apply_public_policy(client: Any, bucket: str, prefix: str, region: str | None) -> None:
    """Add the public-read statement for ``prefix`` to the bucket policy (explicit opt-in).

    Other statements are kept; nothing is added when a statement with the same Sid exists.
    """
    from botocore.exceptions import ClientError

    statement = policy_statement(bucket, prefix, region)
    document = _current_policy(client, bucket)
    statements = document["Statement"]
    if any(isinstance(s, dict) and s.get("Sid") == statement["Sid"] for s in statements):
        log.info("bucket policy of %s already has %s", bucket, statement["Sid"])
        return
    statements.append(statement)
    try:
        client.put_bucket_policy(Bucket=bucket, Policy=jsonio.dumps(document))
    except ClientError as exc:
        if error_code(exc) != "AccessDenied":
            raise
        raise Refused(
            f"S3 refused to add the public-read statement to the policy of '{bucket}' "
            "(AccessDenied): Block Public Access (BlockPublicPolicy) is probably on, or the "
            "credentials lack s3:PutBucketPolicy",
            hint=not_public_hint(bucket, prefix, region),
        ) from None
    log.warning("added statement %s to the bucket policy of %s", statement["Sid"], bucket)


def _current_policy(client: Any, bucket: str) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    try:
        document: dict[str, Any] = jsonio.loads(client.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError as exc:
        if error_code(exc) != "NoSuchBucketPolicy":
            raise
        document = {"Version": "2012-10-17"}
    statements = document.get("Statement", [])
    document["Statement"] = [statements] if isinstance(statements, dict) else list(statements)
    return document
