"""Text that fits a terminal: tables shortened in the middle and wrapped, never cut off.

This module owns the layout of the text reports (``run``, ``lint``) and of ``inspect``/``fix``
text output: :func:`table` aligns rows into at most ``width`` columns (long values shortened in
the middle, the last column wrapped under itself), :func:`wrapped` indents and wraps a detail
line, :func:`snapshot_text` says what a file is in one short line. ``width`` None means no limit
(a pipe or a file). The JSON reports keep every value whole.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from audioprep.models import Snapshot

#: The gap between columns.
GAP = "  "
#: The last column narrower than this goes on lines of its own, under the row.
MIN_LAST = 24


def middle(text: str, width: int) -> str:
    """``text`` shortened to ``width`` by an ellipsis in its middle (the end, often a file
    extension or a hash, stays)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]


def table(rows: Sequence[Sequence[str]], caps: Sequence[int], width: int | None) -> list[str]:
    """Left-aligned columns (each as wide as its widest cell, up to its cap) and a free last
    column; with ``width``, every line fits it."""
    return [line for lines in table_rows(rows, caps, width) for line in lines]


def table_rows(
    rows: Sequence[Sequence[str]],
    caps: Sequence[int],
    width: int | None,
    *,
    min_last: int = MIN_LAST,
) -> list[list[str]]:
    """:func:`table`, as the lines of each row (a wrapped row has several); the columns give
    way until the last one has ``min_last``."""
    widths = [min(max(len(row[i]) for row in rows), cap) for i, cap in enumerate(caps)]
    if width is not None:
        widths = _shrunk(widths, width - min_last)
    return [_row_lines(row, widths, width, min_last) for row in rows]


def _shrunk(widths: list[int], width: int) -> list[int]:
    """Column widths that fit ``width`` with their gaps (the widest columns give first)."""
    widths = list(widths)
    budget = width - len(GAP) * len(widths)
    while sum(widths) > budget and max(widths) > 6:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    return widths


def _row_lines(
    row: Sequence[str], widths: list[int], width: int | None, min_last: int
) -> list[str]:
    cells = [f"{middle(cell, w):<{w}}" for cell, w in zip(row, widths, strict=False)]
    head = GAP.join(cells)
    last = " ".join(row[len(widths) :])
    if width is None or not last:
        return [f"{head}{GAP}{last}".rstrip()]
    room = width - len(head) - len(GAP)
    if room < min_last:
        return [head.rstrip(), *wrapped(last, width, indent=4)]
    first, *rest = textwrap.wrap(last, room, break_on_hyphens=False) or [""]
    pad = " " * (len(head) + len(GAP))
    return [f"{head}{GAP}{first}".rstrip(), *(pad + line for line in rest)]


def wrapped(text: str, width: int | None, *, indent: int) -> list[str]:
    """``text`` indented by ``indent`` spaces (continuations by two more), wrapped to
    ``width``."""
    lead = " " * indent
    if width is None:
        return [lead + text]
    return textwrap.wrap(
        text,
        max(width, indent + 12),
        initial_indent=lead,
        subsequent_indent=lead + "  ",
        break_on_hyphens=False,
    ) or [lead]


def fitted(line: str, width: int | None) -> str:
    """One line cut to ``width`` at its end (for lines whose columns are already short)."""
    return line if width is None or len(line) <= width else line[: width - 1] + "…"


def snapshot_text(shot: Snapshot, *, unit_gap: str = " ", levels: bool = True) -> str:
    """``mp3 44.1 kHz stereo 5.6 s -23.6 LUFS peak -4.1 dBFS 90 kB``; ``unit_gap=""`` and
    ``levels=False`` give ``inspect``'s compact ``mp3 44.1kHz stereo 5.6s 90kB``."""
    g = unit_gap
    parts = [shot.format or "?"]
    if shot.sample_rate:
        parts.append(f"{shot.sample_rate / 1000:g}{g}kHz")
    if shot.channels:
        parts.append({1: "mono", 2: "stereo"}.get(shot.channels, f"{shot.channels}{g}ch"))
    if shot.duration_s is not None:
        parts.append(f"{shot.duration_s:.1f}{g}s")
    if levels and shot.loudness_lufs is not None:
        parts.append(f"{shot.loudness_lufs:.1f} LUFS")
    if levels and shot.peak_dbfs is not None:
        parts.append(f"peak {shot.peak_dbfs:.1f} dBFS")
    parts.append(_size(shot.size_bytes, g))
    return " ".join(parts)


def _size(size: int, gap: str) -> str:
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f}{gap}MB"
    return f"{size / 1000:.0f}{gap}kB" if size >= 1000 else f"{size}{gap}B"
