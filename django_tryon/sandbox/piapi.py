"""PiAPI's unified task API for Kling try-on (``model: kling``, ``task_type: ai_try_on``)."""

from __future__ import annotations

import hmac
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from . import images
from .base import Fault, Option, ProviderApi, is_http_url, nonempty, seconds
from .callbacks import CallbackMessage
from .tasks import FAILED, PROCESSING, QUEUED, STAGED, SUCCEEDED, Failure, Task
from .web import ApiRequest, ApiResponse, encode_json

BASE_PATH = "/api/v1/task"
DEFAULT_KEY = "sandbox-piapi-key"
MODEL = "kling"
TASK_TYPE = "ai_try_on"
WORK_TYPE = "mmu_img2img_aitryon"
SERVICE_MODES = ("public", "private", "")
GARMENT_FIELDS = (("dress_input", "dress"), ("upper_input", "upper"), ("lower_input", "lower"))
ZERO_TIME = "0001-01-01T00:00:00Z"
#: PiAPI bills in points; 1 USD = 1,000,000 points (unconfirmed), $0.07 per output image.
POINTS_PER_IMAGE = 70_000

STATUS_WORDS = {
    STAGED: "staged",
    QUEUED: "pending",
    PROCESSING: "processing",
    SUCCEEDED: "completed",
    FAILED: "failed",
}

FAILURE_TEXT = {
    "content": (
        "content policy violation: the input was rejected by the provider's moderation",
        "kling: risk control: the input image failed the content review",
    ),
    "generic": (
        "task failed: the generation service returned an error",
        "kling: generation failed (simulated)",
    ),
    "cancelled": ("task canceled by user", "canceled by a DELETE request while pending"),
}
FAILURE_CODE = 10000


