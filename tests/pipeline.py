"""Pipeline fixtures for any test directory: the sandbox on its port, the live server, a
real Celery worker.

Registered once from ``tests/conftest.py`` (``pytest_plugins``), so integration tests and
browser tests share one session sandbox and one worker; defining these fixtures in two
directories' conftests would start two sandboxes on the same port.

The worker is a separate process (``celery -A shop_project worker --beat``) with the
same settings, pointed at the test database; the test process, the live server thread
and the worker meet only through the database, the broker, storage and HTTP.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sandbox_server():
    from django.conf import settings

    from django_tryon.sandbox import Sandbox

    port = urlsplit(settings.SANDBOX_URL).port
    sandbox = Sandbox(host="127.0.0.1", port=port, queue_seconds=0.2, generation_seconds=0.5)
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(sandbox_server):
    """The session's sandbox, reset to a fast, fault-free clock for each test."""
    sandbox_server.reset()
    sandbox_server.configure(queue_seconds=0.2, generation_seconds=0.5)
    yield sandbox_server
    sandbox_server.clear_faults()


class Worker:
    """A real ``celery worker --beat`` process for the test database."""

    def __init__(self, db_name: str, log_dir: Path, env: dict[str, str] | None = None):
        self.db_name = db_name
        self.log_dir = log_dir
        self.env = env or {}  # read by tests/settings.py (TRYON_TEST_ROUTING, ...)
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None

    def start(self, timeout: float = 60.0) -> Worker:
        var = Path(os.environ["SHOP_VAR_DIR"])
        name = f"tryon-test-{uuid.uuid4().hex[:8]}"
        self.log_path = self.log_dir / f"{name}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "TRYON_TEST_DB_NAME": self.db_name,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example_project")]),
            **self.env,
        }
        cmd = [
            sys.executable, "-m", "celery", "-A", "shop_project", "worker", "--beat",
            "--schedule", str(var / f"beat-{name}"), "--pool", "prefork", "--concurrency", "4",
            "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--hostname", f"{name}@%h",
        ]  # fmt: skip
        log = open(self.log_path, "wb")  # noqa: SIM115 (kept open for the process's life)
        # Its own process group: the embedded beat is a child process that must die with it.
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{self.log()}")
            if b" ready." in self.log_path.read_bytes():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"celery worker not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-8000:] if self.log_path else ""

    def kill(self) -> None:
        """SIGKILL to the whole group: no cleanup, no acknowledgement, like a power cut."""
        self._signal_group(signal.SIGKILL)
        if self.proc:
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None:
            return
        self._signal_group(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(20)
        self._signal_group(signal.SIGKILL)  # the beat child, or a worker that hung

    def _signal_group(self, sig: int) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)


class WorkerPool:
    """Keeps one worker running for the session; a test that kills it gets a new one."""

    def __init__(self, db_name: str, log_dir: Path):
        self.db_name, self.log_dir = db_name, log_dir
        self.workers: list[Worker] = []

    @property
    def current(self) -> Worker | None:
        return self.workers[-1] if self.workers else None

    def ensure(self) -> Worker:
        if self.current is None or self.current.proc.poll() is not None:
            self.workers.append(Worker(self.db_name, self.log_dir).start())
        return self.current

    def stop_all(self) -> None:
        for worker in self.workers:
            worker.stop()


@pytest.fixture(scope="session")
def worker_pool(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.db import connection

    with django_db_blocker.unblock():
        db_name = connection.settings_dict["NAME"]
    pool = WorkerPool(db_name, tmp_path_factory.mktemp("worker-logs"))
    yield pool
    pool.stop_all()


@pytest.fixture
def worker(worker_pool):
    """A running Celery worker process (with beat, so the reaper runs)."""
    return worker_pool.ensure()


@pytest.fixture
def pipeline(transactional_db, live_server, sandbox, worker):
    """Everything a real try-on needs: database, web server, sandbox and worker."""
    return {"live_server": live_server, "sandbox": sandbox, "worker": worker}


def wait_for_status(request, statuses, timeout: float = 30.0, worker=None):
    """Poll the database until the request reaches one of ``statuses``."""
    statuses = {statuses} if isinstance(statuses, str) else set(statuses)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        request.refresh_from_db()
        if request.status in statuses:
            return request
        time.sleep(0.1)
    log = worker.log() if worker else ""
    raise AssertionError(
        f"request {request.pk} is {request.status} ({request.error_code}: {request.error_detail}),"
        f" not {sorted(statuses)} after {timeout}s\n--- worker log ---\n{log}"
    )


def wait_until_quiet(sandbox, timeout: float = 30.0) -> None:
    """A positive end to wait for before counting: every sandbox task has ended, every
    callback it sent has been received and handled by the app (one receipt each)."""
    from django_tryon.models import CallbackReceipt

    sandbox.wait_idle(timeout=timeout)
    deadline = time.monotonic() + timeout
    while CallbackReceipt.objects.count() < len(sandbox.callbacks_sent):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{CallbackReceipt.objects.count()} callback receipts, "
                f"{len(sandbox.callbacks_sent)} callbacks sent after {timeout}s"
            )
        time.sleep(0.05)
