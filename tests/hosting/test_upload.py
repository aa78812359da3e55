"""`audioprep upload` and :mod:`audioprep.hosting.upload` against a real S3 server on loopback
(moto).

Behaviour moto really has (anonymous GETs honour ACLs and bucket policies, presigned URLs,
path-style addressing) is tested over HTTP. The answers moto never gives — ``AccessControlList
NotSupported``, Block Public Access denials, checksum mismatches (probe.md §6) — are tested with
botocore's Stubber on the client from :func:`audioprep.hosting.upload.make_s3_client`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from botocore.stub import ANY, Stubber

from audioprep import api
from audioprep.audio import ffmpeg
from audioprep.errors import ConfigError, ExitCode, ServiceUnavailable
from audioprep.hosting import upload as hosting
from audioprep.hosting.keys import PublicMode, object_key, policy_snippet, public_url
from audioprep.hosting.upload import UploadOptions, UploadResult, upload_files
from tests.conftest import Cli

if TYPE_CHECKING:
    from tests.support.s3_fixtures import S3

pytest_plugins = (
    "tests.support.s3_fixtures",
)  # moto_endpoint, aws_credentials, s3, closed_endpoint

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
PREFIX = "prompts"
SIGNATURE_PARTS = ("X-Amz-Signature", "X-Amz-Credential", "Signature=")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tones(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Small distinct MP3s (~12 KB), one per frequency, made once per session."""
    folder = tmp_path_factory.mktemp("tones")
    made = {}
    for freq in (440, 660, 880):
        out = folder / f"tone{freq}.mp3"
        sine = f"sine=frequency={freq}:duration=2"
        args = ["-v", "error", "-f", "lavfi", "-i", sine, "-ac", "1", "-ar", "16000"]
        proc = ffmpeg.run([*args, "-c:a", "libmp3lame", "-b:a", "48k", str(out)], timeout=60)
        assert proc.returncode == 0, proc.stderr
        made[freq] = out
    return made


@pytest.fixture
def audio(tmp_path: Path, tones: dict[int, Path]) -> Callable[..., Path]:
    """``audio("name.mp3", freq=440)`` → a copy of a tone under that name in tmp_path."""

    def _make(name: str, freq: int = 440) -> Path:
        path = tmp_path / name
        shutil.copyfile(tones[freq], path)
        return path

    return _make


def options(s3: S3, **overrides: Any) -> UploadOptions:
    """Options for the moto bucket. Inspection is off: these tests are about hosting, and
    the inspector has its own tests (and two tests below with it on)."""
    values: dict[str, Any] = {
        "bucket": s3.bucket,
        "endpoint_url": s3.endpoint,
        "prefix": PREFIX,
        "inspect": False,
    }
    values.update(overrides)
    return UploadOptions(**values)


def make_prefix_public(s3: S3, prefix: str = PREFIX) -> None:
    """Install exactly the policy audioprep tells users to install."""
    s3.client.put_bucket_policy(Bucket=s3.bucket, Policy=policy_snippet(s3.bucket, prefix))


def only(results: list[UploadResult]) -> UploadResult:
    assert len(results) == 1
    return results[0]


