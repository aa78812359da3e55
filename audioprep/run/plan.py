"""Which items a run has: sources and manifest expanded, de-duplicated, named.

This module owns turning what the user named into :class:`PlannedItem` values, in a stable
order: URLs as given; globs expanded (``**`` recursive) and sorted; directories walked for
audio-looking files (:func:`audio_targets`); files as given. A manifest entry brings its own
destinations and job id; a file named both on the command line and in the manifest is one
item with the manifest's destinations. Each item gets a source identity (the absolute path, or
a hash of the URL: a presigned signature never reaches the state file) and a distinct, legal
output name (:func:`audioprep.fix.job.output_names`, deterministic for a given set of sources).
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

from audioprep import api
from audioprep.audio.inspect import expand_targets
from audioprep.errors import UsageError
from audioprep.fix import profiles
from audioprep.net.urls import is_url, redact_url
from audioprep.run.manifest import ManifestEntry
from audioprep.send.submit import Destination


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedItem:
    """One item of the run. ``source`` is as given (used, never shown), ``shown`` safe to
    print, ``name`` the file name the API would see, ``output`` where a fix writes."""

    index: int
    source: str
    shown: str
    source_id: str
    name: str
    output: str = ""
    destinations: tuple[Destination, ...] = ()
    job_id: str | None = None
    from_manifest: bool = False


def source_id(source: str) -> str:
    """The identity of a source in the run state: ``file:<absolute path>`` or
    ``url:<sha256 of the URL>``."""
    if is_url(source):
        return "url:" + hashlib.sha256(source.encode("utf-8", "surrogateescape")).hexdigest()
    path = os.path.abspath(source)
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:  # a file name that is not UTF-8: its bytes, percent-encoded
        return "file-bytes:" + quote(os.fsencode(path), safe="/")
    return "file:" + path


def source_name(source: str) -> str:
    """The file name the API would see: a URL's last path segment, a path's base name."""
    if is_url(source):
        return api.url_file_name(source) or "audio"
    return os.path.basename(source.rstrip("/\\")) or source


def audio_targets(source: str, exclude: Sequence[Path] = ()) -> list[str]:
    """What one source names: itself (a URL, a file, a missing path), a glob's matches, or a
    directory's audio-looking files; files under ``exclude`` (the run's own output and work
    directories) are left out."""
    if is_url(source):
        return [source]
    if glob.has_magic(source) and not os.path.exists(source):
        matches = sorted(glob.glob(source, recursive=True))
        if not matches:
            return [source]  # the check stage says it matches nothing
        return [t for m in matches for t in _walk(m, exclude)]
    return list(_walk(source, exclude))


def _walk(path: str, exclude: Sequence[Path]) -> Iterator[str]:
    if not os.path.isdir(path):
        yield path
        return
    roots = [Path(os.path.realpath(p)) for p in exclude]  # realpath never raises on a loop
    for found in expand_targets([path]):
        resolved = Path(os.path.realpath(found))
        if not any(resolved.is_relative_to(root) for root in roots):
            yield found


def plan_items(
    sources: Sequence[str],
    *,
    manifest: Sequence[ManifestEntry] = (),
    destinations: tuple[Destination, ...] = (),
    outdir: str,
    profile: str,
    exclude: Sequence[Path] = (),
    custom_profiles: Sequence[profiles.Profile] = (),
) -> list[PlannedItem]:
    """Every item of a run, in order, with output paths under ``outdir``.

    Raises:
        UsageError: nothing to do, or a manifest job id names a glob or directory that
            expands to more than one file.
    """
    items: dict[str, PlannedItem] = {}
    for source in sources:
        for target in audio_targets(source, exclude):
            _add(items, _item(target, destinations=destinations))
    for entry in manifest:
        targets = audio_targets(entry.audio, exclude)
        if entry.job_id is not None and len(targets) > 1:
            raise UsageError(
                f"manifest {entry.where}: job_id {entry.job_id!r} is given to {entry.audio!r},"
                f" which names {len(targets)} files; a job id names one audio file"
            )
        for target in targets:
            _add(items, _manifest_item(target, entry))
    if not items:
        raise UsageError("no audio-looking files found in " + ", ".join(sources or ["manifest"]))
    return _named(list(items.values()), outdir, profiles.get_profile(profile, custom_profiles))


def _item(target: str, *, destinations: tuple[Destination, ...]) -> PlannedItem:
    return PlannedItem(
        index=0,
        source=target,
        shown=redact_url(target) if is_url(target) else target,
        source_id=source_id(target),
        name=source_name(target),
        destinations=destinations,
    )


def _manifest_item(target: str, entry: ManifestEntry) -> PlannedItem:
    item = _item(target, destinations=entry.destinations)
    return replace(item, job_id=entry.job_id, from_manifest=True)


def _add(items: dict[str, PlannedItem], item: PlannedItem) -> None:
    """Keep the first occurrence; the manifest's destinations win, and manifest entries for
    the same file are merged."""
    found = items.get(item.source_id)
    if found is None:
        items[item.source_id] = item
        return
    if not item.from_manifest:
        return
    if not found.from_manifest:
        items[item.source_id] = replace(
            found, destinations=item.destinations, job_id=item.job_id, from_manifest=True
        )
        return
    if item.job_id and found.job_id and item.job_id != found.job_id:
        raise UsageError(f"{item.shown} is given two job ids: {found.job_id}, {item.job_id}")
    merged = _merge(found.destinations, item.destinations)
    items[item.source_id] = replace(found, destinations=merged, job_id=found.job_id or item.job_id)


def _merge(*groups: Iterable[Destination]) -> tuple[Destination, ...]:
    seen: dict[str, Destination] = {}
    for group in groups:
        for dest in group:
            seen.setdefault(dest.number, dest)
    return tuple(seen.values())


def _named(items: list[PlannedItem], outdir: str, profile: profiles.Profile) -> list[PlannedItem]:
    from audioprep.fix.batch import output_names
    from audioprep.fix.model import Source

    sources = [Source(i.source, i.shown, i.name) for i in items]
    names = output_names(sources, profile)
    return [
        replace(item, index=index, output=os.path.join(outdir, name))
        for index, (item, name) in enumerate(zip(items, names, strict=True))
    ]
