"""Fixing one file: the steps of the sequence in ``docs/fix.md``, shared by both strategies.

:class:`FixJob` holds the state of one source while it is fixed: its action log, the
measurement plan (trim, gain, bitrate), the closed loop (the output is inspected again and must
get verdict ``ok``) and the atomic move into place. The strategies that use it are
:mod:`audioprep.fix.voice` and :mod:`audioprep.fix.keep`; :mod:`audioprep.fix.batch` picks one.
"""

from __future__ import annotations

import filecmp
import logging
import math
import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from audioprep.audio import decode
from audioprep.audio.decode import AnalyseOptions, DecodeReport
from audioprep.audio.inspect import (
    UNUSABLE_IDS,
    Inspection,
    InspectOptions,
    Verdict,
    inspect_file,
)
from audioprep.fix import profiles
from audioprep.fix.model import FixOptions, FixResult, Source, Status
from audioprep.models import Severity, Snapshot

log = logging.getLogger(__name__)

#: Problem ids of the quick inspection that mean audio was lost or damaged (salvage).
DAMAGE_IDS = frozenset(
    {
        "mp3.xing_frames_mismatch",
        "mp3.xing_bytes_mismatch",
        "mp3.truncated_frame",
        "mp3.resync",
        "mp3.mixed_stream",
        "wav.data_truncated",
        "wav.partial_sample_frame",
    }
)
#: Silence is what stays below this level (dBFS, before normalisation) at the ends.
SILENCE_DBFS = -60.0
#: Edge silence is trimmed only when it exceeds the pad by more than this (seconds).
TRIM_SLACK_S = 0.25
#: The gain step must land this far inside the loudness tolerance (LU) to skip re-encoding.
STEP_MARGIN_LU = 0.25
#: Decoded sample peaks must stay this far under the true-peak ceiling (inter-sample margin).
PEAK_MARGIN_DB = 0.5
#: The limiter aims this far under the ceiling (MP3 encoding adds a little overshoot).
LIMIT_MARGIN_DB = 1.0
#: Largest download accepted for a URL target (fix exists to shrink files).
MAX_DOWNLOAD_BYTES = 512 * 2**20


@dataclass(slots=True)
class ActionLog:
    """Actions and their descriptions, in the order they were decided."""

    actions: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    def add(self, action: str, detail: str) -> None:
        if action not in self.actions:
            self.actions.append(action)
        self.details.append(detail)


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """What the conversion pass showed and what the output needs."""

    report: DecodeReport
    trim_start: int
    trim_end: int | None
    duration_s: float
    gain_db: float
    kbps: int | None
    lost_s: float


