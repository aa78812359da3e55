"""Fix profiles: what a repaired file must look like, as data, and the size arithmetic they need.

This module owns the *targets* of ``audioprep fix`` (:mod:`audioprep.fix.batch` owns getting
there): each :class:`Profile` (container, codec, rate, channels, bitrates, tags), the check
that a file already has a profile's shape (:func:`has_shape`, :func:`shape_problem`), and the
arithmetic of what fits under the size cap (:func:`fit_mp3_kbps`, :func:`max_wav_seconds`).

``docs/fix.md`` (*Profiles as data*) has the details and the measurements.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audioprep import api
from audioprep.audio import levels
from audioprep.errors import ConfigError, UsageError
from audioprep.models import ProfileName, Severity

if TYPE_CHECKING:
    from audioprep.audio.inspect import Inspection

#: Samples in one MPEG-2/2.5 Layer III frame (MPEG-1 frames hold 1152).
MPEG2_FRAME_SAMPLES = 576
#: Bitrates (kbps) an MPEG-2 Layer III CBR stream may use, highest first, down to the floor.
MPEG2_LADDER = (48, 40, 32, 24, 16, 8)
#: LAME's level change at 16 kHz mono, 16-48 kbps: -0.3 to -0.6 LU on speech, noise and tones
#: (``docs/fix.md`` has the table; 8 kbps takes up to 1.7 LU from noise-like audio).
LAME_LEVEL_DB = -0.45
#: Sample rates an MP3 stream can carry (MPEG-1, MPEG-2 and MPEG-2.5).
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
#: Bytes kept free under the cap: the frame arithmetic is exact, this only absorbs surprises.
SIZE_MARGIN = 8192
#: LAME ``-q`` of the voice profile: psychoacoustic noise shaping off, the encoder ~40 % cheaper
#: than the default ``-q 3`` (docs/fix.md: the waveform error of a spoken prompt in the
#: telephone band measured 4 dB *lower*; the phone network re-encodes to 8 kHz anyway).
VOICE_LAME_QUALITY = 7
#: Bytes of a canonical PCM WAV header (RIFF + 16-byte ``fmt `` + ``data`` chunk headers).
WAV_HEADER_BYTES = 44


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """What an output of one profile is.

    ``container``/``codec``/``sample_rate``/``channels`` are ``None`` for ``keep`` (taken from
    the input). ``bitrates_kbps`` is the CBR ladder, preferred first (MP3 only);
    ``lame_quality`` is LAME's ``-q`` (0 slowest .. 9 fastest; ``None``: LAME's default, 3).
    ``normalise`` says whether loudness normalisation and silence trimming apply.
    ``codec_level_db`` is how much the encoder changes the level of what it is given (LU):
    the fix measures the audio it hands the encoder and adds this to predict the file's
    loudness (``docs/fix.md``, "Measuring what is encoded").
    """

    name: str
    description: str
    container: str | None
    codec: str | None
    sample_rate: int | None
    channels: int | None
    bitrates_kbps: tuple[int, ...] = ()
    lame_quality: int | None = None
    normalise: bool = True
    codec_level_db: float = 0.0
    loudness_lufs: float | None = None
    true_peak_dbtp: float | None = None
    max_duration_s: float | None = None
    #: The built-in this one extends, for a user's profile (``None``: built in).
    extends: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``audioprep profiles --json``."""
        return {
            "name": self.name,
            "builtin": self.extends is None,
            "extends": self.extends,
            "description": self.description,
            "container": self.container,
            "codec": self.codec,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "bitrates_kbps": list(self.bitrates_kbps),
            "loudness_lufs": self.loudness_lufs,
            "true_peak_dbtp": self.true_peak_dbtp,
            "max_duration_s": self.max_duration_s,
            "normalise": self.normalise,
        }

    @property
    def extension(self) -> str | None:
        """The output file extension (``None``: the input's, made legal)."""
        return self.container


