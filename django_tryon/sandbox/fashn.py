"""FASHN's prediction API: ``POST /v1/run`` and ``GET /v1/status/{id}`` (PROVIDERS.md 4).

As strict as FASHN where it is documented: a bad key, a missing image, an unknown model or
category, samples out of range are refused at ``/run`` (HTTP 400/401, nothing created);
what FASHN only finds while running (base64 without its ``data:`` prefix, a URL that is not
an image, moderation) ends the prediction ``failed`` with the documented error name.
Webhooks carry the full status payload, unsigned, once the prediction has ended.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
import uuid
from typing import Any

from . import images
from .base import Fault, Option, ProviderApi, is_http_url, nonempty
from .callbacks import CallbackMessage
from .host import Switch
from .tasks import FAILED, PROCESSING, QUEUED, STAGED, SUCCEEDED, Failure, Task
from .web import ApiRequest, ApiResponse, encode_json

DEFAULT_KEY = "sandbox-fashn-key"
MODELS = ("tryon-v1.6", "tryon-max")
PRODUCT_MODEL = "tryon-max"  # takes a product image (shoes, bags...), no category
CHOICES = {
    "category": ("auto", "tops", "bottoms", "one-pieces"),
    "mode": ("performance", "balanced", "quality"),
    "garment_photo_type": ("auto", "flat-lay", "model"),
    "moderation_level": ("conservative", "permissive", "none"),
    "output_format": ("png", "jpeg"),
}
CATEGORY_KINDS = {"auto": "garment", "tops": "upper", "bottoms": "lower", "one-pieces": "dress"}
MAX_SEED = 2**32 - 1

STATUS_WORDS = {
    STAGED: "starting",
    QUEUED: "in_queue",
    PROCESSING: "processing",
    SUCCEEDED: "completed",
    FAILED: "failed",
}
#: A failure's kind -> FASHN's runtime error (name, message).
RUNTIME_ERRORS = {
    "content": ("ContentModerationError", "The image was flagged by content moderation."),
    "image": ("ImageLoadError", "Failed to load the image."),
    "generic": ("PipelineError", "The pipeline failed to process the request (simulated)."),
}


class FashnApi(ProviderApi):
    """Route, authenticate and answer requests under ``/v1/``."""

    name = "fashn"
    prefix = ("/v1/run", "/v1/status/")  # beside Kling's /v1/ (the closest prefix wins)
    tasks_path = "/v1/run"
    items_path = "/v1/status"
    status_field = "status"
    collection_methods = {"POST": "create"}
    item_methods = {"GET": "query"}
    options = (Option("fashn_key", DEFAULT_KEY, check=nonempty),)
    faults = (
        Fault(
            "fashn_rate_limit",
            "FASHN answers HTTP 429 RateLimitExceeded; nothing is created.",
            code=429,
            message="Rate limit exceeded. Please slow down.",
            error_name="RateLimitExceeded",
        ),
        Fault(
            "fashn_concurrency_limit",
            "FASHN answers HTTP 429 ConcurrencyLimitExceeded; nothing is created.",
            code=429,
            message="Too many predictions are running at once.",
            error_name="ConcurrencyLimitExceeded",
        ),
        Fault(
            "fashn_out_of_credits",
            "FASHN answers HTTP 429 OutOfCredits; nothing is created.",
            code=429,
            message="Your account is out of API credits.",
            error_name="OutOfCredits",
        ),
        Fault(
            "fashn_server_error",
            "FASHN answers HTTP 500; nothing is created.",
            code=500,
            message="An unexpected error occurred.",
            error_name="InternalServerError",
        ),
        Fault(
            "fashn_error",
            "FASHN answers any HTTP error: dict with http (required), code (the error "
            "name) and message.",
            needs="http",
        ),
    )

    @classmethod
    def app_settings(cls, config: Any) -> dict[str, Any]:
        # Credits priced as an example (FASHN sells them at about $0.075 an image).
        return {"API_KEY": config.fashn_key, "UNIT_PRICE": SANDBOX_CREDIT_PRICE}

    @classmethod
    def describe_keys(cls, config: Any) -> str:
        return f"fashn key {config.fashn_key}"

    def error(self, code: int, message: str, name: str = "") -> ApiResponse:
        return error(code, name or ERROR_NAMES.get(code, "BadRequest"), message)

    def fault_error(self, fault: Fault, message: str) -> ApiResponse:
        return self.error(fault.code or 500, message, fault.error_name)

    def custom_error(self, switch: Switch) -> ApiResponse:
        name = str(switch.code) if switch.code else ""
        return self.error(switch.http or 500, switch.message or "simulated error", name)

    def authenticate(self, request: ApiRequest) -> ApiResponse | None:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        expected = self.sandbox.config_snapshot().fashn_key
        if scheme.lower() != "bearer" or not key:
            return error(401, "UnauthorizedAccess", "Missing or malformed Authorization header.")
        if not hmac.compare_digest(key.strip().encode(), expected.encode()):
            return error(401, "UnauthorizedAccess", "Invalid API key.")
        return None

    # -- endpoints ------------------------------------------------------------------------

    def create(self, request: ApiRequest) -> ApiResponse:
        body = request.json
        if not isinstance(body, dict):
            return error(400, "BadRequest", "The body must be a JSON object.")
        parsed = _parse_run(body)
        if isinstance(parsed, str):
            return error(400, "BadRequest", parsed)
        model, inputs = parsed
        webhook = request.query.get("webhook_url", "")
        if webhook and not is_http_url(webhook):
            return error(400, "BadRequest", "webhook_url must be an http(s) URL.")
        # What FASHN finds only while running fails the prediction, not the call.
        person, garment, failure = self._load(inputs)
        with self.on_the_clock() as now:
            task = self.start_task(
                now,
                callback_url=webhook,
                task_id=str(uuid.uuid4()),
                account="default",
                person=person,
                garments=[(CATEGORY_KINDS[inputs["category"]], garment)] if garment else [],
                output_width=864,
                output_height=1296,
                batch_size=inputs["num_samples"],
                request={"model_name": model, "inputs": _echo(inputs)},
            )
            if failure is not None and task.failure is None:
                task.failure = failure
            task_id = task.task_id
        return ApiResponse(200, {"id": task_id, "error": None})

    def query(self, task_ref: str) -> ApiResponse:
        sandbox = self.sandbox
        with sandbox.lock:
            sandbox.advance(time.time())
            task = sandbox.get_task(task_ref)
            if task is None or task.provider != self.name:
                return error(404, "NotFound", f"Prediction {task_ref} not found.")
            return ApiResponse(200, self.task_data(task))

    # -- views ----------------------------------------------------------------------------

    def task_data(self, task: Task) -> dict[str, Any]:
        """``{id, status, output, error}``: the status answer and the webhook body."""
        output = None
        if task.state == SUCCEEDED:
            output = [self.sandbox.result_url(task.task_id, i) for i in range(task.batch_size)]
        failure = None
        if task.state == FAILED:
            kind = task.failure.kind if task.failure else "generic"
            name, message = RUNTIME_ERRORS.get(kind, RUNTIME_ERRORS["generic"])
            failure = {"name": name, "message": (task.failure and task.failure.message) or message}
        return {
            "id": task.task_id,
            "status": STATUS_WORDS[task.state],
            "output": output,
            "error": failure,
        }

    def callback_message(self, task: Task) -> CallbackMessage | None:
        # FASHN calls back once, when the prediction has ended.
        if not task.callback_url or task.state not in (SUCCEEDED, FAILED):
            return None
        return CallbackMessage(
            provider=self.name,
            task_id=task.task_id,
            task_status=STATUS_WORDS[task.state],
            url=task.callback_url,
            body=encode_json(self.task_data(task)),
            headers={},
        )

    # -- helpers --------------------------------------------------------------------------

    def _load(self, inputs: dict[str, Any]) -> tuple[bytes, bytes, Failure | None]:
        """The person and garment bytes, or the ImageLoadError the prediction will end with."""
        loaded = []
        for field in ("model_image", "garment_image"):
            try:
                loaded.append(images.check_image(self._fetch(inputs[field], field), field).data)
            except images.ImageRejected as exc:
                return b"", b"", Failure("image", f"Failed to load {field}: {exc}")
        return loaded[0], loaded[1], None

    def _fetch(self, value: str, field: str) -> bytes:
        if is_http_url(value):
            return self.sandbox.download(value, field)
        if value[:5].lower() != "data:" or ";base64," not in value:
            raise images.ImageRejected(
                "base64 images need their data: prefix (data:image/jpeg;base64,...)"
            )
        encoded = value.split(";base64,", 1)[1]
        if len(encoded) > (images.MAX_INPUT_BYTES * 4) // 3 + 8:
            raise images.ImageRejected("image file size must not exceed 10MB")
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise images.ImageRejected("not valid base64") from None


#: Example price of one sandbox credit in the shop's currency (``provider_settings``).
SANDBOX_CREDIT_PRICE = "0.075"
ERROR_NAMES = {
    400: "BadRequest",
    401: "UnauthorizedAccess",
    404: "NotFound",
    405: "MethodNotAllowed",
    429: "RateLimitExceeded",
    500: "InternalServerError",
}


def error(status: int, name: str, message: str) -> ApiResponse:
    return ApiResponse(status, {"error": name, "message": message})


def _parse_run(body: dict[str, Any]) -> tuple[str, dict[str, Any]] | str:
    """(model, inputs with defaults) or the 400 message."""
    model = body.get("model_name")
    if model not in MODELS:
        return f"model_name must be one of {', '.join(MODELS)}."
    inputs = body.get("inputs")
    if not isinstance(inputs, dict):
        return "inputs is required and must be an object."
    if model == PRODUCT_MODEL:
        return _parse_product_run(inputs)
    checked: dict[str, Any] = {}
    for field in ("model_image", "garment_image"):
        value = inputs.get(field)
        if not isinstance(value, str) or not value.strip():
            return f"inputs.{field} is required: an image URL or a base64 data URI."
        checked[field] = value.strip()
    for field, allowed in CHOICES.items():
        value = inputs.get(field, allowed[0] if field != "mode" else "balanced")
        if value not in allowed:
            return f"inputs.{field} must be one of {', '.join(allowed)}."
        checked[field] = value
    samples = inputs.get("num_samples", 1)
    if type(samples) is not int or not 1 <= samples <= 4:
        return "inputs.num_samples must be an integer from 1 to 4."
    checked["num_samples"] = samples
    seed = inputs.get("seed")
    if seed is not None and (type(seed) is not int or not 0 <= seed <= MAX_SEED):
        return f"inputs.seed must be an integer from 0 to {MAX_SEED}."
    checked["seed"] = seed
    return model, checked


def _parse_product_run(inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | str:
    """tryon-max: a person and a product (any wearable item), no category; one image."""
    checked: dict[str, Any] = {}
    for field, given in (("model_image", "model_image"), ("garment_image", "product_image")):
        value = inputs.get(given)
        if not isinstance(value, str) or not value.strip():
            return f"inputs.{given} is required: an image URL or a base64 data URI."
        checked[field] = value.strip()
    checked.update(category="auto", num_samples=1, product=True)
    return PRODUCT_MODEL, checked


def _echo(inputs: dict[str, Any]) -> dict[str, Any]:
    """What the control API shows of a run: images by kind and size, never their bytes."""
    shown = dict(inputs)
    for field in ("model_image", "garment_image"):
        value = shown[field]
        shown[field] = value if is_http_url(value) else f"<base64, {len(value)} chars>"
    return shown
