"""The ffmpeg passes behind ``audioprep fix``: one decode that converts, encodes and measures.

This module owns the command lines :mod:`audioprep.fix.job` runs (through
:func:`audioprep.audio.ffmpeg.run`, like every ffmpeg in audioprep) and what they report. One
:func:`convert` call is one ffmpeg process that decodes the source once (concealing damage),
downmixes, resamples, trims, applies gain and a limiter when asked, encodes the output, and
measures what it hands the encoder with :mod:`audioprep.audio.decode`'s analysis.
:func:`remux` rewrites a container around the same samples.

``docs/fix.md`` (*The ffmpeg passes*) has the details and the measurements.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import threading
from dataclasses import dataclass

from audioprep import api
from audioprep.audio import decode, ffmpeg
from audioprep.audio.decode import AnalyseOptions, DecodeReport
from audioprep.audio.mp3scan import scan_mp3
from audioprep.audio.sniff import Container, sniff_file
from audioprep.audio.wavscan import scan_wav

log = logging.getLogger(__name__)

_OUT = "fix_out"
_PRE = "fix_pre"
#: Input options that keep every decodable second of a damaged stream.
CONCEAL_ARGS: tuple[str, ...] = ("-err_detect", "ignore_err", "-fflags", "+discardcorrupt")
#: The same for PCM in a WAV, which has no corrupt packets to discard: ffmpeg flags the short
#: last packet of a WAV whose header gives no size (a streaming recorder's) as corrupt, and
#: discarding it cut 32 ms (ffmpeg 9) to 160 ms (ffmpeg 5.1) off the end of the prompt.
PCM_CONCEAL_ARGS: tuple[str, ...] = ("-err_detect", "ignore_err")
#: Bytes read past the last whole MP3 frame of a source cut short by :func:`audio_end`: a
#: truncated last frame and a resync's worth of damage are still decoded.
TAIL_MARGIN = 64 * 1024


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the ffmpeg in use can do that matters here."""

    version: str
    soxr: bool  # aresample=resampler=soxr


_capabilities_lock = threading.Lock()


def capabilities() -> Capabilities:
    """Read ``ffmpeg -version`` once per process: the version line and whether libsoxr is
    built in. Thread-safe: a run's workers that need it at the same moment wait for one read
    instead of each starting an ffmpeg of their own."""
    with _capabilities_lock:
        return _read_capabilities()


@functools.cache
def _read_capabilities() -> Capabilities:
    proc = ffmpeg.run(["-version"], timeout=30)
    text = proc.stdout.decode("utf-8", "replace")
    first = text.splitlines()[0] if text else ""
    caps = Capabilities(first.split(" Copyright")[0], "--enable-libsoxr" in text)
    log.debug("ffmpeg capabilities: %s", caps)
    return caps


@dataclass(frozen=True, slots=True, kw_only=True)
class Shape:
    """What to write. ``container``: ``mp3``, ``wav`` or ``s16le`` (raw PCM).

    ``sample_rate``/``channels`` of ``None`` keep the source's (1 or 2 channels are offered);
    ``kbps`` is the MP3 CBR bitrate and ``lame_quality`` LAME's ``-q`` (``None``: its default).
    """

    container: str
    sample_rate: int | None = None
    channels: int | None = None
    kbps: int | None = None
    lame_quality: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Edit:
    """What to change on the way, in the output's samples and decibels."""

    trim_start: int = 0
    trim_end: int | None = None
    gain_db: float = 0.0
    limit_dbfs: float | None = None

    @property
    def is_identity(self) -> bool:
        """Whether nothing is trimmed, amplified or limited."""
        no_trim = self.trim_start == 0 and self.trim_end is None
        return no_trim and abs(self.gain_db) < 0.005 and self.limit_dbfs is None


@dataclass(frozen=True, slots=True)
class RawInput:
    """A raw PCM source (s16le) written by an earlier pass."""

    sample_rate: int
    channels: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PassResult:
    """One ffmpeg run: what its analysis saw (``None`` when it carried none) and how it ended."""

    report: DecodeReport | None
    returncode: int
    error: str | None


