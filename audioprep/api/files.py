"""What the API takes as an audio file: MP3 or WAV, at most 5 MB, a legal name, a plain URL.

The rules behind -107 (name) and -111 (URL scheme) and the deterministic safe name a file is
renamed to (:func:`safe_name`). Decisions where the docs contradict themselves are in
``docs/api-notes.md`` (``D1``...).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

from audioprep.api.codes import Code

#: Largest audio file the API takes. The docs say "5 MB"; we read it as 5,000,000 bytes, the
#: stricter of the two readings, so a file we pass is never refused for size (D2).
MAX_AUDIO_BYTES = 5_000_000

#: Extensions the API accepts for audio files (case-insensitive, D3).
AUDIO_EXTENSIONS = ("mp3", "wav")


_STEM_RE = re.compile(r"[A-Za-z0-9_-]+")
# RFC 3986 unreserved + reserved characters, plus '%' for escapes: anything else is refused.
_URL_CHARS_RE = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
_SAFE_STEM_MAX = 100


@dataclass(frozen=True, slots=True)
class RuleViolation:
    """A broken API rule: the code the API answers, our stable id, and a human message."""

    code: Code
    id: str
    message: str
    fix: str | None = None


def split_name(name: str) -> tuple[str, str]:
    """Split ``name`` into stem and extension (without the dot; ``""`` when there is none)."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return name, ""
    return stem, ext


def check_file_name(name: str) -> list[RuleViolation]:
    """The file-name rule (-107): letters, digits, ``-``, ``_``, then ``.mp3`` or ``.wav``."""
    stem, ext = split_name(name)
    found: list[RuleViolation] = []
    if ext.lower() not in AUDIO_EXTENSIONS:
        shown = f".{ext}" if ext else "no extension"
        found.append(
            RuleViolation(
                Code.AUDIO_INVALID,
                "name.extension",
                f"'{name}': {shown} — the API takes only .mp3 or .wav files",
                "convert it with 'audioprep fix'",
            )
        )
    if not _STEM_RE.fullmatch(stem):
        bad = sorted({c for c in stem if not _STEM_RE.fullmatch(c)})
        shown = " ".join(repr(c) for c in bad) if bad else "an empty name"
        found.append(
            RuleViolation(
                Code.AUDIO_INVALID,
                "name.characters",
                f"'{name}': file name has {shown}; only letters, digits, '-' and '_' are allowed",
                f"rename it to '{safe_name(name)}'",
            )
        )
    return found


def split_url(url: str) -> SplitResult | None:
    """``url``'s parts, or ``None`` when it cannot be a URL at all: an unclosed IPv6 bracket, a
    port that is not a number from 1 to 65535 (-111, D18). Never raises."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    return None if port == 0 else parts


def url_file_name(url: str) -> str:
    """The file name the API sees in ``url``: its last path segment, percent-decoded (``""``
    when there is none). Never raises, even for a URL :func:`split_url` refuses."""
    parts = split_url(url)
    if parts is not None:
        path = parts.path
    else:
        rest = re.split(r"[?#]", url.partition("://")[2], maxsplit=1)[0]
        path = rest.partition("/")[2]
    return unquote(path.rsplit("/", 1)[-1])


def check_audio_url(url: str) -> list[RuleViolation]:
    """The URL rules: http/https with a host and a usable port (-111), legal characters and
    file name (-107)."""
    parts = split_url(url) if url.strip() == url else None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return [
            RuleViolation(
                Code.AUDIO_URL_SCHEME,
                "url.scheme",
                "the audio URL must start with http:// or https:// and name a host (and a port"
                " from 1 to 65535, if any)",
                "host the file on a web server or S3 ('audioprep upload')",
            )
        ]
    found: list[RuleViolation] = []
    if not _URL_CHARS_RE.fullmatch(url):
        bad = sorted({c for c in url if not _URL_CHARS_RE.fullmatch(c)})
        found.append(
            RuleViolation(
                Code.AUDIO_INVALID,
                "url.characters",
                "the URL has characters the API refuses: " + " ".join(repr(c) for c in bad),
                "upload it under a legal key ('audioprep upload')",
            )
        )
    found.extend(check_file_name(url_file_name(url)))
    return found


def safe_name(name: str, *, extension: str | None = None) -> str:
    """A legal file name for ``name``: deterministic, idempotent, never empty.

    Non-ASCII letters are transliterated where Unicode allows (``é`` → ``e``) and dropped
    otherwise; runs of other characters become one ``_``. The extension is lower-cased, and an
    extension the API does not take becomes ``extension`` (default ``mp3``, what ``fix`` writes).
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, ext = split_name(base)
    ext = ext.lower()
    if extension is not None:
        ext = extension.lower().lstrip(".")
    elif ext not in AUDIO_EXTENSIONS:
        ext = "mp3"
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_stem)
    cleaned = re.sub(r"_{2,}", "_", cleaned).strip("_")[:_SAFE_STEM_MAX].strip("_")
    return f"{cleaned or 'audio'}.{ext}"


def safe_segment(segment: str) -> str:
    """A path segment (an S3 prefix part) made of letters, digits, ``-`` and ``_`` only."""
    ascii_seg = unicodedata.normalize("NFKD", segment).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"_{2,}", "_", re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_seg)).strip("_")
    return cleaned[:_SAFE_STEM_MAX]
