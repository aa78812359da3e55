"""A hand-made, deterministic :class:`RunReport` that exercises every corner of the reports.

Items, in order: an ok item that was hosted and called; a fixed item hosted under a presigned
URL; an unusable file whose decoder message holds markup, ``%``, ``:``, ``,`` and a newline; a
URL source with a presigned query string that could not be fetched; a file whose upload failed
(no problem explains it); a file that failed only because ``--strict`` makes warnings fail;
a re-run's item whose every stage was kept from the earlier run.
``SECRET`` marks every value that must never leave the ``json`` report.
"""

from __future__ import annotations

from audioprep.audio.inspect import Snapshot
from audioprep.models import Problem, Severity
from audioprep.run.model import (
    CallResult,
    ItemReport,
    ItemStatus,
    RunReport,
    Stage,
    StageOutcome,
    StageStatus,
)

SECRET = "SECRETSIGNATURE"
PRESIGNED = (
    "https://my-prompts.s3.eu-west-1.amazonaws.com/audio/Opening_Hours-e7933dc565ca.mp3"
    f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature={SECRET}"
)
URL_SOURCE = f"https://user:{SECRET}@cdn.example.com/prompts/promo.mp3?sig={SECRET}&expires=1"

LOUDNESS = Problem(
    "level.loudness",
    Severity.INFO,
    "integrated loudness -20.5 LUFS (telephone band), peak -2.5 dBFS",
)


BEFORE = Snapshot(
    format="wav",
    duration_s=9.85,
    loudness_lufs=-56.4,
    peak_dbfs=-38.2,
    sample_rate=44100,
    channels=2,
    size_bytes=1_737_580,
)
AFTER = Snapshot(
    format="mp3",
    duration_s=5.3,
    loudness_lufs=-19.0,
    peak_dbfs=-2.0,
    sample_rate=16000,
    channels=1,
    size_bytes=32_160,
)


def _stages(*pairs: tuple[Stage, StageStatus, str]) -> tuple[StageOutcome, ...]:
    return tuple(
        StageOutcome(stage, status, message, elapsed_s=0.25) for stage, status, message in pairs
    )


DONE, REUSED, SKIPPED, FAILED = (
    StageStatus.DONE,
    StageStatus.REUSED,
    StageStatus.SKIPPED,
    StageStatus.FAILED,
)


def ok_item() -> ItemReport:
    """Ready as it was; hosted, submitted, two calls."""
    return ItemReport(
        source="prompts/welcome.mp3",
        path="prompts/welcome.mp3",
        status=ItemStatus.OK,
        verdict="ok",
        problems=(LOUDNESS,),
        output_verdict="ok",
        url="https://cdn.example.com/audio/welcome-9d6c8a84b189.mp3",
        sha256="9d6c8a84b189" + "0" * 52,
        job_ids=("spring-24-1",),
        api_job_ids=("4359d2d7-2f10-49f3-9ad3-dfc574e14054",),
        submit_outcome="accepted",
        calls=(
            CallResult("35699100000", "17957769624829148763", "DELIVRD", None, True, 12),
            CallResult("35699100001", "17957769626568299180", "UNDELIV", "4017 USER_BUSY"),
        ),
        stages=_stages(
            (Stage.CHECK, DONE, "legal name"),
            (Stage.INSPECT, DONE, "verdict ok"),
            (Stage.FIX, SKIPPED, "already ok"),
            (Stage.UPLOAD, REUSED, "same bytes already hosted"),
            (Stage.VERIFY, DONE, "anonymous download matched"),
            (Stage.SUBMIT, DONE, "accepted"),
        ),
    )


def fixed_item() -> ItemReport:
    """Renamed and resampled by fix, then hosted under a presigned URL."""
    return ItemReport(
        source="prompts/Opening Hours.wav",
        path="prompts/Opening Hours.wav",
        status=ItemStatus.FIXED,
        verdict="fixable",
        api_code=-107,
        problems=(
            Problem(
                "name.characters",
                Severity.ERROR,
                "'Opening Hours.wav': file name has ' '; only letters, digits, '-' and '_' are"
                " allowed (fix: rename it to 'Opening_Hours.wav')",
                fixable=True,
            ),
            Problem(
                "phone.sample_rate",
                Severity.WARNING,
                "44100 Hz: a phone line carries 8 kHz (16 kHz wideband)",
                fixable=True,
            ),
        ),
        output="out/Opening_Hours.mp3",
        output_verdict="ok",
        actions=(
            "renamed 'Opening Hours.wav' to 'Opening_Hours.mp3'",
            "resampled 44.1 → 16 kHz (soxr)",
            "trimmed 4.8 s of leading silence",
            "normalised +37.4 dB to -19.0 LUFS (from -56.4 LUFS; re-encoded with the exact gain)",
        ),
        before=BEFORE,
        after=AFTER,
        url=PRESIGNED,
        stages=_stages(
            (Stage.CHECK, DONE, "renamed to Opening_Hours.wav"),
            (Stage.INSPECT, DONE, "verdict fixable"),
            (Stage.FIX, DONE, "out/Opening_Hours.mp3"),
            (Stage.UPLOAD, DONE, "uploaded (presign)"),
            (Stage.VERIFY, DONE, "anonymous download matched"),
            (Stage.SUBMIT, SKIPPED, "not asked"),
        ),
    )


