"""``audioprep fix``: turn whatever people have into a phone-ready file, and prove it.

This module owns the repair of one batch: planning from inspections, running the passes of
:mod:`audioprep.fix.convert`, the closed loop (every output is inspected again and must get verdict
``ok``), output names, and writing safely. Profiles (what an output must be) are
:mod:`audioprep.fix.profiles`'; the reasoning behind every choice below is in ``docs/fix.md``.

Per file, for the voice profiles:

1. A *quick* (structural) inspection of the input plans the work: unusable inputs fail here
   with the inspector's reason; an input that already has the profile's shape gets one
   analysis decode, and if its loudness, peaks and edges are also within tolerance it is
   copied byte for byte (``unchanged``; ``renamed`` when only the name was illegal); an MP3
   whose only fault is its loudness gets the lossless gain of step 3 on a copy.
2. **One decode** of the input (:func:`audioprep.fix.convert.convert`) downmixes, resamples (soxr),
   encodes, and measures what it encodes: loudness, peak, silence at both ends, decoded
   duration, the decoder's complaints about the source (for MP3, loudness is then moved by
   LAME's measured level change, ``Profile.codec_level_db``).
3. The measured gain is applied without re-encoding where that is exact enough: whole 1.5 dB
   steps of the MP3's ``global_gain`` (:mod:`audioprep.fix.mp3gain`), or in memory on the small
   PCM of a ``voice-wav`` output (pydub, see below). When silence must be trimmed, the bitrate
   must drop to fit 5 MB, the step would miss the target by more than the tolerance allows,
   or the peaks need limiting, a second pass re-decodes the source and encodes with the exact
   trim, gain and ``alimiter``.
4. The closed loop: a structural re-inspection of the output under its final name plus the
   pass's measurement of the audio it encoded must give verdict ``ok`` (outputs without such a
   measurement are decoded again); then the file is moved into place atomically.

pydub: it holds decoded audio in RAM (about 3x the PCM) and needs ffprobe unless told the codec,
so it never touches a source. It does exactly one job it is good at: the ``voice-wav``
in-memory edit (sample-exact trim, linear gain, WAV export in pure Python) of the 8 kHz mono PCM
the conversion pass wrote, which the 5 MB cap bounds to about 5 minutes (5 MB of PCM).

Findings and failures are data (:class:`FixResult`); only tool or configuration problems raise.
"""

from __future__ import annotations

import filecmp
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from audioprep.api import rules
from audioprep.audio import decode
from audioprep.audio.decode import AnalyseOptions, DecodeReport
from audioprep.audio.inspect import (
    UNUSABLE_IDS,
    Inspection,
    InspectOptions,
    Verdict,
    expand_targets,
    inspect_file,
)
from audioprep.check import is_url
from audioprep.errors import UsageError
from audioprep.fix import profiles
from audioprep.fix.profiles import Profile, ProfileName
from audioprep.models import Severity

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
#: The most gain normalising adds unless told otherwise (``profiles.MAX_GAIN_DB`` says why).
DEFAULT_MAX_GAIN_DB = profiles.MAX_GAIN_DB
#: The most ``--max-gain`` may allow.
MAX_GAIN_CEILING_DB = 60.0
#: Largest download accepted for a URL target (fix exists to shrink files).
MAX_DOWNLOAD_BYTES = 512 * 2**20


class Status(StrEnum):
    """What happened to one input."""

    UNCHANGED = "unchanged"
    FIXED = "fixed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class FixOptions:
    """How to fix a batch. Loudness in LUFS/LU, peaks in dBTP, times in seconds.

    ``normalise=False`` skips loudness normalisation and trimming. ``max_gain_db`` is the
    most gain normalising may add: a file that needs more is nearly silent (noise, a muted
    microphone) and fails rather than become loud hiss. ``max_bytes`` is the size
    cap (the API's 5 MB by default; only smaller caps are allowed). ``dry_run`` plans and
    measures but writes nothing. ``overwrite`` replaces an existing, different output file.
    """

    outdir: str
    profile: str = ProfileName.VOICE_MP3.value
    target_lufs: float = profiles.TARGET_LUFS
    true_peak_dbtp: float = -1.0
    normalise: bool = True
    loudness_tolerance_lu: float = 1.0
    max_gain_db: float = DEFAULT_MAX_GAIN_DB
    trim_pad_s: float = 0.25
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    dry_run: bool = False
    overwrite: bool = False
    max_bytes: int = rules.MAX_AUDIO_BYTES

    def __post_init__(self) -> None:
        profiles.get_profile(self.profile)
        if not -40.0 <= self.target_lufs <= -5.0:
            raise UsageError(f"loudness target {self.target_lufs} LUFS is outside -40..-5")
        if not -9.0 <= self.true_peak_dbtp <= 0.0:
            raise UsageError(f"true-peak ceiling {self.true_peak_dbtp} dBTP is outside -9..0")
        if not 0.5 <= self.loudness_tolerance_lu <= 3.0:
            raise UsageError("the loudness tolerance must be 0.5..3 LU")
        if not 0.0 <= self.max_gain_db <= MAX_GAIN_CEILING_DB:
            raise UsageError(f"the gain cap must be 0..{MAX_GAIN_CEILING_DB:g} dB")
        if self.jobs < 1 or self.trim_pad_s < 0:
            raise UsageError("jobs must be at least 1 and the trim pad not negative")
        if not 100_000 <= self.max_bytes <= rules.MAX_AUDIO_BYTES:
            raise UsageError(f"the size cap must be 100,000..{rules.MAX_AUDIO_BYTES:,} bytes")


