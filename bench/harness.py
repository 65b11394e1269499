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
import functools
import glob
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.waiting import wait_until as _wait_until

#: The benchmarks poll ten times a second: faster would load the database they measure.
wait_until = functools.partial(_wait_until, interval=0.1)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "example_project"
CLK_TCK = os.sysconf("SC_CLK_TCK")


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


# -- small helpers ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: Iterable[float], pct: float) -> float:
    """Nearest-rank percentile (p50 of [1, 2, 3, 4] is 2); NaN when empty."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (all its threads, not its children)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def group_cpu(pgid: int) -> float:
    """CPU seconds of every live process in a process group, plus what its leader has
    reaped: a prefork worker does its work in pool processes, not in its main one."""
    total = 0.0
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(stat) as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
            if int(stat.split("/")[2]) == pgid:  # the leader: its reaped children too
                total += (int(fields[13]) + int(fields[14])) / CLK_TCK
    return total


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal
    return (total - idle) / CLK_TCK, total / CLK_TCK


def machine_busy(start: tuple[float, float]) -> float:
    """Fraction of all cores busy since ``start`` (a ``machine_cpu()`` reading)."""
    busy, total = machine_cpu()
    return (busy - start[0]) / max(total - start[1], 1e-9)


def _wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited early: {_tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s: {_tail(log)}")


def _tail(path, size: int = 4000) -> str:
    if not path or not Path(path).exists():
        return ""
    return Path(path).read_text(errors="replace")[-size:]


def _kill_group(proc: subprocess.Popen | None, timeout: float = 15) -> None:
    """SIGTERM the process group, wait, then SIGKILL whatever is left (embedded beat)."""
    if proc is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


# -- PostgreSQL and Redis -----------------------------------------------------------------


class Servers:
    """PostgreSQL and Redis on loopback when installed (as .ci/run starts them), else none.

    ``database_url`` / ``broker_url`` are None when the embedded defaults (SQLite, the
    filesystem broker) are used; ``notes`` says why.
    """

    def __init__(self, work: Path):
        self.work = work
        self.database_url: str | None = None
        self.broker_url: str | None = None
        self.notes: list[str] = []
        self._pg_ctl: list[str] | None = None
        self._pg_data: Path | None = None
        self._redis_pid: Path | None = None

    def start(self, *, embedded: bool = False) -> Servers:
        if os.environ.get("BENCH_DATABASE_URL"):
            self.database_url = os.environ["BENCH_DATABASE_URL"]
        elif embedded:
            self.notes.append("SQLite: --embedded was given")
        else:
            self._start_postgres()
        if os.environ.get("BENCH_BROKER_URL"):
            self.broker_url = os.environ["BENCH_BROKER_URL"]
        elif embedded:
            self.notes.append("filesystem broker: --embedded was given")
        else:
            self._start_redis()
        return self

    def _start_postgres(self) -> None:
        initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        initdb = initdbs[-1] if initdbs else shutil.which("initdb")
        if not initdb:
            self.notes.append("SQLite: PostgreSQL is not installed (no initdb)")
            return
        bindir = Path(initdb).parent
        as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            if not shutil.which("runuser"):
                self.notes.append("SQLite: running as root without runuser for PostgreSQL")
                return
            as_user = ["runuser", "-u", "postgres", "--"]
        data, sock = self.work / "pg", self.work / "pgsock"
        data.mkdir()
        sock.mkdir()
        if as_user:
            shutil.chown(data, "postgres")
            shutil.chown(sock, "postgres")
            os.chmod(self.work, 0o755)
        port = free_port()
        log = self.work / "pg.log"
        log.touch()
        if as_user:
            shutil.chown(log, "postgres")
        try:
            subprocess.run(
                [*as_user, str(initdb), "-D", str(data), "-A", "trust", "-U", "postgres"],
                check=True,
                capture_output=True,
            )
            self._pg_ctl = [*as_user, str(bindir / "pg_ctl"), "-D", str(data)]
            self._pg_data = data
            options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off"
            subprocess.run(
                [*self._pg_ctl, "-w", "-l", str(log), "-o", options, "start"],
                check=True,
                capture_output=True,
            )
            psql = [*as_user, str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(port)]
            for sql in (
                "CREATE ROLE tryon LOGIN SUPERUSER PASSWORD 'tryon'",
                "CREATE DATABASE tryon OWNER tryon",
            ):
                subprocess.run(
                    [*psql, "-U", "postgres", "-qc", sql], check=True, capture_output=True
                )
        except (subprocess.CalledProcessError, OSError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            self.notes.append(
                f"SQLite: PostgreSQL did not start ({exc}; {detail.decode(errors='replace')[-200:]})"
            )
            self._stop_postgres()
            return
        self.database_url = f"postgres://tryon:tryon@127.0.0.1:{port}/tryon"

    def _start_redis(self) -> None:
        redis = shutil.which("redis-server")
        if not redis:
            self.notes.append("filesystem broker: Redis is not installed (no redis-server)")
            return
        port = free_port()
        self._redis_pid = self.work / "redis.pid"
        try:
            cmd = [
                redis, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(self.work),
                "--save", "", "--appendonly", "no", "--daemonize", "yes",
                "--pidfile", str(self._redis_pid), "--logfile", str(self.work / "redis.log"),
            ]  # fmt: skip
            subprocess.run(cmd, check=True, capture_output=True)
            _wait_port(port, 10)
        except (subprocess.CalledProcessError, OSError, RuntimeError) as exc:
            self.notes.append(f"filesystem broker: Redis did not start ({exc})")
            self._stop_redis()
            return
        self.broker_url = f"redis://127.0.0.1:{port}/0"

    def stop(self) -> None:
        self._stop_redis()
        self._stop_postgres()

    def _stop_postgres(self) -> None:
        if self._pg_ctl:
            subprocess.run([*self._pg_ctl, "-m", "immediate", "stop"], capture_output=True)
            self._pg_ctl = None

    def _stop_redis(self) -> None:
        pidfile, self._redis_pid = self._redis_pid, None
        if pidfile is None:
            return
        try:
            pid = int(wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), 3))
            os.kill(pid, signal.SIGTERM)
        except Exception:  # no pid file (scratch folder gone): ask the server itself
            with contextlib.suppress(Exception):
                import redis

                redis.Redis.from_url(self.broker_url or "").shutdown(nosave=True)


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
            raise RuntimeError(f"sandbox did not start: {line!r} {_tail(self.log)}")
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
        _kill_group(self.proc, timeout=2)
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
        _wait_port(self.port, 60, self.proc, self.log)
        return self

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def stop(self) -> None:
        _kill_group(self.proc)
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
                raise RuntimeError(f"celery worker exited early:\n{_tail(self.log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"celery worker not ready after {timeout}s:\n{_tail(self.log)}")
            time.sleep(0.1)
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu(self) -> float:
        return group_cpu(self.proc.pid)  # the pool processes do the work

    def stop(self) -> None:
        _kill_group(self.proc, timeout=20)

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


# -- fixtures and counting ----------------------------------------------------------------


def make_garment(name: str = "Bench tee", size: int = 600):
    """One active upper garment with a generated PNG (reused by every benchmark)."""
    from django.core.files.base import ContentFile

    from django_tryon.models import Garment

    from . import imagegen

    garment = Garment.objects.filter(name=name).first()
    if garment is None:
        garment = Garment(name=name, category="upper", sku=f"bench-{size}")
        garment.image.save("garment.png", ContentFile(imagegen.garment(size)), save=True)
    return garment


class QueryCounter:
    """Count the runner's own queries (``with QueryCounter() as q: ...; q.count``).

    ``quota`` counts those of the quota bookkeeping: statements on the usage counters
    and the savepoint around them.
    """

    def __init__(self):
        self.count = 0
        self.quota = 0
        self._cm = None

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if "usagecounter" in sql or sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):
            self.quota += 1
        return execute(sql, params, many, context)

    def __enter__(self) -> QueryCounter:
        from django.db import connection

        self._cm = connection.execute_wrapper(self)
        self._cm.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._cm.__exit__(*exc)


def machine_info() -> dict[str, str]:
    """CPU model, cores, RAM, OS, Python, Django, Celery (DB and broker are added by the runner)."""
    import celery
    import django
    import PIL

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = ""
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": ram,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": django.get_version(),
        "celery": celery.__version__,
        "pillow": PIL.__version__,
    }