def unusable_item() -> ItemReport:
    """Nothing decodable; the decoder's message is hostile to every escaping rule."""
    return ItemReport(
        source="prompts/payment_due.mp3",
        path="prompts/payment_due.mp3",
        status=ItemStatus.FAILED,
        failed_stage=Stage.INSPECT,
        error="verdict unusable: 1 error(s)",
        verdict="unusable",
        problems=(
            Problem(
                "decode.open_failed",
                Severity.ERROR,
                'ffmpeg: <Invalid data> found when processing input, 100% lost & "gone"\n'
                "second line",
            ),
            Problem("phone.channels", Severity.WARNING, "2 channels: calls are mono"),
        ),
        stages=_stages(
            (Stage.CHECK, DONE, "legal name"),
            (Stage.INSPECT, FAILED, "verdict unusable"),
        ),
    )


def url_item() -> ItemReport:
    """A URL source (with user-info and a presigned query) the fetch stage could not get."""
    return ItemReport(
        source=URL_SOURCE,
        path=None,
        status=ItemStatus.FAILED,
        failed_stage=Stage.FETCH,
        error=f"HTTP 403 from {URL_SOURCE}",
        api_code=-102,
        problems=(
            Problem("fetch.http_status", Severity.ERROR, "the server answered HTTP 403 Forbidden"),
            Problem(
                "url.query",
                Severity.WARNING,
                "the URL has a query string (a presigned URL?): it may expire before every call"
                " is placed",
            ),
        ),
        stages=_stages(
            (Stage.CHECK, DONE, "legal name"),
            (Stage.FETCH, FAILED, f"HTTP 403 from {URL_SOURCE}"),
        ),
    )


def upload_failed_item() -> ItemReport:
    """Fine audio whose upload failed: no problem says why, the stage does."""
    message = "AccessDenied: the bucket refuses ACLs (Object Ownership: BucketOwnerEnforced)"
    return ItemReport(
        source="prompts/goodbye.mp3",
        path="prompts/goodbye.mp3",
        status=ItemStatus.FAILED,
        failed_stage=Stage.UPLOAD,
        error=message,
        verdict="ok",
        problems=(LOUDNESS,),
        stages=_stages(
            (Stage.CHECK, DONE, "legal name"),
            (Stage.INSPECT, DONE, "verdict ok"),
            (Stage.FIX, SKIPPED, "already ok"),
            (Stage.UPLOAD, FAILED, message),
        ),
    )


def strict_item() -> ItemReport:
    """Verdict ok, failed only because --strict makes its warning fail."""
    return ItemReport(
        source="prompts/quiet.wav",
        path="prompts/quiet.wav",
        status=ItemStatus.FAILED,
        failed_stage=Stage.INSPECT,
        verdict="ok",
        problems=(
            Problem("level.quiet", Severity.WARNING, "integrated loudness -31.0 LUFS: too quiet"),
        ),
        stages=_stages(
            (Stage.CHECK, DONE, "legal name"),
            (Stage.INSPECT, FAILED, "verdict ok; level.quiet: too quiet under --strict"),
        ),
    )


def reused_item() -> ItemReport:
    """A re-run: fixed, hosted and sent by the earlier run, all of it kept."""
    return ItemReport(
        source="prompts/welcome_back.mp3",
        path="prompts/welcome_back.mp3",
        status=ItemStatus.REUSED,
        verdict="ok",
        problems=(LOUDNESS,),
        output="out/welcome_back.mp3",
        output_verdict="ok",
        actions=("normalised +1.5 dB to -19.0 LUFS (from -20.5 LUFS; +1 lossless MP3 gain steps)",),
        before=Snapshot(
            format="mp3",
            duration_s=4.2,
            loudness_lufs=-20.5,
            peak_dbfs=-2.5,
            sample_rate=16000,
            channels=1,
            size_bytes=25_724,
        ),
        after=Snapshot(
            format="mp3",
            duration_s=4.2,
            loudness_lufs=-19.0,
            peak_dbfs=-1.0,
            sample_rate=16000,
            channels=1,
            size_bytes=25_724,
        ),
        url="https://cdn.example.com/audio/welcome_back-0c1f2e3d4a5b.mp3",
        sha256="0c1f2e3d4a5b" + "0" * 52,
        job_ids=("ap-1a2b3c4d",),
        submit_outcome="skipped",
        stages=_stages(
            (Stage.CHECK, DONE, "legal name"),
            (Stage.FETCH, DONE, "read 25724 bytes"),
            (Stage.INSPECT, REUSED, "ok (decoded)"),
            (Stage.FIX, REUSED, "fixed: normalised"),
            (Stage.UPLOAD, REUSED, "same bytes already hosted"),
            (Stage.VERIFY, DONE, "anonymous download matched"),
            (Stage.SUBMIT, REUSED, "sent earlier as job ap-1a2b3c4d"),
        ),
    )


def sample_report() -> RunReport:
    """The report every golden file is rendered from."""
    return RunReport(
        items=(
            ok_item(),
            fixed_item(),
            unusable_item(),
            url_item(),
            upload_failed_item(),
            strict_item(),
            reused_item(),
        ),
        command="run",
        stages_requested=tuple(Stage),
        elapsed_s=12.3456,
    )