class FixJob:
    """The state of fixing one source; each method is one step of the module docstring.

    Shared with :mod:`audioprep.fix.voice` and :mod:`audioprep.fix.keep` (the two ways of
    converting), not meant for other callers.
    """

    def __init__(self, source: Source, output: Path, work: Path, options: FixOptions) -> None:
        self.source = source
        self.output = output
        self.work = work
        self.options = options.for_profile()
        self.profile = profiles.get_profile(options.profile, options.custom_profiles)
        self.log = ActionLog()
        self.lost_s: float | None = None
        self.decoder_errors = 0
        #: The source's own measurement (the first decode), and the output as inspected.
        self.measured: DecodeReport | None = None
        self.after: Snapshot | None = None

    # --- results ------------------------------------------------------------------------

    def result(self, status: Status, **fields: Any) -> FixResult:
        planned = self.options.dry_run and status is not Status.FAILED
        base = FixResult(
            source=self.source.shown,
            output=str(self.output) if status is not Status.FAILED else None,
            status=status,
            actions=tuple(self.log.actions),
            details=tuple(self.log.details),
            planned=planned,
            profile=self.profile.name,
            lost_s=self.lost_s,
            decoder_errors=self.decoder_errors,
        )
        return replace(base, **fields)

    def fail(self, message: str) -> FixResult:
        log.info("%s: failed: %s", self.source.shown, message)
        return self.result(Status.FAILED, error=message)

    # --- input --------------------------------------------------------------------------

    def fetch(self) -> Path | FixResult:
        from audioprep.audio import fetch

        got = fetch.fetch(
            self.source.target,
            self.work / "download",
            fetch.FetchOptions(
                keep_other_audio=True,
                max_bytes=MAX_DOWNLOAD_BYTES,
                limit_bytes=MAX_DOWNLOAD_BYTES,
                total_timeout=300.0,
            ),
        )
        if not got.ok or got.path is None:
            reason = got.problem.message if got.problem else "the download failed"
            return self.fail(f"download failed: {reason}")
        return got.path

    def analysis(self) -> AnalyseOptions:
        """Measurement settings: at the output's rate, silence as this module defines it."""
        rate = self.profile.sample_rate or 8000
        return AnalyseOptions(analysis_rate=rate, silence_threshold_dbfs=SILENCE_DBFS)

    def meets(self, report: DecodeReport) -> bool:
        """Whether decoding shows nothing a fix would change (see ``docs/fix.md``)."""
        if not report.decodable or report.silent or report.decoder_error_count:
            return False
        if any(p.severity is Severity.ERROR for p in report.problems):
            return False
        if not self.options.normalise:
            return True
        peak = report.peak_dbfs if report.peak_dbfs is not None else 0.0
        if peak > self.options.true_peak_dbtp:
            return False
        lufs = report.integrated_lufs
        if lufs is not None and abs(lufs - self.options.target_lufs) > self.tolerance():
            return False
        return max(self.edges(report)) <= self.options.trim_pad_s + TRIM_SLACK_S

    def edges(self, report: DecodeReport) -> tuple[float, float]:
        """Leading and trailing silence (seconds); none when the whole file reads as silence
        (very quiet audio under the absolute threshold: it is amplified, not cut away)."""
        lead, trail = report.leading_silence_s or 0.0, report.trailing_silence_s or 0.0
        if lead + trail >= (report.decoded_duration_s or 0.0) - 0.1:
            return 0.0, 0.0
        return lead, trail

    def tolerance(self) -> float:
        return self.options.loudness_tolerance_lu

    # --- copying ------------------------------------------------------------------------

    def copy(self, path: Path, quick: Inspection, report: DecodeReport | None) -> FixResult:
        """The input is already right: the output is its exact bytes."""
        renamed = self.output.name != self.source.name
        self.rename_note()
        status = Status.FIXED if renamed else Status.UNCHANGED
        fields: dict[str, Any] = {
            "duration_s": report.decoded_duration_s if report else quick.duration_s,
            "loudness_lufs": report.integrated_lufs if report else quick.loudness_lufs,
            "bitrate_kbps": quick.bitrate // 1000 if quick.bitrate else None,
        }
        if self.options.dry_run:
            return self.result(status, **fields)
        tmp = self.work / ("copy." + self.output.name)
        shutil.copyfile(path, tmp)
        return self.finish(tmp, status, report, **fields)

    # --- converting ---------------------------------------------------------------------

    def plan(self, quick: Inspection, report: DecodeReport) -> Plan | FixResult:
        """Trim, gain and bitrate from the conversion pass's measurement (or a failure)."""
        self.measured = report
        if not report.decodable or report.silent:
            return self.fail(_decode_reason(report))
        self.decoder_errors = report.decoder_error_count
        lost = self.salvage(quick, report)
        rate = self.profile.sample_rate or 16000
        samples = report.decoded_samples or 0
        start, end = self.trims(report, rate, samples)
        duration = ((end if end is not None else samples) - start) / rate
        gain = self.gain(report)
        if gain > self.options.max_gain_db:
            return self.fail(self._too_quiet(report, gain))
        longest = self.profile.max_duration_s
        if longest is not None and duration > longest:
            return self.fail(
                f"{duration:.1f} s after trimming: longer than profile {self.profile.name}'s"
                f" max_duration_s ({longest:g} s); shorten the recording"
            )
        kbps = self.fit(duration)
        if isinstance(kbps, FixResult):
            return kbps
        return Plan(
            report=report,
            trim_start=start,
            trim_end=end,
            duration_s=duration,
            gain_db=gain,
            kbps=kbps,
            lost_s=lost,
        )

    def salvage(self, quick: Inspection, report: DecodeReport) -> float:
        ids = {p.id for p in quick.problems}
        damaged = bool(ids & DAMAGE_IDS) or report.decoder_error_count > 0
        if not damaged:
            return 0.0
        claimed = quick.header_duration_s if quick.format in ("mp3", "wav") else None
        claimed = claimed or report.header_duration_s
        decoded = report.decoded_duration_s or 0.0
        lost = max(0.0, (claimed or decoded) - decoded)
        self.lost_s = round(lost, 3)
        errors = report.decoder_error_count
        self.log.add(
            "salvaged",
            f"salvaged {decoded:.2f} s of audio; {lost:.2f} s lost"
            + (f", {errors} decoder error(s) concealed" if errors else ""),
        )
        return lost

    def trims(self, report: DecodeReport, rate: int, samples: int) -> tuple[int, int | None]:
        if not self.options.normalise:
            return 0, None
        pad, start, end = self.options.trim_pad_s, 0, None
        lead, trail = self.edges(report)
        if lead > pad + TRIM_SLACK_S:
            start = round((lead - pad) * rate)
        if trail > pad + TRIM_SLACK_S:
            end = samples - round((trail - pad) * rate)
        if end is not None and end <= start + rate // 10:
            return 0, None  # nothing but silence: judged as silent elsewhere
        if start or end is not None:
            self.log.add("trimmed", _trim_words(start / rate, (samples - (end or samples)) / rate))
        return start, end

    def _too_quiet(self, report: DecodeReport, gain: float) -> str:
        return (
            f"nearly silent ({report.integrated_lufs:.1f} LUFS): reaching"
            f" {self.options.target_lufs:g} LUFS needs {gain:+.1f} dB, more than the"
            f" {self.options.max_gain_db:g} dB a fix may add, and would make its noise loud"
            " (a muted microphone, room noise or the wrong file?); re-record it, or allow"
            f" the gain with 'audioprep fix --max-gain {math.ceil(gain)}'"
        )

    def gain(self, report: DecodeReport) -> float:
        lufs = report.integrated_lufs
        if not self.options.normalise or lufs is None:
            return 0.0
        return self.options.target_lufs - lufs

    def fit(self, duration: float) -> int | FixResult | None:
        cap, rate = self.options.max_bytes, self.profile.sample_rate or 16000
        if self.profile.container == "wav":
            if profiles.wav_bytes(duration, rate, 1) <= cap - profiles.SIZE_MARGIN:
                return None
            longest = profiles.describe_seconds(profiles.max_wav_seconds(rate, 1, cap))
            return self.fail(
                f"{profiles.describe_seconds(duration)} of audio does not fit {cap:,} bytes as"
                f" {rate} Hz 16-bit WAV (at most {longest}); use --profile voice-mp3"
            )
        kbps = profiles.fit_mp3_kbps(duration, self.profile.bitrates_kbps, rate, cap)
        if kbps is not None:
            return kbps
        floor = self.profile.bitrates_kbps[-1]
        longest = profiles.describe_seconds(profiles.max_mp3_seconds(floor, rate, cap))
        return self.fail(
            f"{profiles.describe_seconds(duration)} of audio does not fit {cap:,} bytes even at"
            f" {floor} kbps, the lowest MP3 bitrate at {rate} Hz (at most {longest})"
        )

    # --- the closed loop ----------------------------------------------------------------

    def finish(
        self, tmp: Path, status: Status, report: DecodeReport | None, **fields: Any
    ) -> FixResult:
        """Inspect ``tmp`` under the final name; move it into place only if it passes."""
        verdict, reason = self.verify(tmp, report)
        if verdict is not Verdict.OK:
            return self.fail(f"the output failed its inspection ({verdict.value}): {reason}")
        error = _commit(tmp, self.output, Path(self.source.target), self.options.overwrite)
        if error is not None:
            return self.fail(error)
        return self.result(status, verdict=verdict.value, **fields)

    def verify(self, tmp: Path, report: DecodeReport | None) -> tuple[Verdict, str]:
        quick = inspect_file(tmp, options=InspectOptions(quick=True), display_name=self.output.name)
        problems = [p for p in quick.problems if p.severity is Severity.ERROR]
        if report is None:
            report = decode.analyse(tmp, header_duration_s=quick.header_duration_s)
        else:  # the pass's own measurement of this audio; compare with this file's header
            report = replace(
                report,
                header_duration_s=quick.header_duration_s,
                decoder_errors=(),
                decoder_error_count=0,
            )
            report = replace(report, problems=decode.derive_problems(report, self.analysis()))
        problems += [p for p in report.problems if p.severity is Severity.ERROR]
        self.after = replace(
            quick.snapshot(),
            duration_s=report.decoded_duration_s or quick.duration_s,
            loudness_lufs=report.integrated_lufs,
            peak_dbfs=report.peak_dbfs,
        )
        shape = profiles.shape_problem(tmp, quick, self.profile)
        if not problems and shape is None:
            return Verdict.OK, ""
        unusable = any(p.id in UNUSABLE_IDS or not p.fixable for p in problems)
        reason = shape or f"{problems[0].id}: {problems[0].message}"
        return (Verdict.UNUSABLE if unusable else Verdict.FIXABLE), reason

    def before(self, found: Inspection) -> Snapshot:
        """The source as inspected, with the levels its decode measured (when it had one)."""
        shown, report = found.snapshot(), self.measured
        if report is None:
            return shown
        return replace(
            shown,
            duration_s=report.decoded_duration_s or shown.duration_s,
            loudness_lufs=report.integrated_lufs,
            peak_dbfs=report.peak_dbfs,
        )

    def tmp_path(self, tag: str) -> Path:
        return self.work / f"{tag}.{self.output.name}"

    def rename_note(self) -> None:
        if self.output.name != self.source.name:
            self.log.add("renamed", f"renamed {self.source.name!r} to {self.output.name!r}")


def _trim_words(lead_cut: float, trail_cut: float) -> str:
    """``trimmed 4.8 s of leading silence`` (and/or trailing): what was cut, in words."""
    parts = [f"{cut:.1f} s of {where}" for cut, where in ((lead_cut, "leading"),
             (trail_cut, "trailing")) if cut >= 0.05]  # fmt: skip
    return f"trimmed {' and '.join(parts) or 'under 0.1 s of'} silence"


def _decode_reason(report: DecodeReport) -> str:
    for p in report.problems:
        if p.id in ("decode.open_failed", "level.silent"):
            return f"{p.id}: {p.message}"
    return "nothing decodable"


def _commit(tmp: Path, final: Path, source: Path, overwrite: bool) -> str | None:
    """Move ``tmp`` to ``final`` atomically; an error message when that is not allowed."""
    if final.exists():
        if filecmp.cmp(tmp, final, shallow=False):
            return None  # the same bytes are already there
        if _same_file(final, source):
            return f"{final} is the source itself; choose another output directory"
        if not overwrite:
            return f"{final} exists with different content (use --overwrite to replace it)"
    os.replace(tmp, final)
    return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
