"""``audioprep.fix.profiles``: the profiles as data, the shape check on real files, the sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from audioprep import api
from audioprep.audio.inspect import InspectOptions, inspect_file
from audioprep.errors import UsageError
from audioprep.fix import profiles
from audioprep.models import DEFAULT_PROFILE, ProfileName
from tests.support import audio_factory as af

QUICK = InspectOptions(quick=True)


def test_every_name_is_a_profile_and_the_default_is_one() -> None:
    assert {profiles.get_profile(n).name for n in ProfileName} == set(ProfileName)
    assert profiles.get_profile(DEFAULT_PROFILE.value).container == "mp3"
    with pytest.raises(UsageError, match="unknown profile 'wav'") as caught:
        profiles.get_profile("wav")
    assert caught.value.hint == "use one of voice-mp3, voice-wav, keep"


def test_a_canonical_8k_wav_has_the_voice_wav_shape(tmp_path: Path) -> None:
    wav = af.write_file(tmp_path, "p.wav", af.pcm_wav_bytes(1.0))
    item = inspect_file(wav, options=QUICK)
    voice_wav = profiles.get_profile("voice-wav")
    assert profiles.has_shape(wav, item, voice_wav, api.MAX_AUDIO_BYTES)
    assert profiles.shape_problem(wav, item, voice_wav) is None
    assert not profiles.has_shape(wav, item, voice_wav, cap=1000)  # over a smaller cap
    voice_mp3 = profiles.get_profile("voice-mp3")
    assert profiles.shape_problem(wav, item, voice_mp3) == (
        "expected ('mp3', 16000, 1), got ('wav', 8000, 1)"
    )
    assert profiles.shape_problem(wav, item, profiles.get_profile("keep")) is None


def test_a_wav_with_an_extensible_header_is_not_canonical(tmp_path: Path) -> None:
    fmt = af.extensible_fmt(1, 8000, 16, af.PCM)
    audio = af.pcm_wav_bytes(0.5)[44:]
    wav = af.write_file(
        tmp_path, "x.wav", af.riff([af.chunk(b"fmt ", fmt), af.chunk(b"data", audio)])
    )
    item = inspect_file(wav, options=QUICK)
    problem = profiles.shape_problem(wav, item, profiles.get_profile("voice-wav"))
    assert problem is not None and "expected ('fmt ', 'data') and no header problems" in problem


def test_an_mp3_has_the_voice_shape_only_as_tagless_mpeg2_cbr(tmp_path: Path) -> None:
    shape = profiles.get_profile("voice-mp3")
    good = af.make_mp3(
        tmp_path, "good.mp3", seconds=1, rate=16000, channels=1, bitrate="48k", id3=False
    )
    assert profiles.shape_problem(good, inspect_file(good, options=QUICK), shape) is None
    tagged = af.make_mp3(tmp_path, "tagged.mp3", seconds=1, rate=16000, channels=1, bitrate="48k")
    assert (
        profiles.shape_problem(tagged, inspect_file(tagged, options=QUICK), shape) == "tags present"
    )
    vbr = af.make_mp3(
        tmp_path, "vbr.mp3", seconds=1, rate=16000, channels=1, vbr_quality=5, id3=False
    )
    found = profiles.shape_problem(vbr, inspect_file(vbr, options=QUICK), shape)
    assert found is not None and "expected CBR" in found


def test_sizes_fit_the_cap() -> None:
    cap = api.MAX_AUDIO_BYTES
    assert profiles.wav_bytes(1.0, 8000, 1) == profiles.WAV_HEADER_BYTES + 16000
    longest = profiles.max_wav_seconds(8000, 1, cap)
    assert profiles.wav_bytes(longest, 8000, 1) <= cap - profiles.SIZE_MARGIN
    assert profiles.wav_bytes(longest + 1, 8000, 1) > cap - profiles.SIZE_MARGIN
    floor = profiles.MPEG2_LADDER[-1]
    seconds = profiles.max_mp3_seconds(floor, 16000, cap)
    assert profiles.fit_mp3_kbps(seconds, profiles.MPEG2_LADDER, 16000, cap) == floor
    assert profiles.fit_mp3_kbps(seconds * 1.01, profiles.MPEG2_LADDER, 16000, cap) is None
    assert profiles.mp3_frame_samples(44100) == 1152 and profiles.mp3_frame_samples(16000) == 576
    assert profiles.describe_seconds(42) == "42.0 s"
    assert profiles.describe_seconds(825) == "13 min 45 s"
    assert profiles.describe_seconds(600) == "10 min"
