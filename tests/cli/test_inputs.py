"""Inputs read the same way in every command: directories walked, a missing path is exit 2 and
named, ``-`` is stdin; ``-v`` gives the same detail in ``inspect`` and ``fix`` as in ``run``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audioprep.errors import ExitCode
from tests.conftest import Cli

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def test_check_walks_a_directory_like_inspect(run_cli: Cli) -> None:
    checked = json.loads(run_cli("check", str(SAMPLES), "--json", expect=ExitCode.FINDINGS).stdout)
    inspected = json.loads(run_cli("inspect", str(SAMPLES), "--quick", "--json",
                                   expect=ExitCode.FINDINGS).stdout)  # fmt: skip
    assert [c["target"] for c in checked] == [i["path"] for i in inspected]
    assert len(checked) == 5 and not any(c["target"] == str(SAMPLES) for c in checked)


def test_check_says_plainly_that_a_path_names_no_file(run_cli: Cli, tmp_path: Path) -> None:
    gone = str(tmp_path / "nodir" / "greeting.mp3")
    found = json.loads(run_cli("check", gone, "missing.mp3", "--json").stdout)
    assert [c["ok"] for c in found] == [True, True]  # the name verdicts stand
    (note,) = found[0]["problems"]
    assert note["id"] == "file.missing" and "folder does not exist" in note["message"]
    assert found[1]["problems"] == []  # a bare name is a name check, as before
    text = run_cli("check", gone).stdout
    assert "no such file" in text


@pytest.mark.parametrize(
    "command",
    [["inspect"], ["inspect", "--quick"], ["lint"], ["fix", "-o", "{out}"], ["run", "-o", "{out}"]],
)
def test_a_missing_input_is_exit_2_naming_it(
    run_cli: Cli, tmp_path: Path, command: list[str]
) -> None:
    args = [a.replace("{out}", str(tmp_path / "out")) for a in command]
    gone = str(tmp_path / "nodir" / "x.mp3")
    result = run_cli(*args, str(SAMPLES / "welcome.mp3"), gone, expect=ExitCode.USAGE)
    assert f"{gone}: no such file or directory" in result.stderr
    assert result.stdout == "" and not (tmp_path / "out").exists()  # nothing done


def test_inspect_reads_stdin_for_a_dash(run_cli: Cli) -> None:
    data = (SAMPLES / "payment_due.mp3").read_bytes()
    found = json.loads(run_cli("inspect", "-", str(SAMPLES / "welcome.mp3"), "--json",
                               input=data, expect=ExitCode.FINDINGS).stdout)  # fmt: skip
    assert [i["path"] for i in found] == ["-", str(SAMPLES / "welcome.mp3")]
    assert found[0]["verdict"] == "fixable" and found[0]["size_bytes"] == len(data)
    ids = {p["id"] for p in found[0]["problems"]}
    assert "mp3.truncated_frame" in ids and not any(i.startswith("name.") for i in ids)


def test_inspect_and_fix_verbose_give_every_detail(run_cli: Cli, tmp_path: Path) -> None:
    source = str(SAMPLES / "Appointment Reminder (final).mp3")
    plain = run_cli("inspect", source, expect=ExitCode.FINDINGS).stdout
    detailed = run_cli("inspect", "-v", source, expect=ExitCode.FINDINGS).stdout
    assert "(+3 more)" in plain and "more)" not in detailed
    assert "warning phone.channels:" in detailed and "error name.characters:" in detailed
    fixed = run_cli("fix", "-v", source, "-o", str(tmp_path / "out")).stdout
    assert "before: mp3 44.1 kHz stereo" in fixed and "after:  mp3 16 kHz mono" in fixed
    assert "did: downmixed to mono (2 channels)" in fixed
