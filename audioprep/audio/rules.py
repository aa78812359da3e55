"""Every problem id audioprep reports, with its usual severity and what it means.

This module owns the list people paste from (``audioprep rules``) and policies are checked
against (:mod:`audioprep.audio.policy`): an id not listed here is a configuration error. A
test keeps it complete: every id the source can report is in :data:`RULES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from audioprep.models import Severity

E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO  # N: a note


@dataclass(frozen=True, slots=True)
class Rule:
    """One problem id: its usual severity (some are errors or warnings by degree) and meaning."""

    id: str
    severity: Severity
    meaning: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``audioprep rules --json``."""
        return {"id": self.id, "severity": self.severity.value, "meaning": self.meaning}


_TABLE: tuple[tuple[str, Severity, str], ...] = (
    ("name.characters", E, "the file name has characters the API refuses (-107)"),
    ("name.extension", E, "not .mp3 or .wav: the API refuses the name (-107)"),
    ("name.extension_case", W, "an upper-case extension some servers match case-sensitively"),
    ("url.scheme", E, "the audio URL is not http(s) with a host (-111)"),
    ("url.characters", E, "the URL's file name has characters the API refuses"),
    ("url.query", W, "a query string (a presigned URL?) that may expire mid-campaign"),
    ("url.plain_http", N, "the URL uses plain http"),
    ("file.empty", E, "the file is empty"),
    ("file.unreadable", E, "the file cannot be read"),
    ("file.missing", W, "a path that names no file (check: only its name was judged)"),
    ("format.not_audio", E, "the bytes are not audio (HTML, an image, an archive, zeros...)"),
    ("format.not_mp3_wav", E, "audio, but not MP3 or WAV: the API refuses it (-108)"),
    ("api.too_large", E, "over the API's 5 MB limit (-106)"),
    ("fetch.scheme", E, "the URL's scheme cannot be downloaded"),
    ("fetch.bad_url", E, "the URL cannot be parsed"),
    ("fetch.unreachable", E, "the host cannot be reached"),
    ("fetch.timeout", E, "the download timed out"),
    ("fetch.http_status", E, "the server answered an error status"),
    ("fetch.redirects", E, "too many redirects"),
    ("fetch.incomplete", E, "the download ended before its announced length"),
    ("fetch.too_large", E, "the download is larger than the API takes"),
    ("fetch.empty", E, "the server sent no bytes"),
    ("fetch.not_audio", E, "the server sent something that is not audio"),
    ("fetch.wrong_format", E, "the server sent audio that is not MP3 or WAV"),
    ("fetch.unrecognised", E, "the server sent bytes of no known kind"),
    ("fetch.content_type", W, "the Content-Type header does not match the bytes"),
    ("fetch.failed", E, "the download failed"),
    ("mp3.no_frames", E, "no MPEG audio frames: nothing to play"),
    ("mp3.not_mpeg_file", E, "the file is not an MPEG stream"),
    ("mp3.layer_not_3", E, "MPEG Layer I/II, not Layer III (MP3)"),
    ("mp3.truncated_frame", E, "the last frame is cut short: the file was truncated"),
    ("mp3.xing_frames_mismatch", E, "the Xing/Info frame count disagrees with the frames"),
    ("mp3.xing_bytes_mismatch", W, "the Xing/Info byte count disagrees with the stream"),
    ("mp3.vbr_without_header", W, "VBR without a Xing/VBRI header: durations misread"),
    ("mp3.junk_before", W, "bytes that are not audio before the first frame"),
    ("mp3.trailing_junk", W, "bytes that are not audio after the last frame"),
    ("mp3.resync", W, "sync lost mid-stream (damage or glued files)"),
    ("mp3.inner_tag", W, "a tag between frames (files glued together)"),
    ("mp3.mixed_stream", W, "the stream changes rate, version or channels"),
    ("mp3.embedded_picture", W, "embedded artwork costs bytes of the 5 MB"),
    ("wav.not_riff", E, "not a RIFF/WAVE file"),
    ("wav.not_wave", E, "RIFF, but not WAVE"),
    ("wav.no_fmt", E, "no 'fmt ' chunk"),
    ("wav.fmt_invalid", E, "the 'fmt ' chunk is invalid"),
    ("wav.fmt_after_data", W, "the 'fmt ' chunk comes after the audio"),
    ("wav.no_data", E, "no 'data' chunk: no audio"),
    ("wav.empty_audio", E, "a 'data' chunk with no audio"),
    ("wav.data_truncated", E, "the audio is shorter than its chunk says"),
    ("wav.data_size_placeholder", W, "a streaming recorder's placeholder size"),
    ("wav.riff_size_mismatch", W, "the RIFF size disagrees with the file"),
    ("wav.chunk_past_eof", E, "a chunk runs past the end of the file"),
    ("wav.odd_chunk_no_pad", W, "an odd-sized chunk without its pad byte"),
    ("wav.partial_sample_frame", W, "the audio ends in a partial sample"),
    ("wav.trailing_junk", W, "bytes after the last chunk"),
    ("wav.block_align_mismatch", E, "block align disagrees with channels and bits"),
    ("wav.byte_rate_mismatch", W, "byte rate disagrees with rate and block align"),
    ("wav.sample_rate", E, "a sample rate no real audio has (a lying header)"),
    ("wav.compressed", W, "compressed audio in a WAV (ADPCM, MP3...)"),
    ("wav.non_pcm", W, "not linear integer PCM (float, G.711)"),
    ("wav.extensible", W, "WAVE_FORMAT_EXTENSIBLE: the API's metadata reader may reject it"),
    ("wav.rf64", E, "RF64/BW64: not a WAV the API reads"),
    ("decode.open_failed", E, "ffmpeg cannot open it: nothing decodes"),
    ("decode.errors", E, "the decoder reported damaged audio"),
    ("decode.duration_mismatch", E, "the decoded length disagrees with the header"),
    ("decode.partial", N, "over the cap: only the first 5 MB were decoded"),
    ("level.silent", E, "digital silence: nothing to hear"),
    ("level.very_low", W, "very quiet (an error when too quiet to fix: re-record it)"),
    ("level.clipping", W, "samples at full scale: distorted, no fix undoes it"),
    ("level.leading_silence", W, "dead air before the prompt starts"),
    ("level.trailing_silence", W, "dead air after the prompt ends"),
    ("level.loudness", N, "the measured loudness and peak"),
    ("level.narrowband", W, "most of the energy lies above 3.4 kHz, which a phone call cuts"),
    ("phone.sample_rate", W, "more bandwidth than a phone line carries"),
    ("phone.channels", W, "more than one channel: calls are mono"),
    ("duration.long", W, "longer than the limit: unusually long for a prompt"),
)

#: Every rule by id, in the order ``audioprep rules`` lists them.
RULES: dict[str, Rule] = {pid: Rule(pid, sev, meaning) for pid, sev, meaning in _TABLE}
