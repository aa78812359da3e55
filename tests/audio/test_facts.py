"""``audioprep.audio.facts``: what a file's bytes say, from every angle, on real files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from audioprep.audio.facts import examine
from audioprep.audio.sniff import Container, sniff_file
from tests.support import audio_factory as af

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _ids(problems: tuple[object, ...]) -> list[str]:
    return [p.id for p in problems]  # type: ignore[attr-defined]


def test_an_mp3_by_its_frames_and_as_the_api_reads_it(tmp_path: Path) -> None:
    mp3 = af.make_mp3(tmp_path, "p.mp3", seconds=2, rate=44100, channels=2)
    quick = examine(mp3, Container.MP3, quick=True)
    assert (quick.codec, quick.sample_rate, quick.channels) == ("mp3", 44100, 2)
    assert quick.bitrate_mode == "cbr" and not quick.decoded and quick.loudness_lufs is None
    assert quick.duration_s == pytest.approx(2.0, abs=0.1)
    assert quick.header_duration_s == pytest.approx(2.0, abs=0.1)  # what mutagen says
    assert _ids(quick.problems) == ["phone.sample_rate", "phone.channels"]
    full = examine(mp3, Container.MP3, quick=False)
    assert full.decoded and full.loudness_lufs is not None and full.peak_dbfs is not None
    assert full.duration_s == pytest.approx(2.0, abs=0.05)  # counted while decoding


def test_a_phone_shaped_wav_has_nothing_to_note(tmp_path: Path) -> None:
    wav = af.write_file(tmp_path, "p.wav", af.pcm_wav_bytes(1.5))
    facts = examine(wav, Container.WAV, quick=False)
    assert (facts.codec, facts.sample_rate, facts.channels, facts.bit_depth) == (
        "pcm_s16le",
        8000,
        1,
        16,
    )
    assert facts.duration_s == pytest.approx(1.5, abs=0.01)
    assert facts.bitrate == 128_000
    assert [(p.id, p.severity.value) for p in facts.problems] == [("level.loudness", "info")]


def test_audio_the_api_refuses_is_fixable_and_decoded_when_asked(tmp_path: Path) -> None:
    ogg = Path(shutil.copy(SAMPLES / "callback_notice.ogg", tmp_path / "n.ogg"))
    container = sniff_file(ogg)
    quick = examine(ogg, container, quick=True)
    (problem,) = quick.problems
    assert problem.id == "format.not_mp3_wav" and problem.fixable
    full = examine(ogg, container, quick=False)
    assert full.decoded and full.sample_rate and full.duration_s
    assert "format.not_mp3_wav" in _ids(full.problems)


def test_an_html_page_is_not_audio_and_is_never_decoded(tmp_path: Path) -> None:
    page = af.write_file(tmp_path, "p.mp3", af.HTML_PAGE)
    container = sniff_file(page)
    facts = examine(page, container, quick=False)
    assert not facts.decoded
    (problem,) = facts.problems
    assert problem.id == "format.not_audio" and not problem.fixable


@pytest.mark.parametrize(
    ("data", "label"),
    [
        (bytes(20_000), "only zero bytes"),
        (b"\x89PNG\r\n\x1a\n" + bytes(2000), "an image"),
        (b"PK\x03\x04" + bytes(2000), "an archive"),
        (b"%PDF-1.4\n" + bytes(2000), "a PDF document"),
        (bytes(range(256)) * 80, "unrecognised binary data"),
        (b"\xff" * 20_000, "unrecognised binary data"),
    ],
)
def test_what_is_not_audio_is_named_for_what_it_is(tmp_path: Path, data: bytes, label: str) -> None:
    """Zeros, random bytes, 0xFF runs, images, archives and PDFs were all "an HTML page"."""
    path = af.write_file(tmp_path, "prompt.mp3", data)
    facts = examine(path, sniff_file(path), quick=False)
    (problem,) = [p for p in facts.problems if p.id == "format.not_audio"]
    assert problem.message.startswith(f"the content is {label}")
    assert "HTML" not in problem.message and "error page" not in problem.message
