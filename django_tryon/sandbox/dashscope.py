"""Alibaba Cloud Model Studio's AI try-on: ``POST /api/v1/services/aigc/image2image/
image-synthesis`` (asynchronous only) and ``GET /api/v1/tasks/{id}`` (PROVIDERS-next.md b).

As strict as the documentation: a bad key (401 InvalidApiKey), a call without
``X-DashScope-Async: enable`` (403 AccessDenied), an unknown model, a missing person or
garment, a URL that is not http(s) or parameters out of range (400 InvalidParameter /
InvalidURL) are refused at create, nothing made. An image the service only finds wrong
once it has fetched it (not downloadable, outside 5 KB-5 MB or 150-4096 px, not JPEG, PNG
or BMP) ends the task FAILED with its code. Five tasks of one account run at once; a
sixth create is refused with 429 Throttling (what the service does past five is not
documented; refusing is the reading the app must survive). No callbacks; a task unknown,
or older than 24 hours, is answered ``UNKNOWN``.
"""

from __future__ import annotations

import hmac
import io
import uuid
from datetime import UTC, datetime
from typing import Any

from PIL import Image, UnidentifiedImageError

from . import images
from .base import Fault, Option, ProviderApi, is_http_url, nonempty, positive_int, seconds
from .callbacks import CallbackMessage
from .host import Switch
from .tasks import FAILED, PROCESSING, QUEUED, STAGED, SUCCEEDED, Failure, Task
from .web import ApiRequest, ApiResponse

DEFAULT_KEY = "sandbox-dashscope-key"
CREATE_PATH = "/api/v1/services/aigc/image2image/image-synthesis"
MODELS = ("aitryon-plus", "aitryon")
RESOLUTIONS = {-1: None, 1024: (576, 1024), 1280: (720, 1280)}
GARMENT_FIELDS = (("top_garment_url", "upper"), ("bottom_garment_url", "lower"))
MIN_BYTES, MAX_BYTES = 5 * 1024, 5 * 1024 * 1024
MIN_SIDE, MAX_SIDE = 150, 4096
FORMATS = ("JPEG", "PNG", "BMP")
#: Tasks and their result links are kept this long.
RETENTION_SECONDS = 24 * 3600

STATUS_WORDS = {
    STAGED: "PENDING",
    QUEUED: "PENDING",
    PROCESSING: "RUNNING",
    SUCCEEDED: "SUCCEEDED",
    FAILED: "FAILED",
}
#: A failure's kind -> the failed task's (code, message).
TASK_ERRORS = {
    "content": ("DataInspectionFailed", "Input or output data may contain inappropriate content."),
    "image": ("InvalidInputLength", "The image does not meet the size or resolution limits."),
    "download": ("InvalidURL", "The media resource could not be downloaded."),
    "generic": ("InternalError.Algo", "An internal error occurred (simulated)."),
}
#: What the sandbox's images cost in the shop's currency (an example: about $0.072 each).
SANDBOX_IMAGE_PRICE = "0.072"


