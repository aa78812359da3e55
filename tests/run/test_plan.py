"""``audioprep.run.plan``: which items a run has, from sources and a manifest, on real files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from audioprep.errors import UsageError
from audioprep.run.manifest import ManifestEntry
from audioprep.run.plan import audio_targets, plan_items, source_id, source_name
from audioprep.send.submit import Destination
from tests.support.audio_factory import pcm_wav_bytes, write_file

URL = "https://cdn.example.com/p/Hello%20World.mp3?X-Amz-Signature=secret"


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    folder = tmp_path / "prompts"
    for name in ("b.wav", "a.wav", "nested/c.wav", "notes.txt"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        write_file((folder / name).parent, Path(name).name, pcm_wav_bytes(0.2))
    return folder


def test_identity_and_name_of_a_source(tmp_path: Path) -> None:
    assert source_id("x.mp3") == "file:" + os.path.abspath("x.mp3")
    assert source_id(URL).startswith("url:") and "secret" not in source_id(URL)
    assert source_name(URL) == "Hello World.mp3"
    assert source_name("https://h/") == "audio"
    assert source_name(str(tmp_path / "dir" / "x.wav")) == "x.wav"


def test_directories_walk_sorted_and_globs_expand(prompts: Path, tmp_path: Path) -> None:
    walked = audio_targets(str(prompts))
    assert [Path(t).relative_to(prompts).as_posix() for t in walked] == [
        "a.wav",
        "b.wav",
        "nested/c.wav",
    ]
    globbed = audio_targets(str(prompts / "*.wav"))
    assert [Path(t).name for t in globbed] == ["a.wav", "b.wav"]
    assert audio_targets(str(prompts / "*.none")) == [str(prompts / "*.none")]
    assert audio_targets(str(prompts), exclude=[prompts / "nested"]) == walked[:2]
    assert audio_targets(URL) == [URL]


def test_items_are_unique_named_legally_and_never_show_a_signature(prompts: Path) -> None:
    people = (Destination("35699000001"),)
    items = plan_items(
        [str(prompts / "a.wav"), str(prompts), URL],
        destinations=people,
        outdir="out",
        profile="voice-mp3",
    )
    assert [i.index for i in items] == [0, 1, 2, 3]
    assert [Path(i.source).name for i in items[:3]] == ["a.wav", "b.wav", "c.wav"]  # a.wav once
    assert [i.output for i in items] == [
        os.path.join("out", n) for n in ("a.mp3", "b.mp3", "c.mp3", "Hello_World.mp3")
    ]
    assert items[3].shown == "https://cdn.example.com/p/Hello%20World.mp3"
    assert all(i.destinations == people for i in items)


def test_the_manifest_names_destinations_and_job_ids(prompts: Path) -> None:
    a = str(prompts / "a.wav")
    entries = [
        ManifestEntry(a, (Destination("35699000002"),), "spring-2024", "row 2"),
        ManifestEntry(a, (Destination("35699000003"),), None, "row 3"),
    ]
    items = plan_items([a], manifest=entries, outdir="o", profile="voice-wav")
    assert len(items) == 1
    (item,) = items
    assert item.from_manifest and item.job_id == "spring-2024"
    assert [d.number for d in item.destinations] == ["35699000002", "35699000003"]
    assert item.output == os.path.join("o", "a.wav")


def test_a_job_id_names_one_file(prompts: Path) -> None:
    entry = ManifestEntry(str(prompts), (), "spring-2024", "row 2")
    with pytest.raises(UsageError, match="a job id names one audio file"):
        plan_items([], manifest=[entry], outdir="o", profile="voice-mp3")


def test_nothing_to_do_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no audio-looking files"):
        plan_items([str(tmp_path / "empty")], outdir="o", profile="voice-mp3")
