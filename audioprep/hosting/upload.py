"""Hosting audio on S3 (or an S3-compatible store) so the Voice API can download it.

This module owns uploading: the one place the boto3 client is built
(:func:`make_s3_client`, the seam tests stub), the error boundary (:func:`s3_errors`),
inspecting and sniffing each file, reusing an object that already holds the same bytes, one
PutObject with the right metadata and an in-transit checksum, choosing the public URL or a
presigned one, and proving it with an anonymous download before reporting it
(:class:`UploadSession` per file, :func:`upload_files` for a list). Names come from
:mod:`audioprep.hosting.keys`; public access and the anonymous check from
:mod:`audioprep.hosting.public`.

Per-file outcomes are data (:class:`UploadResult`); only what stops the whole run is raised:
:class:`~audioprep.errors.ConfigError` (no bucket, no usable credentials, bucket missing or not
writable) and :class:`~audioprep.errors.ServiceUnavailable` (S3 unreachable or failing). It
never prints and never logs a secret: URLs pass through :func:`audioprep.audio.fetch.redact_url`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from audioprep.api import MAX_AUDIO_BYTES, check_audio_url
from audioprep.config import DEFAULT_PREFIX
from audioprep.errors import AudioprepError, ConfigError, ServiceUnavailable, UsageError
from audioprep.hosting.keys import (
    DEFAULT_EXPIRES,
    MAX_EXPIRES,
    PublicMode,
    object_key,
    policy_statement,
    public_url,
)
from audioprep.hosting.public import (
    Refused,
    Verification,
    acl_refusal,
    anonymous_session,
    apply_public_policy,
    error_code,
    grant_public_read,
    http_status,
    not_public_hint,
    ownership_allows_acls,
    verify_url,
)
from audioprep.models import Problem, Severity
from audioprep.net import sessions
from audioprep.net.urls import redact_url
from audioprep.version import __version__

log = logging.getLogger(__name__)

#: The key names its content, so the object never changes: caches may keep it for a year.
CACHE_CONTROL = "public, max-age=31536000, immutable"
#: User metadata key holding the hex SHA-256 (``x-amz-meta-sha256``); the ETag is not an MD5
#: for multipart uploads, so reuse is decided on this instead.
SHA256_METADATA = "sha256"
_CREDENTIAL_CODES = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"}
)
_UNAVAILABLE_CODES = frozenset({"SlowDown", "ServiceUnavailable", "InternalError"})
_CORRUPTION_CODES = frozenset(
    {"BadDigest", "InvalidDigest", "XAmzContentChecksumMismatch", "XAmzContentSHA256Mismatch"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadOptions:
    """What to upload where, and how to make it public.

    ``endpoint_url`` selects an S3-compatible store (MinIO, R2, Wasabi, moto), addressed
    path-style unless ``path_style`` says otherwise. ``public_base_url`` is where objects are
    served when that is not the S3 endpoint (a CDN, an R2 public domain): the URL becomes
    ``public_base_url/key``. ``allow_policy_change`` lets a private bucket get one public-read
    statement for the prefix; nothing else about a bucket is ever changed. ``connect_timeout``
    and ``timeout`` (read) apply to S3 calls and to the anonymous check alike. ``reuse`` looks
    for an object already holding the same bytes (one HEAD) before uploading; it is off only
    for a bucket known to be empty (the ``--sandbox`` bucket, created by the same process).
    """

    bucket: str
    prefix: str = DEFAULT_PREFIX
    endpoint_url: str | None = None
    region: str | None = None
    public_mode: PublicMode = PublicMode.AUTO
    expires: int = DEFAULT_EXPIRES
    inspect: bool = True
    path_style: bool | None = None
    public_base_url: str | None = None
    allow_policy_change: bool = False
    connect_timeout: float = 5.0
    timeout: float = 30.0
    max_attempts: int = 3
    reuse: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadResult:
    """One file's outcome. ``url`` is set only when an anonymous download proved it works.

    ``public_mode`` is how the object ended up readable (``auto`` resolves to ``acl`` or
    ``policy``); ``expires_at`` is set for presigned URLs.
    """

    file: str
    bucket: str
    key: str | None = None
    url: str | None = field(default=None, repr=False)  # may carry a presigned signature
    sha256: str | None = None
    size: int | None = None
    content_type: str | None = None
    public_mode: PublicMode | None = None
    verified: bool = False
    reused: bool = False
    expires_at: str | None = None
    error: str | None = None
    hint: str | None = None
    warnings: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the object is hosted and an anonymous download proved it."""
        return self.error is None and self.verified

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of ``audioprep upload --json`` (one object per file)."""
        return {
            "file": self.file,
            "bucket": self.bucket,
            "key": self.key,
            "url": self.url,
            "sha256": self.sha256,
            "size": self.size,
            "content_type": self.content_type,
            "public_mode": self.public_mode.value if self.public_mode else None,
            "verified": self.verified,
            "reused": self.reused,
            "expires_at": self.expires_at,
            "ok": self.ok,
            "error": self.error,
            "hint": self.hint,
            "warnings": list(self.warnings),
            "problems": [p.to_dict() for p in self.problems],
        }


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A file read, hashed, judged uploadable and named."""

    path: Path
    data: bytes
    sha256: str
    content_type: str
    key: str