class DashScopeApi(ProviderApi):
    """Route, authenticate and answer requests under ``/api/v1/``."""

    name = "dashscope"
    # Beside PiAPI's /api/v1/task (the closest prefix wins: /api/v1/tasks/ is this one's).
    prefix = ("/api/v1/services/aigc/", "/api/v1/tasks/")
    tasks_path = CREATE_PATH
    items_path = "/api/v1/tasks"
    collection_methods = {"POST": "create"}
    item_methods = {"GET": "query"}
    options = (
        Option("dashscope_key", DEFAULT_KEY, check=nonempty),
        Option(
            "dashscope_retention_seconds",
            float(RETENTION_SECONDS),
            "how long an ended task is kept (then UNKNOWN)",
            kind=float,
            check=seconds(),
        ),
        Option(
            "dashscope_slots",
            5,
            "Model Studio tasks of the account running at once",
            kind=int,
            check=positive_int,
        ),
    )
    faults = (
        Fault(
            "dashscope_throttling",
            "Model Studio answers HTTP 429 Throttling.RateQuota; nothing is created.",
            code=429,
            message="Requests rate limit exceeded, please try again later.",
            error_name="Throttling.RateQuota",
        ),
        Fault(
            "dashscope_arrearage",
            "Model Studio answers HTTP 400 Arrearage (overdue payment); nothing is created.",
            code=400,
            message="Access denied, please make sure your account is in good standing.",
            error_name="Arrearage",
        ),
        Fault(
            "dashscope_data_inspection",
            "Model Studio create answers HTTP 400 DataInspectionFailed; nothing is created.",
            kinds=("create",),
            code=400,
            message="Input data may contain inappropriate content.",
            error_name="DataInspectionFailed",
        ),
        Fault(
            "dashscope_internal",
            "Model Studio answers HTTP 500 InternalError; nothing is created.",
            code=500,
            message="An internal error has occured, please try again later.",
            error_name="InternalError",
        ),
        Fault(
            "dashscope_error",
            "Model Studio answers any error: dict with http (required), code (its name) "
            "and message.",
            needs="http",
        ),
    )

    @classmethod
    def app_settings(cls, config: Any) -> dict[str, Any]:
        return {"API_KEY": config.dashscope_key, "UNIT_PRICE": SANDBOX_IMAGE_PRICE}

    @classmethod
    def describe_keys(cls, config: Any) -> str:
        return f"dashscope key {config.dashscope_key}"

    def render_size(self, task: Task) -> tuple[int, int] | None:
        return RESOLUTIONS[task.request["parameters"]["resolution"]]

    def status_word(self, data: dict[str, Any]) -> str:
        return data["output"]["task_status"]

    def error(self, code: int, message: str, name: str = "") -> ApiResponse:
        return error(code, name or ERROR_NAMES.get(code, "InvalidParameter"), message)

    def fault_error(self, fault: Fault, message: str) -> ApiResponse:
        return self.error(fault.code or 500, message, fault.error_name)

    def custom_error(self, switch: Switch) -> ApiResponse:
        name = str(switch.code) if switch.code else ""
        return self.error(switch.http or 500, switch.message or "simulated error", name)

    def authenticate(self, request: ApiRequest) -> ApiResponse | None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return error(401, "InvalidApiKey", "No API-key provided.")
        expected = self.sandbox.config_snapshot().dashscope_key
        if not hmac.compare_digest(key.strip().encode(), expected.encode()):
            return error(401, "InvalidApiKey", "Invalid API-key provided.")
        return None

    # -- endpoints ------------------------------------------------------------------------

    def create(self, request: ApiRequest) -> ApiResponse:
        if request.headers.get("x-dashscope-async", "").lower() != "enable":
            return error(403, "AccessDenied", "current user api does not support synchronous calls")
        body = request.json
        parsed = _parse(body) if isinstance(body, dict) else "The body must be a JSON object."
        if isinstance(parsed, str):
            code = "InvalidURL" if "URL" in parsed else "InvalidParameter"
            return error(400, code, parsed)
        model, urls, resolution, restore_face = parsed
        loaded, sizes, failure = self._load(urls)
        person = loaded.get("person_image_url")
        width, height = RESOLUTIONS[resolution] or (
            images.output_size(*sizes["person_image_url"]) if person else (576, 1024)
        )
        garments = [(kind, loaded[field]) for field, kind in GARMENT_FIELDS if field in loaded]
        sandbox = self.sandbox
        with self.on_the_clock() as now:
            running = sum(1 for task in sandbox.iter_tasks(self.name) if task.active)
            if running >= sandbox.config_snapshot().dashscope_slots:
                return error(429, "Throttling", "Requests throttling triggered.")
            task = self.start_task(
                now,
                task_id=str(uuid.uuid4()),
                account="default",
                person=person or b"",
                garments=garments,
                output_width=width,
                output_height=height,
                request={
                    "model": model,
                    "input": urls,
                    "parameters": {"resolution": resolution, "restore_face": restore_face},
                },
            )
            if failure is not None and task.failure is None:
                task.failure = failure
            output = {"task_id": task.task_id, "task_status": STATUS_WORDS[task.state]}
        return ApiResponse(200, {"request_id": str(uuid.uuid4()), "output": output})

    def query(self, task_ref: str) -> ApiResponse:
        sandbox = self.sandbox
        with self.on_the_clock() as now:
            task = sandbox.get_task(task_ref)
            keep = sandbox.config_snapshot().dashscope_retention_seconds
            if task is None or task.provider != self.name or _expired(task, now, keep):
                unknown = {"task_id": task_ref, "task_status": "UNKNOWN"}
                return ApiResponse(200, {"request_id": str(uuid.uuid4()), "output": unknown})
            return ApiResponse(200, self.task_data(task))

    # -- views ----------------------------------------------------------------------------

    def task_data(self, task: Task) -> dict[str, Any]:
        """``{request_id, output: {task_id, task_status, times, image_url | code}, usage}``."""
        output: dict[str, Any] = {
            "task_id": task.task_id,
            "task_status": STATUS_WORDS[task.state],
            "submit_time": _time(task.created),
            "scheduled_time": _time(task.started),
            "end_time": _time(task.ended),
        }
        data: dict[str, Any] = {"request_id": str(uuid.uuid4()), "output": output}
        if task.state == SUCCEEDED:
            output["image_url"] = self.sandbox.result_url(task.task_id, 0)
            data["usage"] = {"image_count": 1}
        elif task.state == FAILED:
            kind = task.failure.kind if task.failure else "generic"
            code, message = TASK_ERRORS.get(kind, TASK_ERRORS["generic"])
            output["code"] = code
            output["message"] = (task.failure and task.failure.message) or message
        return data

    def callback_message(self, task: Task) -> CallbackMessage | None:
        return None  # the app polls Model Studio's tasks

    # -- helpers --------------------------------------------------------------------------

    def _load(self, urls: dict[str, str]):
        """Every image fetched and checked, with its size (read once), or the failure
        the task will end with: ``(images, sizes, failure)`` by field."""
        loaded: dict[str, bytes] = {}
        sizes: dict[str, tuple[int, int]] = {}
        for field, url in urls.items():
            try:
                data = self.sandbox.download(url, field)
            except images.ImageRejected as exc:
                return {}, {}, Failure("download", f"{field}: {exc}")
            size, problem = _check(data)
            if problem:
                return {}, {}, Failure("image", f"{field}: {problem}")
            loaded[field], sizes[field] = data, size
        return loaded, sizes, None


