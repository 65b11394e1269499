"""Per-request query count, wall and CPU time of the web server, for the benchmarks.

Active only when ``BENCH_LOG_DIR`` is set: each request appends one JSON line to
``web-<pid>.jsonl`` there (kind of path, status, queries, seconds). Paths are not
written (callback URLs carry tokens), only their kind.
"""

from __future__ import annotations

import json
import os
import threading
import time

from django.db import connection

_lock = threading.Lock()

KINDS = (
    ("/tryon/callbacks/", "callback"),
    ("/tryon/api/", "api"),
    ("/admin/", "admin"),
    ("/bench/upload/", "baseline-upload"),
)


def kind_of(path: str) -> str:
    for prefix, kind in KINDS:
        if path.startswith(prefix):
            return kind
    return "other"


class QueryCountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        folder = os.environ.get("BENCH_LOG_DIR")
        self.path = os.path.join(folder, f"web-{os.getpid()}.jsonl") if folder else None

    def __call__(self, request):
        if self.path is None:
            return self.get_response(request)
        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        started, cpu = time.perf_counter(), time.thread_time()
        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        line = {
            "kind": kind_of(request.path),
            "method": request.method,
            "status": response.status_code,
            "queries": count,
            "wall": time.perf_counter() - started,
            "cpu": time.thread_time() - cpu,
            "time": time.time(),
        }
        with _lock, open(self.path, "a") as fh:
            fh.write(json.dumps(line) + "\n")
        return response
