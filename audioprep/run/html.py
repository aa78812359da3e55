"""``--report html``: one page to look at and listen to before signing a campaign off.

This module owns the review page of ``run``, ``lint`` and ``inspect``: a self-contained HTML
file (no CDN, fonts or scripts from elsewhere; everything but playback, filtering and sorting
works with JavaScript off) and, beside it, a ``<name>-report/`` folder with each item's audio:
the original, the output that is hosted, and the caller preview (:mod:`audioprep.fix.preview`).
Per item: status, verdict, every problem, before -> after, what was done, and an inline SVG
waveform of the source and of the output drawn from one decode of each, with silent edges and
clipped spans marked. ``embed_audio`` puts the audio in the page instead (one file to share).
"""

from __future__ import annotations

import base64
import html
import os
import shutil
import struct
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from audioprep.audio import ffmpeg
from audioprep.fix.job import SILENCE_DBFS
from audioprep.fix.preview import preview_file
from audioprep.models import PreviewCodec, Snapshot
from audioprep.run import layout
from audioprep.run.model import ItemReport, ItemStatus, RunReport
from audioprep.run.reports import redact, summary_line, write_report

#: The file name ``--report html`` writes when ``--report-file`` is not given.
DEFAULT_NAME = "audioprep-report.html"
#: Columns of a waveform, and the rate it is drawn from (enough for speech's envelope).
WAVE_COLUMNS, WAVE_RATE = 480, 8000
#: At this share of full scale a sample clips; silent edges longer than this (s) are marked
#: (the fix's own silence line, and more than the pad it leaves).
CLIP_LEVEL, MARKED_EDGE_S = 0.999, 0.5
_MIME = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".ogg": "audio/ogg", ".opus": "audio/ogg"}


@dataclass(frozen=True, slots=True)
class HtmlOptions:
    """Where the page goes, whether its audio is inlined (``embed_audio``), and how many
    items are prepared at once."""

    path: Path
    embed_audio: bool = False
    #: Items whose audio is prepared at once (decodes and previews run in ffmpeg).
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class Wave:
    """A waveform: per column the min and max sample (-1..1), the silent edges (seconds) and
    the clipped columns."""

    lows: tuple[float, ...]
    highs: tuple[float, ...]
    seconds: float
    lead_s: float
    trail_s: float
    clipped: tuple[int, ...]


def write_html(report: RunReport, options: HtmlOptions) -> Path:
    """Write the page and its audio folder (the page last, atomically); returns the page."""
    page = Path(os.path.abspath(options.path))
    assets = page.with_name(page.stem + "-report")
    if assets.exists():
        shutil.rmtree(assets)
    assets.mkdir(parents=True)
    numbered = list(enumerate(report.items, 1))
    with ThreadPoolExecutor(max_workers=options.jobs) as pool:  # the work is in ffmpeg
        sections = list(pool.map(lambda p: _section(p[0], p[1], assets, options), numbered))
    if options.embed_audio:
        shutil.rmtree(assets)
    write_report(page, _page(report, sections))
    return page


# --- one item -------------------------------------------------------------------------------


def _section(index: int, item: ItemReport, assets: Path, options: HtmlOptions) -> str:
    source = _local(item.path)
    hosted = _local(item.output) or source
    players: list[tuple[str, str | None]] = []
    waves: list[tuple[str, Wave | None]] = []
    if source is not None:
        players.append(("original", _audio(source, assets, f"{index:03d}-original", options)))
        waves.append(("source", _wave(source)))
    if hosted is not None:
        if hosted != source:
            players.append(("output", _audio(hosted, assets, f"{index:03d}-output", options)))
            waves.append(("output", _wave(hosted)))
        else:
            players.append(("output (the original, unchanged)", players[0][1]))
        caller = assets / f"{index:03d}-caller.wav"
        done = preview_file(hosted, caller, PreviewCodec.MULAW)
        heard = _audio(caller, assets, caller.stem, options) if done.ok else None
        players.append(("caller preview (8 kHz G.711)", heard))
    return _item_html(index, item, players, waves)


def _local(path: str | None) -> Path | None:
    if not path:
        return None
    found = Path(path)
    return found if found.is_file() else None


def _audio(src: Path, assets: Path, stem: str, options: HtmlOptions) -> str:
    """The ``src`` of an ``<audio>``: a path relative to the page, or a data URI."""
    if options.embed_audio:
        mime = _MIME.get(src.suffix.lower(), "application/octet-stream")
        return f"data:{mime};base64,{base64.b64encode(src.read_bytes()).decode('ascii')}"
    target = src if src.parent == assets else assets / (stem + src.suffix.lower())
    if target != src:
        shutil.copyfile(src, target)
    return f"{assets.name}/{target.name}"


