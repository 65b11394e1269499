"""Alibaba Cloud Model Studio's AI try-on, ``aitryon-plus`` (PROVIDERS-next.md section b).

An asynchronous task API: ``POST /api/v1/services/aigc/image2image/image-synthesis`` with
``X-DashScope-Async: enable`` answers a task id, ``GET /api/v1/tasks/{id}`` is the truth.
Inputs are only URLs the service fetches (the app serves them signed): a person, and a top,
a bottom or both in one call, which makes an outfit one task. One image per task. Tasks
and their result links live 24 hours. Errors are ``{"code": "<Name>", "message": ...}``
with an HTTP status. The service cannot be asked for a task by our id and sends no
callbacks this app reads, so a create whose answer was lost is never repeated blindly,
and tasks are polled.

The documentation is written for the China (Beijing) region; an international endpoint
for this model was not found. ``BASE_URL`` names the region's endpoint.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
from PIL import Image

from .base import (
    InputImage,
    InvalidInput,
    Provider,
    ProviderError,
    ProviderTask,
    ProviderUnavailable,
    TaskNotFound,
    TaskState,
    TryOnInput,
    json_object,
)

CREATE_PATH = "/api/v1/services/aigc/image2image/image-synthesis"
TASKS_PATH = "/api/v1/tasks/"
MODELS = ("aitryon-plus", "aitryon")
#: ``parameters.resolution``: -1 keeps the person photo's size; 1024 is 576x1024,
#: 1280 is 720x1280.
RESOLUTIONS = (-1, 1024, 1280)

#: Documented input limits, for the person and every garment: refused before paying.
MIN_BYTES, MAX_BYTES = 5 * 1024, 5 * 1024 * 1024
MIN_SIDE, MAX_SIDE = 150, 4096

STATES: dict[str, TaskState] = {
    "pending": TaskState.QUEUED,
    "pre-processing": TaskState.RUNNING,
    "running": TaskState.RUNNING,
    "post-processing": TaskState.RUNNING,
    "succeeded": TaskState.SUCCEEDED,
    "failed": TaskState.FAILED,
    "canceled": TaskState.FAILED,
}
#: What the task query answers for a task it does not have (or no longer has: 24 hours).
GONE = "unknown"

#: A request error's code -> what it means, beside its HTTP status.
CONTENT_CODES = frozenset({"DataInspectionFailed"})
ACCOUNT_CODES = frozenset({"Arrearage", "AccessDenied.Unpurchased"})
#: A failed task's ``output.code`` -> the request's error code (the shopper's message).
TASK_ERRORS = {
    "DataInspectionFailed": "content_refused",
    "InvalidParameter": "invalid_input",
    "InvalidURL": "invalid_input",
    "InvalidPerson": "invalid_input",
    "InvalidGarment": "invalid_input",
    "InvalidInputLength": "invalid_input",
}


class DashScopeProvider(Provider):
    """Alibaba Cloud Model Studio ``aitryon-plus`` tasks, billed per image."""

    name = "dashscope"
    label = "Alibaba Model Studio"
    options = frozenset({"API_KEY", "MODEL", "RESOLUTION", "RESTORE_FACE"})
    required_options = frozenset({"API_KEY"})
    max_batch_size = 1
    # A top and a bottom go side by side in one call: an outfit is one task.
    takes_lower_garment = True
    supports_cancel = False
    needs_input_urls = True
    supports_find = False
    sends_callbacks = False
    # Result links are signed OSS URLs (the documented example's host; RESULT_HOSTS
    # overrides it for another region's bucket).
    default_result_hosts: ClassVar[tuple[str, ...]] = (
        "dashscope-result-hz.oss-cn-hangzhou.aliyuncs.com",
    )
    default_base_url = "https://dashscope.aliyuncs.com"
    status_map = STATES
    # Task ids and result links are kept 24 hours.
    task_retention_seconds = 24 * 3600

    def configure(self) -> None:
        self.api_key = str(self.config["API_KEY"])
        self.model = self.choice("MODEL", MODELS, MODELS[0])
        resolution = self.config.get("RESOLUTION", -1)
        if type(resolution) is not int or resolution not in RESOLUTIONS:
            said = ", ".join(str(r) for r in RESOLUTIONS)
            raise self.setting_error("RESOLUTION", f"must be one of {said}, not {resolution!r}")
        self.resolution = resolution
        restore = self.config.get("RESTORE_FACE", True)
        if not isinstance(restore, bool):
            raise self.setting_error("RESTORE_FACE", f"must be True or False, not {restore!r}")
        self.restore_face = restore

    @property
    def model_name(self) -> str:
        # A new face or a kept one, and the output size, change the picture: both dedupe.
        face = "face" if self.restore_face else "newface"
        return f"{self.model}:{self.resolution}:{face}"

    # -- the interface ---------------------------------------------------------------

    def submit(self, job: TryOnInput) -> ProviderTask:
        """Create one task: exactly one POST, never repeated here."""
        payload = {
            "model": self.model,
            "input": self._input(job),
            "parameters": {"resolution": self.resolution, "restore_face": self.restore_face},
        }
        body = self._call("POST", CREATE_PATH, json=payload, async_call=True)
        output = body.get("output") if isinstance(body.get("output"), dict) else {}
        task_id = output.get("task_id")
        if not isinstance(task_id, str) or not task_id:
            # Accepted without an id: the service cannot be searched, so it is unknown.
            raise ProviderUnavailable(
                "Model Studio accepted the task but returned no task_id", provider=self.name
            )
        return self._task(body)

    def fetch(self, task_id: str) -> ProviderTask:
        """The task's status: the truth about it."""
        body = self._call("GET", TASKS_PATH + quote(task_id, safe=""), fetching=True)
        return self._task(body)

    def estimate_cost(self, batch_size: int) -> tuple[Decimal, str]:
        """One image per task, billed per image (UNIT_PRICE prices it in the shop's money)."""
        return Decimal(batch_size), "images"

    # -- HTTP ------------------------------------------------------------------------

    def _call(
        self, method: str, path: str, *, fetching: bool = False, async_call: bool = False, **kw
    ) -> dict[str, Any]:
        """One call; the JSON body on success, else the mapped ProviderError."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        if async_call:
            headers["X-DashScope-Async"] = "enable"  # required: the model has no sync call
        response = self.send(method, path, headers=headers, **kw)
        body = json_object(response)
        if response.is_success and body is not None and not _text(body, "code"):
            return body
        raise self._error(response, body, fetching=fetching)

    def _error(
        self, response: httpx.Response, body: dict | None, *, fetching: bool
    ) -> ProviderError:
        """``{"code", "message", "request_id"}`` with an HTTP status."""
        code = _text(body, "code")
        message = _text(body, "message") or code or f"HTTP {response.status_code} from Model Studio"
        return self.refusal(
            response,
            body,
            code=code,
            message=message,
            fetching=fetching,
            content_refused=code in CONTENT_CODES,
            # Overdue payment, a model not bought, the free quota used up: the account.
            account=code in ACCOUNT_CODES
            or (code.startswith("Throttling.AllocationQuota") and "free" in message.lower()),
        )

    # -- translation -----------------------------------------------------------------

    def _input(self, job: TryOnInput) -> dict[str, str]:
        """The task's image URLs, refusing before the call what the service would refuse.

        A dress (or jumpsuit) goes where a top goes, with no bottom; a bottom alone is a
        bottom; an outfit is a top and a bottom."""
        if job.batch_size != 1:
            raise self._invalid("Model Studio makes one image per task")
        fields = {"person_image_url": self._url(job.person, "person")}
        if job.lower_garment is not None:
            fields["top_garment_url"] = self._url(job.garment, "top garment")
            fields["bottom_garment_url"] = self._url(job.lower_garment, "bottom garment")
        elif job.garment_category in ("upper", "dress"):
            fields["top_garment_url"] = self._url(job.garment, "garment")
        elif job.garment_category == "lower":
            fields["bottom_garment_url"] = self._url(job.garment, "garment")
        else:
            raise self._invalid(f"Model Studio does not take {job.garment_category!r} garments")
        return fields

    def _url(self, image: InputImage, role: str) -> str:
        """The image's signed URL, once its size and sides are within the documented limits."""
        if not image.url:
            raise self._invalid(f"the {role} image has no URL (Model Studio fetches inputs)")
        if not MIN_BYTES <= len(image.data) <= MAX_BYTES:
            raise self._invalid(
                f"the {role} image is {len(image.data)} bytes; Model Studio takes 5 KB to 5 MB"
            )
        try:
            with Image.open(io.BytesIO(image.data)) as opened:
                width, height = opened.size
        except (OSError, ValueError):
            raise self._invalid(f"the {role} image cannot be read") from None
        if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
            raise self._invalid(
                f"the {role} image is {width}x{height}; Model Studio takes sides of "
                f"{MIN_SIDE} to {MAX_SIDE} px"
            )
        return image.url

    def _task(self, body: dict[str, Any]) -> ProviderTask:
        """Normalise ``{"output": {task_id, task_status, image_url, code, message}}``."""
        output = body.get("output") if isinstance(body.get("output"), dict) else {}
        task_id = _text(output, "task_id")
        raw_status = _text(output, "task_status")
        if raw_status.lower() == GONE:
            raise TaskNotFound(
                f"Model Studio has no task {task_id} (tasks are kept 24 hours)",
                provider=self.name,
                code=GONE.upper(),
                body=body,
            )
        url = _https(_text(output, "image_url"))
        code = _text(output, "code")
        failure = ": ".join(p for p in (code, _text(output, "message")) if p)
        if not failure and raw_status.lower() == "canceled":
            failure = "Model Studio reported the task as canceled"
        made = self.normalise_status(raw_status) is TaskState.SUCCEEDED and url
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        images = usage.get("image_count")
        count = images if type(images) is int and images >= 0 else 1
        return self.build_task(
            task_id=task_id,
            raw_status=raw_status,
            image_urls=[url] if url else [],
            failure=failure,
            error_code=TASK_ERRORS.get(code, "provider_failed"),
            cost=Decimal(count) if made else None,
            cost_currency="images" if made else "",
            raw=body,
        )

    def _invalid(self, message: str) -> InvalidInput:
        return InvalidInput(message, provider=self.name)


def _https(url: str) -> str:
    """A result link over https: the documented example is an ``http://`` OSS link, whose
    signature covers the path and the query but not the scheme."""
    parts = urlsplit(url)
    if parts.scheme == "http" and parts.hostname and parts.hostname.endswith(".aliyuncs.com"):
        return urlunsplit(("https", *parts[1:]))
    return url


def _text(body: Any, key: str) -> str:
    value = body.get(key) if isinstance(body, dict) else None
    return value.strip() if isinstance(value, str) else ""