PROFILES: Mapping[str, Profile] = {
    ProfileName.VOICE_MP3: Profile(
        name=ProfileName.VOICE_MP3,
        description="MP3 mono 16 kHz CBR 48 kbps (lower to fit 5 MB), Xing header, no tags",
        container="mp3",
        codec="libmp3lame",
        sample_rate=16000,
        channels=1,
        bitrates_kbps=MPEG2_LADDER,
        lame_quality=VOICE_LAME_QUALITY,
        codec_level_db=LAME_LEVEL_DB,
        loudness_lufs=levels.TARGET_LUFS,
        true_peak_dbtp=levels.TRUE_PEAK_DBTP,
    ),
    ProfileName.VOICE_WAV: Profile(
        name=ProfileName.VOICE_WAV,
        description="WAV PCM 16-bit mono 8 kHz, canonical 44-byte header",
        container="wav",
        codec="pcm_s16le",
        sample_rate=8000,
        channels=1,
        loudness_lufs=levels.TARGET_LUFS,
        true_peak_dbtp=levels.TRUE_PEAK_DBTP,
    ),
    ProfileName.KEEP: Profile(
        name=ProfileName.KEEP,
        description="change only what breaks the API's rules or integrity",
        container=None,
        codec=None,
        sample_rate=None,
        channels=None,
        normalise=False,
    ),
}


def get_profile(name: str, custom: Sequence[Profile] = ()) -> Profile:
    """The profile called ``name`` (a user's ``custom`` ones first); :class:`UsageError`
    naming the choices otherwise."""
    known = all_profiles(custom)
    if name in known:
        return known[name]
    choices = ", ".join(known)
    raise UsageError(f"unknown profile {name!r}", hint=f"use one of {choices}")


def all_profiles(custom: Sequence[Profile] = ()) -> dict[str, Profile]:
    """Built-in and user profiles by name (a user's may not reuse a built-in's name)."""
    return {**PROFILES, **{p.name: p for p in custom}}


#: What a user profile's ``codec`` may be: the container and WAV format tag it makes. The API
#: takes MP3 or WAV only, so nothing else is offered.
CODECS: Mapping[str, tuple[str, int | None]] = {
    "pcm_s16le": ("wav", 1),
    "pcm_mulaw": ("wav", 7),
    "pcm_alaw": ("wav", 6),
    "mp3": ("mp3", None),
}
#: The keys a ``[profiles.NAME]`` table may hold.
PROFILE_KEYS = ("extends", "codec", "sample_rate", "channels", "loudness", "true_peak",
                "bitrate", "max_duration_s", "description")  # fmt: skip


def user_profiles(tables: Mapping[str, Mapping[str, Any]]) -> tuple[Profile, ...]:
    """The ``[profiles.NAME]`` tables of the config files as profiles, each judged at load.

    Raises:
        ConfigError: an unknown key or base, a value out of range, a name taken by a built-in,
            or a codec the API cannot take (it downloads only MP3 and WAV files).
    """
    return tuple(_user_profile(name, dict(table)) for name, table in tables.items())


def _user_profile(name: str, table: dict[str, Any]) -> Profile:
    where = f"[profiles.{name}]"
    unknown = sorted(set(table) - set(PROFILE_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}",
                          hint="known keys: " + ", ".join(PROFILE_KEYS))  # fmt: skip
    if name in PROFILES or not api.safe_segment(name) == name:
        raise ConfigError(f"{where}: the name must be new and use letters, digits, - and _")
    base = PROFILES.get(str(table.get("extends", ProfileName.VOICE_WAV.value)))
    if base is None or base.name == ProfileName.KEEP:
        raise ConfigError(f"{where}: extends must be voice-mp3 or voice-wav")
    codec = str(table.get("codec", "mp3" if base.container == "mp3" else base.codec))
    if codec not in CODECS:
        raise ConfigError(
            f"{where}: codec {codec!r} makes a file the API refuses: it downloads only MP3 and"
            " WAV (name.extension, -107)",
            hint="use one of " + ", ".join(CODECS),
        )
    return _built(name, table, base, codec, where)