class PiApi(ProviderApi):
    """Route, authenticate and answer requests under ``/api/``."""

    name = "piapi"
    prefix = "/api/"
    tasks_path = BASE_PATH
    status_field = "status"
    serves_watermarks = True
    collection_methods = {"POST": "create"}
    item_methods = {"GET": "query", "DELETE": "cancel"}
    options = (
        Option("piapi_key", DEFAULT_KEY, check=nonempty),
        Option("piapi_status_case", "lower", choices=("lower", "title")),
        Option("piapi_staged_seconds", 0.0, kind=float, check=seconds()),
    )
    faults = (
        Fault(
            "piapi_rate_limit",
            "PiAPI answers HTTP 429 {code: 429}; nothing is created.",
            code=429,
            message="too many requests, please retry later",
        ),
        Fault(
            "piapi_server_error",
            "PiAPI answers HTTP 500 {code: 500}; nothing is created.",
            code=500,
            message="internal server error",
        ),
        Fault(
            "gateway_timeout_after_create",
            "The gateway answers HTTP 504 (an HTML page) after PiAPI created the task: it "
            "exists, and is charged.",
            kinds=("create",),
        ),
        Fault(
            "piapi_error",
            "PiAPI answers any HTTP error: dict with http (required) and message.",
            needs="http",
        ),
    )

    @classmethod
    def app_settings(cls, config: Any) -> dict[str, Any]:
        return {"API_KEY": config.piapi_key}

    @classmethod
    def describe_keys(cls, config: Any) -> str:
        return f"piapi key {config.piapi_key}"

    def error(self, code: int, message: str) -> ApiResponse:
        return error(code, message)

    def authenticate(self, request: ApiRequest) -> ApiResponse | None:
        key = request.headers.get("x-api-key", "")
        if not key:
            return error(401, "Unauthorized: the x-api-key header is missing")
        expected = self.sandbox.config_snapshot().piapi_key
        if not hmac.compare_digest(key.encode(), expected.encode()):
            return error(401, "Unauthorized: invalid API key")
        return None

    # -- endpoints ------------------------------------------------------------------------

    def create(self, request: ApiRequest) -> ApiResponse:
        body = request.json
        if not isinstance(body, dict):
            return error(400, "invalid request: the body must be a JSON object")
        parsed = _parse_create(body)
        if isinstance(parsed, str):
            return error(400, parsed)
        fields, batch_size, config_echo = parsed

        config = self.sandbox.config_snapshot()
        checked: dict[str, images.InputImage] = {}
        for name, url in fields.items():
            try:
                data = self.sandbox.download(url, f"input.{name}")
                checked[name] = images.check_image(data, f"input.{name}")
            except images.ImageRejected as exc:
                message = str(exc)
                if "could not be downloaded" in message:
                    message = f"failed to download input.{name}: {message}"
                return error(400, message)
        person = checked["model_input"]
        width, height = images.output_size(person.width, person.height)
        garments = [(kind, checked[name].data) for name, kind in GARMENT_FIELDS if name in checked]
        webhook = config_echo["webhook_config"]

        with self.on_the_clock() as now:
            task = self.start_task(
                now,
                callback_url=webhook["endpoint"],
                task_id=str(uuid.uuid4()),
                account="default",
                staged_seconds=config.piapi_staged_seconds,
                person=person.data,
                garments=garments,
                output_width=width,
                output_height=height,
                batch_size=batch_size,
                webhook_secret=webhook["secret"],
                request={"input": {**fields, "batch_size": batch_size}, "config": config_echo},
            )
            data = self.task_data(task)
            late = self.take_fault("gateway_timeout_after_create")
        if late:
            # The gateway in front gave up after PiAPI created (and charged) the task.
            return ApiResponse(
                504,
                body=b"<html><body><h1>504 Gateway Time-out</h1></body></html>",
                content_type="text/html",
            )
        return ok(data)

    def query(self, task_ref: str) -> ApiResponse:
        sandbox = self.sandbox
        with sandbox.lock:
            sandbox.advance(time.time())
            task = sandbox.get_task(task_ref)
            if task is None or task.provider != "piapi":
                return error(404, f"task not found: {task_ref}")
            return ok(self.task_data(task))

    def cancel(self, task_ref: str) -> ApiResponse:
        """Cancel a pending task: it ends ``failed`` with error "task canceled by user"."""
        sandbox = self.sandbox
        with self.on_the_clock() as now:
            task = sandbox.get_task(task_ref)
            if task is None or task.provider != "piapi":
                return error(404, f"task not found: {task_ref}")
            if task.state != QUEUED:
                word = self._status_word(task)
                return error(400, f"only a pending task can be canceled; this task is {word}")
            task.failure = Failure("cancelled", None)
            task.enter(FAILED, now)
            sandbox.task_changed(task)
            return ok(self.task_data(task))

    # -- views ----------------------------------------------------------------------------

    def task_data(self, task: Task) -> dict[str, Any]:
        """The ``data`` object of create, get and webhooks."""
        service_mode = task.request["config"]["service_mode"]
        points = POINTS_PER_IMAGE * task.batch_size
        return {
            "task_id": task.task_id,
            "model": MODEL,
            "task_type": TASK_TYPE,
            "status": self._status_word(task),
            "config": task.request["config"],
            "input": task.request["input"],
            "output": self._output(task),
            "meta": {
                "created_at": _rfc3339(task.created),
                "started_at": _rfc3339(task.started),
                "ended_at": _rfc3339(task.ended),
                "usage": {
                    "type": "point",
                    "frozen": points,
                    "consume": points if task.state == SUCCEEDED else 0,
                },
                "is_using_private_pool": service_mode == "private",
            },
            "detail": None,
            "logs": [],
            "error": self._error(task),
        }

    def callback_message(self, task: Task) -> CallbackMessage | None:
        if not task.callback_url:
            return None
        headers = {"x-webhook-secret": task.webhook_secret} if task.webhook_secret else {}
        body = {"timestamp": int(time.time()), "data": self.task_data(task)}
        return CallbackMessage(
            provider="piapi",
            task_id=task.task_id,
            task_status=self._status_word(task),
            url=task.callback_url,
            body=encode_json(body),
            headers=headers,
        )

    # -- helpers --------------------------------------------------------------------------

    def _status_word(self, task: Task) -> str:
        word = STATUS_WORDS[task.state]
        if self.sandbox.config_snapshot().piapi_status_case == "title":
            return word.title()
        return word

    def _output(self, task: Task) -> dict[str, Any] | None:
        if task.state != SUCCEEDED:
            return None
        works = []
        for index in range(task.batch_size):
            works.append(
                {
                    "status": 99,
                    "type": WORK_TYPE,
                    "image": {
                        "resource": self.sandbox.result_url(task.task_id, index, watermarked=True),
                        "resource_without_watermark": self.sandbox.result_url(task.task_id, index),
                        "height": task.output_height,
                        "width": task.output_width,
                    },
                }
            )
        return {"works": works}

    def _error(self, task: Task) -> dict[str, Any]:
        if task.state != FAILED or task.failure is None:
            return {"code": 0, "raw_message": "", "message": "", "detail": None}
        message, raw = FAILURE_TEXT.get(task.failure.kind, FAILURE_TEXT["generic"])
        return {
            "code": FAILURE_CODE,
            "raw_message": raw,
            "message": task.failure.message or message,
            "detail": None,
        }


