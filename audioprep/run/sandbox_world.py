"""The ``--sandbox`` world of ``audioprep run``: a whole campaign on loopback, no credentials.

This module owns starting, wiring and stopping three local services inside the process: a
local S3 (:class:`LocalS3`, moto on ``127.0.0.1``), the Voice API sandbox that downloads from
it, and a postback receiver given to every job; their files live in one directory beside the
run state (:class:`SandboxFiles`), so a re-run can prove it sent nothing twice.

``docs/run.md`` (*The --sandbox world*) has the details and the measurements.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import select
import socket
import threading
import time
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from audioprep import api
from audioprep.errors import ConfigError, ServiceUnavailable
from audioprep.hosting.clients import HostingTarget
from audioprep.send.journal import JOURNAL_FILE

log = logging.getLogger(__name__)

BUCKET = "audioprep-sandbox"
REGION = "us-east-1"
#: Sent as the API token; the sandbox accepts any token.
TOKEN = "sandbox-token"
#: Fake, for the local S3 only: moto checks nothing, boto3 wants something to sign with.
_CREDENTIALS = ("AKIAAUDIOPREPSANDBOX0", "audioprep-sandbox-not-a-secret")
#: Real seconds per simulated second of a call.
TIME_SCALE = 0.002


@dataclass(frozen=True, slots=True)
class SandboxFiles:
    """Where the sandbox world keeps what must outlive one run."""

    directory: Path

    @property
    def journal(self) -> Path:
        """The submission journal of sandbox runs."""
        return self.directory / JOURNAL_FILE

    @property
    def voice_db(self) -> Path:
        """The Voice API sandbox's jobs, calls and pending postbacks."""
        return self.directory / "voice-api.sqlite3"

    @property
    def postbacks_db(self) -> Path:
        """The postbacks received."""
        return self.directory / "postbacks.sqlite3"


