"""``--report html`` looked at in a real browser: Debian's Chromium, headless, via its driver.

The page of ``run samples/ --sandbox`` is opened from disk; the browser's own logs say whether
any script failed and which URLs it requested. Without Chromium the test skips, saying so
(CI installs it, and fails without it). ``REPORT_SCREENSHOT=PATH`` keeps the screenshot
(``docs/report.png`` is made that way).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (os.access(CHROMIUM, os.X_OK) and os.access(DRIVER, os.X_OK)):
        why = "needs Debian's chromium and chromium-driver (apt-get install -y chromium"
        why += " chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1700"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _requested(driver: Any) -> set[str]:
    urls = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.add(message["params"]["request"]["url"])
    return urls


def _wait_for_audio(driver: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
    script = (
        "return [...document.querySelectorAll('section.item')].map(s => ({id: s.id,"
        " status: s.dataset.status, audio: [...s.querySelectorAll('audio')].map(a =>"
        " ({src: a.getAttribute('src'), ready: a.readyState, error: a.error && a.error.code,"
        " duration: a.duration}))}))"
    )
    deadline = time.monotonic() + timeout
    while True:
        found: list[dict[str, Any]] = driver.execute_script(script)
        ready = all(a["ready"] >= 1 or a["error"] for s in found for a in s["audio"])
        if ready or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_the_report_of_the_samples_plays_in_a_browser(
    browser: Any, tmp_path: Path, run_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = tmp_path / "review.html"
    monkeypatch.chdir(SAMPLES.parent)  # sources shown as the README's command names them
    run_cli("run", "samples/", "--sandbox", "-o", str(tmp_path / "out"), "-q",
            "--report", "html", "--report-file", str(page))  # fmt: skip
    browser.get(page.as_uri())
    sections = _wait_for_audio(browser)
    assert len(sections) == 5
    for section in sections:
        audio = section["audio"]
        assert len(audio) == 3, section  # original, output, caller preview
        for player in audio:
            assert not player["src"].startswith(("http:", "https:", "/")), player
            assert (tmp_path / player["src"]).is_file(), player
            assert player["error"] is None and player["ready"] >= 1, player
            assert player["duration"] > 1.0, player
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    folder = tmp_path.as_uri()
    outside = {u for u in _requested(browser) if not u.startswith((folder, "data:"))}
    assert outside == set()  # nothing from a CDN, a font host or anywhere else
    text = browser.find_element("tag name", "body").text
    assert "5 item(s): 2 ok, 3 fixed, 0 reused, 0 failed" in text
    assert "What was done" in text and "caller preview" in text
    assert len(browser.find_elements("css selector", "svg path.wave")) == 8  # 3 fixed: 2 each
    browser.find_element("css selector", "button[data-filter=ok]").click()
    shown = browser.execute_script(
        "return [...document.querySelectorAll('section.item')].filter(s => !s.hidden).length"
    )
    assert shown == 2
    browser.find_element("css selector", "button[data-filter=all]").click()
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("REPORT_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["REPORT_SCREENSHOT"])


def test_embedded_audio_is_one_file_and_lint_and_inspect_write_pages(
    browser: Any, tmp_path: Path, run_cli: Cli
) -> None:
    page = tmp_path / "one.html"
    welcome = str(SAMPLES / "welcome.mp3")
    run_cli("lint", welcome, "--report", "html", "--report-file", str(page), "--embed-audio")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.html"]  # no audio folder
    browser.get(page.as_uri())
    (section,) = _wait_for_audio(browser)
    kinds = [a["src"].split(";")[0] for a in section["audio"]]
    assert kinds == ["data:audio/mpeg", "data:audio/mpeg", "data:audio/wav"]
    assert all(a["ready"] >= 1 and a["error"] is None for a in section["audio"])
    inspected = tmp_path / "inspect.html"
    run_cli("inspect", welcome, "--report", "html", "--report-file", str(inspected))
    assert (tmp_path / "inspect-report").is_dir() and "welcome.mp3" in inspected.read_text("utf-8")


def test_the_waveform_marks_dead_air_and_clipping() -> None:
    """No browser needed: the SVG of 1 s of silence, 1 s of a clipped square wave, 0.2 s of
    silence marks the lead (and not the short tail) and the clipped columns."""
    from audioprep.run import html

    rate = html.WAVE_RATE
    samples = [0] * rate + [32767 if (i // 20) % 2 else -32768 for i in range(rate)]
    wave = html._folded(samples + [0] * (rate // 5))
    assert round(wave.lead_s, 2) == 1.0 and round(wave.trail_s, 2) == 0.2
    svg = html._svg("source", wave)
    assert svg.count('class="silence"') == 1 and "1.0 s of silence" in svg
    assert svg.count('class="clip"') >= html.WAVE_COLUMNS // 3
