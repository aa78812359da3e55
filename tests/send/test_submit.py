"""``audioprep submit``: one POST per job under every fault, the journal, re-runs, splitting.

Every test talks to a real server on 127.0.0.1: the sandbox (with injected faults), a
:class:`~tests.support.voice_fakes.BlackHole` that reads a request and never answers, or a closed
port.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from audioprep import api
from audioprep.api import Code
from audioprep.errors import ExitCode
from audioprep.sandbox import FaultMode, Faults
from audioprep.send import submit
from audioprep.send.client import RetryPolicy, VoiceClient
from tests.conftest import Cli
from tests.support.httpserver import unused_port, wait_until
from tests.support.voice_fakes import TOKEN, BlackHole, api_requests, sandbox

AUDIO = "https://cdn.example.com/prompts/welcome.mp3"
FAST = RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.02, max_total_s=5.0)


@pytest.fixture
def journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The journal path; the token is in the environment and retries are fast."""
    monkeypatch.setenv("AUDIOPREP_API_TOKEN", TOKEN)
    monkeypatch.setattr(submit, "DEFAULT_POLICY", FAST)
    return tmp_path / "journal.sqlite3"


def args(
    api_url: str, journal: Path, *numbers: str, extra: tuple[str, ...] = (), text: bool = False
) -> list[str]:
    """``submit --json`` arguments calling ``numbers`` (``text``: without ``--json``)."""
    to = [part for number in numbers for part in ("--to", number)]
    base = ["submit", "--audio-url", AUDIO, *to, "--api-url", api_url, "--journal", str(journal)]
    return [*base, *(() if text else ("--json",)), *extra]


def rows(journal: Path) -> list[dict[str, Any]]:
    """Every journal row, oldest first."""
    conn = sqlite3.connect(journal)
    conn.row_factory = sqlite3.Row
    found = [dict(row) for row in conn.execute("SELECT * FROM submissions ORDER BY id")]
    conn.close()
    return found


def as_json(output: str) -> Any:
    return json.loads(output)


# -- the happy path and re-runs --------------------------------------------------------------


def test_accepted_and_a_rerun_is_skipped(run_cli: Cli, journal: Path) -> None:
    with sandbox() as box:
        first = as_json(run_cli(*args(box.url, journal, "35699000001", "35699000002")).stdout)
        assert first["outcome"] == "accepted"
        assert first["status_code"] == 0
        assert first["description"] == api.describe(Code.SUCCESS)
        assert api.api_job_id_ok(first["api_job_id"])
        assert sorted(first["results"]) == ["35699000001", "35699000002"]
        assert first["job_id"].startswith(submit.GENERATED_PREFIX)
        assert api.job_id_ok(first["job_id"])
        again = as_json(run_cli(*args(box.url, journal, "35699000001", "35699000002")).stdout)
        assert api_requests(box) == 1
    assert again["outcome"] == "skipped"
    assert (again["job_id"], again["api_job_id"]) == (first["job_id"], first["api_job_id"])
    assert again["results"] == first["results"]
    (row,) = rows(journal)
    assert row["state"] == "accepted" and row["api_job_id"] == first["api_job_id"]
    assert json.loads(row["message_ids"]) == first["results"]
    assert json.loads(row["payload"])["job_id"] == first["job_id"]


def test_same_calls_under_another_job_id_are_not_sent_twice(run_cli: Cli, journal: Path) -> None:
    with sandbox() as box:
        run_cli(*args(box.url, journal, "35699000001", extra=("--job-id", "campaign-a")))
        again = run_cli(*args(box.url, journal, "35699000001", extra=("--job-id", "campaign-b")))
        assert api_requests(box) == 1
    assert as_json(again.stdout)["outcome"] == "skipped"


def test_a_reused_job_id_for_other_calls_is_a_conflict(run_cli: Cli, journal: Path) -> None:
    with sandbox() as box:
        run_cli(*args(box.url, journal, "35699000001", extra=("--job-id", "campaign-a")))
        clash = run_cli(
            *args(box.url, journal, "35699000002", extra=("--job-id", "campaign-a")),
            expect=ExitCode.FINDINGS,
        )
        assert api_requests(box) == 1
    assert as_json(clash.stdout)["outcome"] == "conflict"


def test_text_output(run_cli: Cli, journal: Path) -> None:
    with sandbox() as box:
        text = run_cli(*args(box.url, journal, "35699000001", text=True)).stdout
    assert text.startswith("accepted ")
    assert "api_job_id" in text and "1 job(s): 1 accepted" in text


