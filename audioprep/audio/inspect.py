"""Inspection: what the API — and a phone — will make of an audio file, before anyone sends it.

This module owns the *verdict*. It combines, for one file:

* the API's rules (:mod:`audioprep.api`): MP3 or WAV by content, at most 5 MB, a legal name;
* what the API's metadata reader sees (mutagen, which trusts headers, like the API does);
* the structure (:mod:`audioprep.audio.mp3scan`, :mod:`audioprep.audio.wavscan`): frame and
  chunk walks that catch what headers hide, cheaply (``quick`` mode stops here);
* real decoding (:mod:`audioprep.audio.decode`): errors, decoded duration vs the header's
  claim, levels.

It never modifies a file. URLs are downloaded with :mod:`audioprep.audio.fetch` into a temporary
directory that is removed afterwards.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from audioprep import api
from audioprep.api import Code
from audioprep.audio.facts import Facts, examine
from audioprep.audio.sniff import Container, sniff_file
from audioprep.errors import UsageError
from audioprep.models import Problem, Severity, Snapshot
from audioprep.net import urls
from audioprep.net.urls import is_url

log = logging.getLogger(__name__)

#: Extensions that make a file in a directory "audio-looking" (directories are walked for these).
AUDIO_LOOKING = frozenset(
    [
        "mp3",
        "wav",
        "wave",
        "ogg",
        "oga",
        "opus",
        "flac",
        "m4a",
        "mp4",
        "aac",
        "aif",
        "aiff",
        "aifc",
        "amr",
        "wma",
        "webm",
        "mka",
        "au",
        "snd",
        "mp2",
    ]
)

#: The target that means standard input.
STDIN = "-"

#: Longer than this (seconds) is "unusually long for a prompt" unless the caller says otherwise.
LONG_PROMPT_S = 300.0

#: Problems that leave nothing to salvage, whatever else is true.
UNUSABLE_IDS = frozenset(
    {"file.empty", "format.not_audio", "mp3.no_frames", "decode.open_failed", "level.silent"}
)


class Verdict(StrEnum):
    """Readiness of a file for the API and a phone call."""

    OK = "ok"
    FIXABLE = "fixable"
    UNUSABLE = "unusable"


@dataclass(frozen=True, slots=True, kw_only=True)
class InspectOptions:
    """How deep to look. ``quick`` reads headers and structure only, no decoding."""

    quick: bool = False
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    #: A prompt longer than this (seconds) gets the ``duration.long`` warning.
    max_duration_s: float = LONG_PROMPT_S


@dataclass(frozen=True, slots=True, kw_only=True)
class Inspection:
    """Everything known about one file (or URL), and the verdict."""

    path: str
    verdict: Verdict
    api_code: int | None
    format: str | None = None
    codec: str | None = None
    duration_s: float | None = None
    header_duration_s: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    bit_depth: int | None = None
    bitrate: int | None = None
    bitrate_mode: str | None = None
    size_bytes: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    picture_bytes: int = 0
    loudness_lufs: float | None = None
    peak_dbfs: float | None = None
    #: The share of the energy above 3.4 kHz: what a phone call cuts away (full decode only).
    above_band_share: float | None = None
    decoded: bool = False
    problems: tuple[Problem, ...] = ()

    @property
    def errors(self) -> tuple[Problem, ...]:
        """Problems of severity error."""
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    def passes(self, *, strict: bool = False) -> bool:
        """Ready to send (with ``strict``, warnings also fail)."""
        if self.verdict is not Verdict.OK:
            return False
        return not (strict and any(p.severity is Severity.WARNING for p in self.problems))

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``audioprep inspect --json``."""
        return {
            "path": self.path,
            "verdict": self.verdict.value,
            "api_code": self.api_code,
            "format": self.format,
            "codec": self.codec,
            "duration_s": _round(self.duration_s),
            "header_duration_s": _round(self.header_duration_s),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "bit_depth": self.bit_depth,
            "bitrate": self.bitrate,
            "bitrate_mode": self.bitrate_mode,
            "size_bytes": self.size_bytes,
            "tags": self.tags,
            "picture_bytes": self.picture_bytes,
            "loudness_lufs": _round(self.loudness_lufs, 1),
            "peak_dbfs": _round(self.peak_dbfs, 1),
            "above_band_share": self.above_band_share,
            "decoded": self.decoded,
            "problems": [p.to_dict() for p in self.problems],
        }

    def snapshot(self) -> Snapshot:
        """The facts a person compares before and after a fix."""
        return Snapshot(
            format=self.format,
            duration_s=self.duration_s,
            loudness_lufs=self.loudness_lufs,
            peak_dbfs=self.peak_dbfs,
            sample_rate=self.sample_rate,
            channels=self.channels,
            size_bytes=self.size_bytes,
        )


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------


