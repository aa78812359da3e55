"""Campaign manifests for ``audioprep run --manifest``: which audio goes to whom, as which job.

This module owns reading and validating a manifest. Two formats, chosen by extension:

* **CSV** (``.csv``), a header row and one row per audio and destination: ``audio`` (a path, a
  glob or a URL; required), ``number``, ``custom_id``, ``job_id``. Rows naming the same audio
  are one entry; a row with an empty ``number`` names the audio only.
* **JSON** (``.json``): a list of ``{"audio": ..., "destinations": [{"number": ...,
  "custom_id": ...}], "job_id": ...}``; ``destinations`` and ``job_id`` are optional.

Relative paths and globs are taken from the manifest's directory. Every row is checked with the
API's own rules (:mod:`audioprep.api`: a number has 7-15 digits once formatting is removed, a
job id 7-15 characters, ``custom_id`` unique within a job) and every problem found is reported
at once, each with its row, in one :class:`~audioprep.errors.UsageError`.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audioprep import api, jsonio
from audioprep.errors import UsageError
from audioprep.net.urls import is_url
from audioprep.send.submit import Destination

CSV_COLUMNS = ("audio", "number", "custom_id", "job_id")
JSON_KEYS = ("audio", "destinations", "job_id")
#: At most this many problems are listed (the count says how many more there were).
MAX_LISTED = 20

FORMAT_HINT = (
    "CSV: a header row 'audio,number,custom_id,job_id' (audio required), one row per audio and "
    'number; JSON: [{"audio": "prompt.mp3", "destinations": [{"number": "35699000001", '
    '"custom_id": "c1"}], "job_id": "spring-24"}]'
)


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One audio of a manifest and where it goes. ``audio`` is resolved against the manifest's
    directory (URLs as written); ``where`` names its first row for messages."""

    audio: str
    destinations: tuple[Destination, ...] = ()
    job_id: str | None = None
    where: str = ""


@dataclass(slots=True)
class _Draft:
    """An entry being assembled from rows."""

    audio: str
    where: str
    destinations: list[Destination] = field(default_factory=list)
    job_id: str | None = None


def read_manifest(path: str | os.PathLike[str]) -> list[ManifestEntry]:
    """Read and validate a manifest; entries in the order their audio first appears.

    Raises:
        UsageError: the file cannot be read, has an unknown format or columns, or any row
            breaks a rule (all of them are listed).
    """
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise UsageError(f"manifest {source}: use a .csv or .json file", hint=FORMAT_HINT)
    try:
        text = source.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read manifest {source}: {exc}") from exc
    problems: list[str] = []
    drafts = _csv_drafts(text, problems) if suffix == ".csv" else _json_drafts(text, problems)
    entries = [_entry(draft, source.parent, problems) for draft in drafts]
    _check_job_ids(entries, problems)
    if problems:
        raise UsageError(_summary(source, problems), hint=FORMAT_HINT)
    return entries


# --- CSV -----------------------------------------------------------------------------------


def _csv_drafts(text: str, problems: list[str]) -> list[_Draft]:
    reader = csv.DictReader(text.splitlines())
    try:
        return _csv_rows(reader, problems)
    except csv.Error as exc:  # a field over the csv module's limit, a NUL byte...
        problems.append(f"row {reader.line_num + 1}: not CSV this reader takes: {exc}")
        return []


def _csv_rows(reader: csv.DictReader[str], problems: list[str]) -> list[_Draft]:
    columns = [(name or "").strip().lower() for name in reader.fieldnames or ()]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    header = [] if "audio" in columns else ["no 'audio' column"]
    if unknown:
        header.append(f"unknown column(s) {', '.join(map(repr, unknown))}")
    if header:
        problems.append("header: " + "; ".join(header))
        return []
    reader.fieldnames = columns
    drafts: dict[str, _Draft] = {}
    for row in reader:  # numbered as the file's lines: blank lines count, as in an editor
        _csv_row(row, f"row {reader.line_num}", drafts, problems)
    return list(drafts.values())


def _csv_row(
    row: Mapping[str, str | None], where: str, drafts: dict[str, _Draft], problems: list[str]
) -> None:
    values = {key: (row.get(key) or "").strip() for key in CSV_COLUMNS}
    if not any(values.values()):
        return  # a blank line
    if not values["audio"]:
        problems.append(f"{where}: 'audio' is empty")
        return
    draft = drafts.setdefault(values["audio"], _Draft(values["audio"], where))
    _set_job_id(draft, values["job_id"] or None, where, problems)
    if values["number"]:
        draft.destinations.append(Destination(values["number"], values["custom_id"] or None))
    elif values["custom_id"]:
        problems.append(f"{where}: custom_id {values['custom_id']!r} without a number")


def _set_job_id(draft: _Draft, job_id: str | None, where: str, problems: list[str]) -> None:
    if job_id is None:
        return
    if draft.job_id is not None and draft.job_id != job_id:
        problems.append(
            f"{where}: job_id {job_id!r} differs from {draft.job_id!r} given for the same audio"
            f" ({draft.where})"
        )
        return
    draft.job_id = job_id


