"""`make demo` stops cleanly on Ctrl-C: every process gone within 10 s, nothing logged as an
error. Runs scripts/demo.sh (what `make demo` runs once its virtualenv exists) on the
embedded defaults: SQLite and the filesystem broker in a scratch folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from kit.processes import free_port
from kit.waiting import wait_until
from tests.pipeline import ROOT

ERRORS = ("Traceback", "ERROR", "CRITICAL", "exited with signal", "WorkerLostError")


def _session_processes(sid: int) -> set[int]:
    """Every live process of the session the demo was started in."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == sid:  # state, ..., session id
            found.add(int(entry.name))
    return found


def _demo_environment(var: Path) -> dict[str, str]:
    """The shell a new user has: none of the suite's settings, services or ports."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TRYON_", "SHOP_", "DJANGO_", "DATABASE_", "CELERY_"))
    }
    env["SHOP_VAR_DIR"] = str(var)
    return env


def _as_a_terminal_starts_it() -> None:
    """A terminal's shell starts a command with Ctrl-C's signal at its default. A suite
    started in the background or by a runner that ignores SIGINT would pass the ignoring on
    (it survives exec), and then no Ctrl-C could reach the demo."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_every_demo_process_within_ten_seconds(tmp_path):
    port, sandbox_port = free_port(), free_port()
    bin_dir = Path(sys.executable).parent
    out = (tmp_path / "demo.out").open("wb")
    demo = subprocess.Popen(
        ["bash", "scripts/demo.sh", str(bin_dir), str(port), str(sandbox_port)],
        cwd=ROOT,
        env=_demo_environment(tmp_path / "var"),
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # as a terminal: the demo's own session and process group
        preexec_fn=_as_a_terminal_starts_it,
    )
    logs = tmp_path / "var" / "log"
    try:
        wait_until(
            lambda: _answers(f"http://127.0.0.1:{port}/"), timeout=120, interval=0.2, what="shop"
        )
        wait_until(
            lambda: "ready." in (logs / "worker.log").read_text(),
            timeout=60,
            interval=0.2,
            what="the worker",
        )
        wait_until(
            lambda: _answers(f"http://127.0.0.1:{sandbox_port}/_sandbox/health"),
            timeout=30,
            interval=0.2,
            what="sandbox",
        )
        running = _session_processes(demo.pid)
        assert len(running) >= 5  # the script, sandbox, worker, its pool and beat, runserver

        # From another terminal, as the README says, on the third provider: the demo's
        # worker makes it, its sandbox answers as FASHN.
        env = {
            **_demo_environment(tmp_path / "var"),
            "TRYON_SANDBOX_URL": f"http://127.0.0.1:{sandbox_port}",
            "TRYON_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        }
        demo_images = tmp_path / "var" / "demo"
        tryon = subprocess.run(
            [
                sys.executable, "example_project/manage.py", "tryon",
                "--person", str(demo_images / "person.jpg"),
                "--garment", str(demo_images / "garment-upper.png"), "--category", "upper",
                "--provider", "fashn", "--json", "--timeout", "90",
            ],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert tryon.returncode == 0, tryon.stderr[-3000:]
        summary = json.loads(tryon.stdout)
        assert (summary["status"], summary["provider"]) == ("succeeded", "fashn")
        assert summary["cost_currency"] == "credits" and summary["shop_currency"] == "USD"
        assert Path(summary["results"][0]["file"]).is_file()

        started = time.monotonic()
        os.killpg(demo.pid, signal.SIGINT)  # what Ctrl-C sends the terminal's process group
        demo.wait(timeout=15)
        wait_until(
            lambda: not _session_processes(demo.pid), timeout=2, interval=0.05, what="every process"
        )
        assert time.monotonic() - started < 10
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
        for pid in _session_processes(demo.pid):
            os.kill(pid, signal.SIGKILL)
        out.close()
    output = (tmp_path / "demo.out").read_text()
    assert "demo stopped" in output
    for name, text in [
        ("demo output", output),
        ("worker.log", (logs / "worker.log").read_text()),
        ("sandbox.log", (logs / "sandbox.log").read_text()),
    ]:
        assert not [word for word in ERRORS if word in text], f"{name}:\n{text[-3000:]}"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