@dataclass(frozen=True, slots=True, kw_only=True)
class FixResult:
    """The outcome for one input. ``actions`` are stable tokens (``renamed``, ``normalised``,
    ...); ``details`` say the same in words. ``verdict`` is the output's (``None`` without one).
    """

    source: str
    output: str | None
    status: Status
    actions: tuple[str, ...] = ()
    details: tuple[str, ...] = ()
    verdict: str | None = None
    error: str | None = None
    planned: bool = False
    profile: str = ProfileName.VOICE_MP3.value
    duration_s: float | None = None
    lost_s: float | None = None
    decoder_errors: int = 0
    loudness_lufs: float | None = None
    gain_db: float | None = None
    bitrate_kbps: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the output exists (or would) and passed the closed loop."""
        return self.status is not Status.FAILED

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``audioprep fix --json`` (plus measurements)."""
        return {
            "source": self.source,
            "output": self.output,
            "status": self.status.value,
            "actions": list(self.actions),
            "verdict": self.verdict,
            "error": self.error,
            "planned": self.planned,
            "profile": self.profile,
            "details": list(self.details),
            "duration_s": _round(self.duration_s, 3),
            "lost_s": _round(self.lost_s, 3),
            "decoder_errors": self.decoder_errors,
            "loudness_lufs": _round(self.loudness_lufs, 1),
            "gain_db": _round(self.gain_db, 2),
            "bitrate_kbps": self.bitrate_kbps,
        }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# --------------------------------------------------------------------------------------------
# The batch
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Source:
    """One input: as given, as shown (URLs redacted), and the file name the output derives from."""

    target: str
    shown: str
    name: str

    @property
    def is_url(self) -> bool:
        """Whether it must be downloaded first."""
        return is_url(self.target)


def fix_targets(targets: Sequence[str], options: FixOptions) -> list[FixResult]:
    """Fix every target (files, directories recursively, URLs); results in input order."""
    profile = profiles.get_profile(options.profile)
    outdir = Path(options.outdir)
    given = set(targets)
    found = [t for t in expand_targets(targets) if t in given or not _inside(t, outdir)]
    sources = [_source(t) for t in found]
    if not sources:
        raise UsageError("no audio-looking files found in " + ", ".join(targets))
    names = output_names(sources, profile)
    if not options.dry_run:
        _make_outdir(outdir)
    jobs = [(s, outdir / n) for s, n in zip(sources, names, strict=True)]
    if options.jobs <= 1 or len(jobs) <= 1:
        return [fix_source(s, out, options) for s, out in jobs]
    pool = ThreadPoolExecutor(max_workers=options.jobs)  # the work happens in ffmpeg
    try:
        return list(pool.map(lambda job: fix_source(job[0], job[1], options), jobs))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _inside(target: str, directory: Path) -> bool:
    """Whether a file found by walking a directory lies in ``directory`` (earlier outputs)."""
    if is_url(target):
        return False
    try:
        return Path(target).resolve().is_relative_to(directory.resolve())
    except OSError:
        return False


def _source(target: str) -> Source:
    if is_url(target):
        from audioprep.audio.fetch import redact_url

        name = unquote(urlsplit(target).path.rsplit("/", 1)[-1]) or "audio"
        return Source(target, redact_url(target), name)
    return Source(target, target, os.path.basename(target))


def _make_outdir(outdir: Path) -> None:
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create output directory {outdir}: {exc.strerror}") from exc
    if not os.access(outdir, os.W_OK):
        raise UsageError(f"cannot write to output directory {outdir}")


