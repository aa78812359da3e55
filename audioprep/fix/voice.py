"""The voice strategy of ``audioprep fix`` (profiles ``voice-mp3``, ``voice-wav``).

This module owns the decisions after the conversion pass (``docs/fix.md`` has the whole
sequence): whether the measured gain can be applied without a second encode
(whole ``global_gain`` steps for MP3, an exact in-memory edit for the small WAV PCM), or
whether a second pass must re-decode the source with the exact trim, gain and limiter. It
reports each operation in the job's action log.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

from audioprep.audio.decode import DecodeReport
from audioprep.audio.inspect import Inspection
from audioprep.fix import convert, mp3gain, profiles
from audioprep.fix.convert import Edit, PassResult, RawInput, Shape
from audioprep.fix.job import (
    LIMIT_MARGIN_DB,
    PEAK_MARGIN_DB,
    STEP_MARGIN_LU,
    TRIM_SLACK_S,
    FixJob,
    Plan,
)
from audioprep.fix.model import FixResult, Status
from audioprep.models import Severity

log = logging.getLogger(__name__)

#: Encodes at most spent on chasing the target when the limiter takes loudness away.
MAX_LIMITED_PASSES = 3


def convert_voice(job: FixJob, path: Path, quick: Inspection) -> FixResult:
    """Run the conversion pass on ``path``, then finish it the cheapest exact way."""
    profile = job.profile
    rate = profile.sample_rate or 16000
    if profile.container == "mp3":
        shape = Shape(
            container="mp3",
            sample_rate=rate,
            channels=1,
            kbps=_first_kbps(job, quick),
            lame_quality=profile.lame_quality,
        )
    else:
        shape = Shape(container="s16le", sample_rate=rate, channels=1)
    dst = None if job.options.dry_run else job.work / "pass1.out"
    first = _measured_pass(job, path, dst, shape, header_duration_s=quick.header_duration_s)
    if first.report is None:
        return job.fail("the conversion pass measured nothing")
    plan = job.plan(quick, first.report)
    if isinstance(plan, FixResult):
        return plan
    if first.returncode and dst is not None:
        return job.fail(f"ffmpeg failed: {first.error}")
    _note_conversion(job, quick, first.report, plan)
    if dst is None:
        return _planned(job, plan)
    if profile.container == "mp3":
        return _finish_mp3(job, path, quick, first, plan, dst, shape)
    return _finish_wav(job, dst, plan)


def regain(job: FixJob, path: Path, quick: Inspection, report: DecodeReport) -> FixResult | None:
    """An MP3 already in the profile's shape whose only fault is its loudness: change the
    ``global_gain`` of a byte copy, without re-encoding. ``None`` when that does not suffice."""
    if job.profile.container != "mp3" or not report.decodable or report.decoder_error_count:
        return None
    if report.silent or any(p.severity is Severity.ERROR for p in report.problems):
        return None
    limit = job.options.trim_pad_s + TRIM_SLACK_S
    edges = job.edges(report)
    gain = job.gain(report)
    steps = mp3gain.steps_for(gain)
    applied = steps * mp3gain.STEP_DB
    if max(edges) > limit or abs(gain - applied) > job.tolerance() - STEP_MARGIN_LU:
        return None
    if _needs_limit(job, report, applied):
        return None
    job.rename_note()
    _note_gain(job, report, applied, f"{steps:+d} lossless MP3 gain steps, no re-encode")
    fields: dict[str, Any] = {
        "duration_s": report.decoded_duration_s,
        "gain_db": round(applied, 2),
        "bitrate_kbps": quick.bitrate // 1000 if quick.bitrate else None,
        "loudness_lufs": _shift(report.integrated_lufs, applied),
    }
    if job.options.dry_run:
        return job.result(Status.FIXED, **fields)
    tmp = job.tmp_path("regain")
    tmp.write_bytes(path.read_bytes())
    if not _apply_steps(tmp, steps):
        return None
    return job.finish(tmp, Status.FIXED, shifted(report, applied), **fields)


def _first_kbps(job: FixJob, quick: Inspection) -> int:
    """The bitrate the structural duration asks for (48 kbps when it is unknown or too long:
    the measured duration decides again after the pass)."""
    ladder = job.profile.bitrates_kbps
    duration = quick.duration_s or quick.header_duration_s
    if duration is None:
        return ladder[0]
    fitted = profiles.fit_mp3_kbps(duration, ladder, 16000, job.options.max_bytes)
    return fitted or ladder[-1]


def _note_conversion(job: FixJob, quick: Inspection, report: DecodeReport, plan: Plan) -> None:
    profile = job.profile
    src_format = quick.format or report.container or "?"
    codec = quick.codec or report.codec
    what = f"{src_format} ({codec})" if codec and codec != src_format else src_format
    if src_format != profile.container:
        job.log.add("transcoded", f"transcoded {what} to {profile.container}")
    else:
        job.log.add("reencoded", f"re-encoded {what} as {profile.description}")
    channels = quick.channels or report.channels or 1
    if channels > 1:
        job.log.add("downmixed", f"downmixed to mono ({channels} channels)")
    src_rate = quick.sample_rate or report.sample_rate
    if src_rate and src_rate != profile.sample_rate:
        engine = "soxr" if convert.capabilities().soxr else "swr"
        rates = f"{_khz(src_rate)} → {_khz(profile.sample_rate or src_rate)} kHz"
        job.log.add("resampled", f"resampled {rates} ({engine})")
    if quick.tags:
        job.log.add("stripped_tags", f"dropped tags: {', '.join(sorted(quick.tags))}")
    if quick.picture_bytes:
        job.log.add("stripped_artwork", f"dropped a {quick.picture_bytes}-byte picture")
    if plan.kbps is not None and plan.kbps < profile.bitrates_kbps[0]:
        job.log.add(
            "bitrate_lowered",
            f"{plan.kbps} kbps (not {profile.bitrates_kbps[0]}) so that"
            f" {plan.duration_s:.1f} s fit under {job.options.max_bytes:,} bytes",
        )
    job.rename_note()


def _planned(job: FixJob, plan: Plan) -> FixResult:
    if abs(plan.gain_db) >= 0.05:
        _note_gain(job, plan.report, plan.gain_db, "planned")
    return job.result(
        Status.FIXED,
        duration_s=plan.duration_s,
        gain_db=plan.gain_db,
        bitrate_kbps=plan.kbps,
        loudness_lufs=_shift(plan.report.integrated_lufs, plan.gain_db),
    )


def _note_gain(job: FixJob, report: DecodeReport, gain: float, how: str) -> None:
    lufs = report.integrated_lufs
    if lufs is None:
        return
    job.log.add("normalised", _normalised(gain, lufs + gain, f"from {lufs:.1f} LUFS; {how}"))


def _normalised(gain: float, reached: float | None, how: str) -> str:
    """``normalised +37.4 dB to -19.0 LUFS (from -56.4 LUFS; ...)``."""
    to = f"{reached:.1f} LUFS" if reached is not None else "the target"
    return f"normalised {gain:+.1f} dB to {to} ({how})"


def _khz(rate: int) -> str:
    """44100 -> ``44.1``, 16000 -> ``16``."""
    return f"{rate / 1000:g}"


def _shift(value: float | None, db: float) -> float | None:
    if value is None or not math.isfinite(value):
        return value
    return round(value + db, 2)


def _measured_pass(
    job: FixJob,
    src: Path,
    dst: Path | None,
    shape: Shape,
    edit: Edit | None = None,
    *,
    raw: RawInput | None = None,
    header_duration_s: float | None = None,
) -> PassResult:
    """One :func:`audioprep.fix.convert.convert` pass with the job's analysis, its measurement
    (of the audio handed to the encoder) moved by the encoder's level change to read as the
    file will: loudness and RMS only; the peak stays as measured (an MP3 decoder's overshoot
    is what :data:`PEAK_MARGIN_DB` is for)."""
    result = convert.convert(
        src,
        dst,
        shape,
        edit or Edit(),
        analyse=job.analysis(),
        header_duration_s=header_duration_s,
        raw=raw,
    )
    level, report = job.profile.codec_level_db, result.report
    if report is None or not level:
        return result
    moved = replace(
        report,
        rms_dbfs=_shift(report.rms_dbfs, level),
        integrated_lufs=_shift(report.integrated_lufs, level),
    )
    return replace(result, report=moved)


def shifted(report: DecodeReport, gain_db: float) -> DecodeReport:
    """``report`` as it reads after a linear gain of ``gain_db``."""
    peak = _shift(report.peak_dbfs, gain_db)
    clipped = report.clipped_samples if peak is None or peak >= -0.1 else 0
    return replace(
        report,
        peak_dbfs=peak,
        rms_dbfs=_shift(report.rms_dbfs, gain_db),
        integrated_lufs=_shift(report.integrated_lufs, gain_db),
        clipped_samples=clipped,
    )


def _ceiling(job: FixJob) -> float:
    return job.options.true_peak_dbtp - PEAK_MARGIN_DB


def _needs_limit(job: FixJob, report: DecodeReport, gain: float) -> bool:
    peak = report.peak_dbfs
    return peak is not None and math.isfinite(peak) and peak + gain > _ceiling(job)


# --- MP3 ------------------------------------------------------------------------------------


def _finish_mp3(
    job: FixJob,
    path: Path,
    quick: Inspection,
    first: PassResult,
    plan: Plan,
    encoded: Path,
    shape: Shape,
) -> FixResult:
    steps = mp3gain.steps_for(plan.gain_db)
    applied = steps * mp3gain.STEP_DB
    exact_enough = abs(plan.gain_db - applied) <= job.tolerance() - STEP_MARGIN_LU
    untrimmed = plan.trim_start == 0 and plan.trim_end is None
    fast = untrimmed and plan.kbps == shape.kbps and exact_enough
    if fast and not _needs_limit(job, plan.report, applied) and _apply_steps(encoded, steps):
        if steps:
            _note_gain(job, plan.report, applied, f"{steps:+d} lossless MP3 gain steps")
        report = shifted(plan.report, applied)
        return _done(job, encoded, report, plan, applied)
    return _second_pass(job, path, quick, plan)


def _apply_steps(encoded: Path, steps: int) -> bool:
    if steps == 0:
        return True
    data = bytearray(encoded.read_bytes())
    try:
        mp3gain.apply_steps(data, steps)
    except mp3gain.GainError as exc:
        log.info("lossless gain impossible (%s); re-encoding", exc)
        return False
    encoded.write_bytes(data)
    return True


def _second_pass(job: FixJob, path: Path, quick: Inspection, plan: Plan) -> FixResult:
    """Re-decode the source and encode with the exact trim, gain and (if needed) limiter."""
    rate = job.profile.sample_rate or 16000
    shape = Shape(
        container="mp3",
        sample_rate=rate,
        channels=1,
        kbps=plan.kbps,
        lame_quality=job.profile.lame_quality,
    )
    done = _exact_passes(job, path, shape, plan, None)
    if isinstance(done, FixResult):
        return done
    out, measured, gain = done
    return _done(job, out, measured, plan, gain)


def _exact_passes(
    job: FixJob, src: Path, shape: Shape, plan: Plan, raw: RawInput | None
) -> tuple[Path, DecodeReport, float] | FixResult:
    """Encode with the exact edit; when the limiter took loudness away, ask again (bounded)."""
    gain, target = plan.gain_db, job.options.target_lufs
    for attempt in range(MAX_LIMITED_PASSES):
        edit = _edit(job, plan, gain)
        out = job.work / f"exact-{attempt}.out"
        result = _measured_pass(job, src, out, shape, edit, raw=raw)
        if result.returncode or result.report is None:
            return job.fail(f"ffmpeg failed: {result.error}")
        measured = result.report
        lufs = measured.integrated_lufs
        short = lufs is not None and job.options.normalise and target - lufs > 0.3
        if edit.limit_dbfs is None or not short:
            break
        gain += target - (lufs or target)
    _note_edit(job, plan, edit, measured)
    return out, measured, gain


def _edit(job: FixJob, plan: Plan, gain: float) -> Edit:
    limit = None
    if _needs_limit(job, plan.report, gain):
        limit = job.options.true_peak_dbtp - LIMIT_MARGIN_DB
    return Edit(trim_start=plan.trim_start, trim_end=plan.trim_end, gain_db=gain, limit_dbfs=limit)


def _note_edit(job: FixJob, plan: Plan, edit: Edit, measured: DecodeReport) -> None:
    """Report a second pass: the gain it applied and the loudness it reached."""
    before, after = plan.report.integrated_lufs, measured.integrated_lufs
    if abs(edit.gain_db) >= 0.05 and before is not None:
        how = f"from {before:.1f} LUFS; re-encoded with the exact gain"
        job.log.add("normalised", _normalised(edit.gain_db, after, how))
    if edit.limit_dbfs is not None:
        job.log.add("limited", f"peaks limited to {edit.limit_dbfs:.1f} dBFS (alimiter)")
    target = job.options.target_lufs
    if job.options.normalise and after is not None and target - after > job.tolerance():
        job.log.add(
            "limited",
            f"loudness stays at {after:.1f} LUFS: more gain would only be limited away",
        )


def _done(
    job: FixJob, out: Path, report: DecodeReport | None, plan: Plan, gain: float
) -> FixResult:
    codec = job.profile.codec or "pcm_s16le"
    if job.profile.container == "wav" and codec != "pcm_s16le":
        coded = job.work / f"{codec}.wav"
        error = convert.recode_wav(out, coded, codec)
        if error is not None:
            return job.fail(f"ffmpeg could not write {codec}: {error}")
        job.log.add("encoded", f"encoded as {codec} (G.711)")
        out = coded
    fields: dict[str, Any] = {
        "duration_s": round(plan.duration_s, 3),
        "gain_db": round(gain, 2),
        "bitrate_kbps": plan.kbps,
        "loudness_lufs": (report.integrated_lufs if report else None)
        or _shift(plan.report.integrated_lufs, gain),
    }
    return job.finish(out, Status.FIXED, report, **fields)


# --- WAV ------------------------------------------------------------------------------------


def _finish_wav(job: FixJob, raw: Path, plan: Plan) -> FixResult:
    out = job.work / "final.wav"
    rate = job.profile.sample_rate or 8000
    if not _needs_limit(job, plan.report, plan.gain_db):
        _edit_pcm(raw, out, rate, plan)
        if abs(plan.gain_db) >= 0.05:
            _note_gain(job, plan.report, plan.gain_db, "exact, on the PCM")
        report = _trimmed(shifted(plan.report, plan.gain_db), plan, job.options.trim_pad_s)
        return _done(job, out, report, plan, plan.gain_db)
    shape = Shape(container="wav", sample_rate=rate, channels=1)
    done = _exact_passes(job, raw, shape, plan, RawInput(rate, 1))
    if isinstance(done, FixResult):
        return done
    final, measured, gain = done
    return _done(job, final, measured, plan, gain)


def _edit_pcm(raw: Path, out: Path, rate: int, plan: Plan) -> None:
    """Trim, gain and write a canonical WAV in memory with pydub (at most ~5 MB of PCM: the
    plan only gets here once the trimmed duration fits the cap)."""
    segment_type = _pydub_segment()
    audio = segment_type(data=raw.read_bytes(), sample_width=2, frame_rate=rate, channels=1)
    end = plan.trim_end if plan.trim_end is not None else int(audio.frame_count())
    audio = audio.get_sample_slice(plan.trim_start, end)
    if abs(plan.gain_db) >= 0.005:
        audio = audio.apply_gain(plan.gain_db)
    audio.export(str(out), format="wav")  # pure Python: the wave module, 44-byte header


def _pydub_segment() -> Any:
    """pydub's AudioSegment, imported quietly and pointed at our ffmpeg (never used here:
    raw PCM in, WAV out is pure Python, so no ffmpeg or ffprobe is ever needed)."""
    from audioprep.audio.ffmpeg import ffmpeg_exe

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        from pydub import AudioSegment
    AudioSegment.converter = ffmpeg_exe()
    return AudioSegment


def _trimmed(report: DecodeReport, plan: Plan, pad: float) -> DecodeReport:
    lead, trail = report.leading_silence_s, report.trailing_silence_s
    if plan.trim_start and lead is not None:
        lead = min(lead, pad)
    if plan.trim_end is not None and trail is not None:
        trail = min(trail, pad)
    rate = plan.report.decoded_samples or 0
    samples = (plan.trim_end if plan.trim_end is not None else rate) - plan.trim_start
    return replace(
        report,
        decoded_duration_s=round(plan.duration_s, 6),
        decoded_samples=samples,
        leading_silence_s=lead,
        trailing_silence_s=trail,
    )
