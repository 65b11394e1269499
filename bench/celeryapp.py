"""The benchmark worker's Celery app: the example shop's app plus measuring hooks.

``celery -A bench.celeryapp worker`` runs the shop's app unchanged; with
``BENCH_LOG_DIR`` set, every task run appends one JSON line to ``worker-<pid>.jsonl``
there: task name, request id, database queries, wall and thread CPU seconds (and the
reaper's report). ``worker_ready`` writes ``worker-ready-<pid>`` so the runner knows
when to start the clock without parsing logs.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from celery.signals import task_postrun, task_prerun, worker_ready
from shop_project.celery import app

__all__ = ["app"]

LOG_DIR = os.environ.get("BENCH_LOG_DIR")
_local = threading.local()
_lock = threading.Lock()


def _count(execute, sql, params, many, context):
    _local.queries = getattr(_local, "queries", 0) + 1
    return execute(sql, params, many, context)


@worker_ready.connect
def _ready(**kwargs):
    if LOG_DIR:
        Path(LOG_DIR, f"worker-ready-{os.getpid()}").write_text(str(time.time()))


@task_prerun.connect
def _started(task=None, args=None, **kwargs):
    if not LOG_DIR:
        return
    from django.db import connection

    # Each pool thread has its own connection object; it survives reconnects.
    if _count not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count)
    _local.queries = 0
    _local.wall = time.perf_counter()
    _local.cpu = time.thread_time()


@task_postrun.connect
def _finished(task=None, args=None, retval=None, state=None, **kwargs):
    if not LOG_DIR or not hasattr(_local, "wall"):
        return
    line = {
        "task": task.name if task else "",
        "id": str(args[0]) if args else None,
        "queries": _local.queries,
        "wall": time.perf_counter() - _local.wall,
        "cpu": time.thread_time() - _local.cpu,
        "state": state,
        "retries": getattr(task.request, "retries", 0) if task else 0,
        "time": time.time(),
    }
    if isinstance(retval, dict):
        line["report"] = retval
    with _lock, open(Path(LOG_DIR, f"worker-{os.getpid()}.jsonl"), "a") as fh:
        fh.write(json.dumps(line) + "\n")