def convert(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str] | None,
    shape: Shape,
    edit: Edit = Edit(),
    *,
    analyse: AnalyseOptions | None = None,
    header_duration_s: float | None = None,
    raw: RawInput | None = None,
) -> PassResult:
    """Decode ``src`` once, write ``dst`` in ``shape`` with ``edit`` applied, and measure it.

    ``dst=None`` measures only (a dry run writes nothing). ``analyse=None`` skips measuring.
    Never raises on bad input: an undecodable source is a report with ``decodable=False``.
    """
    caps = capabilities()
    args = [*decode.LOG_ARGS, "-y", *_input_args(src, raw)]
    graph, tapped = _graph_args(shape, edit, caps, analyse, dst is None)
    args += graph
    if dst is not None:
        args += [*_encoder_args(shape), _file(dst)]
    if analyse is not None and not tapped:
        args += ["-map", f"[{decode.ANALYSIS_PAD}]", "-f", "null", "-"]
    size = os.path.getsize(src)
    proc = ffmpeg.run(args, timeout=decode.timeout_for(size) * 2 + 30)
    stderr = proc.stderr.decode("utf-8", "replace")
    report = None
    if analyse is not None:
        report = decode.parse_analysis(
            stderr,
            header_duration_s=header_duration_s,
            options=analyse,
            returncode=proc.returncode,
            branch_format=_branch_format(shape),
        )
    return PassResult(
        report=report,
        returncode=proc.returncode,
        error=_error_tail(stderr) if proc.returncode else None,
    )


def remux(src: str | os.PathLike[str], dst: str | os.PathLike[str], container: str) -> str | None:
    """Copy the audio stream of ``src`` into a fresh ``container`` (new headers, no tags).

    Returns ``None`` on success, else ffmpeg's last error line.
    """
    args = [
        "-v",
        "error",
        "-y",
        *_conceal_args(src),
        "-i",
        decode.input_url(src, end=audio_end(src)),
        "-map",
        "0:a:0",
    ]
    args += ["-c:a", "copy", *_clean_args()]
    if container == "mp3":
        args += ["-write_xing", "1", "-id3v2_version", "0", "-write_id3v1", "0"]
    else:
        args += ["-rf64", "never"]
    proc = ffmpeg.run([*args, "-f", container, _file(dst)], timeout=120)
    return _error_tail(proc.stderr.decode("utf-8", "replace")) if proc.returncode else None


def recode_wav(src: str | os.PathLike[str], dst: str | os.PathLike[str], codec: str) -> str | None:
    """The 16-bit PCM WAV ``src`` as a WAV in ``codec`` (G.711: ``pcm_mulaw``, ``pcm_alaw``)
    at the same rate, no tags. Returns ``None`` on success, else ffmpeg's last error line."""
    args = ["-v", "error", "-y", "-i", _file(src), "-map", "0:a:0", "-c:a", codec]
    proc = ffmpeg.run([*args, *_clean_args(), "-f", "wav", _file(dst)], timeout=120)
    return _error_tail(proc.stderr.decode("utf-8", "replace")) if proc.returncode else None


# --- the command ----------------------------------------------------------------------------


def _input_args(src: str | os.PathLike[str], raw: RawInput | None) -> list[str]:
    if raw is not None:
        layout = "mono" if raw.channels == 1 else "stereo"
        fmt = ["-f", "s16le", "-ar", str(raw.sample_rate), "-ch_layout", layout]
        return [*fmt, "-i", _file(src)]
    return [*_conceal_args(src), "-i", decode.input_url(src, end=audio_end(src))]


def audio_end(src: str | os.PathLike[str]) -> int | None:
    """Where to stop reading an MP3 over the API's cap whose frames end within its first
    5 MB (and :data:`TAIL_MARGIN`): what follows is not audio, and ffmpeg's demuxer held
    2.1 GB of memory for 10 s searching 1 GB of zeros for a frame. ``None``: read it all."""
    if os.path.getsize(src) <= api.MAX_AUDIO_BYTES or sniff_file(src) is not Container.MP3:
        return None
    scan = scan_mp3(src, max_bytes=api.MAX_AUDIO_BYTES)
    if scan.first_frame_offset is None:
        return None
    end = scan.first_frame_offset + scan.stream_bytes + TAIL_MARGIN
    if end >= api.MAX_AUDIO_BYTES:
        return None  # the frames run on past what was walked: a long MP3, decoded whole
    log.debug("%s: decoding its first %d bytes; the rest is not MP3 frames", src, end)
    return end


def _conceal_args(src: str | os.PathLike[str]) -> tuple[str, ...]:
    """The concealment options for ``src``: without packet discarding for PCM in a WAV."""
    if sniff_file(src) is Container.WAV and (scan_wav(src).codec or "").startswith("pcm_"):
        return PCM_CONCEAL_ARGS
    return CONCEAL_ARGS