# --------------------------------------------------------------------------------------------
# The S3 client and the error boundary
# --------------------------------------------------------------------------------------------


def make_s3_client(options: UploadOptions) -> Any:
    """Build the boto3 S3 client: the only place one is made (tests stub or patch it here).

    Credentials come from the standard AWS chain. SigV4 is forced so presigned URLs are the
    modern kind in every region (botocore would sign SigV2 ones in us-east-1); checksums are
    sent only where we ask for them, which keeps S3-compatible stores that reject CRC trailers
    working.
    """
    import boto3

    session = boto3.session.Session(region_name=options.region)
    return session.client("s3", endpoint_url=options.endpoint_url, config=s3_config(options))


def s3_config(options: UploadOptions) -> Any:
    """The botocore ``Config`` of every S3 client audioprep makes for ``options``: SigV4,
    path-style for custom endpoints, our timeouts and retries, checksums only where asked,
    and no proxy for a loopback endpoint (:mod:`audioprep.net.sessions`)."""
    from botocore.config import Config

    style = options.path_style if options.path_style is not None else bool(options.endpoint_url)
    return Config(
        signature_version="s3v4",
        s3={"addressing_style": "path" if style else "auto"},
        connect_timeout=options.connect_timeout,
        read_timeout=options.timeout,
        retries={"mode": "standard", "max_attempts": options.max_attempts},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        user_agent_extra=f"audioprep/{__version__}",
        proxies=sessions.botocore_proxies(options.endpoint_url),
    )


@contextmanager
def s3_errors(options: UploadOptions) -> Iterator[None]:
    """Turn botocore failures that stop the whole run into ConfigError/ServiceUnavailable."""
    from botocore import exceptions as bx

    where = options.endpoint_url or "AWS S3"
    try:
        yield
    except (bx.NoCredentialsError, bx.PartialCredentialsError, bx.ProfileNotFound) as exc:
        raise ConfigError(
            f"no usable AWS credentials: {exc}",
            hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, "
            "or run 'aws configure'",
        ) from None
    except (bx.ConnectionError, bx.HTTPClientError) as exc:
        raise ServiceUnavailable(
            f"cannot reach {where}: {type(exc).__name__}",
            hint="check --endpoint-url, the network, and that the S3 service is up",
        ) from None
    except bx.ParamValidationError as exc:
        raise ConfigError(f"invalid S3 parameters: {exc}") from None
    except bx.ClientError as exc:
        raise _client_error(exc, options) from None
    except ValueError as exc:  # botocore: "Invalid endpoint: ..."
        raise ConfigError(f"invalid S3 configuration: {exc}") from None


