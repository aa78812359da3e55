"""``audioprep.net.urls``: what counts as a URL, and the same URL without its secrets."""

from __future__ import annotations

import logging

import pytest

from audioprep.net.urls import is_url, redact_text, redact_url


def test_redact_url() -> None:
    assert redact_url("https://b.s3.amazonaws.com/k/a.mp3?X-Amz-Signature=x#f") == (
        "https://b.s3.amazonaws.com/k/a.mp3"
    )
    assert redact_url("https://user:pw@host:8443/a.mp3?t=1") == "https://host:8443/a.mp3"
    assert redact_url("http://[::1/a.mp3?sig=1") == "http://[::1/a.mp3"
    assert redact_url("not a url?token=1") == "not a url"
    assert redact_url("") == ""
    assert redact_text("GET /a.mp3?sig=1 HTTP/1.1 from //u:p@h") == "GET /a.mp3 HTTP/1.1 from //h"


def test_what_is_a_url() -> None:
    assert is_url("https://h/a.mp3") and is_url("HTTP:h") and is_url("s3://b/k")
    assert not is_url("prompts/a.mp3") and not is_url("C:\\prompts\\a.mp3")


def test_urllib3_request_lines_are_logged_without_their_query(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("urllib3.connectionpool")
    with caplog.at_level(logging.DEBUG, logger="urllib3.connectionpool"):
        logger.debug('%s "GET %s HTTP/1.1" 200', "h:80", "/a.mp3?X-Amz-Signature=s3cr3t")
    assert "s3cr3t" not in caplog.text and "/a.mp3" in caplog.text