class LocalS3:
    """moto's S3 on ``127.0.0.1``, with one empty bucket, started when first needed.

    :meth:`start` binds the socket and returns at once. A thread waits for the first client
    (or a :meth:`wait`), then imports moto, builds its S3 application (served directly: moto's
    all-services dispatcher would look up the service on every request), creates the bucket
    through that application in-process and serves it with keep-alive connections
    (:func:`audioprep.net.serving.wsgi_server`). Requests sent meanwhile wait in the socket's
    backlog. :meth:`wait` re-raises a failure; a run that never uploads never imports moto.
    """

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self.url = ""
        self._host, self._port = "127.0.0.1", 0
        self._socket: socket.socket | None = None
        self._server: Any = None
        self._ready = threading.Event()
        self._needed = threading.Event()  # a client came (or wait() asked): it is being built
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._wake_r: socket.socket | None = None  # a byte here: build now (or stop)
        self._wake_w: socket.socket | None = None

    def start(self) -> str:
        """Bind, start serving in the background; the endpoint URL."""
        if importlib.util.find_spec("moto") is None:
            raise ConfigError(
                "--sandbox needs moto's S3 server (moto is not installed)",
                hint="pip install 'audioprep[sandbox]'",
            )
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._host, self._port = self._socket.getsockname()[:2]
        self.url = f"http://{self._host}:{self._port}"
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, name="sandbox-s3", daemon=True)
        self._thread.start()
        return self.url

    def _serve(self) -> None:
        if not self._first_use():
            self._close_socket()
            self._ready.set()
            return
        self._needed.set()
        try:
            app = self._build()
        except BaseException as exc:  # reported by wait(); the socket closes, clients see it
            self._error = exc
            self._close_socket()
            self._ready.set()
            return
        from audioprep.net.serving import wsgi_server

        assert self._socket is not None
        self._server = wsgi_server(app, self._socket)
        self._socket = None  # the server owns it now
        self._ready.set()

    def _first_use(self) -> bool:
        """Wait for the first client or a :meth:`wait`; False when stopped before either."""
        assert self._socket is not None and self._wake_r is not None
        select.select([self._socket, self._wake_r], [], [])
        return not self._stopping

    def _build(self) -> Any:
        """moto's S3 application, with the bucket created in it."""
        from moto.moto_server.werkzeug_app import create_backend_app
        from werkzeug.test import Client

        app = create_backend_app("s3")
        host = f"{self._host}:{self._port}"
        answer = Client(app).put(f"/{self.bucket}", headers={"Host": host})
        if answer.status_code != 200:
            raise ServiceUnavailable(f"the local S3 refused to create the bucket: {answer.status}")
        return app

    def _wake(self) -> None:
        if self._wake_w is not None:
            with contextlib.suppress(OSError):
                self._wake_w.send(b"x")

    @property
    def needed(self) -> bool:
        """Whether anything has asked for it yet (nothing has: moto was never imported)."""
        return self._needed.is_set()

    def wait(self, timeout_s: float = 60.0) -> None:
        """Start it now if no client has yet, and block until it serves; raise what stopped
        it from starting."""
        self._wake()
        if not self._ready.wait(timeout_s):
            raise ServiceUnavailable(f"the sandbox's local S3 did not start within {timeout_s:g} s")
        if self._error is not None:
            if isinstance(self._error, ConfigError | ServiceUnavailable):
                raise self._error
            raise ServiceUnavailable(f"the sandbox's local S3 failed to start: {self._error!r}")

    def stop(self) -> None:
        """Stop serving and close the socket (waits for a start in progress)."""
        if self._thread is not None:
            self._stopping = True
            self._wake()
            self._thread.join()
            self._thread = None
        for end in (self._wake_r, self._wake_w):
            if end is not None:
                end.close()
        self._wake_r = self._wake_w = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._close_socket()

    def _close_socket(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


class SandboxEnv:
    """Local S3, Voice API and postback receiver; ``with SandboxEnv(dir) as env: ...``."""

    def __init__(
        self,
        directory: str | Path,
        *,
        time_scale: float = TIME_SCALE,
        limits: api.AccountLimits | None = None,
    ) -> None:
        self.files = SandboxFiles(Path(directory))
        self.time_scale = time_scale
        self.limits = limits or api.AccountLimits()  # the account its Voice API plays
        self._s3: LocalS3 | None = None
        self._voice: Any = None
        self._receiver: Any = None
        self.s3_endpoint = ""
        self.api_url = ""
        self.receiver_url = ""

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the three services. The S3 goes on starting in the background (see
        :class:`LocalS3`); :meth:`wait_ready` waits for it."""
        self.files.directory.mkdir(parents=True, exist_ok=True)
        try:
            self._s3 = LocalS3(BUCKET)
            self.s3_endpoint = self._s3.start()
            log.info("sandbox S3 at %s, bucket %s (starting)", self.s3_endpoint, BUCKET)
            self._start_voice()
        except BaseException:
            self.stop()
            raise

    def wait_ready(self) -> None:
        """Raise what stopped a service the run used from starting (an S3 nothing uploaded
        to is not started just to ask)."""
        if self._s3 is not None and self._s3.needed:
            self._s3.wait()

    def _start_voice(self) -> None:
        from audioprep.sandbox import Sandbox, SandboxOptions
        from audioprep.send.postbacks import PostbackOptions, PostbackServer

        self._receiver = PostbackServer(
            PostbackOptions(host="127.0.0.1", port=0, db=self.files.postbacks_db)
        )
        self.receiver_url = self._receiver.start()
        options = SandboxOptions(
            db=self.files.voice_db,
            time_scale=self.time_scale,
            postback_attempts=3,
            postback_backoff_s=0.2,
            postback_timeout_s=2.0,
            account_type=self.limits.account_type,
            personal_number=self.limits.personal_number,
            max_destinations=self.limits.max_destinations,
        )
        self._voice = Sandbox(options)
        self.api_url = self._voice.start()

    def stop(self) -> None:
        """Stop everything that was started (idempotent), the three at once."""
        services = []
        for name in ("_voice", "_receiver", "_s3"):
            service = getattr(self, name)
            setattr(self, name, None)
            if service is not None:
                services.append((name.strip("_"), service))
        if services:
            with ThreadPoolExecutor(len(services), thread_name_prefix="sandbox-stop") as pool:
                list(pool.map(_stop, services))

    def __enter__(self) -> SandboxEnv:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- wiring --------------------------------------------------------------------------

    def hosting(self) -> HostingTarget:
        """The run's hosting target: the local bucket, public by ACL, fake credentials."""
        return HostingTarget(
            bucket=BUCKET,
            prefix="audio",
            endpoint_url=self.s3_endpoint,
            region=REGION,
            public_mode="acl",
            label="sandbox",
            credentials=_CREDENTIALS,
            empty=True,
        )

    @property
    def callback_url(self) -> str:
        """The ``callback_url`` given to every job."""
        return f"{self.receiver_url}/postback"

    def describe(self) -> tuple[str, ...]:
        """One line per service: what runs where (no credentials)."""
        return (
            f"local S3 (moto) at {self.s3_endpoint}, bucket {BUCKET}, objects public-read",
            f"Voice API sandbox at {self.api_url}/1/voice (calls {1 / self.time_scale:g}x faster)",
            f"postback receiver at {self.callback_url}",
            f"journal, jobs and postbacks kept in {self.files.directory}",
        )

    # --- after submitting ----------------------------------------------------------------

    def wait_for_calls(self, message_ids: Collection[str], timeout_s: float) -> bool:
        """Wait (at most ``timeout_s``) until every call has its final postback."""
        if not message_ids or self._receiver is None:
            return True
        waiting = set(message_ids)
        deadline = time.monotonic() + timeout_s
        while True:  # ask only about the calls still running: the question shrinks
            events = self._receiver.store.events(message_ids=waiting)
            waiting -= {e.message_id for e in events if e.final}
            if not waiting:
                return True
            if time.monotonic() >= deadline:
                log.info("sandbox: %d call(s) still without a final postback", len(waiting))
                return False
            time.sleep(0.05)

    def find_job(self, job_id: str) -> tuple[str, dict[str, str]] | None:
        """What the sandbox itself holds for our ``job_id``: ``(api_job_id, number ->
        message_id)``, or None when it never stored such a job.

        The sandbox stores a job before it answers and runs inside this process, so after a
        run died between journaling a job and hearing the answer, this settles the question
        the real API leaves open: was it queued?
        """
        if self._voice is None:
            return None
        store = self._voice.store
        for api_job_id in store.job_ids():
            job = store.get_job(api_job_id)
            if job is not None and job.client_job_id == job_id:
                calls = {call.to: call.message_id for call in store.calls_of(api_job_id)}
                return api_job_id, calls
        return None

    def stats(self) -> dict[str, Any]:
        """The Voice API sandbox's counters and stored totals."""
        return dict(self._voice.stats()) if self._voice is not None else {}


def _stop(named: tuple[str, Any]) -> None:
    name, service = named
    try:
        service.stop()
    except Exception:  # a service that fails to stop must not hide the run's result
        log.warning("sandbox: stopping %s failed", name, exc_info=True)
