"""Google's Virtual Try-On on Vertex AI: one synchronous ``:predict`` call answered with
the images, and an OAuth2 token endpoint for service-account keys (PROVIDERS-next.md a).

``POST /v1/projects/{project}/locations/{location}/publishers/google/models/{model}:predict``
with ``Authorization: Bearer <token>``: the sandbox's own ``vertex_access_token``, or one
its token endpoint issued. The call is held for the generation time, then answered with
``sampleCount`` PNGs in base64 (``predictions``), or, for the ``content_refused`` fault,
with ``raiFilteredReason`` in their place. Errors are google.rpc's ``{"error": {"code",
"message", "status"}}``. Each call is recorded as a task (ended at once) so the sandbox
counts calls as it counts the other providers' tasks; ``labels`` names its try-on.

``POST /vertex/oauth2/token`` takes the JWT-bearer grant a service-account key signs and
answers ``{"access_token", "expires_in", "token_type"}`` (the key's ``token_uri`` points
here); the assertion's signature is not checked.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import itertools
import re
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

from . import images
from .base import Fault, Option, ProviderApi, nonempty, seconds
from .callbacks import CallbackMessage
from .tasks import FAILED, SUCCEEDED, Task
from .web import ApiRequest, ApiResponse

DEFAULT_TOKEN = "sandbox-vertex-token"  # noqa: S105 (a documented sandbox token)
PROJECT = "sandbox-project"
MODELS = ("virtual-try-on-001", "virtual-try-on-preview-08-04")
PREDICT = re.compile(
    r"/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
    r"/publishers/google/models/(?P<model>[^/:]+):predict"
)
TOKEN_PATH = "/vertex/oauth2/token"  # noqa: S105 (a path, not a secret)
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
REQUEST_LABEL = "django-tryon-request"
SAFETY_SETTINGS = ("block_low_and_above", "block_medium_and_above", "block_only_high", "block_none")
PERSON_GENERATION = ("dont_allow", "allow_adult", "allow_all")
MAX_IMAGE_BYTES = 10 * 1024 * 1024
FILTERED_REASON = (
    "Your current safety filter threshold filtered out the generated image. "
    "Adjust the safetySetting or use a different image. (simulated)"
)
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
#: What the sandbox's images cost in the shop's currency (an example figure).
SANDBOX_IMAGE_PRICE = "0.06"


class VertexApi(ProviderApi):
    """Route, authenticate and answer ``:predict`` calls and the token endpoint."""

    name = "vertex"
    prefix = ("/v1/projects/", "/vertex/")
    tasks_path = "/v1/projects"
    status_field = "status"
    collection_methods = {"POST": "predict"}
    item_methods: dict[str, str] = {}
    options = (
        Option("vertex_access_token", DEFAULT_TOKEN, check=nonempty),
        Option("vertex_project", PROJECT, check=nonempty),
        Option(
            "vertex_token_seconds",
            3600.0,
            "lifetime of the tokens the token endpoint issues",
            kind=float,
            check=seconds(1),
        ),
    )
    faults = (
        Fault(
            "vertex_quota",
            "Vertex answers HTTP 429 RESOURCE_EXHAUSTED (the per-minute quota); nothing made.",
            on="predict",
            code=429,
            message="Quota exceeded for aiplatform.googleapis.com/online_prediction_requests",
        ),
        Fault(
            "vertex_unavailable",
            "Vertex answers HTTP 503 UNAVAILABLE; nothing made.",
            on="predict",
            code=503,
            message="The service is currently unavailable.",
        ),
        Fault(
            "vertex_error",
            "Vertex answers any error: dict with http (required) and message.",
            on="predict",
            needs="http",
        ),
    )

    def __init__(self, sandbox) -> None:
        super().__init__(sandbox)
        self._calls = itertools.count(1)
        self._issued: dict[str, float] = {}  # token -> expiry
        self._issued_lock = threading.Lock()

    @classmethod
    def app_settings(cls, config: Any) -> dict[str, Any]:
        return {
            "PROJECT": config.vertex_project,
            "ACCESS_TOKEN": config.vertex_access_token,
            "UNIT_PRICE": SANDBOX_IMAGE_PRICE,
        }

    @classmethod
    def describe_keys(cls, config: Any) -> str:
        return f"vertex token {config.vertex_access_token} (project {config.vertex_project})"

    @property
    def create_path(self) -> str:
        return (
            "/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:predict"
        )

    def handle(self, request: ApiRequest) -> ApiResponse:
        """Two paths: the token endpoint (no bearer token), and ``:predict`` (routed by
        its pattern, since the project, region and model are in the path)."""
        request.provider = self.name
        if request.path == TOKEN_PATH:
            request.kind = "token"
            return self.token(request) if request.method == "POST" else self.bad_method(request)
        if not PREDICT.fullmatch(request.path):
            return self.no_such_path(request)
        if request.method != "POST":
            return self.bad_method(request)
        request.kind = "predict"
        problem = self.authenticate(request) or self.request_fault("predict")
        return problem or self.predict(request)

    def error(self, code: int, message: str) -> ApiResponse:
        return error(code, message)

    def no_such_path(self, request: ApiRequest) -> ApiResponse:
        return error(404, f"The requested URL {request.path} was not found on this server.")

    def authenticate(self, request: ApiRequest) -> ApiResponse | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        expected = self.sandbox.config_snapshot().vertex_access_token
        if scheme.lower() == "bearer" and token:
            if hmac.compare_digest(token.encode(), expected.encode()):
                return None
            with self._issued_lock:
                expiry = self._issued.get(token)
            if expiry is not None and time.time() < expiry:
                return None
        return error(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential.",
        )

    # -- endpoints ------------------------------------------------------------------------

    def token(self, request: ApiRequest) -> ApiResponse:
        """The JWT-bearer grant: a new access token for as long as the option says."""
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != JWT_GRANT or form.get("assertion", "").count(".") != 2:
            return ApiResponse(
                400, {"error": "invalid_grant", "error_description": "Invalid JWT grant."}
            )
        lifetime = self.sandbox.config_snapshot().vertex_token_seconds
        token = f"ya29.sandbox-{uuid.uuid4().hex}"
        with self._issued_lock:
            self._issued[token] = time.time() + lifetime
        return ApiResponse(
            200, {"access_token": token, "expires_in": int(lifetime), "token_type": "Bearer"}
        )

    def predict(self, request: ApiRequest) -> ApiResponse:
        route = PREDICT.fullmatch(request.path)
        config = self.sandbox.config_snapshot()
        if route["project"] != config.vertex_project:
            return error(403, f"Permission denied on resource project {route['project']}.")
        if route["model"] not in MODELS:
            return error(404, f"Publisher Model `{route['model']}` was not found.")
        parsed = _parse(request.json)
        if isinstance(parsed, str):
            return error(400, parsed)
        person, product, samples, labels = parsed
        sandbox = self.sandbox
        with self.on_the_clock() as now:
            task = self.start_task(
                now,
                task_id=f"vertex-{next(self._calls)}",
                account="default",
                external_task_id=labels.get(REQUEST_LABEL, ""),
                person=person,
                garments=[("garment", product)],
                output_width=0,
                output_height=0,
                batch_size=samples,
                request={"model": route["model"], "samples": samples, "labels": labels},
            )
        # The caller waits while the images are made: the call is the whole task.
        sandbox.pause(config.queue_seconds + config.generation_seconds)
        with sandbox.lock:
            sandbox.advance(time.time())
            failure, state = task.failure, task.state
        if task.active:  # the sandbox is stopping
            return error(503, "The service is currently unavailable.")
        if state == FAILED and failure and failure.kind == "generic":
            return error(500, failure.message or "Internal error encountered.")
        if failure and failure.kind == "content":
            predictions = [{"raiFilteredReason": FILTERED_REASON} for _ in range(samples)]
            return ApiResponse(200, {"predictions": predictions})
        predictions = []
        for index in range(samples):
            png = images.render_tryon(person, [("garment", product)], index=index)
            predictions.append(
                {"mimeType": "image/png", "bytesBase64Encoded": base64.b64encode(png).decode()}
            )
        return ApiResponse(200, {"predictions": predictions})

    # -- views ----------------------------------------------------------------------------

    def task_data(self, task: Task) -> dict[str, Any]:
        """What the control API shows of a call (Vertex itself keeps nothing to query)."""
        status = "succeeded" if task.state == SUCCEEDED else task.state
        return {"status": status, "samples": task.batch_size, "labels": task.request["labels"]}

    def callback_message(self, task: Task) -> CallbackMessage | None:
        return None  # the answer is the result


def error(status: int, message: str) -> ApiResponse:
    name = STATUS_NAMES.get(status, "UNKNOWN")
    return ApiResponse(status, {"error": {"code": status, "message": message, "status": name}})


def _parse(body: Any) -> tuple[bytes, bytes, int, dict[str, str]] | str:
    """(person, product, sampleCount, labels) or the INVALID_ARGUMENT message."""
    if not isinstance(body, dict) or not isinstance(body.get("instances"), list):
        return "Invalid JSON payload: instances is required."
    if len(body["instances"]) != 1 or not isinstance(body["instances"][0], dict):
        return "Exactly one instance is supported."
    instance = body["instances"][0]
    person = _image((instance.get("personImage") or {}).get("image"), "personImage")
    if isinstance(person, str):
        return person
    products = instance.get("productImages")
    if not isinstance(products, list) or len(products) != 1 or not isinstance(products[0], dict):
        return "Exactly one productImages entry is supported."
    product = _image(products[0].get("image"), "productImages[0]")
    if isinstance(product, str):
        return product
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict):
        return "parameters must be an object."
    samples = parameters.get("sampleCount", 1)
    if type(samples) is not int or not 1 <= samples <= 4:
        return "sampleCount must be an integer from 1 to 4."
    if str(parameters.get("safetySetting", SAFETY_SETTINGS[1])).lower() not in SAFETY_SETTINGS:
        return "safetySetting is not one of the supported values."
    generation = str(parameters.get("personGeneration", "allow_adult")).lower()
    if generation not in PERSON_GENERATION:
        return "personGeneration is not one of the supported values."
    if parameters.get("seed") is not None and parameters.get("addWatermark", True):
        return "Seed is not supported when addWatermark is enabled."
    labels = body.get("labels") or {}
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        return "labels must map strings to strings."
    return person, product, samples, labels


def _image(value: Any, field: str) -> bytes | str:
    """An image's bytes (``bytesBase64Encoded``, JPEG or PNG, at most 10 MB) or the
    message; a ``gcsUri`` is not served here."""
    if not isinstance(value, dict):
        return f"{field}.image is required."
    if value.get("gcsUri"):
        return f"{field}: gcsUri images are not supported by the sandbox."
    encoded = value.get("bytesBase64Encoded")
    if not isinstance(encoded, str) or not encoded:
        return f"{field}.image.bytesBase64Encoded is required."
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return f"{field}: invalid base64."
    if len(data) > MAX_IMAGE_BYTES:
        return f"{field}: the image is larger than 10 MB."
    try:
        images.check_image(data, field)
    except images.ImageRejected as exc:
        return str(exc)
    return data
