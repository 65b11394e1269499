"""The processes a run needs, on 127.0.0.1 only: free ports, waiting for a port, killing a
process group, and PostgreSQL and Redis in a scratch folder when their binaries exist
(as .ci/run starts them), else the embedded defaults (SQLite, the filesystem broker)."""

from __future__ import annotations

import contextlib
import functools
import glob
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from kit.waiting import wait_until as _wait_until

#: Ten polls a second: faster would load the database a benchmark measures.
wait_until = functools.partial(_wait_until, interval=0.1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited early: {tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s: {tail(log)}")


def tail(path, size: int = 4000) -> str:
    if not path or not Path(path).exists():
        return ""
    return Path(path).read_text(errors="replace")[-size:]


def kill_group(proc: subprocess.Popen | None, timeout: float = 15) -> None:
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
        # Each server: the URL a caller gave, else the embedded stand-in, else one started.
        for url, variable, stand_in, start in (
            ("database_url", "BENCH_DATABASE_URL", "SQLite", self._start_postgres),
            ("broker_url", "BENCH_BROKER_URL", "filesystem broker", self._start_redis),
        ):
            if os.environ.get(variable):
                setattr(self, url, os.environ[variable])
            elif embedded:
                self.notes.append(f"{stand_in}: --embedded was given")
            else:
                start()
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
            wait_port(port, 10)
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
