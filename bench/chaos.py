"""The chaos run: ``python -m bench.chaos [--short] [--count N] [--seed S]`` (``make chaos``).

The example shop's models and tasks with a real Celery worker (prefork, with beat) on
Redis and PostgreSQL when installed, the sandbox over HTTP, and faults a busy shop meets,
armed at random while try-ons run:

* provider answers: 429 (1302, 1303, FASHN's rate and concurrency limits, Model Studio's
  throttling, Vertex AI's per-minute quota), 5xx, a create refused for its content, create
  timeouts, a 504 *after* PiAPI created the task, Kling's 5002 after creating it, Kling
  out of credit (1102: routed try-ons move to FASHN, named ones fail unpaid); dropped,
  duplicated and reordered callbacks; failing and stalling result downloads; tasks that
  fail at the provider;
* a Kling slot limit small enough that waiting for a slot outlasts the deadline;
* the worker killed with SIGKILL at random moments, and restarted;
* Redis restarted once (its queued messages are lost: it keeps nothing on disk);
* SECRET_KEY rotated once, the old key kept in SECRET_KEY_FALLBACKS.

Then it waits for a positive end (every request final, the sandbox idle, every delivered
callback handled) and counts: see ``bench.invariants``. Exit status 1 when one fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .fixtures import machine_info
from .harness import BenchEnv

#: The pipeline's clocks for the run: tight, so faults are met and recovered many times.
CHAOS_TRYON = {
    "POLL_FIRST_AFTER_SECONDS": 2,
    "POLL_INTERVAL_SECONDS": 1,
    "POLL_MAX_INTERVAL_SECONDS": 4,
    "REAP_INTERVAL_SECONDS": 1,
    "REQUEUE_PENDING_AFTER_SECONDS": 5,
    "SUBMITTING_STUCK_AFTER_SECONDS": 8,
    "UNCONFIRMED_SUBMIT_WAIT_SECONDS": 30,
    "RETRY_BASE_SECONDS": 0.5,
    "RETRY_MAX_SECONDS": 4.0,
    # Shorter than a busy Kling queue on two slots: some shopper try-ons wait past it
    # (and fail unpaid); catalogue work waits longer.
    "DEADLINE_SECONDS": 20,
    "CATALOGUE_DEADLINE_SECONDS": 120,
    "DOWNLOAD_TIMEOUT_SECONDS": 5,
    "SHOPPER_DAILY_GENERATION_LIMIT": None,
    # One try-on in ten names no provider: the route sends it to Kling, else FASHN.
    "ROUTING": {"default": ["kling", "fashn"]},
    "BREAKER_FAILURES": 3,
    "BREAKER_OPEN_SECONDS": 3,
    "OUT_OF_CREDIT_RETRY_SECONDS": 5,
}
#: (fault, value) pairs the monkey arms, each for the next one or two matching events.
FAULTS = [
    ("kling_rate_limit", 2),
    ("kling_concurrency", 2),
    ("kling_internal", 1),
    ("kling_maintenance", {"count": 1, "on": "query"}),
    ("kling_timeout_code", 1),
    ("piapi_server_error", 1),
    ("piapi_rate_limit", 2),
    ("piapi_server_error", {"count": 2, "on": "query"}),
    ("gateway_timeout_after_create", 1),
    ("hang", {"count": 1, "on": "create"}),
    ("hang", {"count": 1, "on": "query"}),
    ("callbacks_drop", 3),
    ("callbacks_duplicate", 3),
    ("callbacks_reorder", 2),
    ("result_error", 2),
    ("result_stall", 1),
    ("task_fail", 1),
    ("fashn_rate_limit", 2),
    ("fashn_concurrency_limit", 1),
    ("fashn_server_error", 1),
    ("kling_error", {"code": 1102, "count": 1}),
    ("dashscope_throttling", 2),
    ("dashscope_internal", 1),
    ("dashscope_data_inspection", 1),
    ("vertex_quota", 1),
    ("vertex_unavailable", 1),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--short", action="store_true", help="about 100 try-ons (CI)")
    parser.add_argument("--count", type=int, help="try-ons to create (default 520, short 100)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder and logs")
    parser.add_argument("--json", type=Path, help="write the table as JSON here")
    args = parser.parse_args(argv)
    count = args.count or (100 if args.short else 520)
    seed = args.seed if args.seed is not None else int(time.time())
    print(f"chaos run: {count} try-ons, seed {seed}", flush=True)

    os.environ["BENCH_TRYON"] = json.dumps(CHAOS_TRYON)
    os.environ["BENCH_PROVIDER_TIMEOUT"] = "3"
    os.environ["BENCH_SECRET_KEY"] = "chaos-secret-key-one-" + "x" * 40
    os.environ["BENCH_SECRET_KEY_FALLBACKS"] = ""
    env = BenchEnv(keep=args.keep)
    started = time.monotonic()
    try:
        env.start()
        run = ChaosRun(env, count=count, rng=random.Random(seed))
        run.go()
        from .invariants import check, render

        table = check(env, run)
        print(render(table, run, machine_info(), seed, time.monotonic() - started), flush=True)
        if args.json:
            args.json.write_text(json.dumps(table, indent=2, default=str))
        return 0 if all(row["ok"] for row in table) else 1
    finally:
        if args.keep:
            print(f"logs kept in {env.work}")
        env.stop()


class ChaosRun:
    """Creates the try-ons, runs the monkey, and waits for the positive end."""

    def __init__(self, env: BenchEnv, *, count: int, rng: random.Random):
        self.env, self.count, self.rng = env, count, rng
        self.worker = None
        self.events: list[str] = []
        self.kills = 0
        self.stop = threading.Event()
        self.worker_lock = threading.Lock()  # the monkey and the waiter both replace it

    def go(self) -> None:
        from shop_project.celery import app  # noqa: F401 (binds the tasks to the broker)

        self.env.sandbox.fresh(queue_seconds=0.3, generation_seconds=1.5, slots=2)
        self.worker = self.env.worker(concurrency=4).start()
        monkey = threading.Thread(target=self._monkey, daemon=True)
        monkey.start()
        creating = threading.Thread(target=self._create_all, daemon=True)
        creating.start()
        creating.join()
        self._wait_all_final(timeout=900)
        self.stop.set()
        monkey.join()
        self.env.sandbox.call("clear_faults")
        self._ensure_worker()
        self._wait_quiet(timeout=180)
        self.worker.stop()

    # -- the load ----------------------------------------------------------------------

    def _create_all(self) -> None:
        from django.db import connection

        from django_tryon import services
        from django_tryon.callers import Caller
        from django_tryon.models import Source

        from . import imagegen
        from .fixtures import make_garment

        garments = [make_garment(f"Chaos tee {i}") for i in range(3)]
        spacing = 0.35  # about three a second: a busy shop's evening
        try:
            for i in range(self.count):
                draw = self.rng.random()
                provider = (
                    "kling"
                    if draw < 0.4
                    else "piapi"
                    if draw < 0.62
                    else "fashn"
                    if draw < 0.78
                    else "dashscope"
                    if draw < 0.84
                    else "vertex"
                    if draw < 0.9
                    else None
                )
                source = Source.WIDGET if self.rng.random() < 0.7 else Source.ADMIN
                batch = (
                    2 if provider in ("piapi", "fashn", "vertex") and self.rng.random() < 0.2 else 1
                )
                person = imagegen.person(640, 900, seed=1000 + i)
                services.create_tryon(
                    garment=garments[i % len(garments)],
                    person_image=person,
                    provider=provider,
                    batch_size=batch,
                    caller=Caller(
                        source=source,
                        owner_key=f"session:chaos-{i % 40}",
                        staff=True,
                        consented=True,
                    ),
                )
                time.sleep(spacing)
        finally:
            connection.close()

    def _wait_all_final(self, timeout: float) -> None:
        from django_tryon.models import TryOnRequest
        from django_tryon.status import ACTIVE

        deadline = time.monotonic() + timeout
        while TryOnRequest.objects.filter(status__in=ACTIVE).exists():
            if time.monotonic() > deadline:
                left = TryOnRequest.objects.filter(status__in=ACTIVE).count()
                self.events.append(f"{left} requests still active after {timeout} s")
                return
            self._ensure_worker()
            time.sleep(1)

    def _wait_quiet(self, timeout: float) -> None:
        """The sandbox idle, and every callback it delivered handled by the shop."""
        from django_tryon.models import CallbackReceipt

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            summary = self.env.sandbox.call("summary")
            busy = any(t["state"] not in ("succeeded", "failed") for t in summary["tasks"])
            delivered = [c for c in summary["callbacks"] if c["status"]]
            if not busy and CallbackReceipt.objects.count() >= len(delivered):
                return
            time.sleep(0.5)
        self.events.append(f"the sandbox was not quiet after {timeout} s")

    # -- the monkey --------------------------------------------------------------------

    def _monkey(self) -> None:
        """Faults every few seconds, a SIGKILL now and then, one Redis restart, one key
        rotation, until the load is done and every request is final."""
        started = time.monotonic()
        next_kill = started + self.rng.uniform(10, 25)
        redis_at = started + self.count * 0.35 * 0.4
        rotate_at = started + self.count * 0.35 * 0.6
        while not self.stop.wait(self.rng.uniform(1.0, 3.0)):
            name, value = self.rng.choice(FAULTS)
            extra = {"hang_seconds": 4} if name in ("hang", "result_stall") else {}
            with contextlib.suppress(RuntimeError):
                self.env.sandbox.call("set_faults", **{name: value}, **extra)
            now = time.monotonic()
            if now >= next_kill:
                self._kill_worker()
                next_kill = now + self.rng.uniform(15, 35)
            if redis_at and now >= redis_at:
                self._restart_redis()
                redis_at = 0
            if rotate_at and now >= rotate_at:
                self._rotate_secret_key()
                rotate_at = 0

    def _kill_worker(self) -> None:
        with self.worker_lock:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.worker.proc.pid, signal.SIGKILL)
            self.worker.proc.wait(10)
            self.kills += 1
            self.events.append(f"worker SIGKILLed at {self._clock()}")
            self.worker = self.env.worker(concurrency=4).start()

    def _ensure_worker(self) -> None:
        with self.worker_lock:
            if self.worker.proc.poll() is not None:  # died on its own (the broker went away)
                self.events.append(f"worker died at {self._clock()}; restarted")
                self.worker = self.env.worker(concurrency=4).start()

    def _restart_redis(self) -> None:
        url = self.env.servers.broker_url
        if not url:
            self.events.append("no Redis (embedded broker): restart skipped")
            return
        import redis

        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with contextlib.suppress(Exception):
            redis.Redis.from_url(url).shutdown(nosave=True)
        time.sleep(1.0)
        work = self.env.servers.work
        subprocess.run(
            [
                "redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(work),
                "--save", "", "--appendonly", "no", "--daemonize", "yes",
                "--pidfile", str(work / "redis.pid"), "--logfile", str(work / "redis.log"),
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        self.events.append(f"Redis restarted at {self._clock()} (queued messages lost)")

    def _rotate_secret_key(self) -> None:
        old = self.env.env["BENCH_SECRET_KEY"]
        new = "chaos-secret-key-two-" + "y" * 40
        for environ in (os.environ, self.env.env):
            environ["BENCH_SECRET_KEY"], environ["BENCH_SECRET_KEY_FALLBACKS"] = new, old
        self.env.web.stop()
        self.env.web.start(self.env.env)
        with self.worker_lock:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.worker.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.worker.proc.wait(20)
            self.worker.stop()
            self.worker = self.env.worker(concurrency=4).start()
        self.events.append(f"SECRET_KEY rotated at {self._clock()} (old key in the fallbacks)")

    def _clock(self) -> str:
        return time.strftime("%H:%M:%S")


if __name__ == "__main__":
    sys.exit(main())