# --- JSON ----------------------------------------------------------------------------------


def _json_drafts(text: str, problems: list[str]) -> list[_Draft]:
    try:
        data = jsonio.loads(text)
    except jsonio.JSONError as exc:
        problems.append(exc.message)
        return []
    if not isinstance(data, list):
        problems.append("the top level must be a list of objects")
        return []
    drafts: dict[str, _Draft] = {}
    for index, item in enumerate(data):
        _json_item(item, f"item {index}", drafts, problems)
    return list(drafts.values())


def _json_item(item: object, where: str, drafts: dict[str, _Draft], problems: list[str]) -> None:
    if not isinstance(item, dict):
        problems.append(f"{where}: not an object")
        return
    unknown = sorted(set(item) - set(JSON_KEYS))
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")
    audio = item.get("audio")
    if not isinstance(audio, str) or not audio.strip():
        problems.append(f"{where}: 'audio' must be a non-empty string")
        return
    draft = drafts.setdefault(audio.strip(), _Draft(audio.strip(), where))
    job_id = item.get("job_id")
    if job_id is not None and not isinstance(job_id, str):
        problems.append(f"{where}: 'job_id' must be a string")
    else:
        _set_job_id(draft, job_id, where, problems)
    draft.destinations.extend(_json_destinations(item.get("destinations", []), where, problems))


def _json_destinations(value: object, where: str, problems: list[str]) -> Iterable[Destination]:
    if not isinstance(value, list):
        problems.append(f"{where}: 'destinations' must be a list")
        return
    for index, dest in enumerate(value):
        here = f"{where}.destinations[{index}]"
        if not isinstance(dest, dict) or set(dest) - {"number", "custom_id"}:
            problems.append(f"{here}: must be an object with 'number' and optional 'custom_id'")
            continue
        number, custom_id = dest.get("number"), dest.get("custom_id")
        if not isinstance(number, str | int) or isinstance(number, bool):
            problems.append(f"{here}: 'number' must be a string")
            continue
        yield Destination(str(number), None if custom_id is None else str(custom_id))


# --- rules ---------------------------------------------------------------------------------


def _entry(draft: _Draft, base: Path, problems: list[str]) -> ManifestEntry:
    audio = draft.audio if is_url(draft.audio) else _resolve(draft.audio, base)
    kept: list[Destination] = []
    seen_ids: set[str] = set()
    for dest in draft.destinations:
        digits = api.sanitise_number(dest.number)
        if digits is None or not api.number_length_ok(digits):
            problems.append(
                f"{draft.where} ({draft.audio}): number {dest.number!r} is not a phone number"
                f" ({api.NUMBER_MIN_DIGITS}-{api.NUMBER_MAX_DIGITS} digits)"
            )
            continue
        if dest.custom_id is not None and dest.custom_id in seen_ids:
            problems.append(
                f"{draft.where} ({draft.audio}): custom_id {dest.custom_id!r} is used twice"
                " (it must be unique within a job, -102)"
            )
        if dest.custom_id is not None:
            seen_ids.add(dest.custom_id)
        kept.append(Destination(digits, dest.custom_id))
    if draft.job_id is not None and not api.job_id_ok(draft.job_id):
        problems.append(
            f"{draft.where} ({draft.audio}): job_id {draft.job_id!r} must have"
            f" {api.JOB_ID_MIN}-{api.JOB_ID_MAX} characters (-99)"
        )
    return ManifestEntry(audio, tuple(kept), draft.job_id, draft.where)


def _resolve(audio: str, base: Path) -> str:
    path = Path(audio).expanduser()
    return str(path if path.is_absolute() else base / path)


def _check_job_ids(entries: Sequence[ManifestEntry], problems: list[str]) -> None:
    owners: dict[str, ManifestEntry] = {}
    for entry in entries:
        if entry.job_id is None:
            continue
        first = owners.setdefault(entry.job_id, entry)
        if first is not entry:
            problems.append(
                f"{entry.where}: job_id {entry.job_id!r} is also given to {first.audio!r}"
                f" ({first.where}); a job id names one job"
            )


def _summary(source: Path, problems: Sequence[str]) -> str:
    listed = [f"  {p}" for p in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        listed.append(f"  ... and {len(problems) - MAX_LISTED} more")
    return f"manifest {source}: {len(problems)} problem(s)\n" + "\n".join(listed)


def as_json(entries: Sequence[ManifestEntry]) -> list[dict[str, Any]]:
    """The entries in the JSON manifest format (for tools and tests)."""
    return [
        {
            "audio": e.audio,
            "destinations": [
                {"number": d.number, **({"custom_id": d.custom_id} if d.custom_id else {})}
                for d in e.destinations
            ],
            **({"job_id": e.job_id} if e.job_id else {}),
        }
        for e in entries
    ]