def _wave(path: Path) -> Wave | None:
    """One decode of ``path`` (8 kHz mono, 16-bit) folded into :data:`WAVE_COLUMNS`."""
    args = ["-v", "error", "-i", f"file:{os.path.abspath(path)}", "-ac", "1"]
    args += ["-ar", str(WAVE_RATE), "-f", "s16le", "-"]
    proc = ffmpeg.run(args, timeout=120)
    raw = proc.stdout
    if proc.returncode or len(raw) < 2 * WAVE_COLUMNS:
        return None
    samples = struct.unpack(f"<{len(raw) // 2}h", raw[: len(raw) // 2 * 2])
    return _folded(samples)


def _folded(samples: Sequence[int]) -> Wave:
    step = len(samples) / WAVE_COLUMNS
    lows, highs, clipped = [], [], []
    for col in range(WAVE_COLUMNS):
        chunk = samples[int(col * step) : max(int((col + 1) * step), int(col * step) + 1)]
        low, high = min(chunk) / 32768, max(chunk) / 32768
        lows.append(low)
        highs.append(high)
        if max(-low, high) >= CLIP_LEVEL:
            clipped.append(col)
    line = 10 ** (SILENCE_DBFS / 20) * 32768  # the line the fix trims at
    loud = [i for i, s in enumerate(samples) if abs(s) > line]
    seconds = len(samples) / WAVE_RATE
    lead = (loud[0] if loud else len(samples)) / WAVE_RATE
    trail = (len(samples) - 1 - loud[-1]) / WAVE_RATE if loud else 0.0
    return Wave(tuple(lows), tuple(highs), seconds, lead, trail, tuple(clipped))


# --- markup ---------------------------------------------------------------------------------


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _item_html(
    index: int,
    item: ItemReport,
    players: list[tuple[str, str | None]],
    waves: list[tuple[str, Wave | None]],
) -> str:
    status = item.status.value
    before, after = item.before, item.after
    loud = before.loudness_lufs if before and before.loudness_lufs is not None else ""
    length = before.duration_s if before and before.duration_s is not None else ""
    head = (
        f'<section class="item {status}" id="item-{index}" data-status="{status}"'
        f' data-loudness="{loud}" data-duration="{length}" data-index="{index}">'
        f'<h2><span class="badge {status}">{_e(status)}</span> {_e(redact(item.source))}'
        f" <small>verdict {_e(item.verdict or '-')}"
        f"{_e(f' · API {item.api_code}' if item.api_code is not None else '')}</small></h2>"
    )
    parts = [head]
    if item.status is ItemStatus.FAILED:
        parts.append(f'<p class="error">{_e(redact(item.error or "failed"))}</p>')
    parts.append(_compare(before, after))
    if item.actions:
        done = "".join(f"<li>{_e(a)}</li>" for a in item.actions)
        parts.append(f"<h3>What was done</h3><ul class='actions'>{done}</ul>")
    parts.append(_problems(item))
    parts.append('<div class="waves">' + "".join(_svg(n, w) for n, w in waves) + "</div>")
    parts.append('<div class="players">' + "".join(_player(n, s) for n, s in players) + "</div>")
    return "".join(parts) + "</section>"


def _compare(before: Snapshot | None, after: Snapshot | None) -> str:
    if before is None and after is None:
        return ""
    rows = "".join(
        f"<tr><th>{label}</th><td>{_e(layout.snapshot_text(shot)) if shot else '-'}</td></tr>"
        for label, shot in (("before", before), ("after", after))
    )
    return f'<table class="compare">{rows}</table>'


def _problems(item: ItemReport) -> str:
    if not item.problems:
        return '<p class="clean">No problems found.</p>'
    rows = "".join(
        f'<li class="sev-{p.severity.value}"><b>{_e(p.severity.value)}</b> <code>{_e(p.id)}</code>'
        f" {_e(redact(p.message))}</li>"
        for p in item.problems
    )
    title = "Problems of the source" if item.actions else "Problems"
    return f"<h3>{title}</h3><ul class='problems'>{rows}</ul>"


def _svg(name: str, wave: Wave | None) -> str:
    if wave is None:
        return f"<figure><figcaption>{_e(name)}: nothing decodable</figcaption></figure>"
    w, h, mid = WAVE_COLUMNS, 80, 40
    per_s = w / wave.seconds if wave.seconds else 0
    marks = []
    if wave.lead_s > MARKED_EDGE_S:
        marks.append(_band(0, wave.lead_s * per_s, h, "silence", f"{wave.lead_s:.1f} s of silence"))
    if wave.trail_s > MARKED_EDGE_S:
        x = w - wave.trail_s * per_s
        marks.append(
            _band(x, wave.trail_s * per_s, h, "silence", f"{wave.trail_s:.1f} s of silence")
        )
    marks += [_band(c, 1, h, "clip", "clipped") for c in wave.clipped]
    path = " ".join(
        f"M{x} {mid - hi * mid:.1f}V{mid - lo * mid:.1f}"
        for x, (lo, hi) in enumerate(zip(wave.lows, wave.highs, strict=True))
    )
    caption = f"{_e(name)}: {wave.seconds:.1f} s"
    body = "".join(marks) + f'<path d="{path}" class="wave"/>'
    return (
        f'<figure><svg viewBox="0 0 {w} {h}" role="img" aria-label="{caption}"'
        f' preserveAspectRatio="none">{body}</svg><figcaption>{caption}</figcaption></figure>'
    )


def _band(x: float, width: float, h: int, kind: str, title: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="0" width="{max(width, 1):.1f}" height="{h}" class="{kind}">'
        f"<title>{_e(title)}</title></rect>"
    )


def _player(name: str, src: str | None) -> str:
    if src is None:
        return f"<figure><figcaption>{_e(name)}</figcaption><p>not available</p></figure>"
    return (
        f"<figure><figcaption>{_e(name)}</figcaption>"
        f'<audio controls preload="metadata" src="{_e(src)}"></audio></figure>'
    )


def _page(report: RunReport, sections: list[str]) -> str:
    counts = report.counts()
    buttons = "".join(
        f'<button type="button" data-filter="{s}">{s} ({n})</button>' for s, n in counts.items()
    )
    summary = _e(summary_line(report))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>audioprep {_e(report.command)} report</title><style>{_CSS}</style></head><body>"
        f"<header><h1>audioprep {_e(report.command)}: review before sending</h1>"
        f'<p class="summary">{summary}</p>'
        f'<nav><button type="button" data-filter="all">all</button>{buttons}'
        '<button type="button" data-sort="loudness">sort by loudness</button>'
        '<button type="button" data-sort="duration">sort by duration</button></nav></header>'
        f'<main id="items">{"".join(sections)}</main><script>{_JS}</script></body></html>\n'
    )


_CSS = """
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
body{margin:0;background:#f4f5f7;color:#1d2330}
header{background:#1d2330;color:#fff;padding:1rem 2rem;position:sticky;top:0;z-index:1}
h1{margin:0 0 .3rem;font-size:1.3rem}.summary{margin:.2rem 0 .6rem;opacity:.9}
nav button{margin:0 .3rem .3rem 0;border:0;border-radius:4px;padding:.3rem .7rem;
background:#3b4558;color:#fff;cursor:pointer}nav button:hover{background:#56627a}
main{padding:1rem 2rem;display:grid;gap:1rem}
.item{background:#fff;border-radius:8px;padding:1rem 1.2rem;box-shadow:0 1px 3px #0002;
border-left:6px solid #8a94a6}.item.ok{border-color:#2e9e5b}.item.fixed{border-color:#2f6fdb}
.item.reused{border-color:#7b61c9}.item.failed{border-color:#d64545}
h2{margin:0 0 .5rem;font-size:1.05rem;word-break:break-all}h2 small{color:#667;font-weight:400}
h3{margin:.7rem 0 .3rem;font-size:.9rem;color:#445}
.badge{display:inline-block;border-radius:3px;padding:0 .45rem;color:#fff;font-size:.8rem;
background:#8a94a6;text-transform:uppercase}.badge.ok{background:#2e9e5b}
.badge.fixed{background:#2f6fdb}.badge.reused{background:#7b61c9}.badge.failed{background:#d64545}
.error{color:#b02a2a;font-weight:600}.clean{color:#2e7d4f}
ul{margin:.2rem 0;padding-left:1.2rem}li{margin:.15rem 0}code{background:#eef0f4;padding:0 .25rem}
.sev-error b{color:#b02a2a}.sev-warning b{color:#a86400}.sev-info b{color:#557}
table.compare{border-collapse:collapse;font-size:.9rem}table.compare th{text-align:left;
padding:.1rem .8rem .1rem 0;color:#445}
.waves,.players{display:flex;flex-wrap:wrap;gap:1rem;margin-top:.6rem}
figure{margin:0;flex:1 1 280px}figcaption{font-size:.8rem;color:#556;margin-bottom:.2rem}
svg{width:100%;height:80px;background:#f8f9fb;border:1px solid #dde1e8;border-radius:4px}
.wave{stroke:#2f6fdb;stroke-width:1;fill:none}.silence{fill:#f2c94c55}.clip{fill:#d6454588}
audio{width:100%}
"""

_JS = """
(function(){var main=document.getElementById('items');
document.querySelectorAll('[data-filter]').forEach(function(b){b.addEventListener('click',function(){
var f=b.getAttribute('data-filter');main.querySelectorAll('.item').forEach(function(s){
s.hidden=!(f==='all'||s.getAttribute('data-status')===f);});});});
document.querySelectorAll('[data-sort]').forEach(function(b){b.addEventListener('click',function(){
var k='data-'+b.getAttribute('data-sort');var items=[].slice.call(main.querySelectorAll('.item'));
items.sort(function(x,y){var a=parseFloat(x.getAttribute(k)),c=parseFloat(y.getAttribute(k));
return (isNaN(a)?1e9:a)-(isNaN(c)?1e9:c);});items.forEach(function(s){main.appendChild(s);});});});
})();
"""
