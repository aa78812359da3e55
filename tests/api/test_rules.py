"""The API rules module: the table, the name/URL rules, safe names, the validator's order."""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from audioprep import api
from audioprep.api import AccountLimits, AccountType, Code, validate_request

SPEC = pathlib.Path(__file__).resolve().parents[3] / "shared" / "spec" / "000_c1633175c54fe2d7.txt"


def audio_request(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "destinations": [{"number": "35699000001", "custom_id": "a1"}],
        "voice_content": {"audio_file_url": "https://example.com/voiceclip1.mp3"},
    }
    body.update(overrides)
    return body


def test_every_code_has_a_table_row() -> None:
    assert set(api.RESPONSES) == set(Code)
    for code, row in api.RESPONSES.items():
        assert row.code is code
        assert row.http_status in (200, 401, 403)
        assert row.template and row.meaning


@pytest.mark.skipif(not SPEC.exists(), reason="shared/spec not beside the checkout")
def test_table_wording_matches_the_spec() -> None:
    """Every message is the spec's wording (quotes made straight, placeholders aside)."""
    text = SPEC.read_text(encoding="utf-8")
    text = re.sub("[‘’]", "'", text).replace("“", "").replace("”", "")
    for code, row in api.RESPONSES.items():
        if code in (Code.SUCCESS, Code.NOT_AUTHORIZED):
            continue
        for fixed in re.split(r"\{[a-z_]+\}", row.template):
            assert fixed.strip() in text.replace("{{personal_number})", "{personal_number}")
            assert f"| {int(code)} |" in text


def test_messages_fill_placeholders() -> None:
    assert api.describe(Code.PARAM_NOT_ALLOWED, param_name="foo") == "foo is not allowed"
    assert api.describe(Code.TOO_MANY_DESTINATIONS, limit=500) == (
        "There can only be 500 destination numbers"
    )
    assert "35699" in api.describe(Code.TEST_PERSONAL_NUMBER, personal_number="35699")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("My Greeting (final).MP3", "My_Greeting_final.mp3"),
        ("héllo wörld.wav", "hello_world.wav"),
        ("日本語.mp3", "audio.mp3"),
        ("prompt.ogg", "prompt.mp3"),
        ("no-extension", "no-extension.mp3"),
        ("a.b.c.wav", "a_b_c.wav"),
        ("dir/sub/x y.mp3", "x_y.mp3"),
        ("___.mp3", "audio.mp3"),
        ("ok_name-1.wav", "ok_name-1.wav"),
    ],
)
def test_safe_name_is_legal_deterministic_and_idempotent(name: str, expected: str) -> None:
    got = api.safe_name(name)
    assert got == expected
    assert api.safe_name(got) == got
    assert api.check_file_name(got) == []


def test_safe_name_caps_length_and_honours_extension() -> None:
    got = api.safe_name("x" * 500 + ".wav", extension="mp3")
    assert got.endswith(".mp3") and len(got) <= 104


@pytest.mark.parametrize(
    ("url", "ids"),
    [
        ("https://cdn.example.com/a/hello-1.mp3", []),
        ("http://example.com/voiceclip1.mp3", []),
        ("https://example.com/x.wav?X-Amz-Signature=abc&X-Amz-Expires=60", []),
        ("ftp://example.com/a.mp3", ["url.scheme"]),
        ("https:///a.mp3", ["url.scheme"]),
        ("example.com/a.mp3", ["url.scheme"]),
        ("https://example.com/my file.mp3", ["url.characters", "name.characters"]),
        ("https://example.com/my%20file.mp3", ["name.characters"]),
        ("https://example.com/clip.ogg", ["name.extension"]),
        ("https://example.com/dir/", ["name.extension", "name.characters"]),
        ("https://example.com/ünï/a.mp3", ["url.characters"]),
    ],
)
def test_audio_url_rules(url: str, ids: list[str]) -> None:
    assert [v.id for v in api.check_audio_url(url)] == ids


def test_numbers_are_sanitised_before_the_length_check() -> None:
    assert api.sanitise_number("+356 (99) 000-001") == "35699000001"
    assert api.sanitise_number(35699000001) == "35699000001"
    assert api.sanitise_number("call me") is None
    assert api.sanitise_number(True) is None


def test_identifier_rules() -> None:
    assert api.message_id_ok("14570116000720000149")
    assert not api.message_id_ok("1457011600072000014")
    assert not api.message_id_ok("1457011600072000014x")
    assert api.api_job_id_ok("4359d2d7-2f10-49f3-9ad3-dfc574e14054")
    assert not api.api_job_id_ok("4359d2d7")
    assert api.job_id_ok("job-1234") and not api.job_id_ok("job") and not api.job_id_ok(7)


def test_validator_accepts_the_documented_samples() -> None:
    simple = audio_request()
    assert validate_request(simple).valid
    complex_audio = audio_request(
        job_id="job-100001",
        callback_url="https://example.com/cb",
        voice_content={
            "audio_file_url": "http://example.com/voiceclip1.mp3",
            "ring_timeout_seconds": "60",
            "sender_id": "356123456",
            "enable_menu_response": True,
        },
    )
    assert validate_request(json.dumps(complex_audio).encode()).valid
    tts = audio_request(
        voice_content={
            "sender_id": "356123456",
            "tts_lang": "en-GB",
            "tts_voice": "man",
            "tts_text": "This is a test message.",
            "time_limit_seconds": "600",
        }
    )
    assert validate_request(tts).valid


def test_validator_reports_one_error_in_the_documented_order() -> None:
    # unknown key (-82) is reported before the missing voice_content (-98)
    body = {"destinations": [{"number": "35699000001"}], "colour": "red"}
    assert validate_request(body).code is Code.PARAM_NOT_ALLOWED
    # -88 before -98
    assert validate_request({}).code is Code.DESTINATIONS_MISSING
    # job type before destination checks
    bad_both = audio_request(destinations=[{"number": "1"}], voice_content={})
    assert validate_request(bad_both).code is Code.CONTENT_REQUIRED


def test_account_limits() -> None:
    three = audio_request(destinations=[{"number": f"3569900000{i}"} for i in range(3)])
    assert validate_request(three, AccountLimits(max_destinations=2)).code is (
        Code.TOO_MANY_DESTINATIONS
    )
    test_account = AccountLimits(account_type=AccountType.TEST, personal_number="35699000001")
    assert validate_request(audio_request(), test_account).valid
    assert validate_request(three, test_account).code is Code.TEST_ONE_DESTINATION


def test_dropped_destinations_are_noted() -> None:
    body = audio_request(destinations=[{"number": "35699000001"}, {"number": "n/a"}])
    verdict = validate_request(body)
    assert verdict.valid
    assert verdict.notes and "n/a" in verdict.notes[0]


def test_wire_bodies() -> None:
    err = api.error_body(Code.INVALID_JSON, "Invalid JSON Body", api_job_id="x" * 36, job_id="j")
    assert err == {
        "client_job_id": "j",
        "api_job_id": "x" * 36,
        "result_info": {"status_code": -80, "description": "Invalid JSON Body"},
    }
    ok = api.success_body(
        api_job_id="y" * 36, job_id=None, results={"35699000001": {"message_id": "1" * 20}}
    )
    assert ok["result_info"]["status_code"] == "0"
    assert "client_job_id" not in ok