def expand_targets(targets: Iterable[str]) -> Iterator[str]:
    """Files as given, directories walked recursively for audio-looking files, URLs as given."""
    for target in targets:
        if is_url(target) or not os.path.isdir(target):
            yield target
            continue
        for root, dirs, files in os.walk(target):
            dirs.sort()
            for name in sorted(files):
                if api.split_name(name)[1].lower() in AUDIO_LOOKING:
                    yield os.path.join(root, name)


def unreadable_inputs(targets: Iterable[str]) -> list[str]:
    """``path: why`` for every local target that does not exist or cannot be read (URLs and
    ``-``, stdin, are not looked at; a glob is the caller's to expand)."""
    found = []
    for target in targets:
        if is_url(target) or target == STDIN:
            continue
        try:
            info = os.stat(target)
        except OSError as exc:
            why = "no such file or directory" if exc.errno == errno.ENOENT else exc.strerror
            found.append(f"{target}: {why}")
            continue
        wanted = os.R_OK | (os.X_OK if stat.S_ISDIR(info.st_mode) else 0)
        if not os.access(target, wanted):
            found.append(f"{target}: permission denied")
    return found


def require_inputs(targets: Iterable[str]) -> None:
    """Raise :class:`UsageError` (exit 2) naming every input that is missing or unreadable,
    before any work: a typo in a path is the command's error, not a finding about audio."""
    bad = unreadable_inputs(targets)
    if bad:
        raise UsageError(
            f"{len(bad)} input(s) cannot be read: " + "; ".join(bad),
            hint="check the paths (a directory is walked for audio files; '-' reads stdin)",
        )


def inspect_targets(
    targets: Sequence[str],
    options: InspectOptions = InspectOptions(),
    *,
    stdin: BinaryIO | None = None,
) -> list[Inspection]:
    """Inspect every target (files, directories, URLs; ``-`` reads ``stdin``, by default the
    process's), in a stable order.

    Raises:
        UsageError: a local target does not exist or cannot be read (nothing is inspected).
    """
    require_inputs(targets)
    found = _inspect_all(list(expand_targets(t for t in targets if t != STDIN)), options)
    if STDIN not in targets:
        return found
    with tempfile.TemporaryDirectory(prefix="audioprep-stdin-") as tmp:
        piped = inspect_stream(stdin if stdin is not None else sys.stdin.buffer, Path(tmp), options)
    before = targets[: list(targets).index(STDIN)]
    at = sum(1 for _ in expand_targets(t for t in before if t != STDIN))
    return [*found[:at], piped, *found[at:]]