def _client_error(exc: Any, options: UploadOptions) -> AudioprepError:
    code, status = error_code(exc), http_status(exc)
    message = str(exc.response.get("Error", {}).get("Message", "")) or code
    if code in _CREDENTIAL_CODES:
        return ConfigError(
            f"S3 refused the credentials ({code}): {message}",
            hint="check the AWS credentials in use ('audioprep doctor' shows where they come from)",
        )
    if code in ("NoSuchBucket", "404") or (status == 404 and code != "NoSuchKey"):
        return ConfigError(
            f"bucket '{options.bucket}' does not exist",
            hint="create it, or check --bucket, --region and --endpoint-url",
        )
    if code == "AccessDenied":
        resource = policy_statement(options.bucket, options.prefix)["Resource"]
        return ConfigError(
            f"access denied to bucket '{options.bucket}': {message}",
            hint=f"the credentials need s3:PutObject and s3:GetObject on {resource}",
        )
    if code == "InvalidBucketName":
        return ConfigError(f"invalid bucket name '{options.bucket}': {message}")
    if status >= 500 or code in _UNAVAILABLE_CODES:
        return ServiceUnavailable(f"S3 answered {status or code}: {message}")
    return AudioprepError(f"S3 refused the request ({code or status}): {message}")


# --------------------------------------------------------------------------------------------
# The upload run
# --------------------------------------------------------------------------------------------


class UploadSession:
    """An S3 client, an anonymous HTTP session and the bucket's facts (looked up once):
    what uploading a file needs. :func:`upload_files` makes one per call; a batch that
    shares one client between threads (:mod:`audioprep.hosting.clients`) makes one per thread."""

    def __init__(
        self,
        options: UploadOptions,
        client: Any,
        http: requests.Session,
        checked: tuple[str | None] | None = None,
    ) -> None:
        """``checked``: ``(region,)`` when the caller already checked the bucket
        (:func:`bucket_region`); otherwise it is checked and its region learnt here."""
        self.options, self.client, self.http = options, client, http
        self.region = checked[0] if checked is not None else bucket_region(client, options)
        self._acls: tuple[bool | None] | None = None

    def url_for(self, key: str) -> str:
        """The unsigned public URL of ``key``."""
        o = self.options
        return public_url(
            o.bucket,
            key,
            endpoint_url=o.endpoint_url,
            region=self.region,
            public_base_url=o.public_base_url,
        )

    def verify(self, prep: _Prepared, url: str) -> Verification:
        """Anonymous GET of ``url`` compared with the prepared file."""
        return verify_url(
            url,
            sha256=prep.sha256,
            size=len(prep.data),
            content_type=prep.content_type,
            session=self.http,
            timeout=(self.options.connect_timeout, self.options.timeout),
        )

    def acls_allowed(self) -> bool | None:
        """Whether the bucket takes ACLs (Object Ownership); None when we may not ask."""
        if self._acls is None:
            self._acls = (ownership_allows_acls(self.client, self.options.bucket),)
        return self._acls[0]

    def hint(self) -> str:
        """How to make the prefix publicly readable, with the exact bucket policy."""
        return not_public_hint(self.options.bucket, self.options.prefix, self.region)

    def upload(self, path: Path) -> UploadResult:
        """Upload (or reuse), publish and verify one file; its failures are data."""
        return _upload_one(self, path)


def upload_files(
    paths: Sequence[str | os.PathLike[str]], options: UploadOptions
) -> list[UploadResult]:
    """Upload, publish and verify each file; one :class:`UploadResult` per path, in order.

    Raises:
        ConfigError: no bucket, no usable credentials, the bucket does not exist, or the
            credentials may not write to it.
        ServiceUnavailable: S3 cannot be reached or keeps answering 5xx.
        UsageError: an option is out of range.
    """
    options = validated(options)
    with s3_errors(options):
        client = make_s3_client(options)
        with anonymous_session() as http:
            session = UploadSession(options, client, http)
            return [session.upload(Path(p)) for p in paths]