# -- validation first ------------------------------------------------------------------------


def test_dry_run_prints_the_payload_and_sends_nothing(run_cli: Cli, journal: Path) -> None:
    with sandbox() as box:
        extra = ("--job-id", "dry-run-01", "--sender-id", "35699000000", "--ring-timeout", "30")
        extra += ("--dry-run",)
        result = run_cli(*args(box.url, journal, "35699000001", extra=extra, text=True))
        assert api_requests(box) == 0
    assert not journal.exists()
    assert "validator: valid: HTTP 200, status_code 0" in result.stdout
    assert '"audio_file_url": "https://cdn.example.com/prompts/welcome.mp3"' in result.stdout
    assert '"ring_timeout_seconds": 30' in result.stdout


def test_dry_run_text_shows_no_presigned_signature_or_postback_secret(
    run_cli: Cli, journal: Path
) -> None:
    presigned = "https://bucket.s3.amazonaws.com/welcome.mp3?X-Amz-Signature=f00dcafe"
    secret_hook = "https://hooks.example.com/postback/s3cr3t-hook?secret=s3cr3t-query"
    dry_run = (
        "submit", "--api-url", "http://127.0.0.1:1", "--journal", str(journal),
        "--audio-url", presigned, "--to", "35699000001", "--callback-url", secret_hook,
        "--dry-run",
    )  # fmt: skip
    result = run_cli(*dry_run)
    assert '"audio_file_url": "https://bucket.s3.amazonaws.com/welcome.mp3"' in result.stdout
    assert '"callback_url": "https://hooks.example.com/<hidden>"' in result.stdout
    for secret in ("f00dcafe", "X-Amz-Signature", "s3cr3t-hook", "s3cr3t-query"):
        assert secret not in result.output
    exact = run_cli(*dry_run, "--json")  # scripts get the request as it would be sent
    payload = as_json(exact.stdout)["payload"]
    assert payload["voice_content"]["audio_file_url"] == presigned
    assert payload["callback_url"] == secret_hook


def test_dry_run_json_is_the_exact_request(run_cli: Cli, journal: Path) -> None:
    extra = (
        "--job-id",
        "dry-run-01",
        "--callback-url",
        "https://hooks.example.com/pb",
        "--dry-run",
    )
    result = as_json(
        run_cli(*args("http://127.0.0.1:1", journal, "35699000001", extra=extra)).stdout
    )
    assert result["outcome"] == "dry_run"
    assert result["payload"] == {
        "job_id": "dry-run-01",
        "destinations": [{"number": "35699000001"}],
        "voice_content": {"audio_file_url": AUDIO},
        "callback_url": "https://hooks.example.com/pb",
    }
    assert api.validate_request(result["payload"]).valid


def test_an_invalid_request_is_never_sent(run_cli: Cli, journal: Path) -> None:
    with sandbox() as box:
        result = run_cli(
            *args(box.url, journal, "35699000001", extra=("--ring-timeout", "5")),
            expect=ExitCode.FINDINGS,
        )
        assert api_requests(box) == 0
    found = as_json(result.stdout)
    assert found["outcome"] == "invalid"
    assert found["status_code"] == Code.SECONDS_TOO_SMALL
    assert found["description"] == api.describe(
        Code.SECONDS_TOO_SMALL, parameter="ring_timeout_seconds"
    )
    assert not journal.exists()


