"""Kling's official Kolors Virtual Try-On API, as documented: paths, JWT, envelope, codes."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
import json
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from . import images
from .callbacks import CallbackMessage
from .tasks import FAILED, PROCESSING, QUEUED, SUCCEEDED, Task
from .web import ApiRequest, ApiResponse, encode_json

if TYPE_CHECKING:
    from .server import Sandbox

BASE_PATH = "/v1/images/kolors-virtual-try-on"
MODELS = ("kolors-virtual-try-on-v1", "kolors-virtual-try-on-v1-5")
DEFAULT_MODEL = MODELS[0]
ACCOUNT = "default"  # one account per sandbox; the JWT and the API key both reach it

#: HTTP status of every documented business code.
HTTP_STATUS = {
    0: 200,
    1000: 401,
    1001: 401,
    1002: 401,
    1003: 401,
    1004: 401,
    1100: 429,
    1101: 429,
    1102: 429,
    1103: 403,
    1200: 400,
    1201: 400,
    1202: 404,
    1203: 404,
    1300: 400,
    1301: 400,
    1302: 429,
    1303: 429,
    1304: 429,
    5000: 500,
    5001: 503,
    5002: 504,
}

STATUS_WORDS = {
    QUEUED: "submitted",
    PROCESSING: "processing",
    SUCCEEDED: "succeed",
    FAILED: "failed",
}
# The newer callback shape says "succeeded", as Kling's newer APIs do.
NEW_STATUS_WORDS = {**STATUS_WORDS, SUCCEEDED: "succeeded"}

CONTENT_REFUSED_MESSAGE = (
    "Failure to pass the risk control system: the input was blocked by content risk control"
)
TASK_FAILED_MESSAGE = "Image generation failed, please try again later"
NOT_FOUND_MESSAGE = "task not found"

_FAULT_ERRORS = (
    ("kling_rate_limit", 1302, "too many requests, please slow down"),
    ("kling_internal", 5000, "server internal error"),
    ("kling_maintenance", 5001, "server is under maintenance, please try again later"),
)


class KlingApi:
    """Route, authenticate and answer requests under ``/v1/``."""

    name = "kling"
    prefix = "/v1/"
    create_path = "/v1/images/kolors-virtual-try-on"
    status_field = "task_status"
    serves_watermarks = False

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._ids = itertools.count(1)
        # Kling's task ids are 18-digit numbers; start where a restarted sandbox does not
        # repeat the ids of its last run.
        self._id_base = 800_000_000_000_000_000 + (int(time.time()) % 100_000) * 10**9

    def token(self, ttl: int = 1800, **claims: Any) -> str:
        """A valid JWT for the sandbox's keys (``claims`` override iss, exp, nbf)."""
        config = self.sandbox.config_snapshot()
        return encode_jwt(config.kling_access_key, config.kling_secret_key, ttl=ttl, **claims)

    def internal_error(self, message: str) -> ApiResponse:
        """How Kling answers when something broke on its side."""
        return error(5000, message)

    def handle(self, request: ApiRequest) -> ApiResponse:
        request.provider = "kling"
        path = request.path
        task_ref = None
        if path == BASE_PATH:
            kind = {"POST": "create", "GET": "list"}.get(request.method)
        elif path.startswith(BASE_PATH + "/") and "/" not in path[len(BASE_PATH) + 1 :]:
            task_ref = unquote(path[len(BASE_PATH) + 1 :])
            kind = "query" if request.method == "GET" and task_ref else None
        else:
            return error(1202, f"no such API: {request.method} {path}")
        if kind is None:
            return error(1202, f"method {request.method} is not supported on {path}")
        request.kind = kind
        problem = self.authenticate(request)
        if problem is not None:
            return problem
        problem = self._request_fault(kind)
        if problem is not None:
            return problem
        if kind == "create":
            return self.create(request)
        if kind == "list":
            return self.list(request)
        return self.query(task_ref or "")

    # -- authentication -------------------------------------------------------------------

    def authenticate(self, request: ApiRequest) -> ApiResponse | None:
        """Check ``Authorization: Bearer <JWT or API key>``; None when it passes."""
        config = self.sandbox.config_snapshot()
        header = request.headers.get("authorization", "").strip()
        if not header:
            return error(1001, "Authorization is empty")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return error(1002, "Authorization is invalid: expected 'Bearer <token>'")
        if config.kling_api_key and hmac.compare_digest(
            token.encode(), config.kling_api_key.encode()
        ):
            return None
        try:
            verify_jwt(token, config.kling_secret_key, config.kling_access_key, time.time())
        except TokenError as exc:
            return error(exc.code, exc.message)
        return None

    # -- endpoints ------------------------------------------------------------------------

    def create(self, request: ApiRequest) -> ApiResponse:
        body = request.json
        if not isinstance(body, dict):
            return error(1200, "invalid request: the body must be a JSON object")
        model = body.get("model_name")
        if model is None or model == "":
            model = DEFAULT_MODEL
        if model not in MODELS:
            return error(1201, f"model_name is invalid: must be one of {', '.join(MODELS)}")
        for name in ("human_image", "cloth_image"):
            value = body.get(name)
            if value is None or value == "":
                return error(1201, f"{name} is required")
            if not isinstance(value, str):
                return error(1201, f"{name} must be a string (image URL or raw Base64)")
        callback_url = body.get("callback_url") or ""
        if not isinstance(callback_url, str) or (callback_url and not _is_http_url(callback_url)):
            return error(1201, "callback_url must be an http(s) URL")
        external_task_id = body.get("external_task_id") or ""
        if not isinstance(external_task_id, str):
            return error(1201, "external_task_id must be a string")
        if external_task_id and self._find_external(external_task_id) is not None:
            return error(1201, _duplicate_message(external_task_id))

        config = self.sandbox.config_snapshot()
        checked = {}
        for name in ("human_image", "cloth_image"):
            try:
                data = self._image_bytes(body[name], name)
                checked[name] = images.check_image(data, name)
            except images.ImageRejected as exc:
                return error(1201, str(exc))
        person = checked["human_image"]
        width, height = images.output_size(person.width, person.height)

        sandbox = self.sandbox
        faults = sandbox.faults_switchboard
        with sandbox.lock:
            now = time.time()
            sandbox.advance(now)
            if external_task_id and self._find_external(external_task_id) is not None:
                return error(1201, _duplicate_message(external_task_id))
            if faults.take("kling_concurrency", kind="create", provider="kling"):
                return error(1303, "parallel task over resource pack limit")
            running = sum(
                1 for task in sandbox.iter_tasks("kling") if task.account == ACCOUNT and task.active
            )
            if running >= config.slots:
                return error(1303, "parallel task over resource pack limit")
            refused = faults.take(
                "kling_content_refused_on_create", kind="create", provider="kling"
            )
            if refused:
                return error(
                    1301,
                    refused.message
                    or "the input image does not comply with the content security policy",
                )
            failure, hold = sandbox.task_faults("kling", has_callback=bool(callback_url))
            task = Task(
                provider="kling",
                task_id=str(self._id_base + next(self._ids)),
                account=ACCOUNT,
                created=now,
                staged_seconds=0.0,
                queue_seconds=config.queue_seconds,
                generation_seconds=config.generation_seconds,
                person=person.data,
                garments=[("garment", checked["cloth_image"].data)],
                output_width=width,
                output_height=height,
                external_task_id=external_task_id,
                callback_url=callback_url,
                request={"model_name": model},
                failure=failure,
                hold_callbacks=hold,
            )
            sandbox.register(task)
            data = {
                "task_id": task.task_id,
                "task_status": STATUS_WORDS[task.state],
                "created_at": _ms(task.created),
                "updated_at": _ms(task.updated),
            }
            timed_out = faults.take("kling_timeout_code", kind="create", provider="kling")
        if timed_out:
            # The gateway gave up after the backend accepted the task: it exists.
            return error(5002, timed_out.message or "server timeout, please try again later")
        return ok(data)

    def query(self, task_ref: str) -> ApiResponse:
        sandbox = self.sandbox
        with sandbox.lock:
            sandbox.advance(time.time())
            task = sandbox.get_task(task_ref)
            if task is None or task.provider != "kling" or task.account != ACCOUNT:
                task = self._find_external(task_ref)
            if task is not None:
                return ok(self.task_data(task))
        if sandbox.config_snapshot().kling_unknown_task == "not_found":
            return error(1203, NOT_FOUND_MESSAGE)
        # What Kling does for an id it does not know: a failed task saying so.
        return ok(
            {
                "task_id": task_ref,
                "task_status": "failed",
                "task_status_msg": NOT_FOUND_MESSAGE,
                "created_at": 0,
                "updated_at": 0,
                "task_info": {"external_task_id": ""},
            }
        )

    def list(self, request: ApiRequest) -> ApiResponse:
        page_num = _page_param(request.query, "pageNum", 1, 1000)
        page_size = _page_param(request.query, "pageSize", 30, 500)
        for name, value in (("pageNum", page_num), ("pageSize", page_size)):
            if isinstance(value, str):
                return error(1201, f"{name} {value}")
        assert isinstance(page_num, int) and isinstance(page_size, int)
        sandbox = self.sandbox
        with sandbox.lock:
            sandbox.advance(time.time())
            tasks = [t for t in sandbox.iter_tasks("kling") if t.account == ACCOUNT]
            tasks.sort(key=lambda t: (t.created, int(t.task_id)), reverse=True)
            start = (page_num - 1) * page_size
            page = [self.task_data(t) for t in tasks[start : start + page_size]]
        return ok(page)

    # -- views ----------------------------------------------------------------------------

    def task_data(self, task: Task) -> dict[str, Any]:
        """The ``data`` object of a query (and the legacy callback body)."""
        data: dict[str, Any] = {
            "task_id": task.task_id,
            "task_status": STATUS_WORDS[task.state],
            "task_status_msg": self._status_msg(task),
        }
        if not task.active:
            data["final_unit_deduction"] = "1" if task.state == SUCCEEDED else "0"
        data["created_at"] = _ms(task.created)
        data["updated_at"] = _ms(task.updated)
        data["task_info"] = {"external_task_id": task.external_task_id}
        if task.state == SUCCEEDED:
            data["task_result"] = {
                "images": [{"index": 0, "url": self.sandbox.result_url(task.task_id, 0)}]
            }
        return data

    def callback_message(self, task: Task) -> CallbackMessage | None:
        """The callback for the state ``task`` just entered, if it has a callback_url."""
        if not task.callback_url:
            return None
        config = self.sandbox.config_snapshot()
        if config.kling_callback_shape == "new":
            outputs = []
            if task.state == SUCCEEDED:
                outputs = [{"index": 0, "url": self.sandbox.result_url(task.task_id, 0)}]
            body: dict[str, Any] = {
                "id": task.task_id,
                "status": NEW_STATUS_WORDS[task.state],
                "message": self._status_msg(task),
                "create_time": _ms(task.created),
                "update_time": _ms(task.updated),
                "outputs": outputs,
            }
        else:
            body = self.task_data(task)
        return CallbackMessage(
            provider="kling",
            task_id=task.task_id,
            task_status=STATUS_WORDS[task.state],
            url=task.callback_url,
            body=encode_json(body),
            headers={},
            signing_secret=config.kling_webhook_secret,
        )

    # -- helpers --------------------------------------------------------------------------

    def _status_msg(self, task: Task) -> str:
        if task.state != FAILED or task.failure is None:
            return ""
        if task.failure.message:
            return task.failure.message
        if task.failure.kind == "content":
            return CONTENT_REFUSED_MESSAGE
        return TASK_FAILED_MESSAGE

    def _find_external(self, external_task_id: str) -> Task | None:
        return self.sandbox.find_external("kling", ACCOUNT, external_task_id)

    def _image_bytes(self, value: str, name: str) -> bytes:
        if value[:7].lower() == "http://" or value[:8].lower() == "https://":
            return self.sandbox.download(value, name)
        return images.decode_base64_image(value, name)

    def _request_fault(self, kind: str) -> ApiResponse | None:
        faults = self.sandbox.faults_switchboard
        custom = faults.take("kling_error", kind=kind, provider="kling")
        if custom:
            code = custom.code or 5000
            return error(code, custom.message or "simulated error", http=custom.http)
        for name, code, message in _FAULT_ERRORS:
            switch = faults.take(name, kind=kind, provider="kling")
            if switch:
                return error(code, switch.message or message)
        if kind != "create":
            switch = faults.take("kling_timeout_code", kind=kind, provider="kling")
            if switch:
                return error(5002, switch.message or "server timeout, please try again later")
        return None


