"""Kling's official Kolors Virtual Try-On API, as documented: paths, JWT, envelope, codes."""

from __future__ import annotations

import hmac
import itertools
import time
from typing import Any

from . import images
from .base import (
    Fault,
    Option,
    ProviderApi,
    is_http_url,
    nonempty,
    nonempty_or_none,
    positive_int,
)
from .callbacks import CallbackMessage, webhook_key
from .host import ProviderHost, Switch
from .kling_wire import (
    CONTENT_REFUSED_MESSAGE,
    NEW_STATUS_WORDS,
    NOT_FOUND_MESSAGE,
    STATUS_WORDS,
    TASK_FAILED_MESSAGE,
    TokenError,
    duplicate_message,
    encode_jwt,
    error,
    ms,
    ok,
    page_param,
    verify_jwt,
)
from .tasks import FAILED, SUCCEEDED, Task
from .web import ApiRequest, ApiResponse, encode_json

BASE_PATH = "/v1/images/kolors-virtual-try-on"
MODELS = ("kolors-virtual-try-on-v1", "kolors-virtual-try-on-v1-5")
DEFAULT_MODEL = MODELS[0]
DEFAULT_ACCESS_KEY = "sandbox-access-key"
DEFAULT_SECRET_KEY = "sandbox-secret-key-0123456789abcdef"  # noqa: S105 (a documented sandbox key)
ACCOUNT = "default"  # one account per sandbox; the JWT and the API key both reach it

#: What the sandbox's resource-pack units cost in the shop's currency (an example figure).
SANDBOX_UNIT_PRICE = "0.14"