def _file(path: str | os.PathLike[str]) -> str:
    """``path`` as an explicit ``file:`` URL, so a name like ``concat:a|b`` is never a protocol."""
    return "file:" + os.path.abspath(os.fspath(path))


def chain(shape: Shape, edit: Edit, caps: Capabilities) -> str:
    """The filter chain from the decoded source to the encoder (``anull`` when nothing)."""
    steps = _format_steps(shape, caps)
    if edit.trim_start or edit.trim_end is not None:
        end = f":end_sample={edit.trim_end}" if edit.trim_end is not None else ""
        steps.append(f"atrim=start_sample={edit.trim_start}{end},asetpts=N/SR/TB")
    if abs(edit.gain_db) >= 0.005:
        steps.append(f"volume={edit.gain_db:.3f}dB")
    if edit.limit_dbfs is not None:
        limit = 10 ** (edit.limit_dbfs / 20)
        steps.append(f"alimiter=limit={limit:.5f}:attack=5:release=50:level=false:latency=1")
    return ",".join(steps) or "anull"


def _format_steps(shape: Shape, caps: Capabilities) -> list[str]:
    if shape.sample_rate is None and shape.channels is None:
        return []
    opts = [f"{shape.sample_rate}"] if shape.sample_rate else []
    if shape.sample_rate and caps.soxr:
        opts.append("resampler=soxr")
    opts.append("rematrix_maxval=1")
    fmt = []
    if shape.sample_rate:
        fmt.append(f"sample_rates={shape.sample_rate}")
    if shape.channels in (1, 2):
        fmt.append(f"channel_layouts={'mono' if shape.channels == 1 else 'stereo'}")
    return [f"aresample={':'.join(opts)}", f"aformat={':'.join(fmt)}"]


def _graph_args(
    shape: Shape, edit: Edit, caps: Capabilities, tap: AnalyseOptions | None, measure_only: bool
) -> tuple[list[str], bool]:
    """The ``-filter_complex`` and its ``-map``; True when the analysis is inline (in the
    encoder's own chain: nothing else to map)."""
    body = chain(shape, edit, caps)
    out = ["-map", f"[{_OUT}]"]
    if tap is None:
        return ["-filter_complex", f"[0:a:0]{body}[{_OUT}]", *out], False
    if not measure_only and shape.channels == 1 and shape.sample_rate == tap.analysis_rate:
        inline = f"[0:a:0]{body},{decode.tap_chain(tap)}[{_OUT}]"
        return ["-filter_complex", inline, *out], True
    pre = f"[0:a:0]{body}[{_PRE}];"
    if measure_only:
        return ["-filter_complex", pre + decode.analysis_filter(tap, source=_PRE)], False
    graph = pre + decode.split_filter(tap, source=_PRE, encode=_OUT)
    return ["-filter_complex", graph, *out], False


def _clean_args() -> list[str]:
    """No metadata, chapters or version strings: the same input gives the same bytes."""
    return ["-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact"]


def _encoder_args(shape: Shape) -> list[str]:
    exact = [*_clean_args(), "-flags:a", "+bitexact"]
    if shape.container == "mp3":
        kbps = shape.kbps or 48
        lame = ["-c:a", "libmp3lame", "-b:a", f"{kbps}k", "-write_xing", "1"]
        if shape.lame_quality is not None:
            lame += ["-compression_level", str(shape.lame_quality)]
        return [*lame, "-id3v2_version", "0", "-write_id3v1", "0", *exact, "-f", "mp3"]
    if shape.container == "wav":
        return ["-c:a", "pcm_s16le", *exact, "-rf64", "never", "-f", "wav"]
    return ["-c:a", "pcm_s16le", "-f", "s16le"]


def _branch_format(shape: Shape) -> tuple[int, int] | None:
    if shape.sample_rate is None or shape.channels is None:
        return None
    return shape.sample_rate, shape.channels


_ERROR_LINE = re.compile(r"\[(error|fatal|panic)\]\s*(.*)")


def _error_tail(stderr: str) -> str:
    """ffmpeg's last error line, without its log prefixes (or a generic message)."""
    found = [m.group(2).strip() for m in map(_ERROR_LINE.search, stderr.splitlines()) if m]
    found = [line for line in found if line]
    if found:
        return found[-1]
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else "ffmpeg failed without a message"


def db_to_linear(db: float) -> float:
    """Amplitude ratio of ``db`` decibels."""
    return float(10 ** (db / 20))


def finite(value: float | None) -> float | None:
    """``value`` unless it is infinite or NaN."""
    return value if value is not None and math.isfinite(value) else None