@pytest.fixture
def s3_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the S3 operations audioprep makes, recorded at the client factory."""
    calls: list[str] = []
    real = hosting.make_s3_client

    def counting(opts: UploadOptions) -> Any:
        client = real(opts)
        client.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
        return client

    monkeypatch.setattr(hosting, "make_s3_client", counting)
    return calls


def stub_client(monkeypatch: pytest.MonkeyPatch, opts: UploadOptions) -> Stubber:
    """A Stubber on the client the one factory builds; the factory then returns it."""
    client = hosting.make_s3_client(opts)
    monkeypatch.setattr(hosting, "make_s3_client", lambda _opts: client)
    return Stubber(client)


def put_params(path: Path, key: str, **extra: Any) -> dict[str, Any]:
    """Exactly what audioprep must send with PutObject (checksum included)."""
    digest = hashlib.sha256(path.read_bytes())
    return {
        "Bucket": ANY,
        "Key": key,
        "Body": ANY,
        "ContentType": "audio/mpeg",
        "CacheControl": hosting.CACHE_CONTROL,
        "Metadata": {"sha256": digest.hexdigest()},
        "ChecksumSHA256": base64.b64encode(digest.digest()).decode(),
        **extra,
    }


def key_for(path: Path, prefix: str = PREFIX) -> str:
    return object_key(path.name, hashlib.sha256(path.read_bytes()).hexdigest(), "mp3", prefix)


def assert_no_secrets(text: str, credentials: tuple[str, str]) -> None:
    for secret in (*credentials, *SIGNATURE_PARTS):
        assert secret not in text, f"{secret!r} leaked"


# --------------------------------------------------------------------------------------------
# Upload, anonymous fetch, metadata
# --------------------------------------------------------------------------------------------


def test_upload_is_fetched_anonymously_with_the_same_bytes(s3: S3, audio: Callable[..., Path]):
    path = audio("welcome.mp3")
    make_prefix_public(s3)
    result = only(upload_files([path], options(s3, public_mode=PublicMode.POLICY)))
    assert result.ok and result.verified and not result.reused
    assert result.url == s3.url(result.key or "")
    response = requests.get(result.url, timeout=10)  # no credentials at all
    assert response.status_code == 200
    assert response.content == path.read_bytes()
    assert response.headers["Content-Type"] == "audio/mpeg"
    assert response.headers["Cache-Control"] == hosting.CACHE_CONTROL
    head = s3.client.head_object(Bucket=s3.bucket, Key=result.key)
    assert head["Metadata"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert api.check_audio_url(result.url) == []


def test_wav_is_served_as_audio_wav(s3: S3, tmp_path: Path):
    path = tmp_path / "hours.wav"
    shutil.copyfile(SAMPLES / "opening_hours.wav", path)
    make_prefix_public(s3)
    result = only(upload_files([path], options(s3)))
    assert result.ok, result.error
    assert result.content_type == "audio/wav" and (result.key or "").endswith(".wav")
    assert requests.get(result.url or "", timeout=10).headers["Content-Type"] == "audio/wav"


def test_json_contract_through_the_cli(s3: S3, audio: Callable[..., Path], run_cli: Cli):
    make_prefix_public(s3)
    paths = [audio("one.mp3", 440), audio("two.mp3", 660)]
    out = run_cli(
        "upload",
        *map(str, paths),
        "--bucket",
        s3.bucket,
        "--endpoint-url",
        s3.endpoint,
        "--prefix",
        PREFIX,
        "--no-inspect",
        "--json",
    )
    items = json.loads(out.stdout)
    assert [item["file"] for item in items] == [str(p) for p in paths]
    for item, path in zip(items, paths, strict=True):
        assert item["bucket"] == s3.bucket
        assert item["key"].startswith(f"{PREFIX}/{path.stem}-")
        assert item["url"] == s3.url(item["key"])
        assert item["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert item["size"] == path.stat().st_size
        assert item["content_type"] == "audio/mpeg"
        assert item["public_mode"] == "policy"
        assert item["verified"] is True and item["reused"] is False
        assert item["error"] is None


def test_same_bytes_are_reused_without_a_put(
    s3: S3, audio: Callable[..., Path], s3_calls: list[str]
):
    path = audio("welcome.mp3")
    make_prefix_public(s3)
    first = only(upload_files([path], options(s3)))
    assert "PutObject" in s3_calls
    s3_calls.clear()
    second = only(upload_files([path], options(s3)))
    assert second.ok and second.reused and second.key == first.key and second.url == first.url
    assert "PutObject" not in s3_calls
    assert "HeadObject" in s3_calls


def test_a_bucket_known_to_be_empty_is_not_asked_before_the_put(
    s3: S3, audio: Callable[..., Path], s3_calls: list[str]
):
    """``reuse=False`` (the sandbox's fresh bucket): one PutObject, no HeadObject first."""
    make_prefix_public(s3)
    result = only(upload_files([audio("welcome.mp3")], options(s3, reuse=False)))
    assert result.ok and not result.reused
    assert "HeadObject" not in s3_calls and s3_calls.count("PutObject") == 1


def test_changed_bytes_get_a_new_key(s3: S3, audio: Callable[..., Path]):
    make_prefix_public(s3)
    before = only(upload_files([audio("greeting.mp3", 440)], options(s3)))
    after = only(upload_files([audio("greeting.mp3", 660)], options(s3)))
    assert before.ok and after.ok and not after.reused
    assert before.key != after.key and before.url != after.url
    assert requests.get(before.url or "", timeout=10).status_code == 200  # old URL unchanged


def test_object_without_our_checksum_is_replaced(s3: S3, audio: Callable[..., Path]):
    """An object at our key written by something else (no sha256, wrong type) is replaced."""
    path = audio("welcome.mp3")
    make_prefix_public(s3)
    s3.client.put_object(Bucket=s3.bucket, Key=key_for(path), Body=path.read_bytes())
    result = only(upload_files([path], options(s3)))
    assert result.ok and not result.reused
    assert requests.get(result.url or "", timeout=10).headers["Content-Type"] == "audio/mpeg"


def test_wrong_content_type_fails_verification(s3: S3, audio: Callable[..., Path]):
    path = audio("welcome.mp3")
    data = path.read_bytes()
    url = s3.url("prompts/raw.mp3")
    s3.client.put_object(Bucket=s3.bucket, Key="prompts/raw.mp3", Body=data, ACL="public-read")
    check = hosting.verify_url(
        url, sha256=hashlib.sha256(data).hexdigest(), size=len(data), content_type="audio/mpeg"
    )
    assert not check.ok and check.status == 200 and "Content-Type" in check.message


# --------------------------------------------------------------------------------------------
# Public access: policy, ACL, auto, presign
# --------------------------------------------------------------------------------------------


def test_private_object_is_refused_with_the_exact_policy(s3: S3, audio: Callable[..., Path]):
    result = only(upload_files([audio("welcome.mp3")], options(s3, public_mode="policy")))
    assert not result.ok and result.url is None and not result.verified
    assert "not publicly readable" in (result.error or "")
    hint = result.hint or ""
    assert f'"Resource": "arn:aws:s3:::{s3.bucket}/{PREFIX}/*"' in hint
    assert '"Principal": "*"' in hint and "s3:GetObject" in hint
    assert "BlockPublicPolicy" in hint and "--public-mode presign" in hint
    with pytest.raises(s3.client.exceptions.ClientError, match="NoSuchBucketPolicy"):
        s3.client.get_bucket_policy(Bucket=s3.bucket)  # nothing changed behind our back


def test_apply_bucket_policy_adds_one_statement_and_keeps_others(
    s3: S3, audio: Callable[..., Path]
):
    other = {"Sid": "Other", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject"}
    other["Resource"] = f"arn:aws:s3:::{s3.bucket}/*"
    policy = {"Version": "2012-10-17", "Statement": [other]}
    s3.client.put_bucket_policy(Bucket=s3.bucket, Policy=json.dumps(policy))
    opts = options(s3, public_mode="policy", allow_policy_change=True)
    result = only(upload_files([audio("welcome.mp3")], opts))
    assert result.ok and result.public_mode is PublicMode.POLICY
    statements = json.loads(s3.client.get_bucket_policy(Bucket=s3.bucket)["Policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["Other", "AudioprepPublicReadPrompts"]


def test_acl_mode_sets_public_read(s3: S3, audio: Callable[..., Path]):
    result = only(upload_files([audio("welcome.mp3")], options(s3, public_mode="acl")))
    assert result.ok and result.public_mode is PublicMode.ACL
    grants = s3.client.get_object_acl(Bucket=s3.bucket, Key=result.key)["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") for g in grants)


def test_auto_grants_public_read_where_acls_are_allowed(s3: S3, audio: Callable[..., Path]):
    """A bucket without Object Ownership controls (pre-2023 style) takes ACLs."""
    result = only(upload_files([audio("welcome.mp3")], options(s3)))
    assert result.ok and result.public_mode is PublicMode.ACL


def test_auto_uses_the_bucket_policy_when_it_already_makes_objects_public(
    s3: S3, audio: Callable[..., Path], s3_calls: list[str]
):
    make_prefix_public(s3)
    result = only(upload_files([audio("welcome.mp3")], options(s3)))
    assert result.ok and result.public_mode is PublicMode.POLICY
    assert "PutObjectAcl" not in s3_calls and "GetBucketOwnershipControls" not in s3_calls


def test_presigned_url_downloads_and_passes_the_rules(
    s3: S3,
    audio: Callable[..., Path],
    run_cli: Cli,
    caplog: pytest.LogCaptureFixture,
    aws_credentials: tuple[str, str],
):
    path = audio("welcome.mp3")
    caplog.set_level(logging.DEBUG)
    common = [str(path), "--bucket", s3.bucket, "--endpoint-url", s3.endpoint, "--no-inspect"]
    out = run_cli("upload", *common, "--public-mode", "presign", "--expires", "600", "--json")
    item = json.loads(out.stdout)[0]
    assert item["public_mode"] == "presign" and item["verified"] is True
    assert "X-Amz-Signature=" in item["url"] and "X-Amz-Expires=600" in item["url"]
    assert item["expires_at"] and "expires" in item["warnings"][0]
    assert api.check_audio_url(item["url"]) == []
    response = requests.get(item["url"], timeout=10)
    assert response.status_code == 200 and response.content == path.read_bytes()
    # Human output: the same URL without its signature, and the expiry warning.
    human = run_cli("upload", *common, "--public-mode", "presign")
    assert item["url"].split("?")[0] + "?<signature hidden>" in human.stdout
    assert "presigned URL expires at" in human.stdout
    assert_no_secrets(human.output, aws_credentials)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("audioprep"))
    assert_no_secrets(ours, aws_credentials)


# --------------------------------------------------------------------------------------------
# Keys, URLs, endpoints
# --------------------------------------------------------------------------------------------


def test_prefix_and_name_are_sanitised(s3: S3, audio: Callable[..., Path]):
    path = audio("Appointment Reminder (final).mp3")
    opts = options(s3, prefix="My Prompts/été 2024/../", public_mode="acl")
    result = only(upload_files([path], opts))
    assert result.ok, result.error
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    assert result.key == f"My_Prompts/ete_2024/Appointment_Reminder_final-{digest}.mp3"
    assert api.check_audio_url(result.url or "") == []
    assert run_check(result.url or "") == 0


def run_check(url: str) -> int:
    from click.testing import CliRunner

    from audioprep.cli.app import cli

    return CliRunner().invoke(cli, ["check", url]).exit_code


def test_custom_endpoint_is_addressed_path_style(s3: S3, audio: Callable[..., Path]):
    opts = options(s3, public_mode="acl")
    client = hosting.make_s3_client(opts)
    assert client.meta.config.s3["addressing_style"] == "path"
    sent: list[str] = []
    client.meta.events.register("before-send.s3", lambda request, **_: sent.append(request.url))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(hosting, "make_s3_client", lambda _opts: client)
        result = only(upload_files([audio("welcome.mp3")], opts))
    assert result.ok
    assert result.url == f"{s3.endpoint}/{s3.bucket}/{result.key}"
    assert sent and all(url.startswith(f"{s3.endpoint}/{s3.bucket}") for url in sent)


@pytest.mark.parametrize(
    ("bucket", "kwargs", "expected"),
    [
        ("prompts", {"region": "eu-west-1"}, "https://prompts.s3.eu-west-1.amazonaws.com/a/x.mp3"),
        ("my.prompts", {"region": "eu-west-1"}, "https://s3.eu-west-1.amazonaws.com/my.prompts/a/x.mp3"),
        ("prompts", {"region": "cn-north-1"}, "https://prompts.s3.cn-north-1.amazonaws.com.cn/a/x.mp3"),
        ("prompts", {"endpoint_url": "https://minio.example:9000/"}, "https://minio.example:9000/prompts/a/x.mp3"),
        ("prompts", {"public_base_url": "https://cdn.example.com/"}, "https://cdn.example.com/a/x.mp3"),
    ],
)  # fmt: skip
def test_public_url_shapes(bucket: str, kwargs: dict[str, str], expected: str):
    url = public_url(bucket, "a/x.mp3", **kwargs)
    assert url == expected
    assert api.check_audio_url(url) == []


# --------------------------------------------------------------------------------------------
# Exit codes: unreachable, missing bucket, no credentials
# --------------------------------------------------------------------------------------------


def test_unreachable_s3_exits_4(
    audio: Callable[..., Path], aws_credentials: tuple[str, str], closed_endpoint: str, run_cli: Cli
):
    path = str(audio("welcome.mp3"))
    args = ["--bucket", "prompts", "--endpoint-url", closed_endpoint]
    out = run_cli("upload", path, *args, expect=ExitCode.UNAVAILABLE)
    assert "cannot reach" in out.stderr


def test_unreachable_s3_raises_service_unavailable(
    audio: Callable[..., Path], aws_credentials: tuple[str, str], closed_endpoint: str
):
    opts = UploadOptions(bucket="prompts", endpoint_url=closed_endpoint, max_attempts=1)
    with pytest.raises(ServiceUnavailable):
        upload_files([audio("welcome.mp3")], opts)


def test_no_bucket_exits_3(
    audio: Callable[..., Path], aws_credentials: tuple[str, str], run_cli: Cli
):
    out = run_cli("upload", str(audio("welcome.mp3")), expect=ExitCode.CONFIG)
    assert "AUDIOPREP_BUCKET" in out.stderr


def test_missing_bucket_exits_3(
    s3: S3, audio: Callable[..., Path], run_cli: Cli, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AUDIOPREP_BUCKET", "no-such-bucket-here")
    monkeypatch.setenv("AUDIOPREP_S3_ENDPOINT", s3.endpoint)
    out = run_cli("upload", str(audio("welcome.mp3")), "--no-inspect", expect=ExitCode.CONFIG)
    assert "no-such-bucket-here' does not exist" in out.stderr


def test_no_credentials_exit_3(
    moto_endpoint: str,
    audio: Callable[..., Path],
    run_cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    args = ["--bucket", "prompts", "--endpoint-url", moto_endpoint, "--no-inspect"]
    out = run_cli("upload", str(audio("welcome.mp3")), *args, expect=ExitCode.CONFIG)
    assert "credentials" in out.stderr


def test_no_credentials_raise_config_error(
    moto_endpoint: str, audio: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ConfigError, match="credentials"):
        upload_files([audio("a.mp3")], UploadOptions(bucket="prompts", endpoint_url=moto_endpoint))


# --------------------------------------------------------------------------------------------
# Inspection first
# --------------------------------------------------------------------------------------------


def test_non_mp3_wav_is_refused_even_without_inspection(s3: S3, tmp_path: Path):
    path = tmp_path / "callback.mp3"  # Ogg inside, whatever the name says
    shutil.copyfile(SAMPLES / "callback_notice.ogg", path)
    result = only(upload_files([path], options(s3)))
    assert not result.ok and "Ogg" in (result.error or "") and result.key is None


def test_file_that_is_not_ok_is_refused_unless_no_inspect(
    s3: S3, audio: Callable[..., Path], run_cli: Cli
):
    pytest.importorskip("audioprep.audio.inspect")
    path = audio("cut.mp3")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # truncated
    make_prefix_public(s3)
    args = [str(path), "--bucket", s3.bucket, "--endpoint-url", s3.endpoint, "--prefix", PREFIX]
    refused = run_cli("upload", *args, expect=ExitCode.FINDINGS)
    assert "refused: inspection verdict" in refused.stdout
    assert "audioprep fix" in refused.stdout
    with pytest.raises(s3.client.exceptions.ClientError):
        s3.client.head_object(Bucket=s3.bucket, Key=key_for(path))
    run_cli("upload", *args, "--no-inspect")


def test_a_bad_file_name_alone_is_not_refused(s3: S3, audio: Callable[..., Path]):
    """The key fixes the name, so the inspector judges the name the API will see."""
    pytest.importorskip("audioprep.audio.inspect")
    make_prefix_public(s3)
    path = audio("My Greeting (final).mp3")
    result = only(upload_files([path], options(s3, inspect=True)))
    assert result.ok, (result.error, result.problems)


# --------------------------------------------------------------------------------------------
# AWS-only answers, stubbed at the client factory (moto never gives these: probe.md §6)
# --------------------------------------------------------------------------------------------


def test_acl_mode_on_a_bucket_without_acls_explains_the_fix(
    s3: S3, audio: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
):
    """moto never raises AccessControlListNotSupported (it ignores BucketOwnerEnforced)."""
    path = audio("welcome.mp3")
    opts = options(s3, public_mode="acl")
    with stub_client(monkeypatch, opts) as stub:
        stub.add_response("head_bucket", {})
        stub.add_client_error("head_object", "404", http_status_code=404)
        stub.add_client_error(
            "put_object",
            "AccessControlListNotSupported",
            "The bucket does not allow ACLs",
            400,
            expected_params=put_params(path, key_for(path), ACL="public-read"),
        )
        result = only(upload_files([path], opts))
        stub.assert_no_pending_responses()
    assert "does not allow ACLs" in (result.error or "") and result.url is None
    assert "--public-mode policy" in (result.hint or "")
    assert f"arn:aws:s3:::{s3.bucket}/{PREFIX}/*" in (result.hint or "")
    assert "--public-mode presign" in (result.hint or "")


def test_auto_on_an_owner_enforced_bucket_sends_no_acl_and_explains(
    s3: S3, audio: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
):
    """moto accepts BucketOwnerEnforced but does not enforce it, so the answer is stubbed;
    the object itself is really private on moto, so the anonymous GET really gets 403."""
    path = audio("welcome.mp3")
    s3.client.put_object(Bucket=s3.bucket, Key=key_for(path), Body=path.read_bytes())
    opts = options(s3)
    owner_enforced = {"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}}
    with stub_client(monkeypatch, opts) as stub:
        stub.add_response("head_bucket", {})
        stub.add_client_error("head_object", "404", http_status_code=404)
        stub.add_response("put_object", {}, put_params(path, key_for(path)))  # no ACL
        stub.add_response("get_bucket_ownership_controls", owner_enforced)
        result = only(upload_files([path], opts))
        stub.assert_no_pending_responses()  # and no PutObjectAcl was attempted
    assert "not publicly readable" in (result.error or "")
    assert f"arn:aws:s3:::{s3.bucket}/{PREFIX}/*" in (result.hint or "")


def test_block_public_acls_is_named(
    s3: S3, audio: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
):
    """moto stores Block Public Access settings but never enforces them."""
    path = audio("welcome.mp3")
    opts = options(s3, public_mode="acl")
    blocked = {"PublicAccessBlockConfiguration": dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )}  # fmt: skip
    with stub_client(monkeypatch, opts) as stub:
        stub.add_response("head_bucket", {})
        stub.add_client_error("head_object", "404", http_status_code=404)
        stub.add_client_error("put_object", "AccessDenied", "Access Denied", 403)
        stub.add_response("get_public_access_block", blocked)
        result = only(upload_files([path], opts))
        stub.assert_no_pending_responses()
    assert "BlockPublicAcls" in (result.error or "")
    assert "presign" in (result.hint or "")


def test_block_public_policy_is_explained_when_applying_the_policy(
    s3: S3, audio: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
):
    path = audio("welcome.mp3")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    s3.client.put_object(Bucket=s3.bucket, Key=key_for(path), Body=path.read_bytes())
    opts = options(s3, public_mode="policy", allow_policy_change=True)
    with stub_client(monkeypatch, opts) as stub:
        stub.add_response("head_bucket", {})
        stub.add_response("head_object", {"Metadata": {"sha256": digest}})  # reused
        stub.add_client_error("get_bucket_policy", "NoSuchBucketPolicy", http_status_code=404)
        stub.add_client_error("put_bucket_policy", "AccessDenied", "Access Denied", 403)
        result = only(upload_files([path], opts))
        stub.assert_no_pending_responses()
    assert result.reused and not result.ok
    assert "BlockPublicPolicy" in (result.error or "")


def test_corruption_in_transit_is_reported(
    s3: S3, audio: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
):
    """moto accepts a wrong x-amz-checksum-sha256; AWS answers BadDigest-style errors."""
    path = audio("welcome.mp3")
    opts = options(s3)
    with stub_client(monkeypatch, opts) as stub:
        stub.add_response("head_bucket", {})
        stub.add_client_error("head_object", "404", http_status_code=404)
        stub.add_client_error(
            "put_object", "BadDigest", "checksum mismatch", 400, put_params(path, key_for(path))
        )
        result = only(upload_files([path], opts))
    assert "corrupted in transit" in (result.hint or "")


def test_rejected_credentials_are_a_config_error(
    s3: S3,
    audio: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    aws_credentials: tuple[str, str],
):
    """AWS answers HEADs with a bare 403 (no body), so the PutObject names the problem."""
    opts = options(s3)
    with stub_client(monkeypatch, opts) as stub:
        stub.add_client_error("head_bucket", "403", "Forbidden", 403)
        stub.add_client_error("head_object", "403", "Forbidden", 403)
        stub.add_client_error("put_object", "InvalidAccessKeyId", "No such key id.", 403)
        with pytest.raises(ConfigError, match="InvalidAccessKeyId") as raised:
            upload_files([audio("welcome.mp3")], opts)
    assert_no_secrets(str(raised.value) + (raised.value.hint or ""), aws_credentials)
