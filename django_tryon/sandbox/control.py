"""The sandbox's own HTTP API under ``/_sandbox/``: health, inspection, faults, clock, results.

Tests and the terminal drive a running sandbox through it (docs/sandbox.md lists the
endpoints); the provider APIs never see it. It works through the methods
``host.ControlledSandbox`` declares only.
"""

from __future__ import annotations

import time
from urllib.parse import unquote

from .host import ControlledSandbox as Sandbox
from .images import render_tryon
from .tasks import SUCCEEDED
from .web import ApiRequest, ApiResponse

CONTROL_PREFIX = "/_sandbox/"
RESULTS_PREFIX = "/_sandbox/results/"


def is_control(path: str) -> bool:
    return path.startswith(CONTROL_PREFIX) or path == CONTROL_PREFIX.rstrip("/")


def answer(sandbox: Sandbox, request: ApiRequest) -> ApiResponse:
    """Answer one control request; a malformed body is a 400 with the reason."""
    try:
        path, method = request.path, request.method
        if path.startswith(RESULTS_PREFIX):
            if method != "GET":
                return _bad_method()
            return serve_result(sandbox, path[len(RESULTS_PREFIX) :])
        return _endpoint(sandbox, path[len(CONTROL_PREFIX) :].rstrip("/"), request)
    except ValueError as exc:
        return ApiResponse(400, {"error": str(exc)})


def serve_result(sandbox: Sandbox, rest: str) -> ApiResponse:
    """``results/<task>/<index>[-watermarked].png``: a finished task's image, rendered once.

    Served like a provider's CDN: 404 before the task succeeded and after the result's
    time to live, and subject to the ``result_error`` / ``result_stall`` faults.
    """
    task_id, _, filename = rest.partition("/")
    stem = filename.removesuffix(".png")
    watermarked = stem.endswith("-watermarked")
    index_text = stem.removesuffix("-watermarked")
    if not filename.endswith(".png") or not index_text.isdigit() or "/" in filename:
        return ApiResponse(404, {"error": "no such result"})
    index = int(index_text)
    with sandbox.lock:
        sandbox.advance(time.time())
        task = sandbox.get_task(task_id)
        if task is None or task.state != SUCCEEDED or task.ended is None:
            return ApiResponse(404, {"error": "no such result"})
        serves_watermarks = sandbox.api(task.provider).serves_watermarks
        if index >= task.batch_size or (watermarked and not serves_watermarks):
            return ApiResponse(404, {"error": "no such result"})
        ttl = sandbox.fault_number("result_ttl_seconds")
        if ttl is None:
            ttl = sandbox.config_snapshot().result_ttl_seconds
        if ttl is not None and time.time() >= task.ended + ttl:
            return ApiResponse(404, {"error": "result expired"})
        task.result_downloads += 1
        failing = sandbox.take_fault("result_error", provider=task.provider)
        stalling = sandbox.take_fault("result_stall", provider=task.provider)
    if failing:
        return ApiResponse(503, {"error": "result storage unavailable"})
    if stalling:
        sandbox.hang()
    with task.result_lock:  # render once, outside the global lock
        png = task.results.get((index, watermarked))
        if png is None:
            size = sandbox.api(task.provider).render_size(task)
            png = render_tryon(
                task.person, task.garments, index=index, watermark=watermarked, size=size
            )
            task.results[(index, watermarked)] = png
    return ApiResponse(200, body=png, content_type="image/png")


def _endpoint(sandbox: Sandbox, name: str, request: ApiRequest) -> ApiResponse:
    method = request.method
    if name == "health":
        if method != "GET":
            return _bad_method()
        return ApiResponse(
            200,
            {
                "status": "ok",
                "url": sandbox.url,
                **{api_name: api.create_path for api_name, api in sandbox.apis.items()},
                "tasks": sandbox.task_count,
            },
        )
    if name == "requests" and method == "GET":
        records = sandbox.requests
        limit = request.query.get("limit")
        if limit and limit.isdigit():
            records = records[-int(limit) :] if int(limit) else []
        return ApiResponse(200, {"requests": [r.as_dict() for r in records]})
    if name == "callbacks" and method == "GET":
        return ApiResponse(
            200,
            {
                "callbacks": [c.as_dict() for c in sandbox.callbacks_sent],
                "dropped": [c.as_dict() for c in sandbox.callbacks_dropped],
            },
        )
    if name == "faults":
        if method == "GET":
            return ApiResponse(200, {"faults": sandbox.faults})
        if method == "POST":
            return ApiResponse(
                200, {"faults": sandbox.set_faults(**_object(request, "fault names"))}
            )
        if method == "DELETE":
            sandbox.clear_faults()
            return ApiResponse(200, {"faults": {}})
        return _bad_method()
    if name == "reset" and method == "POST":
        sandbox.reset()
        return ApiResponse(200, {"status": "reset"})
    if name == "tasks" and method == "GET":
        return ApiResponse(200, {"tasks": sandbox.tasks})
    if name.startswith("tasks/") and method == "GET":
        task = sandbox.task(unquote(name[len("tasks/") :]))
        if task is None:
            return ApiResponse(404, {"error": "no such task"})
        return ApiResponse(200, task)
    if name == "config":
        if method == "GET":
            return ApiResponse(200, {"config": sandbox.config})
        if method == "POST":
            return ApiResponse(200, {"config": sandbox.configure(**_object(request, "options"))})
        return _bad_method()
    if name == "fast-forward" and method == "POST":
        body = request.json
        seconds = body.get("seconds") if isinstance(body, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ValueError("fast-forward needs {'seconds': <number >= 0>}")
        sandbox.fast_forward(float(seconds))
        return ApiResponse(200, {"status": "ok"})
    if name in ("requests", "callbacks", "reset", "tasks", "fast-forward"):
        return _bad_method()
    return ApiResponse(404, {"error": f"no such sandbox endpoint: {request.path}"})


def _object(request: ApiRequest, what: str) -> dict:
    body = request.json
    if not isinstance(body, dict):
        raise ValueError(f"the body must be a JSON object of {what}")
    return body


def _bad_method() -> ApiResponse:
    return ApiResponse(405, {"error": "method not allowed"})
