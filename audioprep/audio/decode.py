"""Decode-and-measure: the one ffmpeg pass that proves an audio file really plays.

This module owns what audioprep learns by *decoding* a file (headers and structure belong to
:mod:`~audioprep.audio.facts` and the scanners): whether ffmpeg opens it, how many samples
really come out, the decoder's complaints, and the levels (peak, RMS, clipping, integrated
loudness, silence at both ends), all from one ffmpeg process and one decode
(:func:`analyse`). :func:`tap_chain` and :func:`split_filter` let a transcoder carry the same
analysis; :func:`parse_analysis` reads either command's stderr. It never modifies a file and
never holds decoded audio in Python.

``docs/audio.md`` (*Decoding and measuring*) has the details and the measurements.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from audioprep.audio import ffmpeg, levels
from audioprep.errors import ToolError, UsageError
from audioprep.models import Problem, Severity

log = logging.getLogger(__name__)

#: Instance tag of our filters: ``volumedetect@audioprep`` logs as ``[volumedetect@audioprep @
#: 0x..]``. (ffmpeg 5.1's ``silencedetect`` ignores it and logs as ``[silencedetect @ 0x..]``.)
TAG = "audioprep"

#: Log options the analysis needs: info level for the filters' reports, a ``[level]`` prefix on
#: every line to tell errors from reports, no collapsing of repeated lines, no progress lines.
LOG_ARGS: tuple[str, ...] = ("-v", "repeat+level+info", "-nostats")

#: The analysis chain's output pad; map it to ``-f null -``.
ANALYSIS_PAD = "audioprep_analysis"

#: A sample counts as clipped at or above this level (dBFS): MP3 decoding of a clipped source
#: rings around full scale, so counting only exact full-scale values would miss most of them.
CLIP_LEVEL_DBFS = -0.1

_GAIN_DB = -1.0 - CLIP_LEVEL_DBFS  # volumedetect's top bin is (-1 dB, 0 dB]
_VD_FLOOR_DB = -91.0  # volumedetect's reading for all-zero input
_NO_GATE_LUFS = -70.0  # ebur128's reading when no block passes the absolute gate
_DUAL_MONO_DB = 10 * math.log10(2)


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalyseOptions:
    """How to measure, and where the problem thresholds sit.

    Attributes:
        precise: full-band loudness on every channel at the native rate, with a 4x-oversampled
            true peak (~4x a bare decode); default is the mono telephone-band rendition.
        analysis_rate: sample rate (Hz) of the loudness/silence measurement unless ``precise``.
        silence_threshold_dbfs: below this a stretch counts as silence.
        min_silence_s: shorter silences are not reported (an edge silence this short reads 0).
        edge_silence_warn_s: leading or trailing silence longer than this is a warning.
        silent_peak_dbfs: a file whose peak stays below this is silent (an error).
        very_low_lufs: integrated loudness below this is a warning (RMS dBFS when too short
            for a 400 ms loudness block).
        clip_ratio, clip_min_samples: clipping is a warning when more than ``clip_ratio`` of
            all samples, and at least ``clip_min_samples``, reach :data:`CLIP_LEVEL_DBFS`.
        duration_tolerance_s, duration_tolerance_ratio: the decoded duration may differ from
            the header's by max(these) before it is a problem.
        timeout_floor_s, timeout_s_per_mib: ffmpeg's time limit, a floor plus a per-MiB share.
        max_error_lines: distinct decoder messages kept in the report (all are counted).
        narrowband: also measure the share of the energy above :data:`NARROWBAND_HZ` (what a
            phone call cuts away); more than ``narrowband_share`` is a warning.
    """

    precise: bool = False
    analysis_rate: int = 8000
    silence_threshold_dbfs: float = -50.0
    min_silence_s: float = 0.3
    edge_silence_warn_s: float = 2.0
    silent_peak_dbfs: float = -70.0
    very_low_lufs: float = -40.0
    clip_ratio: float = 1e-4
    clip_min_samples: int = 10
    duration_tolerance_s: float = 1.0
    duration_tolerance_ratio: float = 0.02
    timeout_floor_s: float = 30.0
    timeout_s_per_mib: float = 10.0
    max_error_lines: int = 20
    narrowband: bool = False
    narrowband_share: float = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class DecodeReport:
    """What decoding a file showed; measurements are ``None`` when nothing decoded.

    ``decodable``: ffmpeg opened it and decoded at least one sample. ``decoded_samples`` is per
    channel. ``peak_dbfs``/``rms_dbfs`` are ``-inf`` for digital silence. ``clipped_samples``
    counts sample values (all channels) at or above :data:`CLIP_LEVEL_DBFS`.
    ``integrated_lufs`` is ``None`` when no 400 ms block rises above the -70 LUFS gate.
    ``true_peak_dbtp`` is measured only in precise mode. ``header_duration_s`` is what the
    decoded duration was compared with: the caller's figure, else ffmpeg's reading of the
    container (unless ffmpeg itself only estimated it from the bitrate). ``warnings`` are the
    demuxer/decoder warnings that matter (truncation, estimated duration, corrupt packets).
    """

    decodable: bool
    decoded_duration_s: float | None = None
    decoded_samples: int | None = None
    container: str | None = None
    codec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    header_duration_s: float | None = None
    decoder_errors: tuple[str, ...] = ()
    decoder_error_count: int = 0
    warnings: tuple[str, ...] = ()
    peak_dbfs: float | None = None
    rms_dbfs: float | None = None
    clipped_samples: int | None = None
    integrated_lufs: float | None = None
    true_peak_dbtp: float | None = None
    leading_silence_s: float | None = None
    trailing_silence_s: float | None = None
    above_band_share: float | None = None
    silent: bool = False
    returncode: int = 0
    problems: tuple[Problem, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form; non-finite levels become ``None``."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            elif f.name == "problems":
                value = [p.to_dict() for p in self.problems]
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


# --- the command -----------------------------------------------------------------------------


def analysis_filter(
    options: AnalyseOptions = AnalyseOptions(), *, source: str = "0:a:0", sink: str = ANALYSIS_PAD
) -> str:
    """The analysis chain as filter-graph text, from pad ``[source]`` to pad ``[sink]``.

    Map ``[sink]`` to ``-f null -``. The chain's ``volumedetect``, ``ebur128`` and
    ``silencedetect`` must be the only ones in the command, or :func:`parse_analysis` cannot
    tell whose report is whose.
    """
    t = TAG
    silence = _silence_filter(options)
    if options.precise:
        loudness = f"ebur128@{t}=framelog=verbose:peak=true,asetnsamples@{t}=n=16384:p=0"
    else:
        rate = options.analysis_rate
        loudness = (
            f"aresample@{t}={rate}:filter_size=8:rematrix_maxval=1,"
            f"aformat@{t}=channel_layouts=mono,asetnsamples@{t}=n={rate}:p=0,"
            f"ebur128@{t}=framelog=verbose"
        )
    chain = f"{_LEVEL_FILTERS},{loudness},{silence}[{sink}]"
    if not options.narrowband:
        return f"[{source}]{chain}"
    above = f"{t}_above_band"
    head = f"[{source}]asplit@{t}_band=2[{t}_main][{above}];{_above_band_graph(above)}"
    return f"{head};[{t}_main]{chain}"


#: The edge of the telephone band (Hz): a call carries 300-3400 Hz.
NARROWBAND_HZ = 3400
#: What lies above the band, against the whole, both of the same mono copy: three 2-pole
#: high-passes (-36 dB/octave) and two ``volumedetect`` of their own names (0.3 s on five
#: minutes, where ``astats`` took 1.6 s).
_BAND_KIND, _FULL_KIND = f"volumedetect@{TAG}_band", f"volumedetect@{TAG}_full"
_HIGH_PASS = ",".join([f"highpass=f={NARROWBAND_HZ}:poles=2"] * 3)


def _above_band_graph(source: str) -> str:
    t = TAG
    return (
        f"[{source}]aformat=sample_fmts=fltp:channel_layouts=mono,asplit@{t}_parts=2"
        f"[{t}_high][{t}_all];[{t}_high]{_HIGH_PASS},aformat=sample_fmts=s16,{_BAND_KIND},"
        f"anullsink;[{t}_all]aformat=sample_fmts=s16,{_FULL_KIND},anullsink"
    )


#: Peak, RMS, clipped samples and the sample count: ``volumedetect`` behind the level shift
#: that puts the clipping line on the edge of its top bin (every later reading is corrected).
_LEVEL_FILTERS = f"volume@{TAG}={_GAIN_DB:.2f}dB,volumedetect@{TAG}"


def _silence_filter(options: AnalyseOptions) -> str:
    """``silencedetect``, its threshold moved by the level shift it sits behind."""
    return (
        f"silencedetect@{TAG}=noise={options.silence_threshold_dbfs + _GAIN_DB:g}dB"
        f":duration={options.min_silence_s:g}"
    )


def tap_chain(options: AnalyseOptions = AnalyseOptions()) -> str:
    """The analysis as a pass-through filter chain (no pads), for audio that is already mono
    at ``options.analysis_rate``: put it last before an encoder and the encoder receives what
    it measured (the same samples, at 16 bits, which ``volumedetect`` needs).

    It is :func:`analysis_filter` without the resampling and with the level restored after the
    measurements, so :func:`parse_analysis` reads it the same way. No ``asplit``, no second
    output: in the threaded ffmpeg CLI (>= 7) each extra branch or output costs a thread
    hand-off per frame, which for a short prompt costs more than the measuring filters.
    """
    t = TAG
    rate = options.analysis_rate
    loudness = f"asetnsamples@{t}=n={rate}:p=0,ebur128@{t}=framelog=verbose"
    restore = f"volume@{t}_restore={-_GAIN_DB:.2f}dB"
    return f"{_LEVEL_FILTERS},{loudness},{_silence_filter(options)},{restore}"


def split_filter(
    options: AnalyseOptions = AnalyseOptions(),
    *,
    source: str = "0:a:0",
    encode: str = "encode",
    sink: str = ANALYSIS_PAD,
) -> str:
    """A graph handing the decoded audio both to pad ``[encode]`` and to the analysis chain.

    For a transcoder: append ``;[encode]<its chain>[out]`` and run ``[*LOG_ARGS, "-i", src,
    "-filter_complex", graph, "-map", "[out]", <encoder options>, dst, "-map", "[<sink>]",
    "-f", "null", "-"]``, then :func:`parse_analysis` its stderr: one decode for both jobs.
    """
    branch = f"{TAG}_analysis_in"
    head = f"[{source}]asplit@{TAG}=2[{encode}][{branch}]"
    return f"{head};{analysis_filter(options, source=branch, sink=sink)}"


def analysis_args(
    path: str | os.PathLike[str],
    options: AnalyseOptions = AnalyseOptions(),
    *,
    max_bytes: int | None = None,
) -> list[str]:
    """Arguments for :func:`audioprep.audio.ffmpeg.run` that decode ``path`` once and measure it.

    The path is given as ``file:`` so that a name like ``concat:a|b`` is never a protocol;
    with ``max_bytes``, only that many bytes from the start are read (ffmpeg's ``subfile:``).
    ``-progress`` (the fallback duration) goes to stdout.
    """
    source = input_url(path, end=max_bytes)
    graph = analysis_filter(options)
    output = ["-map", f"[{ANALYSIS_PAD}]", "-f", "null", "-", "-progress", "pipe:1"]
    return [*LOG_ARGS, "-i", source, "-filter_complex", graph, *output]


def input_url(path: str | os.PathLike[str], *, end: int | None = None) -> str:
    """``path`` as ffmpeg's ``file:`` URL (so ``concat:a|b`` is never a protocol), or with
    ``end`` its first ``end`` bytes only (``subfile:``)."""
    where = os.path.abspath(os.fspath(path))
    return f"subfile,,start,0,end,{end},,:{where}" if end else f"file:{where}"


def timeout_for(size_bytes: int, options: AnalyseOptions = AnalyseOptions()) -> float:
    """ffmpeg's time limit (seconds) for a file of ``size_bytes``."""
    return options.timeout_floor_s + options.timeout_s_per_mib * size_bytes / 2**20


def analyse(
    path: str | os.PathLike[str],
    *,
    header_duration_s: float | None = None,
    options: AnalyseOptions = AnalyseOptions(),
    max_bytes: int | None = None,
) -> DecodeReport:
    """Decode ``path`` once with ffmpeg and report what came out (with ``max_bytes``, only
    that many bytes from its start: the cost of a file over a size cap stays bounded).

    Args:
        path: the audio file (any format ffmpeg reads; it is never modified).
        header_duration_s: what the headers claim (e.g. mutagen's length). A decoded duration
            off by more than max(1 s, 2 %) is ``decode.duration_mismatch``. Without it,
            ffmpeg's own reading of the container is used unless ffmpeg only estimated it.
        options: thresholds and measurement mode.

    Raises:
        UsageError: ``path`` is not a readable file.
        ToolError: ffmpeg is missing, lacks a filter, or overran its time limit.
    """
    target = Path(path)
    try:
        size = target.stat().st_size
    except OSError as exc:
        raise UsageError(f"cannot read {target}: {exc.strerror or exc}") from exc
    if not target.is_file():
        raise UsageError(f"{target} is not a file")
    partial = max_bytes is not None and size > max_bytes
    args = analysis_args(target, options, max_bytes=max_bytes if partial else None)
    proc = ffmpeg.run(args, timeout=timeout_for(min(size, max_bytes or size), options))
    report = parse_analysis(
        proc.stderr.decode("utf-8", "replace"),
        proc.stdout.decode("utf-8", "replace"),
        header_duration_s=header_duration_s,
        options=options,
        returncode=proc.returncode,
    )
    log.debug("decoded %s: %s", target, report)
    return report


# --- sorting ffmpeg's stderr -----------------------------------------------------------------

_BRACKET = re.compile(r"\[([^\[\]]*)\] ?")
_LEVELS = frozenset({"quiet", "panic", "fatal", "error", "warning", "info", "verbose", "debug"})
_ERROR_LEVELS = frozenset({"panic", "fatal", "error"})
_KINDS = ("volumedetect", "ebur128", "silencedetect")

# Warnings that say something about the file; the rest ("Guessed Channel Layout") is chatter.
_NOTABLE_WARNINGS = re.compile(
    r"Estimating duration from bitrate|filesize and duration do not match|Packet corrupt"
    r"|corrupt input packet|Invalid PCM packet|detected only with low score"
    r"|invalid concatenated file|Could not find codec parameters|Ignoring maximum wav data size"
    r"|bytes of junk|truncat"
)
# Errors that are consequences, not causes: the CLI's bookkeeping after a failure.
_NOISE_ERRORS = re.compile(
    r"Task finished with error code|Terminating thread with return code|Error initializing filt"
    r"|Could not open encoder before EOF|Nothing was written into output file|Conversion failed"
    r"|Error opening input files?[: .]|Neither number of channels nor channel layout"
    r"|Error while filtering|Failed to inject frame|Error sending frames to consumers"
    r"|Error marking filters as finished|Error reinitializing filters"
)
# Errors that mean this ffmpeg cannot run the analysis at all: a tool problem, not a finding.
_TOOL_ERRORS = re.compile(
    r"No such filter|Filter not found|Option not found|Option '[^']*' not found"
    r"|Error applying option '"
)


@dataclass(frozen=True, slots=True)
class _Line:
    names: tuple[str, ...]  # log contexts, outermost first, addresses stripped
    level: str | None
    text: str


@dataclass(slots=True)
class _Sorted:
    """ffmpeg's stderr sorted into our filters' reports, the input description and complaints."""

    reports: dict[str, list[list[str]]] = field(default_factory=dict)  # kind -> blocks
    input_lines: list[str] = field(default_factory=list)
    errors: list[_Line] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _split_line(raw: str) -> _Line:
    names: list[str] = []
    level = None
    pos = 0
    while m := _BRACKET.match(raw, pos):
        inner = m.group(1)
        if inner in _LEVELS:
            level = inner
        elif " @ " in inner:
            names.append(inner.split(" @ ", 1)[0])
        else:
            break
        pos = m.end()
    return _Line(tuple(names), level, raw[pos:].rstrip())


def _kind(names: Sequence[str]) -> str | None:
    """Which of our filters wrote the line (``Parsed_ebur128_3``, ``ebur128@audioprep``...)."""
    for name in names:
        if name in (_BAND_KIND, _FULL_KIND):
            return name.rsplit("_", 1)[1]  # "band", "full"
        base = re.sub(r"^Parsed_(.*)_\d+$", r"\1", name.split("@", 1)[0])
        if base in _KINDS:
            return base
    return None


def _sort_stderr(stderr: str) -> _Sorted:
    out = _Sorted()
    block: list[str] | None = None  # the report that unprefixed lines continue
    last_context: dict[str, str] = {}
    in_input = False
    for raw in stderr.splitlines():
        line = _split_line(raw)
        if not line.names and line.level is None:
            if block is not None and line.text.strip():
                block.append(line.text.strip())
            continue
        kind = _kind(line.names)
        if kind is None:
            block = None
            in_input = _route(out, line, in_input)
            continue
        context = raw.split("]", 1)[0]  # a new instance (ffmpeg may configure twice): new block
        blocks = out.reports.setdefault(kind, [])
        if not blocks or last_context.get(kind) != context:
            blocks.append([])
            last_context[kind] = context
        block = blocks[-1]
        block.append(line.text.strip())
    return out


def _route(out: _Sorted, line: _Line, in_input: bool) -> bool:
    """File one line that is not a report; returns whether the input description goes on."""
    text = line.text
    if line.level in _ERROR_LEVELS:
        out.errors.append(line)
    elif line.level == "warning":
        out.warnings.append(text)
    if text.startswith("Input #"):
        out.input_lines.append(text)
        return True
    if text.startswith(("Output #", "Stream mapping:")):
        return False
    if in_input:
        out.input_lines.append(text.strip())
    return in_input


def _clean(line: _Line) -> str:
    """``mp3float: Header missing`` from ``[aist#0:0/mp3 @ ..] [dec:mp3float @ ..] [error] ..``."""
    if not line.names:
        return line.text
    name = line.names[-1].split("/", 1)[-1].removeprefix("dec:")
    if re.fullmatch(r"(in|out)#\d+(:\d+)?", name):
        name = "input" if name.startswith("in") else "output"
    return f"{name}: {line.text}"


def _first(lines: Iterable[str], limit: int) -> tuple[str, ...]:
    """The first ``limit`` distinct lines, in order."""
    seen: dict[str, None] = {}
    for line in lines:
        if len(seen) >= limit:
            break
        seen.setdefault(line, None)
    return tuple(seen)


# --- reading the input description and the reports ---------------------------------------

_INPUT = re.compile(r"^Input #\d+, ([^,]+)")
_DURATION = re.compile(r"^Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_AUDIO = re.compile(r"^Stream #\d+:\d+\S*: Audio: ([\w-]+)[^,]*, (\d+) Hz, ([^,]+)")
_LAYOUTS = (
    dict.fromkeys(["mono"], 1)
    | dict.fromkeys(["stereo", "downmix", "binaural"], 2)
    | dict.fromkeys(["2.1", "3.0", "3.0(back)"], 3)
    | dict.fromkeys(["4.0", "quad", "quad(side)", "3.1"], 4)
    | dict.fromkeys(["5.0", "5.0(side)", "4.1"], 5)
    | dict.fromkeys(["5.1", "5.1(side)", "6.0", "6.0(front)", "hexagonal", "3.1.2"], 6)
    | dict.fromkeys(["6.1", "6.1(back)", "6.1(front)", "7.0", "7.0(front)"], 7)
    | dict.fromkeys(["7.1", "7.1(wide)", "7.1(wide-side)", "7.1(top)", "5.1.2", "octagonal"], 8)
    | {"cube": 8, "5.1.4": 10, "7.1.2": 10, "7.1.4": 12, "hexadecagonal": 16, "22.2": 24}
)


@dataclass(frozen=True, slots=True)
class _Input:
    container: str | None = None
    codec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    duration_s: float | None = None


def _channels(layout: str) -> int | None:
    """Channel count of an ffmpeg layout name (``stereo``, ``5.1(side)``, ``3 channels``...)."""
    layout = layout.strip()
    if layout in _LAYOUTS:
        return _LAYOUTS[layout]
    if m := re.fullmatch(r"(\d+) channels(?: \(.*\))?", layout):
        return int(m.group(1))
    if re.fullmatch(r"\w+(\+\w+)+", layout):
        return layout.count("+") + 1
    return None


def _parse_input(lines: Sequence[str]) -> _Input:
    """The first input's container, its first audio stream, and the container's duration."""
    found = _Input()
    for text in lines:
        if (m := _INPUT.match(text)) and found.container is None:
            found = replace(found, container=m.group(1).strip())
        elif (m := _DURATION.match(text)) and found.duration_s is None:
            h, mi, s = m.groups()
            found = replace(found, duration_s=int(h) * 3600 + int(mi) * 60 + float(s))
        elif (m := _AUDIO.match(text)) and found.codec is None:
            codec, rate, layout = m.groups()
            found = replace(found, codec=codec, sample_rate=int(rate), channels=_channels(layout))
    return found


def _number(pattern: str, text: str) -> float | None:
    m = re.search(pattern, text, re.MULTILINE)
    if m is None:
        return None
    try:
        return float(m.group(1))
    except ValueError:
        return None


def _last_report(sorted_: _Sorted, kind: str, needle: str) -> str:
    """The last report of ``kind`` that contains ``needle`` (an early empty one may precede)."""
    for block in reversed(sorted_.reports.get(kind, [])):
        text = "\n".join(block)
        if needle in text:
            return text
    return ""


def _undo_gain(db: float | None) -> float | None:
    if db is None:
        return None
    return -math.inf if db <= _VD_FLOOR_DB else round(db - _GAIN_DB, 2)


def _loudness(
    sorted_: _Sorted, channels: int | None, precise: bool
) -> tuple[float | None, float | None]:
    """Integrated LUFS and true peak, corrected for the analysis gain and the downmix."""
    text = _last_report(sorted_, "ebur128", "Integrated loudness")
    lufs = _number(r"^I:\s+(\S+) LUFS", text)
    if lufs is None or not math.isfinite(lufs) or lufs <= _NO_GATE_LUFS:
        lufs = None
    else:
        lufs -= _GAIN_DB
        lufs = round(lufs + (_DUAL_MONO_DB if channels == 2 and not precise else 0.0), 1)
    peak = _number(r"True peak:\s*\n\s*Peak:\s+(\S+) dB", text) if precise else None
    return lufs, _undo_gain(peak)


def _silences(sorted_: _Sorted) -> list[tuple[float, float | None]]:
    """(start, end) of each reported silence; ``end`` is ``None`` if it ran off the end."""
    spans: list[tuple[float, float | None]] = []
    for block in sorted_.reports.get("silencedetect", []):
        for text in block:
            if m := re.search(r"silence_start: (\S+)", text):
                spans.append((float(m.group(1)), None))
            elif (m := re.search(r"silence_end: (\S+)", text)) and spans and spans[-1][1] is None:
                spans[-1] = (spans[-1][0], float(m.group(1)))
    return spans


def _edges(spans: Sequence[tuple[float, float | None]], duration: float) -> tuple[float, float]:
    """Seconds of silence at the start and at the end (both the whole file if all silent)."""
    slack = 0.05
    leading = trailing = 0.0
    if spans and spans[0][0] <= slack:
        end = spans[0][1]
        leading = min(duration if end is None else end, duration)
    if spans and (spans[-1][1] is None or spans[-1][1] >= duration - slack):
        trailing = max(0.0, duration - max(spans[-1][0], 0.0))
    return round(leading, 3), round(trailing, 3)


def _progress_seconds(progress: str) -> float | None:
    found = re.findall(r"^out_time_us=(\d+)$", progress, re.MULTILINE)
    return int(found[-1]) / 1e6 if found else None


# --- the report --------------------------------------------------------------------------


def parse_analysis(
    stderr: str,
    progress: str = "",
    *,
    header_duration_s: float | None = None,
    options: AnalyseOptions = AnalyseOptions(),
    returncode: int = 0,
    branch_format: tuple[int, int] | None = None,
) -> DecodeReport:
    """The :class:`DecodeReport` of a command that carried :func:`analysis_filter` with
    :data:`LOG_ARGS`; ``progress`` is its ``-progress`` output, if any.

    ``branch_format`` is ``(sample_rate, channels)`` of the audio the analysis chain really
    received when that is not the input's (a transcoder that resampled or downmixed before
    splitting, or that measures its own output through a loopback decoder): duration, sample
    count and the two-channel loudness correction then follow it. The report's
    ``sample_rate``/``channels`` stay the input's.

    Raises:
        ToolError: the ffmpeg could not build the analysis chain (too old, filters missing).
    """
    sorted_ = _sort_stderr(stderr)
    info = _parse_input(sorted_.input_lines)
    vd = _last_report(sorted_, "volumedetect", "n_samples:")
    samples = int(_number(r"^n_samples: (\d+)", vd) or 0)
    report = _unmeasured(sorted_, info, samples, options, returncode)
    if header_duration_s is None and not any("Estimating dur" in w for w in report.warnings):
        header_duration_s = info.duration_s
    report = replace(report, header_duration_s=header_duration_s)
    if report.decodable:
        if branch_format is not None:
            info = replace(info, sample_rate=branch_format[0], channels=branch_format[1])
        report = _measured(report, sorted_, info, samples, vd, progress, options)
    return replace(report, problems=derive_problems(report, options))


def _unmeasured(
    sorted_: _Sorted, info: _Input, samples: int, options: AnalyseOptions, returncode: int
) -> DecodeReport:
    """What the log says before any measurement: names, complaints, whether anything decoded."""
    errors = [e for e in sorted_.errors if not _NOISE_ERRORS.search(e.text)]
    if samples == 0 and any(_TOOL_ERRORS.search(e.text) for e in errors):
        raise ToolError(f"this ffmpeg cannot run the analysis: {_clean(errors[0])}")
    warnings = (w for w in sorted_.warnings if _NOTABLE_WARNINGS.search(w))
    return DecodeReport(
        decodable=samples > 0,
        container=info.container,
        codec=info.codec,
        sample_rate=info.sample_rate,
        channels=info.channels,
        decoder_errors=_first((_clean(e) for e in errors), options.max_error_lines),
        decoder_error_count=len(errors),
        warnings=_first(warnings, options.max_error_lines),
        returncode=returncode,
    )


def _above_band(sorted_: _Sorted) -> float | None:
    """The share of the energy above the telephone band (the RMS of the high-passed mono copy
    against the same copy's), when it was measured."""
    pattern = r"^mean_volume: (\S+) dB"
    above = _number(pattern, _last_report(sorted_, "band", "mean_volume"))
    whole = _number(pattern, _last_report(sorted_, "full", "mean_volume"))
    if above is None or whole is None or whole <= _VD_FLOOR_DB:
        return None
    if above <= _VD_FLOOR_DB:
        return 0.0
    return round(min(1.0, 10 ** ((above - whole) / 10)), 4)


def _measured(
    report: DecodeReport,
    sorted_: _Sorted,
    info: _Input,
    samples: int,
    vd: str,
    progress: str,
    options: AnalyseOptions,
) -> DecodeReport:
    """``report`` with the measurements filled in (called only when samples were decoded)."""
    if info.channels and info.sample_rate:
        duration: float | None = samples / info.channels / info.sample_rate
    else:
        duration = _progress_seconds(progress)
    lufs, true_peak = _loudness(sorted_, info.channels, options.precise)
    leading = trailing = None
    if duration is not None:
        leading, trailing = _edges(_silences(sorted_), duration)
    peak = _undo_gain(_number(r"^max_volume: (\S+) dB", vd))
    return replace(
        report,
        above_band_share=_above_band(sorted_),
        decoded_duration_s=None if duration is None else round(duration, 6),
        decoded_samples=samples // info.channels if info.channels else None,
        peak_dbfs=peak,
        rms_dbfs=_undo_gain(_number(r"^mean_volume: (\S+) dB", vd)),
        clipped_samples=int(_number(r"^histogram_0db: (\d+)", vd) or 0),
        integrated_lufs=lufs,
        true_peak_dbtp=true_peak,
        leading_silence_s=leading,
        trailing_silence_s=trailing,
        silent=peak is not None and peak < options.silent_peak_dbfs,
    )


# --- problems ----------------------------------------------------------------------------


def derive_problems(
    report: DecodeReport, options: AnalyseOptions = AnalyseOptions()
) -> tuple[Problem, ...]:
    """The problems ``report`` implies, in a stable order: decoding first, then levels."""
    if not report.decodable:
        return (_open_failed(report),)
    found = [_decode_errors(report), _duration(report, options)]
    if report.silent:
        found.append(_silent(report, options))
    else:
        found += [_very_low(report, options), _clipping(report, options)]
        found += _edge_silences(report, options)
        found += [_narrowband(report, options), _loudness_note(report, options)]
    return tuple(p for p in found if p is not None)


def _narrowband(report: DecodeReport, options: AnalyseOptions) -> Problem | None:
    share = report.above_band_share
    if share is None or share <= options.narrowband_share:
        return None
    return Problem(
        "level.narrowband",
        Severity.WARNING,
        f"{share:.0%} of its energy lies above {NARROWBAND_HZ} Hz, which a phone call cuts"
        " away: callers hear much less of it than you do (fix: re-record or re-mix it for the"
        " telephone band; 'audioprep preview' renders what they will hear)",
    )


def _silence_text(peak: float | None, threshold: float) -> str:
    if peak is None or not math.isfinite(peak):
        return (
            "nothing audible: every sample is zero (digital silence, so there is no peak level:"
            " it is reported as null); the caller would hear silence"
        )
    return (
        f"nothing audible: the peak is {peak:.1f} dBFS (below {threshold:g});"
        " the caller would hear silence"
    )


def _db(value: float | None) -> str:
    return "-inf" if value is None or not math.isfinite(value) else f"{value:.1f}"


def _open_failed(report: DecodeReport) -> Problem:
    cause = report.decoder_errors[0] if report.decoder_errors else None
    if cause is None:
        cause = f"ffmpeg exited {report.returncode}" if report.returncode else "no audio stream"
    return Problem(
        "decode.open_failed",
        Severity.ERROR,
        f"no audio can be decoded from it ({cause}): not a playable MP3 or WAV",
    )


def _decode_errors(report: DecodeReport) -> Problem | None:
    if not report.decoder_error_count:
        return None
    return Problem(
        "decode.errors",
        Severity.ERROR,
        f"{report.decoder_error_count} decoder error(s), first: {report.decoder_errors[0]};"
        " the API may refuse it as corrupted (-108) and players skip or click"
        " (fix: re-encode the audio that still decodes)",
        fixable=True,
    )


def _duration(report: DecodeReport, options: AnalyseOptions) -> Problem | None:
    claimed, decoded = report.header_duration_s, report.decoded_duration_s
    if claimed is None or decoded is None:
        return None
    allowed = max(options.duration_tolerance_s, options.duration_tolerance_ratio * claimed)
    if abs(claimed - decoded) <= allowed:
        return None
    if decoded < claimed:
        return Problem(
            "decode.duration_mismatch",
            Severity.ERROR,
            f"the header claims {claimed:.2f} s but only {decoded:.2f} s decode: the file is cut"
            " short and the call would stop mid-prompt (fix: re-encoding makes the header"
            " honest; the missing audio cannot be restored)",
            fixable=True,
        )
    return Problem(
        "decode.duration_mismatch",
        Severity.WARNING,
        f"the header claims {claimed:.2f} s but {decoded:.2f} s decode: players and the API"
        " misjudge its length (fix: re-encode to write a correct header)",
        fixable=True,
    )


def _silent(report: DecodeReport, options: AnalyseOptions) -> Problem:
    return Problem(
        "level.silent",
        Severity.ERROR,
        _silence_text(report.peak_dbfs, options.silent_peak_dbfs),
    )


def _very_low(report: DecodeReport, options: AnalyseOptions) -> Problem | None:
    value, level = report.integrated_lufs, f"{_db(report.integrated_lufs)} LUFS"
    if value is None:  # shorter than one 400 ms block, or under the -70 LUFS gate: use RMS
        value, level = report.rms_dbfs, f"RMS {_db(report.rms_dbfs)} dBFS"
    if value is None or value >= options.very_low_lufs:
        return None
    if value < levels.TARGET_LUFS - levels.MAX_GAIN_DB:
        return Problem(
            "level.very_low",
            Severity.ERROR,
            f"nearly silent ({level}, peak {_db(report.peak_dbfs)} dBFS): callers will hear"
            " at most faint noise, and raising it that far makes the noise loud (fix:"
            f" re-record it; 'audioprep fix' adds at most {levels.MAX_GAIN_DB:g} dB)",
            fixable=False,
        )
    return Problem(
        "level.very_low",
        Severity.WARNING,
        f"very quiet ({level}, peak {_db(report.peak_dbfs)} dBFS): callers will strain to hear"
        " it (fix: normalise the loudness)",
        fixable=True,
    )


def _clipping(report: DecodeReport, options: AnalyseOptions) -> Problem | None:
    clipped = report.clipped_samples or 0
    total = (report.decoded_samples or 0) * (report.channels or 1)
    if clipped < options.clip_min_samples or clipped <= options.clip_ratio * total:
        return None
    share = f" ({100 * clipped / total:.2g} %)" if total else ""
    return Problem(
        "level.clipping",
        Severity.WARNING,
        f"{clipped} samples at full scale{share}: it is clipped and will sound distorted;"
        " lowering the gain cannot undo that (re-export from the source with headroom)",
    )


def _edge_silences(report: DecodeReport, options: AnalyseOptions) -> list[Problem]:
    duration = report.decoded_duration_s or 0.0
    found = []
    for where, seconds in (
        ("leading", report.leading_silence_s),
        ("trailing", report.trailing_silence_s),
    ):
        if seconds is None or seconds <= options.edge_silence_warn_s:
            continue
        if seconds >= duration - 0.05:
            continue  # below the silence line end to end: a level problem, not an edge one
        found.append(
            Problem(
                f"level.{where}_silence",
                Severity.WARNING,
                f"{seconds:.1f} s of {where} silence (below {options.silence_threshold_dbfs:g}"
                " dBFS): the caller hears dead air (fix: 'audioprep fix' trims it)",
                fixable=True,
            )
        )
    return found


def _loudness_note(report: DecodeReport, options: AnalyseOptions) -> Problem | None:
    if report.integrated_lufs is None:
        return None
    band = "full band" if options.precise else "telephone band"
    return Problem(
        "level.loudness",
        Severity.INFO,
        f"integrated loudness {report.integrated_lufs:.1f} LUFS ({band}),"
        f" peak {_db(report.peak_dbfs)} dBFS",
    )