def _built(name: str, table: dict[str, Any], base: Profile, codec: str, where: str) -> Profile:
    container = CODECS[codec][0]
    rate = _number(table, "sample_rate", base.sample_rate or 8000, where, 8000, 48000)
    if container == "mp3" and rate not in MP3_RATES:
        raise ConfigError(f"{where}: an MP3 cannot carry {rate} Hz", hint=f"use one of {MP3_RATES}")
    kbps = int(_number(table, "bitrate", 0, where, 0, 320))
    ladder = tuple(k for k in MPEG2_LADDER if not kbps or k <= kbps) if container == "mp3" else ()
    return Profile(
        name=name,
        description=str(table.get("description", f"{codec} {rate} Hz (extends {base.name})")),
        container=container,
        codec="libmp3lame" if codec == "mp3" else codec,
        sample_rate=int(rate),
        channels=int(_number(table, "channels", 1, where, 1, 2)),
        bitrates_kbps=(kbps,) if kbps and not ladder else ladder,
        lame_quality=base.lame_quality if container == "mp3" else None,
        codec_level_db=LAME_LEVEL_DB if container == "mp3" else 0.0,
        loudness_lufs=_optional(table, "loudness", where, -40.0, -5.0, base.loudness_lufs),
        true_peak_dbtp=_optional(table, "true_peak", where, -9.0, 0.0, base.true_peak_dbtp),
        max_duration_s=_optional(table, "max_duration_s", where, 0.1, 3600.0),
        extends=base.name,
    )


def _number(table: dict[str, Any], key: str, default: float, where: str, low: float,
            high: float) -> float:  # fmt: skip
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"{where}: {key} must be a number from {low:g} to {high:g}")
    return value


def _optional(
    table: dict[str, Any], key: str, where: str, low: float, high: float, base: float | None = None
) -> float | None:
    """``table[key]`` in range, else ``base`` (0.0 is a value, not "unset")."""
    return base if key not in table else float(_number(table, key, 0, where, low, high))


# --- conformance ------------------------------------------------------------------------------


def has_shape(path: Path, item: Inspection, profile: Profile, cap: int) -> bool:
    """Whether the input's structure already is the profile's (no decoding)."""
    errors = [p for p in item.problems if p.severity is Severity.ERROR]
    if any(not p.id.startswith("name.") for p in errors) or item.size_bytes > cap:
        return False
    if item.format != profile.container or item.sample_rate != profile.sample_rate:
        return False
    if item.channels != profile.channels or item.tags or item.picture_bytes:
        return False
    return shape_problem(path, item, profile) is None


def shape_problem(path: Path, item: Inspection, profile: Profile) -> str | None:
    """Why ``path`` is not shaped as ``profile`` demands (``None`` when it is)."""
    if profile.name == ProfileName.KEEP:
        return None
    want = (profile.container, profile.sample_rate, profile.channels)
    got = (item.format, item.sample_rate, item.channels)
    if got != want:
        return f"expected {want}, got {got}"
    checks: dict[str, Callable[[Path, Profile], str | None]] = {
        "mp3": _mp3_shape,
        "wav": _wav_shape,
    }
    return checks[profile.container or "mp3"](path, profile)


def _mp3_shape(path: Path, profile: Profile) -> str | None:
    from audioprep.audio import mp3scan  # the CLI reads ProfileName without the scanners

    scan = mp3scan.scan_mp3(path)
    kbps = scan.avg_bitrate // 1000
    version = _mpeg_version(profile.sample_rate or 16000)
    if scan.layer != 3 or scan.mpeg_version != version:
        return f"MPEG-{scan.mpeg_version} layer {scan.layer}, expected MPEG-{version} Layer III"
    if scan.bitrate_mode is not mp3scan.BitrateMode.CBR or kbps not in profile.bitrates_kbps:
        return f"{scan.bitrate_mode} {kbps} kbps, expected CBR {profile.bitrates_kbps}"
    if scan.vbr_header is None:
        return "no Xing/Info header"
    if scan.id3v2_size or scan.id3v1 or scan.apev2_size:
        return "tags present"
    return None


