"""What every benchmark shares: servers, the sandbox, the web server, workers, logs, stats.

Everything listens on 127.0.0.1 only. Process layout of a run:

* the runner (``python -m bench``): creates requests, measures, prints;
* PostgreSQL and Redis, started here when their binaries exist (as ``.ci/run`` does),
  else SQLite and kombu's filesystem broker;
* the sandbox in its own process (``bench.sandbox_proc``);
* the shop's web server (``manage.py runserver --noreload``: threaded wsgiref);
* a real ``celery worker --beat`` per benchmark, in its own process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kit.processes import Servers, free_port, kill_group, tail, wait_port
from kit.stats import group_cpu, proc_cpu

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "example_project"


# -- results ------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the results table. ``ratio`` is ours / baseline unless given."""

    figure: str
    ours: float | None
    baseline: float | None = None
    unit: str = ""
    goal: str = ""
    met: bool | None = None
    ratio: float | None = None
    digits: int = 1
    why: str = ""  # when the goal is not met: the reason, in a sentence

    def __post_init__(self) -> None:
        if self.ratio is None and self.ours is not None and self.baseline:
            self.ratio = self.ours / self.baseline


@dataclass
class Result:
    """What one benchmark reports: its rows, what it compared against, and notes."""

    name: str
    title: str
    rows: list[Row] = field(default_factory=list)
    baseline: str = ""
    notes: list[str] = field(default_factory=list)
    skipped: str = ""
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


# -- the sandbox process ------------------------------------------------------------------