def validated(options: UploadOptions) -> UploadOptions:
    """``options`` validated, with ``public_mode`` made a :class:`PublicMode` if given as text."""
    try:
        mode = PublicMode(options.public_mode)
    except ValueError:
        choices = ", ".join(PublicMode)
        raise UsageError(f"public mode {options.public_mode!r} is not one of {choices}") from None
    if not options.bucket:
        raise ConfigError("no bucket given", hint="pass --bucket or set AUDIOPREP_BUCKET")
    if not 1 <= options.expires <= MAX_EXPIRES:
        raise UsageError(f"expires must be 1 to {MAX_EXPIRES} seconds (SigV4's limit)")
    base = options.public_base_url
    if base and urlsplit(base).scheme not in ("http", "https"):
        raise UsageError("the public base URL must start with http:// or https://")
    return replace(options, public_mode=mode)


def bucket_region(client: Any, options: UploadOptions) -> str | None:
    """Check the bucket exists (fails fast) and learn its region for the public URL."""
    from botocore.exceptions import ClientError

    fallback = options.region or client.meta.region_name
    try:
        answer = client.head_bucket(Bucket=options.bucket)
    except ClientError as exc:
        if http_status(exc) != 403 or error_code(exc) in _CREDENTIAL_CODES:
            raise
        # A HEAD answer has no body: a bare 403 may mean "no s3:ListBucket" or bad
        # credentials. Carry on; PutObject will say which.
        log.debug("HEAD %s answered 403; assuming it exists", options.bucket)
        return _region_header(exc.response) or fallback
    return answer.get("BucketRegion") or _region_header(answer) or fallback


def _region_header(response: Any) -> str | None:
    region = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
    return str(region) if region else None


def _upload_one(session: UploadSession, path: Path) -> UploadResult:
    result = UploadResult(file=str(path), bucket=session.options.bucket)
    try:
        data = _read(path)
        sha256 = hashlib.sha256(data).hexdigest()
        result = replace(result, sha256=sha256, size=len(data))
        prep = _prepare(path, data, sha256, session.options)
        result = replace(result, key=prep.key, content_type=prep.content_type)
        result = replace(result, reused=_store(session, prep))
        result = _publish(session, prep, result)
    except Refused as refused:
        log.info("%s: %s", path, refused.error)  # data, rendered by the caller
        return replace(result, error=refused.error, hint=refused.hint, problems=refused.problems)
    log.info("%s: %s, verified at %s", path, _verb(result), redact_url(result.url or ""))
    return result


def _verb(result: UploadResult) -> str:
    return "reused" if result.reused else "uploaded"


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_AUDIO_BYTES:
            raise Refused(
                f"{size} bytes is over the API's limit of {MAX_AUDIO_BYTES} bytes",
                hint=f"make it smaller with 'audioprep fix {path}'",
            )
        return path.read_bytes()
    except OSError as exc:
        raise Refused(f"cannot read the file: {exc.strerror or exc}") from None


def _prepare(path: Path, data: bytes, sha256: str, options: UploadOptions) -> _Prepared:
    """Sniff the real format, name the object, and inspect it under that name."""
    from audioprep.audio.sniff import SNIFF_BYTES, content_type_for, is_accepted, sniff

    container = sniff(data[:SNIFF_BYTES])
    content_type = content_type_for(container) if is_accepted(container) else None
    if content_type is None:
        raise Refused(
            f"refused: the file is {container.label}, not MP3 or WAV",
            hint=f"convert it with 'audioprep fix {path}'",
        )
    key = object_key(path.name, sha256, container.value, options.prefix)
    if options.inspect:
        _inspect(path, key.rsplit("/", 1)[-1])
    return _Prepared(path, data, sha256, content_type, key)


