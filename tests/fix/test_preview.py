"""``audioprep preview``: what a caller hears, checked by decoding it (issue [5/5])."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audioprep.audio import decode
from audioprep.audio.inspect import Verdict, inspect_file
from audioprep.audio.wavscan import scan_wav
from audioprep.errors import ExitCode
from audioprep.fix.preview import preview_name
from tests.conftest import Cli
from tests.support.spectrum import band_db


def wav_format(path: Path) -> tuple[str | None, int | None, int | None]:
    """The codec, rate and channels the WAV's own header declares."""
    scan = scan_wav(path)
    return scan.codec, scan.sample_rate, scan.channels


SAMPLES = Path(__file__).resolve().parents[2] / "samples"
AUDIO = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".mp3", ".wav", ".ogg"))


@pytest.fixture(scope="module")
def previews(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    from click.testing import CliRunner

    from audioprep.cli.app import cli

    out = tmp_path_factory.mktemp("previews")
    result = CliRunner().invoke(cli, ["preview", str(SAMPLES), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    return {Path(str(r["source"])).name: r for r in json.loads(result.stdout)}


@pytest.mark.parametrize("source", AUDIO, ids=lambda p: p.name)
def test_every_sample_becomes_what_a_caller_hears(
    previews: dict[str, dict[str, object]], source: Path
) -> None:
    output = Path(str(previews[source.name]["output"]))
    assert output.name == preview_name(str(source)) and output.parent.is_dir()
    assert wav_format(output) == ("pcm_mulaw", 8000, 1)
    found = inspect_file(output)
    assert found.verdict is Verdict.OK, found.problems
    heard = decode.analyse(output).decoded_duration_s
    original = decode.analyse(source).decoded_duration_s
    assert heard is not None and original is not None
    assert abs(heard - original) <= 0.020, (heard, original)
    above, band = band_db(output, 8000, [(3600, 4000), (300, 3400)])
    assert band - above >= 30, (source.name, band - above)


def test_alaw_and_the_band_edges(tmp_path: Path, run_cli: Cli) -> None:
    source = SAMPLES / "Appointment Reminder (final).mp3"
    run_cli("preview", str(source), "-o", str(tmp_path), "--codec", "alaw")
    (output,) = tmp_path.glob("*.wav")
    assert wav_format(output) == ("pcm_alaw", 8000, 1)
    low, band = band_db(output, 8000, [(20, 150), (300, 3400)])
    assert band - low >= 30  # the bass under 300 Hz is gone too


def test_preview_of_nothing_audio_is_a_usage_error(tmp_path: Path, run_cli: Cli) -> None:
    run_cli("preview", str(tmp_path), "-o", str(tmp_path / "out"), expect=ExitCode.USAGE)
    run_cli("preview", str(tmp_path / "gone.mp3"), "-o", str(tmp_path), expect=ExitCode.USAGE)