def output_names(sources: Sequence[Source], profile: Profile) -> list[str]:
    """A legal, distinct output name per source, deterministic whatever the input order.

    The name is :func:`audioprep.api.rules.safe_name` of the source's name with the profile's
    extension; sources that would share one (compared case-insensitively) are taken in sorted
    order and the later ones get ``-2``, ``-3``...
    """
    wanted = [rules.safe_name(s.name, extension=_extension(s, profile)) for s in sources]
    taken: set[str] = set()
    chosen: dict[int, str] = {}
    for i in sorted(range(len(sources)), key=lambda i: (sources[i].target, i)):
        stem, ext = rules.split_name(wanted[i])
        candidate, n = wanted[i], 2
        while candidate.lower() in taken:
            candidate, n = f"{stem}-{n}.{ext}", n + 1
        taken.add(candidate.lower())
        chosen[i] = candidate
    return [chosen[i] for i in range(len(sources))]


def _extension(source: Source, profile: Profile) -> str:
    if profile.extension is not None:
        return profile.extension
    if not source.is_url and os.path.isfile(source.target):
        from audioprep.audio.sniff import Container, sniff_file

        return "wav" if sniff_file(source.target) is Container.WAV else "mp3"
    ext = rules.split_name(source.name)[1].lower()
    return ext if ext in rules.AUDIO_EXTENSIONS else "mp3"


def fix_source(source: Source, output: Path, options: FixOptions) -> FixResult:
    """Fix one source (downloading it first if it is a URL) into ``output``.

    ``output``'s directory is created when missing (not in a dry run). Temporary files live in
    a hidden directory beside ``output`` (same file system, so the final rename is atomic) and
    are removed whatever happens, Ctrl-C included.
    """
    work_parent = None if options.dry_run else output.parent
    if work_parent is not None:
        _make_outdir(work_parent)
    with tempfile.TemporaryDirectory(prefix=".audioprep-fix-", dir=work_parent) as work:
        job = FixJob(source, output, Path(work), options)
        local = job.fetch() if source.is_url else Path(source.target)
        if isinstance(local, FixResult):
            return local
        return job.run(local)


# --------------------------------------------------------------------------------------------
# One file
# --------------------------------------------------------------------------------------------


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
        self.options = options
        self.profile = profiles.get_profile(options.profile)
        self.log = ActionLog()
        self.quick: Inspection | None = None
        self.lost_s: float | None = None
        self.decoder_errors = 0

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
            profile=self.profile.name.value,
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

    def run(self, path: Path) -> FixResult:
        quick = inspect_file(
            path, options=InspectOptions(quick=True), display_name=self.source.name
        )
        self.quick = quick
        if quick.verdict is Verdict.UNUSABLE:
            return self.fail(unusable_reason(quick))
        if self.profile.name is ProfileName.KEEP:
            from audioprep.fix import keep as fixkeep

            return fixkeep.fix_keep(self, path)
        return self.voice(path, quick)

    def voice(self, path: Path, quick: Inspection) -> FixResult:
        if profiles.has_shape(path, quick, self.profile, self.options.max_bytes):
            report = decode.analyse(
                path, header_duration_s=quick.header_duration_s, options=self.analysis()
            )
            if self.meets(report):
                return self.copy(path, quick, report)
            from audioprep.fix import voice as fixvoice

            regained = fixvoice.regain(self, path, quick, report)
            if regained is not None:
                return regained
        return self.convert(path, quick)

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

    def convert(self, path: Path, quick: Inspection) -> FixResult:
        from audioprep.fix import voice as fixvoice

        return fixvoice.convert_voice(self, path, quick)

    def plan(self, quick: Inspection, report: DecodeReport) -> Plan | FixResult:
        """Trim, gain and bitrate from the conversion pass's measurement (or a failure)."""
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
            cut = (start + (samples - end if end is not None else 0)) / rate
            self.log.add(
                "trimmed",
                f"trimmed {lead:.2f} s leading / {trail:.2f} s trailing silence to "
                f"{pad:g} s pads ({cut:.2f} s cut)",
            )
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
        shape = profiles.shape_problem(tmp, quick, self.profile)
        if not problems and shape is None:
            return Verdict.OK, ""
        unusable = any(p.id in UNUSABLE_IDS or not p.fixable for p in problems)
        reason = shape or f"{problems[0].id}: {problems[0].message}"
        return (Verdict.UNUSABLE if unusable else Verdict.FIXABLE), reason

    def tmp_path(self, tag: str) -> Path:
        return self.work / f"{tag}.{self.output.name}"

    def rename_note(self) -> None:
        if self.output.name != self.source.name:
            self.log.add("renamed", f"renamed {self.source.name!r} to {self.output.name!r}")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def unusable_reason(item: Inspection) -> str:
    """The first error that makes ``item`` unusable, as ``id: message``."""
    errors = [p for p in item.problems if p.severity is Severity.ERROR]
    unusable = [p for p in errors if p.id in UNUSABLE_IDS or not p.fixable] or errors
    if not unusable:
        return "unusable"
    first = unusable[0]
    return f"{first.id}: {first.message}"


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