def _inspect(path: Path, served_name: str) -> None:
    """Refuse a file whose verdict is not ``ok``. It is judged under the name it will be
    served as, so a bad file name alone (which the key already fixes) refuses nothing."""
    from audioprep.audio.inspect import inspect_file

    inspection = inspect_file(path, display_name=served_name)
    verdict = str(inspection.verdict)
    if verdict == "ok":
        return
    problems = tuple(inspection.problems)
    first = next((p for p in problems if p.severity is Severity.ERROR), None)
    code = f" (the API would answer {inspection.api_code})" if inspection.api_code else ""
    detail = f": {first.message}" if first else ""
    fix = (
        f"repair it with 'audioprep fix {path}' and upload the result"
        if verdict == "fixable"
        else "it cannot be repaired automatically; export it again as MP3 or WAV"
    )
    raise Refused(
        f"refused: inspection verdict {verdict}{code}{detail}",
        hint=f"{fix} (or pass --no-inspect to upload it anyway)",
        problems=problems,
    )


# --------------------------------------------------------------------------------------------
# Storing: reuse, or one PutObject
# --------------------------------------------------------------------------------------------


def _store(session: UploadSession, prep: _Prepared) -> bool:
    """Upload unless the key already holds these bytes; True when it was reused."""
    where = f"s3://{session.options.bucket}/{prep.key}"
    existing = _head(session, prep.key) if session.options.reuse else None
    stored = existing.get("Metadata", {}).get(SHA256_METADATA) if existing else None
    if stored is not None and stored == prep.sha256:
        log.info("%s: %s already holds these bytes", prep.path, where)
        return True
    if existing is not None:
        log.warning("%s: replacing %s, which holds other or unlabelled bytes", prep.path, where)
    _put(session, prep, acl=session.options.public_mode is PublicMode.ACL)
    return False


def _head(session: UploadSession, key: str) -> Any:
    """HEAD ``key``: its answer, or None when missing (or when we may not look: 403)."""
    from botocore.exceptions import ClientError

    try:
        return session.client.head_object(Bucket=session.options.bucket, Key=key)
    except ClientError as exc:
        if http_status(exc) in (403, 404):
            return None
        raise


def _put(session: UploadSession, prep: _Prepared, *, acl: bool) -> None:
    """One PutObject with Content-Type, Cache-Control, and the SHA-256 as metadata and checksum.

    Files are at most 5 MB (``MAX_AUDIO_BYTES``), so a single PutObject is right: no multipart
    upload, one request, and the checksum covers the whole object. S3 recomputes
    ``ChecksumSHA256`` on arrival and rejects the upload if the bytes changed in transit.
    """
    from botocore.exceptions import ClientError

    extra = {"ACL": "public-read"} if acl else {}
    try:
        session.client.put_object(
            Bucket=session.options.bucket,
            Key=prep.key,
            Body=prep.data,
            ContentType=prep.content_type,
            CacheControl=CACHE_CONTROL,
            Metadata={SHA256_METADATA: prep.sha256},
            ChecksumSHA256=base64.b64encode(bytes.fromhex(prep.sha256)).decode("ascii"),
            **extra,
        )
    except ClientError as exc:
        if error_code(exc) in _CORRUPTION_CODES:
            raise Refused(
                f"S3 rejected the upload ({error_code(exc)}): it did not receive the file's bytes",
                hint="the data was corrupted in transit; run the upload again",
            ) from None
        bucket = session.options.bucket
        refusal = acl_refusal(session.client, bucket, exc, session.hint()) if acl else None
        if refusal is not None:
            raise refusal from None
        raise


# --------------------------------------------------------------------------------------------
# Publishing: prove the URL, make the object public where allowed, or explain
# --------------------------------------------------------------------------------------------