ERROR_NAMES = {
    400: "InvalidParameter",
    401: "InvalidApiKey",
    403: "AccessDenied",
    404: "NotFound",
    405: "MethodNotAllowed",
    429: "Throttling",
    500: "InternalError",
}


def error(status: int, code: str, message: str) -> ApiResponse:
    return ApiResponse(status, {"request_id": str(uuid.uuid4()), "code": code, "message": message})


def _parse(body: dict[str, Any]) -> tuple[str, dict[str, str], int, bool] | str:
    """(model, image URLs by field, resolution, restore_face) or the 400 message."""
    model = body.get("model")
    if model not in MODELS:
        return f"Model not exist: model must be one of {', '.join(MODELS)}."
    given = body.get("input")
    if not isinstance(given, dict):
        return 'Required parameter "input" missing from request.'
    urls: dict[str, str] = {}
    for field in ("person_image_url", *(name for name, _ in GARMENT_FIELDS)):
        value = given.get(field)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or not is_http_url(value):
            return f"Invalid URL provided in your request: input.{field}."
        urls[field] = value
    if "person_image_url" not in urls:
        return "input.person_image_url is required."
    if len(urls) == 1:
        return "Missing clothing image: give top_garment_url, bottom_garment_url or both."
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict):
        return "parameters must be an object."
    resolution = parameters.get("resolution", -1)
    if type(resolution) is not int or resolution not in RESOLUTIONS:
        return "parameters.resolution must be -1, 1024 or 1280."
    restore_face = parameters.get("restore_face", True)
    if not isinstance(restore_face, bool):
        return "parameters.restore_face must be true or false."
    return model, urls, resolution, restore_face


def _check(data: bytes) -> tuple[tuple[int, int], str]:
    """A fetched image's size, and what the service would say is wrong with it (or "")."""
    if not MIN_BYTES <= len(data) <= MAX_BYTES:
        return (0, 0), f"the file is {len(data)} bytes; 5 KB to 5 MB are accepted"
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as img:
            width, height = img.size
    except (UnidentifiedImageError, OSError, ValueError):
        return (0, 0), "not a JPG, JPEG, PNG or BMP image"
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        problem = (
            f"the image is {width}x{height}; sides of {MIN_SIDE} to {MAX_SIDE} px are accepted"
        )
        return (width, height), problem
    return (width, height), ""


def _expired(task: Task, now: float, keep: float) -> bool:
    return task.ended is not None and now >= task.ended + keep


def _time(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