def ok(data: Any) -> ApiResponse:
    return ApiResponse(200, {"code": 200, "data": data, "message": "success"})


def error(status: int, message: str) -> ApiResponse:
    return ApiResponse(status, {"code": status, "message": message})


def _parse_create(body: dict[str, Any]) -> tuple[dict[str, str], int, dict[str, Any]] | str:
    """(input URLs by field, batch size, config to echo), or the 400 message."""
    if body.get("model") != MODEL:
        return "model is invalid: must be 'kling'"
    if body.get("task_type") != TASK_TYPE:
        return "task_type is invalid: must be 'ai_try_on'"
    task_input = body.get("input")
    if not isinstance(task_input, dict):
        return "input is required and must be an object"
    fields: dict[str, str] = {}
    for name in ("model_input", "dress_input", "upper_input", "lower_input"):
        value = task_input.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            return f"input.{name} must be a string (an image URL)"
        if not is_http_url(value):
            return f"input.{name} must be an http(s) image URL"
        fields[name] = value
    if "model_input" not in fields:
        return "input.model_input is required"
    if "dress_input" in fields and ("upper_input" in fields or "lower_input" in fields):
        return "input.dress_input cannot be combined with input.upper_input or input.lower_input"
    if not any(name in fields for name, _ in GARMENT_FIELDS):
        return "one of input.dress_input, input.upper_input, input.lower_input is required"
    batch_size = task_input.get("batch_size", 1)
    if batch_size is None:
        batch_size = 1
    if type(batch_size) is not int or not 1 <= batch_size <= 4:
        return "input.batch_size must be an integer between 1 and 4"

    config = body.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        return "config must be an object"
    service_mode = config.get("service_mode")
    if service_mode is None:
        service_mode = ""
    if service_mode not in SERVICE_MODES:
        return "config.service_mode must be 'public', 'private' or empty"
    webhook = config.get("webhook_config")
    if webhook is None:
        webhook = {}
    if not isinstance(webhook, dict):
        return "config.webhook_config must be an object"
    endpoint = webhook.get("endpoint") or ""
    secret = webhook.get("secret") or ""
    if not isinstance(endpoint, str) or (endpoint and not is_http_url(endpoint)):
        return "config.webhook_config.endpoint must be an http(s) URL"
    if not isinstance(secret, str):
        return "config.webhook_config.secret must be a string"
    echo = {
        "service_mode": service_mode or "public",
        "webhook_config": {"endpoint": endpoint, "secret": secret},
    }
    return fields, batch_size, echo


def _rfc3339(seconds: float | None) -> str:
    if seconds is None:
        return ZERO_TIME
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