def _wav_shape(path: Path, profile: Profile) -> str | None:
    from audioprep.audio import wavscan

    scan = wavscan.scan_wav(path)
    chunks = tuple(c.id for c in scan.chunks)
    codec = profile.codec or "pcm_s16le"
    if codec != "pcm_s16le":  # G.711: an 18-byte fmt chunk and the fact chunk non-PCM carries
        errors = [p for p in scan.problems if p.severity is Severity.ERROR]
        if scan.codec != codec or errors or chunks not in (_G711_CHUNKS, _G711_CHUNKS[::2]):
            return f"{scan.codec} in chunks {chunks}, expected {codec} in {_G711_CHUNKS}"
        return None
    if chunks != ("fmt ", "data") or scan.problems:
        return f"chunks {chunks}, expected ('fmt ', 'data') and no header problems"
    fmt_size = scan.chunks[0].size
    if scan.format_tag != wavscan.PCM or scan.bits_per_sample != 16 or fmt_size != 16:
        return "not a canonical 16-byte PCM 16-bit fmt chunk"
    return None


_G711_CHUNKS = ("fmt ", "fact", "data")


def _mpeg_version(rate: int) -> str:
    """The MPEG version a Layer III stream at ``rate`` is (``1``, ``2`` or ``2.5``)."""
    return "1" if rate >= 32000 else ("2" if rate >= 16000 else "2.5")


# --- sizes ----------------------------------------------------------------------------------


def mp3_frame_samples(sample_rate: int) -> int:
    """Samples per Layer III frame at ``sample_rate`` (1152 for MPEG-1 rates, else 576)."""
    return 1152 if sample_rate >= 32000 else MPEG2_FRAME_SAMPLES


def mp3_bytes(duration_s: float, kbps: int, sample_rate: int) -> int:
    """Size of a CBR MP3 of ``duration_s``: whole frames (encoder delay and padding included),
    plus the Xing/Info frame, no tags."""
    spf = mp3_frame_samples(sample_rate)
    frames = math.ceil((duration_s * sample_rate + 3 * spf) / spf) + 1
    return math.ceil(frames * spf / 8 * kbps * 1000 / sample_rate)


def fit_mp3_kbps(
    duration_s: float, ladder: tuple[int, ...], sample_rate: int, cap: int
) -> int | None:
    """The highest ladder bitrate whose file stays under ``cap`` (with a margin), or ``None``."""
    for kbps in ladder:
        if mp3_bytes(duration_s, kbps, sample_rate) <= cap - SIZE_MARGIN:
            return kbps
    return None


def max_mp3_seconds(kbps: int, sample_rate: int, cap: int) -> float:
    """The longest duration a CBR MP3 at ``kbps`` can have under ``cap``."""
    spf = mp3_frame_samples(sample_rate)
    frame_bytes = spf / 8 * kbps * 1000 / sample_rate
    frames = math.floor((cap - SIZE_MARGIN) / frame_bytes) - 4  # delay, padding, Xing
    return max(0.0, frames * spf / sample_rate)


def wav_bytes(duration_s: float, sample_rate: int, channels: int, bits: int = 16) -> int:
    """Size of a canonical PCM WAV of ``duration_s``."""
    return WAV_HEADER_BYTES + round(duration_s * sample_rate) * channels * bits // 8


def max_wav_seconds(sample_rate: int, channels: int, cap: int, bits: int = 16) -> float:
    """The longest duration a canonical PCM WAV can have under ``cap``."""
    return max(0.0, (cap - SIZE_MARGIN - WAV_HEADER_BYTES) / (sample_rate * channels * bits / 8))


def describe_seconds(seconds: float) -> str:
    """``"13 min 45 s"`` / ``"42.0 s"``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"