def inspect_stream(stream: BinaryIO, work: Path, options: InspectOptions) -> Inspection:
    """Inspect what ``stream`` holds (copied to ``work`` first: the decode needs a file). It
    has no name, so the API's name rules are not applied; ``path`` is ``-``."""
    copy = work / "stdin"
    with copy.open("wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
    found = inspect_file(copy, options=options, display_name=None, name_rules=False)
    return replace(found, path=STDIN)


def _inspect_all(items: list[str], options: InspectOptions) -> list[Inspection]:
    if options.quick or options.jobs <= 1 or len(items) <= 1:
        return [inspect_target(item, options) for item in items]
    with ThreadPoolExecutor(max_workers=options.jobs) as pool:  # decoding runs in ffmpeg
        return list(pool.map(lambda item: inspect_target(item, options), items))


def inspect_target(target: str, options: InspectOptions = InspectOptions()) -> Inspection:
    """Inspect a local file or a URL."""
    if is_url(target):
        return inspect_url(target, options)
    return inspect_file(target, options=options)


def inspect_url(url: str, options: InspectOptions = InspectOptions()) -> Inspection:
    """Download ``url`` like the API would, then inspect what came back."""
    from audioprep.audio import fetch

    shown = urls.redact_url(url)
    url_problems = [_rule_problem(v) for v in api.check_audio_url(url) if v.id.startswith("url.")]
    with tempfile.TemporaryDirectory(prefix="audioprep-") as tmp:
        got = fetch.fetch(url, tmp, fetch.FetchOptions(keep_other_audio=True))
        if not got.ok or got.path is None:
            problem = got.problem or Problem("fetch.failed", Severity.ERROR, "download failed")
            code = int(got.api_code) if got.api_code is not None else None
            problems = (*url_problems, problem)
            return Inspection(
                path=shown,
                verdict=Verdict.UNUSABLE,
                api_code=code,
                size_bytes=got.size,
                problems=problems,
            )
        result = inspect_file(got.path, options=options, display_name=_url_name(url))
    extra = (*url_problems, *got.warnings)
    return _finish(replace(result, path=shown), extra)


def _url_name(url: str) -> str:
    return api.url_file_name(url)


# --------------------------------------------------------------------------------------------
# One file
# --------------------------------------------------------------------------------------------


def inspect_file(
    path: str | os.PathLike[str],
    *,
    options: InspectOptions = InspectOptions(),
    display_name: str | None = None,
    name_rules: bool = True,
) -> Inspection:
    """Inspect one local file. ``display_name`` is the name the API will see (a URL's);
    ``name_rules=False`` leaves the API's file-name rules out (a stream has no name)."""
    path = Path(path)
    try:
        found = path.stat()
    except OSError as exc:
        return _unreadable(path, str(exc.strerror))
    if not stat.S_ISREG(found.st_mode):  # a FIFO would block, a device has no size
        return _unreadable(path, "not a regular file (a pipe, device or directory)")
    size = found.st_size
    name = display_name if display_name is not None else path.name
    base = Inspection(path=str(path), verdict=Verdict.OK, api_code=None, size_bytes=size)
    problems = [_rule_problem(v) for v in api.check_file_name(name)] if name_rules else []
    if size > api.MAX_AUDIO_BYTES:
        problems.append(_too_large(size))
    container = sniff_file(path) if size else Container.EMPTY
    if container is Container.EMPTY:
        problems.append(Problem("file.empty", Severity.ERROR, "the file is empty (0 bytes)"))
        return _finish(replace(base, format=container.value), problems)
    facts = examine(path, container, quick=options.quick)
    problems += _length(facts.duration_s, options.max_duration_s)
    return _finish(_with_facts(base, container, facts), (*problems, *facts.problems))


def _length(duration_s: float | None, limit_s: float) -> list[Problem]:
    if duration_s is None or duration_s <= limit_s:
        return []
    message = (
        f"{duration_s / 60:.1f} minutes long (over {limit_s:g} s): unusually long for a prompt;"
        " callers hang up, and every call is billed for it (fix: shorten the recording)"
    )
    return [Problem("duration.long", Severity.WARNING, message)]


def _unreadable(path: Path, why: str) -> Inspection:
    problem = Problem("file.unreadable", Severity.ERROR, f"cannot read {path}: {why}")
    return Inspection(path=str(path), verdict=Verdict.UNUSABLE, api_code=None, problems=(problem,))


def _rule_problem(violation: api.RuleViolation) -> Problem:
    message = f"{violation.message} (fix: {violation.fix})" if violation.fix else violation.message
    return Problem(violation.id, Severity.ERROR, message, fixable=True)


def _too_large(size: int) -> Problem:
    return Problem(
        "api.too_large",
        Severity.ERROR,
        f"{size:,} bytes: over the API's {api.MAX_AUDIO_BYTES:,}-byte (5 MB) limit"
        " (fix: 'audioprep fix' re-encodes at a bitrate that fits)",
        fixable=True,
    )


def _with_facts(base: Inspection, container: Container, facts: Facts) -> Inspection:
    """``base`` with every fact ``facts`` knows (problems are attached by :func:`_finish`)."""
    known = {f.name: getattr(facts, f.name) for f in fields(Facts) if f.name != "problems"}
    return replace(base, format=container.value, **known)


def refresh(item: Inspection, problems: Iterable[Problem]) -> Inspection:
    """``item`` with exactly ``problems`` (a policy's severities), verdict and code redone."""
    return _finish(replace(item, problems=()), problems)


def _finish(item: Inspection, problems: Iterable[Problem]) -> Inspection:
    """Attach problems (deduplicated, errors first) and decide verdict and API code."""
    unique = list(dict.fromkeys((*item.problems, *problems)))
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    ordered = tuple(sorted(unique, key=lambda p: order[p.severity]))
    return replace(
        item, problems=ordered, verdict=_verdict(ordered), api_code=_api_code(item, ordered)
    )


def _verdict(problems: Sequence[Problem]) -> Verdict:
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if any(p.id in UNUSABLE_IDS or not p.fixable for p in errors):
        return Verdict.UNUSABLE
    return Verdict.FIXABLE if errors else Verdict.OK


def _api_code(item: Inspection, problems: Sequence[Problem]) -> int | None:
    """The code the API would most likely answer: it checks the name and format, the size,
    then reads the metadata. Damage deeper in the stream passes the API (a phone hears it)."""
    ids = {p.id for p in problems}
    if ids & {"url.scheme"}:
        return int(Code.AUDIO_URL_SCHEME)
    if any(i.startswith(("name.", "url.")) for i in ids) or ids & {
        "format.not_mp3_wav",
        "format.not_audio",
    }:
        return int(Code.AUDIO_INVALID)
    if "api.too_large" in ids:
        return int(Code.AUDIO_PROBLEM)
    if ids & {"file.empty", "meta.unreadable"}:
        return int(Code.AUDIO_CORRUPTED)
    return None


def unusable_reason(item: Inspection) -> str:
    """The first error that makes ``item`` unusable, as ``id: message``."""
    errors = [p for p in item.problems if p.severity is Severity.ERROR]
    unusable = [p for p in errors if p.id in UNUSABLE_IDS or not p.fixable] or errors
    if not unusable:
        return "unusable"
    first = unusable[0]
    return f"{first.id}: {first.message}"