def ok(data: Any) -> ApiResponse:
    return ApiResponse(
        200, {"code": 0, "message": "SUCCEED", "request_id": _request_id(), "data": data}
    )


def error(code: int, message: str, *, http: int | None = None) -> ApiResponse:
    """A Kling error envelope; ``data`` is null."""
    status = http or HTTP_STATUS.get(code, 400)
    return ApiResponse(
        status, {"code": code, "message": message, "request_id": _request_id(), "data": None}
    )


# -- JWT (HS256), checked by hand so every failure maps to its documented code ------------


class TokenError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def encode_jwt(access_key: str, secret_key: str, *, ttl: int = 1800, **claims: Any) -> str:
    """Mint a token the way Kling's docs do: iss, exp = now + ttl, nbf = now - 5."""
    now = int(time.time())
    payload = {"iss": access_key, "exp": now + ttl, "nbf": now - 5, **claims}
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = f"{_b64url(encode_json(header))}.{_b64url(encode_json(payload))}"
    signature = hmac.new(secret_key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def verify_jwt(token: str, secret_key: str, access_key: str, now: float) -> dict[str, Any]:
    """Check signature, alg, iss, exp and nbf; raise TokenError with Kling's code."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError(1002, "Authorization is invalid: malformed token")
    try:
        header = json.loads(_b64url_decode(parts[0]))
        payload = json.loads(_b64url_decode(parts[1]))
        signature = _b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError):
        raise TokenError(1002, "Authorization is invalid: malformed token") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise TokenError(1002, "Authorization is invalid: malformed token")
    if header.get("alg") != "HS256":
        raise TokenError(1002, "Authorization is invalid: the token must be signed with HS256")
    expected = hmac.new(
        secret_key.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(signature, expected):
        raise TokenError(1002, "Authorization is invalid: signature verification failed")
    issuer = payload.get("iss")
    if not isinstance(issuer, str) or not hmac.compare_digest(issuer.encode(), access_key.encode()):
        raise TokenError(1002, "Authorization is invalid: unknown access key (iss)")
    exp = payload.get("exp")
    if not _is_number(exp):
        raise TokenError(1002, "Authorization is invalid: the token has no valid exp")
    nbf = payload.get("nbf")
    if nbf is not None and not _is_number(nbf):
        raise TokenError(1002, "Authorization is invalid: nbf must be a number")
    if exp <= now:
        raise TokenError(1004, "Authorization token has expired")
    if nbf is not None and nbf > now:
        raise TokenError(1003, "Authorization token is not yet valid (nbf)")
    return payload


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    if not text or not all(c.isalnum() or c in "-_" for c in text) or not text.isascii():
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise ValueError("not base64url") from None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _page_param(query: dict[str, str], name: str, default: int, maximum: int) -> int | str:
    """The integer value, or a string saying what is wrong with it."""
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit():
        return f"must be an integer between 1 and {maximum}"
    value = int(raw)
    if not 1 <= value <= maximum:
        return f"must be between 1 and {maximum}"
    return value


def _duplicate_message(external_task_id: str) -> str:
    return f"external_task_id '{external_task_id}' is duplicated: it must be unique per account"


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _request_id() -> str:
    return str(uuid.uuid4())