def test_no_token_is_a_config_error(
    run_cli: Cli, journal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUDIOPREP_API_TOKEN")
    result = run_cli(*args("http://127.0.0.1:1", journal, "35699000001"), expect=ExitCode.CONFIG)
    assert "AUDIOPREP_API_TOKEN" in result.stderr


# -- faults: one POST per job ----------------------------------------------------------------


@pytest.mark.parametrize("mode", [FaultMode.UNAVAILABLE, FaultMode.BUSY])
def test_503_and_busy_are_retried_then_accepted(
    run_cli: Cli, journal: Path, mode: FaultMode
) -> None:
    with sandbox(faults=Faults(mode=mode, count=2)) as box:
        found = as_json(run_cli(*args(box.url, journal, "35699000001")).stdout)
        assert api_requests(box) == 3
        assert box.store.counts()["jobs"] == 1
    assert found["outcome"] == "accepted" and found["attempts"] == 3
    assert rows(journal)[0]["attempts"] == 3


def test_unknown_outcome_exits_5_and_is_not_resent(run_cli: Cli, journal: Path) -> None:
    numbers = ("35699000001", "35699000002")
    with BlackHole() as hole:
        result = run_cli(*args(hole.url, journal, *numbers), expect=ExitCode.UNKNOWN_OUTCOME)
        assert hole.count == 1
    found = as_json(result.stdout)
    assert found["outcome"] == "unknown" and found["api_job_id"] is None
    assert "audioprep status --job-id" in found["hint"] and "--force" in found["hint"]
    assert rows(journal)[0]["state"] == "unknown"
    with sandbox() as box:
        again = run_cli(*args(box.url, journal, *numbers), expect=ExitCode.UNKNOWN_OUTCOME)
        assert api_requests(box) == 0
        assert as_json(again.stdout)["outcome"] == "unknown"
        forced = run_cli(*args(box.url, journal, *numbers, extra=("--force",)))
        assert api_requests(box) == 1
    forced_found = as_json(forced.stdout)
    assert forced_found["outcome"] == "accepted"
    assert any(note.startswith("--force: sent although") for note in forced_found["notes"])
    assert [row["state"] for row in rows(journal)] == ["unknown", "accepted"]
    assert rows(journal)[1]["forced"] == 1


@pytest.mark.parametrize(
    ("faults", "extra", "queued"),
    [
        (Faults(mode=FaultMode.DROP), (), 0),
        (Faults(mode=FaultMode.SERVER_ERROR), (), 0),
        # The answer comes too late: the sandbox queued the job, the client cannot know.
        (Faults(latency_s=0.6), ("--timeout", "0.2"), 1),
    ],
    ids=["drop", "500", "slow"],
)
def test_sandbox_faults_after_sending_are_unknown_with_one_post(
    run_cli: Cli, journal: Path, faults: Faults, extra: tuple[str, ...], queued: int
) -> None:
    with sandbox(faults=faults) as box:
        command = args(box.url, journal, "35699000001", extra=extra)
        run_cli(*command, expect=ExitCode.UNKNOWN_OUTCOME)
        box.faults.set(Faults())
        run_cli(*command, expect=ExitCode.UNKNOWN_OUTCOME)  # the re-run sends nothing
        assert api_requests(box) == 1
        assert wait_until(lambda: box.store.counts()["jobs"] == queued, timeout=3)


def test_read_timeout_is_unknown_with_one_post(run_cli: Cli, journal: Path) -> None:
    with BlackHole(hold_s=5.0) as hole:
        extra = ("--timeout", "0.3")
        run_cli(*args(hole.url, journal, "35699000001", extra=extra), expect=5)
        assert hole.count == 1


def test_refused_is_retried_then_exit_4_with_nothing_sent(run_cli: Cli, journal: Path) -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    result = run_cli(*args(url, journal, "35699000001"), expect=ExitCode.UNAVAILABLE)
    found = as_json(result.stdout)
    assert found["outcome"] == "unavailable" and found["attempts"] == FAST.max_attempts
    assert rows(journal)[0]["state"] == "failed_before_send"
    with sandbox() as box:  # nothing was processed, so running it again sends it
        again = as_json(run_cli(*args(box.url, journal, "35699000001")).stdout)
        assert api_requests(box) == 1
    assert again["outcome"] == "accepted"


def test_unavailable_holds_back_the_remaining_jobs(run_cli: Cli, journal: Path) -> None:
    with sandbox(faults=Faults(mode=FaultMode.UNAVAILABLE)) as box:
        extra = ("--max-destinations", "1")
        result = run_cli(
            *args(box.url, journal, "35699000001", "35699000002", extra=extra),
            expect=ExitCode.UNAVAILABLE,
        )
        assert api_requests(box) == FAST.max_attempts
    assert [job["outcome"] for job in as_json(result.stdout)] == ["unavailable", "not_sent"]


def test_rejected_by_the_api_exits_1_and_may_be_sent_again(run_cli: Cli, journal: Path) -> None:
    with sandbox(faults=Faults(mode=FaultMode.JOB_PROBLEM, count=1)) as box:
        result = run_cli(*args(box.url, journal, "35699000001"), expect=ExitCode.FINDINGS)
        found = as_json(result.stdout)
        assert found["outcome"] == "rejected" and found["status_code"] == Code.JOB_PROBLEM
        again = as_json(run_cli(*args(box.url, journal, "35699000001")).stdout)
        assert api_requests(box) == 2
    assert again["outcome"] == "accepted"


def test_wrong_token_exits_3(run_cli: Cli, journal: Path) -> None:
    with sandbox(tokens=("the-right-token",)) as box:
        result = run_cli(*args(box.url, journal, "35699000001"), expect=ExitCode.CONFIG)
        assert api_requests(box) == 1
    assert "refused the token" in result.stderr
    assert TOKEN not in result.output + result.stderr
    assert rows(journal)[0]["state"] == "rejected"
    assert rows(journal)[0]["http_status"] == 401


# -- crashes between intent and outcome -------------------------------------------------------


def test_interrupted_while_sending_is_unknown_and_not_resent(
    run_cli: Cli, journal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(self: VoiceClient, payload: bytes, *, label: str = "") -> Any:
        assert rows(journal)[0]["state"] == "intent"  # committed before the POST
        raise KeyboardInterrupt

    with sandbox() as box:
        with monkeypatch.context() as patch:
            patch.setattr(VoiceClient, "submit", crash)
            run_cli(*args(box.url, journal, "35699000001"), expect=ExitCode.INTERRUPTED)
        (row,) = rows(journal)
        assert (row["state"], row["note"]) == ("unknown", "interrupted while sending")
        again = run_cli(*args(box.url, journal, "35699000001"), expect=5)
        assert api_requests(box) == 0
    assert as_json(again.stdout)["outcome"] == "unknown"


def test_killed_process_leaves_intent_and_a_rerun_does_not_resend(
    run_cli: Cli, journal: Path
) -> None:
    env = {**os.environ, "AUDIOPREP_API_TOKEN": TOKEN}
    with BlackHole(hold_s=30) as hole:
        command = [sys.executable, "-m", "audioprep", *args(hole.url, journal, "35699000001")]
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert wait_until(lambda: hole.count == 1, timeout=20), "the POST never arrived"
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=10)
            if proc.stderr is not None:
                proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    (row,) = rows(journal)
    assert row["state"] == "intent"
    with sandbox() as box:
        again = run_cli(*args(box.url, journal, "35699000001"), expect=5)
        assert api_requests(box) == 0
    found = as_json(again.stdout)
    assert found["outcome"] == "unknown" and "intent" in found["description"]


# -- large audiences and CSV -----------------------------------------------------------------


def test_1050_destinations_from_csv_become_3_jobs_and_3_posts(
    run_cli: Cli, journal: Path, tmp_path: Path
) -> None:
    csv_file = tmp_path / "audience.csv"
    lines = ["number,custom_id,name"] + [f"3569910{i:04d},c{i},x" for i in range(1050)]
    csv_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with sandbox() as box:
        extra = ("--to-file", str(csv_file), "--job-id", "spring-2024")
        result = as_json(run_cli(*args(box.url, journal, extra=extra)).stdout)
        assert api_requests(box) == 3
        assert box.store.counts()["calls"] == 1050
    assert [job["job_id"] for job in result] == ["spring-2024-1", "spring-2024-2", "spring-2024-3"]
    assert [job["outcome"] for job in result] == ["accepted"] * 3
    assert [len(job["results"]) for job in result] == [500, 500, 50]
    assert [row["state"] for row in rows(journal)] == ["accepted"] * 3
    first = json.loads(rows(journal)[0]["payload"])
    assert first["destinations"][0] == {"number": "35699100000", "custom_id": "c0"}


def test_derived_job_ids_keep_within_15_characters() -> None:
    assert submit.derive_job_ids("abcdefghijklmno", 12)[-1] == "abcdefghijkl-12"
    assert submit.derive_job_ids("campaign", 1) == ["campaign"]
    assert all(api.job_id_ok(j) for j in submit.derive_job_ids("abcdefghijklmno", 999))


def test_csv_without_a_number_column_is_a_usage_error(
    run_cli: Cli, journal: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("phone\n35699000001\n", encoding="utf-8")
    result = run_cli(
        *args("http://127.0.0.1:1", journal, extra=("--to-file", str(bad))), expect=ExitCode.USAGE
    )
    assert "no 'number' column" in result.stderr


def test_a_number_given_twice_is_called_once(run_cli: Cli, journal: Path) -> None:
    extra = ("--dry-run",)
    found = as_json(
        run_cli(
            *args("http://x.invalid", journal, "35699000001", "+356 9900-0001", extra=extra)
        ).stdout
    )
    assert found["payload"]["destinations"] == [{"number": "35699000001"}]
    assert any("duplicate" in note for note in found["notes"])


# -- secrets ---------------------------------------------------------------------------------


def test_the_token_never_appears_in_output_logs_or_journal(
    run_cli: Cli, journal: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with sandbox(faults=Faults(mode=FaultMode.UNAVAILABLE, count=1)) as box:
        ok = run_cli("-vv", *args(box.url, journal, "35699000001"))
    with BlackHole() as hole:
        lost = run_cli("-vv", *args(hole.url, journal, "35699000002"), expect=5)
    assert "attempt 2: accepted" in caplog.text
    for text in (ok.stdout, ok.stderr, lost.stdout, lost.stderr, caplog.text):
        assert TOKEN not in text
    assert hole.heads and TOKEN.encode() in hole.heads[0]  # it was sent, so the test can fail
    for path in journal.parent.glob(journal.name + "*"):
        assert TOKEN.encode() not in path.read_bytes()


# -- the library entry point -----------------------------------------------------------------


def test_submit_audio_library_call(journal: Path) -> None:
    with sandbox() as box:
        options = submit.SubmitOptions(
            audio_url=AUDIO,
            destinations=(submit.Destination("35699000001", "alice"),),
            job_id="library-01",
            api_url=box.url,
            api_token=TOKEN,
            journal=journal,
            retry=FAST,
        )
        assert TOKEN not in repr(options)
        (outcome,) = submit.submit_audio(options)
    assert outcome.outcome is submit.Outcome.ACCEPTED
    assert submit.exit_code([outcome]) is ExitCode.OK
    assert set(outcome.to_dict()) >= {
        "job_id",
        "api_job_id",
        "status_code",
        "description",
        "results",
        "outcome",
    }


def test_exit_code_precedence() -> None:
    def job(outcome: submit.Outcome) -> submit.JobOutcome:
        return submit.JobOutcome(job_id="j", outcome=outcome, destinations=1)

    o = submit.Outcome
    assert submit.exit_code([job(o.ACCEPTED), job(o.SKIPPED)]) is ExitCode.OK
    assert submit.exit_code([job(o.ACCEPTED), job(o.REJECTED)]) is ExitCode.FINDINGS
    assert submit.exit_code([job(o.UNAVAILABLE), job(o.NOT_SENT)]) is ExitCode.UNAVAILABLE
    assert submit.exit_code([job(o.UNAVAILABLE), job(o.UNKNOWN)]) is ExitCode.UNKNOWN_OUTCOME


def test_journal_default_is_the_state_directory(
    run_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIOPREP_API_TOKEN", TOKEN)
    with sandbox() as box:
        base = ["submit", "--audio-url", AUDIO, "--to", "35699000001", "--api-url", box.url]
        run_cli(*base)
    state = Path(os.environ["XDG_STATE_HOME"]) / "audioprep" / "journal.sqlite3"
    assert state.is_file() and rows(state)[0]["state"] == "accepted"


def test_sandbox_time_is_short() -> None:
    started = time.monotonic()
    with sandbox():
        pass
    assert time.monotonic() - started < 2


# -- account limits ---------------------------------------------------------------------------

PERSONAL = "35699000011"


def test_a_test_account_sends_only_the_personal_number_one_per_job(
    run_cli: Cli, journal: Path
) -> None:
    test_account = ("--account-type", "test", "--personal-number", PERSONAL)
    with sandbox(account_type=api.AccountType.TEST, personal_number=PERSONAL) as box:
        # Another number too: the job for it is refused here (-123), so nothing is sent.
        both = args(box.url, journal, PERSONAL, "35699000012", extra=test_account)
        refused = as_json(run_cli(*both, expect=ExitCode.FINDINGS).stdout)
        assert api_requests(box) == 0
        alone = args(box.url, journal, PERSONAL, extra=test_account)
        accepted = as_json(run_cli(*alone).stdout)
        assert api_requests(box) == 1
    # split one per job (a two-number job would be -122), the other number refused
    assert [job["destinations"] for job in refused] == [1, 1]
    assert [job["outcome"] for job in refused] == ["not_sent", "invalid"]
    assert refused[1]["status_code"] == Code.TEST_PERSONAL_NUMBER
    assert accepted["outcome"] == "accepted"


def test_a_test_account_without_its_personal_number_is_a_usage_error(
    run_cli: Cli, journal: Path
) -> None:
    result = run_cli(
        *args("http://127.0.0.1:9/1/voice", journal, PERSONAL, extra=("--account-type", "test")),
        expect=ExitCode.USAGE,
    )
    assert "--personal-number" in result.stderr
    assert not journal.exists()


def test_per_job_is_one_on_a_test_account() -> None:
    assert api.AccountLimits(max_destinations=40).per_job == 40
    test = api.AccountLimits(account_type=api.AccountType.TEST, personal_number=PERSONAL)
    assert test.per_job == 1
