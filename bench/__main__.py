"""The benchmark runner: ``python -m bench [--only NAME ...] [--quick] [--json PATH]``.

Starts PostgreSQL and Redis when installed (else SQLite and the filesystem broker), the
sandbox, the shop's web server and, per benchmark, a Celery worker; runs the benchmarks;
prints the table; writes it as JSON (``bench/results/latest.json``) and, after a full
run, ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import sys
import time
import traceback
from pathlib import Path

from .fixtures import machine_info
from .harness import ROOT, BenchEnv, Result

#: Benchmark modules in the issue's order; ``--only`` takes their NAME.
MODULES = [
    "bench.create_endpoint",
    "bench.pipeline",
    "bench.callback_latency",
    "bench.lost_callbacks",
    "bench.image_prep",
    "bench.scale",
    "bench.burst",
    "bench.shown",
    "bench.upload_memory",
]


def main(argv: list[str] | None = None) -> int:
    modules = [importlib.import_module(name) for name in MODULES]
    names = [m.NAME for m in modules]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=names, metavar="NAME", help=", ".join(names))
    parser.add_argument("--quick", action="store_true", help="smaller counts (a smoke run)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    parser.add_argument(
        "--docs",
        choices=["auto", "yes", "no"],
        default="auto",
        help="write docs/performance.md (auto: after a full, non-quick run)",
    )
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="SQLite and the filesystem broker even if servers exist",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder and logs")
    args = parser.parse_args(argv)
    selected = [m for m in modules if not args.only or m.NAME in args.only]

    started = time.monotonic()
    started_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    env = BenchEnv(embedded=args.embedded, keep=args.keep)
    results: list[Result] = []
    try:
        env.start()
        meta = {
            "started": started_at.isoformat(),
            "quick": args.quick,
            "machine": machine_info(),
            "database": env.database_label,
            "broker": env.broker_label,
            "environment_notes": env.servers.notes,
            "setup_notes": setup_notes(),
            "load_average_at_start": round(os.getloadavg()[0], 2),
        }
        print(f"django-tryon benchmarks{' (quick)' if args.quick else ''}")
        print(f"  database: {meta['database']}   broker: {meta['broker']}")
        for note in env.servers.notes:
            print(f"  note: {note}")
        m = meta["machine"]
        print(f"  machine: {m['cpu']}, {m['cores']} cores, {m['ram']}, Python {m['python']}")
        print(f"  load average at start: {meta['load_average_at_start']}")
        print(f"  scratch: {env.work}{' (kept)' if args.keep else ''}\n")
        for module in selected:
            print(f"== {module.TITLE}", flush=True)
            began = time.monotonic()
            try:
                result = module.run(env, args.quick)
            except Exception as exc:
                traceback.print_exc()
                result = Result(module.NAME, module.TITLE, skipped=f"error: {exc}")
            result.seconds = time.monotonic() - began
            _show(result)
            results.append(result)
    finally:
        env.stop()

    from . import report

    meta["duration_s"] = time.monotonic() - started
    print("\n" + report.text_table(results))
    misses = report.goals_summary(results)
    print("\nGoals not met:" if misses else "\nEvery goal was met.")
    for line in misses:
        print(f"  - {line}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(report.as_json(meta, results))
    print(f"\nwritten: {args.json}")
    full = not args.only and not args.quick
    if args.docs == "yes" or (args.docs == "auto" and full):
        docs = ROOT / "docs" / "performance.md"
        report.write_docs(docs, meta, results)
        print(f"written: {docs}")
    print(f"total: {meta['duration_s']:.0f} s")
    return 0


def setup_notes() -> list[str]:
    """How the run is set up where it departs from the example shop's defaults."""
    from django.conf import settings

    notes = [
        "one process each: runner, sandbox, web server, Celery worker (prefork pool), "
        "PostgreSQL/Redis; all on 127.0.0.1",
        "web server: Django's threaded WSGI server (runserver's) with TCP_NODELAY, and the "
        "sandbox's connections with TCP_NODELAY too: with Nagle's algorithm on, every "
        "answer on a kept-alive connection waits ~40 ms for a delayed ACK",
        f"database connections kept open (CONN_MAX_AGE="
        f"{settings.DATABASES['default'].get('CONN_MAX_AGE')}), as in production; the example "
        "shop's 0 opens one per request and per task",
        "API throttles and the per-shopper daily limit off (quotas are still counted); "
        "TRYON timing settings (polls, reaper, retries) at the shipped defaults",
    ]
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        notes.append(
            "the filesystem broker looks for messages every 50 ms (kombu's default is 1 s)"
        )
    return notes


def _show(result: Result) -> None:
    from . import report

    if result.skipped:
        print(f"   skipped: {result.skipped}")
    else:
        print(report.text_table([result]))
    for note in result.notes:
        print(f"   - {note}")
    print(f"   ({result.seconds:.0f} s)\n", flush=True)


if __name__ == "__main__":
    sys.exit(main())
