"""``audioprep fix`` over a batch: sources, output names, and the strategy for each file.

This module owns what ``fix`` does with the targets it is given: directories walked, URLs
downloaded, a legal and distinct output name per source, the strategy a profile calls for
(:mod:`audioprep.fix.keep` or :mod:`audioprep.fix.voice`) run on a
:class:`~audioprep.fix.job.FixJob` in a temporary folder beside the output. ``docs/fix.md``
has the sequence and its reasons.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from audioprep import api, tempfiles
from audioprep.audio import decode
from audioprep.audio.inspect import (
    Inspection,
    InspectOptions,
    Verdict,
    expand_targets,
    inspect_file,
    require_inputs,
    unusable_reason,
)
from audioprep.errors import UsageError
from audioprep.fix import keep, profiles, voice
from audioprep.fix.job import FixJob
from audioprep.fix.model import FixOptions, FixResult, Source
from audioprep.fix.profiles import Profile
from audioprep.models import ProfileName
from audioprep.net.urls import is_url


def fix_targets(targets: Sequence[str], options: FixOptions) -> list[FixResult]:
    """Fix every target (files, directories recursively, URLs); results in input order.

    Raises:
        UsageError: a local target does not exist or cannot be read (nothing is fixed).
    """
    require_inputs(targets)
    profile = profiles.get_profile(options.profile, options.custom_profiles)
    outdir = Path(options.outdir)
    given = set(targets)
    found = [t for t in expand_targets(targets) if t in given or not _inside(t, outdir)]
    sources = [_source(t) for t in found]
    if not sources:
        raise UsageError("no audio-looking files found in " + ", ".join(targets))
    names = output_names(sources, profile)
    if not options.dry_run:
        _make_outdir(outdir)
        tempfiles.remove_leftovers(outdir)  # what a killed fix left here
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
        # realpath, not Path.resolve: a symlink loop is an entry to report, not an error here
        return Path(os.path.realpath(target)).is_relative_to(os.path.realpath(directory))
    except OSError:
        return False


def _source(target: str) -> Source:
    if is_url(target):
        from audioprep.net.urls import redact_url

        name = api.url_file_name(target) or "audio"
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

    The name is :func:`audioprep.api.safe_name` of the source's name with the profile's
    extension; sources that would share one (compared case-insensitively) are taken in sorted
    order and the later ones get ``-2``, ``-3``...
    """
    wanted = [api.safe_name(s.name, extension=_extension(s, profile)) for s in sources]
    taken: set[str] = set()
    chosen: dict[int, str] = {}
    for i in sorted(range(len(sources)), key=lambda i: (sources[i].target, i)):
        stem, ext = api.split_name(wanted[i])
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
    ext = api.split_name(source.name)[1].lower()
    return ext if ext in api.AUDIO_EXTENSIONS else "mp3"


def fix_source(
    source: Source, output: Path, options: FixOptions, inspection: Inspection | None = None
) -> FixResult:
    """Fix one source (downloading it first if it is a URL) into ``output``.

    ``inspection`` is the caller's inspection of the source's file (structural or full), so it
    is not inspected again; without one the file's structure is inspected here. ``output``'s
    directory is created when missing (not in a dry run). Temporary files live in a hidden
    directory beside ``output`` (same file system, so the final rename is atomic) and are
    removed whatever happens, Ctrl-C included.
    """
    work_parent = None if options.dry_run else output.parent
    if work_parent is not None:
        _make_outdir(work_parent)
    with tempfiles.make_dir("fix", work_parent) as work:
        job = FixJob(source, output, Path(work), options)
        local = job.fetch() if source.is_url else Path(source.target)
        if isinstance(local, FixResult):
            return local
        return _repair(job, local, None if source.is_url else inspection)


def _repair(job: FixJob, path: Path, inspection: Inspection | None) -> FixResult:
    """The strategy the profile calls for, after a structural look at the input; the result
    says what the source and the output are (``before`` → ``after``)."""
    found = inspection or inspect_file(
        path, options=InspectOptions(quick=True), display_name=job.source.name
    )
    result = _strategy(job, path, found)
    after = job.after if result.ok and not result.planned else None
    return replace(result, before=job.before(found), after=after)


def _strategy(job: FixJob, path: Path, found: Inspection) -> FixResult:
    if found.verdict is Verdict.UNUSABLE:
        return job.fail(unusable_reason(found))
    if job.profile.name == ProfileName.KEEP:
        return keep.fix_keep(job, path, found)
    if profiles.has_shape(path, found, job.profile, job.options.max_bytes):
        report = decode.analyse(
            path, header_duration_s=found.header_duration_s, options=job.analysis()
        )
        job.measured = report
        if job.meets(report):
            return job.copy(path, found, report)
        regained = voice.regain(job, path, found, report)
        if regained is not None:
            return regained
    return voice.convert_voice(job, path, found)