class SandboxProcess:
    """``bench.sandbox_proc`` in a subprocess; ``call(cmd, **kw)`` is one command."""

    def __init__(self, port: int, log: Path):
        self.port = port
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{port}"

    def start(self, env: dict[str, str]) -> SandboxProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.sandbox_proc", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(self.log, "ab"),  # noqa: SIM115 (the child keeps it)
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        line = self.proc.stdout.readline()
        if not line or "ready" not in json.loads(line):
            raise RuntimeError(f"sandbox did not start: {line!r} {tail(self.log)}")
        return self

    def call(self, cmd: str, **kwargs) -> Any:
        self.proc.stdin.write(json.dumps({"cmd": cmd, **kwargs}) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        if "error" in answer:
            raise RuntimeError(f"sandbox {cmd}: {answer['error']}")
        return answer["ok"]

    def fresh(self, **options) -> None:
        """Forget everything, and run with zero queue and generation time unless told."""
        self.call("reset")
        self.call("prerender", on=False)
        config = {"queue_seconds": 0, "generation_seconds": 0, "slots": 100_000, **options}
        self.call("configure", **config)

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(Exception):
            self.proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        kill_group(self.proc, timeout=2)
        self.proc = None


# -- the web server -----------------------------------------------------------------------


class WebServer:
    """The shop under Django's threaded WSGI server (``bench.server``), bench settings."""

    def __init__(self, port: int, log: Path):
        self.port = port
        self.log = log
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self, env: dict[str, str]) -> WebServer:
        cmd = [sys.executable, "-m", "bench.server", str(self.port)]
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=open(self.log, "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_port(self.port, 60, self.proc, self.log)
        return self

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def stop(self) -> None:
        kill_group(self.proc)
        self.proc = None


# -- a Celery worker ----------------------------------------------------------------------


class Worker:
    """A real ``celery -A bench.celeryapp worker --beat`` in its own process group."""

    def __init__(self, env: dict[str, str], var: Path, log_dir: Path, *, concurrency: int):
        self.env, self.var, self.log_dir = env, var, log_dir
        self.concurrency = concurrency
        self.proc: subprocess.Popen | None = None
        self.log: Path | None = None

    def start(self, timeout: float = 60) -> Worker:
        name = f"bench-{uuid.uuid4().hex[:8]}"
        self.log = self.log_dir / f"{name}.log"
        cmd = [
            sys.executable, "-m", "celery", "-A", "bench.celeryapp", "worker", "--beat",
            "--schedule", str(self.var / f"beat-{name}"),
            "--pool", "prefork", "--concurrency", str(self.concurrency),
            "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
            "--without-heartbeat", "--hostname", f"{name}@%h",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=self.env,
            stdout=open(self.log, "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        ready = Path(self.env["BENCH_LOG_DIR"], f"worker-ready-{self.proc.pid}")
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{tail(self.log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"celery worker not ready after {timeout}s:\n{tail(self.log)}")
            time.sleep(0.1)
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu(self) -> float:
        return group_cpu(self.proc.pid)  # the pool processes do the work

    def stop(self) -> None:
        kill_group(self.proc, timeout=20)

    def __enter__(self) -> Worker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# -- the whole environment ----------------------------------------------------------------


class BenchEnv:
    """Servers, environment variables, Django, the sandbox and the web server of one run."""

    def __init__(self, *, embedded: bool = False, keep: bool = False):
        self.embedded = embedded
        self.keep = keep
        self.work = Path(tempfile.mkdtemp(prefix="tryon-bench-"))
        self.var = self.work / "var"
        self.logs = self.work / "logs"
        self.query_logs = self.work / "querylogs"
        for folder in (self.var, self.logs, self.query_logs):
            folder.mkdir()
        self.servers = Servers(self.work)
        self.sandbox: SandboxProcess | None = None
        self.web: WebServer | None = None
        self.env: dict[str, str] = {}

    # -- lifecycle

    def start(self) -> BenchEnv:
        self.servers.start(embedded=self.embedded)
        sandbox_port, web_port = free_port(), free_port()
        env = {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "SHOP_VAR_DIR": str(self.var),
            "TRYON_SANDBOX_URL": f"http://127.0.0.1:{sandbox_port}",
            "TRYON_PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}",
            "BENCH_LOG_DIR": str(self.query_logs),
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(EXAMPLE)]),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
            os.environ.pop(name, None)  # never the machine's own database or broker
        if self.servers.database_url:
            env["DATABASE_URL"] = self.servers.database_url
        if self.servers.broker_url:
            env["CELERY_BROKER_URL"] = self.servers.broker_url
        os.environ.update(env)
        self.env = dict(os.environ)
        for path in (str(EXAMPLE), str(ROOT)):
            if path not in sys.path:
                sys.path.insert(0, path)

        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        self.sandbox = SandboxProcess(sandbox_port, self.logs / "sandbox.log").start(self.env)
        self.web = WebServer(web_port, self.logs / "web.log").start(self.env)
        return self

    def stop(self) -> None:
        for part in (self.web, self.sandbox):
            if part is not None:
                with contextlib.suppress(Exception):
                    part.stop()
        from django.db import connections

        connections.close_all()
        self.servers.stop()
        if not self.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    # -- what the run uses

    @property
    def database_label(self) -> str:
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                return f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"

    @property
    def broker_label(self) -> str:
        if self.servers.broker_url:
            version = ""
            with contextlib.suppress(Exception):
                import redis

                client = redis.Redis.from_url(self.servers.broker_url)
                version = " " + client.info("server")["redis_version"]
                client.close()
            return f"Redis{version}"
        return "kombu filesystem broker (embedded)"

    def worker(self, concurrency: int = 4) -> Worker:
        return Worker(self.env, self.var, self.logs, concurrency=concurrency)

    def purge_broker(self) -> None:
        """Drop every queued message (a benchmark never inherits another's work)."""
        from shop_project.celery import app

        with contextlib.suppress(Exception):
            app.control.purge()
        if not self.servers.broker_url:
            for path in (self.var / "broker" / "queue").glob("*"):
                with contextlib.suppress(OSError):
                    path.unlink()

    def clear_requests(self) -> None:
        """Delete every try-on request, result and batch (fast, by SQL)."""
        from django.db import connection

        from django_tryon.models import TryOnBatch, TryOnRequest, TryOnResult

        tables = [m._meta.db_table for m in (TryOnResult, TryOnRequest, TryOnBatch)]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
            else:
                for table in tables:
                    cursor.execute(f"DELETE FROM {table}")

    # -- measuring logs

    def log_mark(self) -> float:
        return time.time()

    def worker_lines(self, since: float = 0.0) -> list[dict]:
        return self._lines("worker-*.jsonl", since)

    def web_lines(self, since: float = 0.0) -> list[dict]:
        return self._lines("web-*.jsonl", since)

    def _lines(self, pattern: str, since: float) -> list[dict]:
        lines = []
        for path in self.query_logs.glob(pattern):
            with open(path) as fh:
                for text in fh:
                    with contextlib.suppress(ValueError):
                        line = json.loads(text)
                        if line.get("time", 0) >= since:
                            lines.append(line)
        return lines