def _publish(session: UploadSession, prep: _Prepared, result: UploadResult) -> UploadResult:
    """Verify the final URL anonymously; only a verified URL is ever put in the result."""
    mode = session.options.public_mode
    if mode is PublicMode.PRESIGN:
        return _publish_presigned(session, prep, result)
    url = session.url_for(prep.key)
    _check_url(url)
    check = session.verify(prep, url)
    used = PublicMode.ACL if mode is PublicMode.ACL else PublicMode.POLICY
    acl_sent = mode is PublicMode.ACL and not result.reused
    if check.status == 403 and not acl_sent:
        used = _make_public(session, prep)
        check = session.verify(prep, url)
    if check.status == 403:
        raise _not_public(session, prep.key)
    if not check.ok:
        raise Refused(
            f"the API could not download {redact_url(url)}: {check.message}",
            hint=_verify_hint(check),
        )
    return replace(result, url=url, verified=True, public_mode=used)


def _make_public(session: UploadSession, prep: _Prepared) -> PublicMode:
    """Make the object public the ways the options allow; :class:`Refused` when none can."""
    options = session.options
    acl_possible = options.public_mode is PublicMode.ACL or (
        options.public_mode is PublicMode.AUTO and session.acls_allowed() is not False
    )
    if acl_possible:
        try:
            grant_public_read(session.client, options.bucket, prep.key, session.hint())
        except Refused:
            if options.public_mode is PublicMode.ACL or not options.allow_policy_change:
                raise
        else:
            return PublicMode.ACL
    if options.allow_policy_change:
        apply_public_policy(session.client, options.bucket, options.prefix, session.region)
        return PublicMode.POLICY
    raise _not_public(session, prep.key)


def _not_public(session: UploadSession, key: str) -> Refused:
    return Refused(
        f"s3://{session.options.bucket}/{key} is not publicly readable "
        f"(an anonymous GET of {redact_url(session.url_for(key))} answered HTTP 403), "
        "so the API could not download it",
        hint=session.hint(),
    )


def _check_url(url: str) -> None:
    """The URL we hand out must pass the API's own URL rules."""
    violations = check_audio_url(url)
    if violations:
        raise Refused(
            f"the URL breaks the API's rules: {violations[0].message}",
            hint="use a plainer --prefix or bucket name, or --public-base-url",
            problems=tuple(Problem(v.id, Severity.ERROR, v.message) for v in violations),
        )


def _publish_presigned(
    session: UploadSession, prep: _Prepared, result: UploadResult
) -> UploadResult:
    expires = session.options.expires
    url = session.client.generate_presigned_url(
        "get_object", Params={"Bucket": session.options.bucket, "Key": prep.key}, ExpiresIn=expires
    )
    _check_url(url)
    check = session.verify(prep, url)
    if not check.ok:
        raise Refused(
            f"the presigned URL for s3://{session.options.bucket}/{prep.key} does not download: "
            f"{check.message}",
            hint=_verify_hint(check),
        )
    at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=expires)
    stamp = at.isoformat().replace("+00:00", "Z")
    warning = (
        f"presigned URL expires at {stamp} (in {_duration(expires)}): calls placed later fail; "
        "one signed with temporary credentials dies with them, if sooner"
    )
    return replace(
        result,
        url=url,
        verified=True,
        public_mode=PublicMode.PRESIGN,
        expires_at=stamp,
        warnings=(warning,),
    )


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _verify_hint(check: Verification) -> str:
    if check.status is None:
        return (
            "nothing answered at the public URL; if objects are served from another host "
            "(a CDN, an R2 public domain), pass --public-base-url"
        )
    if check.status == 404:
        return "nothing at the public URL: check --region, --endpoint-url and --public-base-url"
    if check.status == 200:
        return "something between S3 and the client changes the object (a CDN or proxy?)"
    return "make the URL return the object to an anonymous GET"


# --------------------------------------------------------------------------------------------
# Human output
# --------------------------------------------------------------------------------------------
