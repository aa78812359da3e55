"""``audioprep.run.manifest``: CSV and JSON manifests read from real files, every problem named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audioprep.errors import UsageError
from audioprep.run.manifest import ManifestEntry, as_json, read_manifest
from audioprep.send.submit import Destination


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_rows_of_one_audio_are_one_entry(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "m.csv",
        "audio,number,custom_id,job_id\n"
        "prompts/a.mp3,+356 9900-0001,c1,spring-2024\n"
        "prompts/a.mp3,35699000002,,\n"
        "\n"
        "https://cdn.example.com/b.mp3,35699000003,,\n"
        "prompts/c.wav,,,\n",
    )
    entries = read_manifest(path)
    assert entries == [
        ManifestEntry(
            str(tmp_path / "prompts/a.mp3"),
            (Destination("35699000001", "c1"), Destination("35699000002")),
            "spring-2024",
            "row 2",
        ),
        ManifestEntry(
            "https://cdn.example.com/b.mp3", (Destination("35699000003"),), None, "row 5"
        ),
        ManifestEntry(str(tmp_path / "prompts/c.wav"), (), None, "row 6"),
    ]


def test_json_reads_the_same_as_csv_and_round_trips(tmp_path: Path) -> None:
    data = [
        {
            "audio": "a.mp3",
            "destinations": [{"number": "35699000001", "custom_id": "c1"}],
            "job_id": "spring-2024",
        },
        {"audio": "/abs/b.wav"},
    ]
    entries = read_manifest(_write(tmp_path, "m.json", json.dumps(data)))
    assert [e.audio for e in entries] == [str(tmp_path / "a.mp3"), "/abs/b.wav"]
    assert entries[0].destinations == (Destination("35699000001", "c1"),)
    again = read_manifest(_write(tmp_path, "again.json", json.dumps(as_json(entries))))
    assert [(e.audio, e.destinations, e.job_id) for e in again] == [
        (e.audio, e.destinations, e.job_id) for e in entries
    ]


def test_every_problem_is_reported_at_once_with_its_row(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "m.csv",
        "audio,number,custom_id,job_id\n"
        "a.mp3,12,,\n"  # too short
        "a.mp3,35699000001,dup,short\n"  # job id too short
        "a.mp3,35699000002,dup,\n"  # custom_id twice in one job
        ",35699000003,,\n"  # no audio
        "b.mp3,,lonely,\n"  # custom_id without a number
        "c.mp3,35699000004,,short\n",  # the same job id for another audio
    )
    with pytest.raises(UsageError) as caught:
        read_manifest(path)
    message = caught.value.message
    assert message.startswith(f"manifest {path}: ")
    for expected in (
        "row 2 (a.mp3): number '12' is not a phone number",
        "custom_id 'dup' is used twice",
        "job_id 'short' must have 7-15 characters",
        "row 5: 'audio' is empty",
        "row 6: custom_id 'lonely' without a number",
        "row 7: job_id 'short' is also given to",
    ):
        assert expected in message
    assert caught.value.hint and "audio,number,custom_id,job_id" in caught.value.hint


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("m.txt", "audio\na.mp3\n", "use a .csv or .json file"),
        ("m.csv", "file,number\na.mp3,1\n", "no 'audio' column; unknown column(s) 'file'"),
        ("m.json", "{not json", "not valid JSON at line 1, column 2"),
        ("m.json", '[{"audio": "a.mp3", "n": NaN}]', "NaN is not a JSON number"),
        ("m.json", '{"audio": "a.mp3"}', "the top level must be a list"),
        ("m.json", '[{"audio": "", "extra": 1}]', "unknown key(s) 'extra'"),
        ("m.json", '[{"audio": "a.mp3", "job_id": 5}]', "'job_id' must be a string"),
    ],
)
def test_bad_manifests_are_usage_errors(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    with pytest.raises(UsageError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        read_manifest(_write(tmp_path, name, text))


def test_a_missing_manifest_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read manifest"):
        read_manifest(tmp_path / "missing.csv")