class KlingApi(ProviderApi):
    """Route, authenticate and answer requests under ``/v1/``."""

    name = "kling"
    prefix = "/v1/"
    tasks_path = BASE_PATH
    status_field = "task_status"
    collection_methods = {"POST": "create", "GET": "list"}
    item_methods = {"GET": "query"}
    options = (
        Option("kling_access_key", DEFAULT_ACCESS_KEY, check=nonempty),
        Option("kling_secret_key", DEFAULT_SECRET_KEY, check=nonempty),
        Option(
            "kling_api_key",
            None,
            "also accept this plain API key as Bearer",
            check=nonempty_or_none,
        ),
        Option(
            "kling_webhook_secret",
            None,
            "whsec_... to sign Kling callbacks",
            check=lambda name, value: value is None or webhook_key(value),
        ),
        Option("kling_callback_shape", "legacy", choices=("legacy", "new")),
        Option("kling_unknown_task", "failed", choices=("failed", "not_found")),
        Option("slots", 5, "Kling concurrency slots of the account", kind=int, check=positive_int),
    )
    faults = (
        Fault(
            "kling_rate_limit",
            "Kling answers HTTP 429, code 1302 (too many requests).",
            code=1302,
            message="too many requests, please slow down",
        ),
        Fault(
            "kling_concurrency",
            "Kling create answers HTTP 429, code 1303 (parallel task over resource pack limit) "
            "even when slots are free.",
            kinds=("create",),
        ),
        Fault(
            "kling_internal",
            "Kling answers HTTP 500, code 5000 (internal error); nothing is created.",
            code=5000,
            message="server internal error",
        ),
        Fault(
            "kling_maintenance",
            "Kling answers HTTP 503, code 5001 (maintenance); nothing is created.",
            code=5001,
            message="server is under maintenance, please try again later",
        ),
        Fault(
            "kling_timeout_code",
            "Kling answers HTTP 504, code 5002 (timeout). On create the task IS created first, "
            "so the client must look it up by external_task_id.",
        ),
        Fault(
            "kling_content_refused_on_create",
            "Kling create answers HTTP 400, code 1301 (content security policy) after the "
            "input passed validation; nothing is created.",
            kinds=("create",),
        ),
        Fault(
            "kling_error",
            "Kling answers any error: dict with code (required), http (default from the "
            "error table) and message.",
            needs="code",
        ),
    )

    def __init__(self, sandbox: ProviderHost) -> None:
        super().__init__(sandbox)
        self._ids = itertools.count(1)
        # Kling's task ids are 18-digit numbers; start where a restarted sandbox does not
        # repeat the ids of its last run.
        self._id_base = 800_000_000_000_000_000 + (int(time.time()) % 100_000) * 10**9

    def token(self, ttl: int = 1800, **claims: Any) -> str:
        """A valid JWT for the sandbox's keys (``claims`` override iss, exp, nbf)."""
        config = self.sandbox.config_snapshot()
        return encode_jwt(config.kling_access_key, config.kling_secret_key, ttl=ttl, **claims)

    @classmethod
    def app_settings(cls, config: Any) -> dict[str, Any]:
        # Its units priced as an example, so a shop trying the sandbox sees money.
        return {
            "ACCESS_KEY": config.kling_access_key,
            "SECRET_KEY": config.kling_secret_key,
            "UNIT_PRICE": SANDBOX_UNIT_PRICE,
        }

    @classmethod
    def describe_keys(cls, config: Any) -> str:
        text = f"kling access key {config.kling_access_key}, secret key {config.kling_secret_key}"
        if config.kling_api_key:
            text += f", api key {config.kling_api_key}"
        if config.kling_webhook_secret:
            text += f" | kling webhook secret {config.kling_webhook_secret}"
        return text

    def error(self, code: int, message: str) -> ApiResponse:
        return error(code, message)

    def custom_error(self, switch: Switch) -> ApiResponse:
        return error(switch.code or 5000, switch.message or "simulated error", http=switch.http)

    def internal_error(self, message: str) -> ApiResponse:
        return error(5000, message)

    def no_such_path(self, request: ApiRequest) -> ApiResponse:
        return error(1202, f"no such API: {request.method} {request.path}")

    def bad_method(self, request: ApiRequest) -> ApiResponse:
        return error(1202, f"method {request.method} is not supported on {request.path}")

    def request_fault(self, kind: str) -> ApiResponse | None:
        problem = super().request_fault(kind)
        if problem is None and kind != "create":
            switch = self.take_fault("kling_timeout_code", kind)
            if switch:
                return error(5002, switch.message or "server timeout, please try again later")
        return problem

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
        if not isinstance(callback_url, str) or (callback_url and not is_http_url(callback_url)):
            return error(1201, "callback_url must be an http(s) URL")
        external_task_id = body.get("external_task_id") or ""
        if not isinstance(external_task_id, str):
            return error(1201, "external_task_id must be a string")
        if external_task_id and self._find_external(external_task_id) is not None:
            return error(1201, duplicate_message(external_task_id))

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
        with self.on_the_clock() as now:
            if external_task_id and self._find_external(external_task_id) is not None:
                return error(1201, duplicate_message(external_task_id))
            if self.take_fault("kling_concurrency"):
                return error(1303, "parallel task over resource pack limit")
            running = sum(
                1 for task in sandbox.iter_tasks("kling") if task.account == ACCOUNT and task.active
            )
            if running >= config.slots:
                return error(1303, "parallel task over resource pack limit")
            refused = self.take_fault("kling_content_refused_on_create")
            if refused:
                return error(
                    1301,
                    refused.message
                    or "the input image does not comply with the content security policy",
                )
            task = self.start_task(
                now,
                callback_url=callback_url,
                task_id=str(self._id_base + next(self._ids)),
                account=ACCOUNT,
                person=person.data,
                garments=[("garment", checked["cloth_image"].data)],
                output_width=width,
                output_height=height,
                external_task_id=external_task_id,
                request={"model_name": model},
            )
            data = {
                "task_id": task.task_id,
                "task_status": STATUS_WORDS[task.state],
                "created_at": ms(task.created),
                "updated_at": ms(task.updated),
            }
            timed_out = self.take_fault("kling_timeout_code")
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
        page_num = page_param(request.query, "pageNum", 1, 1000)
        page_size = page_param(request.query, "pageSize", 30, 500)
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
        data["created_at"] = ms(task.created)
        data["updated_at"] = ms(task.updated)
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
                "create_time": ms(task.created),
                "update_time": ms(task.updated),
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
