"""Kling's official API: Kolors Virtual Try-On (PROVIDERS.md section 1).

Authentication is a short-lived HS256 JWT minted from the access and secret keys (or a
plain API key). Every response is an envelope ``{code, message, request_id, data}`` and
only ``code == 0`` is success, whatever the HTTP status says.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
import jwt

from .. import webhooks
from ..conf import get_setting
from .base import (
    CallbackHint,
    ContentRefused,
    InputImage,
    InvalidInput,
    PermanentProviderError,
    Provider,
    ProviderAccountError,
    ProviderAuthError,
    ProviderConfigurationError,
    ProviderError,
    ProviderTask,
    ProviderUnavailable,
    RateLimited,
    TaskNotFound,
    TaskState,
    TryOnInput,
    int_field,
    json_object,
    parse_retry_after,
)

logger = logging.getLogger(__name__)

TRYON_PATH = "/v1/images/kolors-virtual-try-on"
MODELS = ("kolors-virtual-try-on-v1", "kolors-virtual-try-on-v1-5")
IMAGE_TRANSPORTS = ("base64", "url")

#: A token is reused until this many seconds before it expires.
TOKEN_REFRESH_MARGIN_SECONDS = 60

STATES: dict[str, TaskState] = {
    "submitted": TaskState.QUEUED,
    "processing": TaskState.RUNNING,
    "succeed": TaskState.SUCCEEDED,  # the try-on API's spelling
    "succeeded": TaskState.SUCCEEDED,  # newer Kling APIs' spelling
    "failed": TaskState.FAILED,
}

# Body codes from PROVIDERS.md section 1, and the error each one is.
TOKEN_CODES = frozenset({1003, 1004})  # not yet valid / expired: a new token fixes them
MISSING_CODES = frozenset({1202, 1203})  # TaskNotFound when fetching, else the shop's setup
SERVER_CODES = frozenset({5000, 5001, 5002})
ERROR_OF_CODE: dict[int, type[ProviderError]] = {
    **dict.fromkeys((1000, 1001, 1002, *TOKEN_CODES), ProviderAuthError),
    **dict.fromkeys((1100, 1101, 1102, 1103, 1304), ProviderAccountError),
    **dict.fromkeys((1200, 1201), InvalidInput),
    **dict.fromkeys((1300, 1301), ContentRefused),
    **dict.fromkeys((1302, 1303), RateLimited),
}

# Kling gives the failure reason only as free text in task_status_msg.
CONTENT_REFUSAL = re.compile(
    r"risk|sensitive|moderat|polic|nsfw|inappropriate|violat|illegal|censor|audit",
    re.IGNORECASE,
)
TASK_NOT_FOUND = re.compile(r"task\s*not\s*(found|exist)", re.IGNORECASE)


# h1.inkwai.com is where PROVIDERS.md saw results; p1-kling.klingai.com serves Kling's
# own sample images in the API docs. The "2" hosts are the sibling shards of the same
# CDNs. Set RESULT_HOSTS if Kling starts answering from another one.
KLING_CDN_HOSTS = (
    "h1.inkwai.com",
    "h2.inkwai.com",
    "p1-kling.klingai.com",
    "p2-kling.klingai.com",
)


class KlingProvider(Provider):
    """Kling Kolors Virtual Try-On: one person image and one garment image per task."""

    name = "kling"
    label = "Kling"
    options = frozenset(
        {
            "ACCESS_KEY",
            "SECRET_KEY",
            "API_KEY",
            "MODEL",
            "IMAGE_TRANSPORT",
            "WEBHOOK_SECRET",
            "TOKEN_TTL_SECONDS",
        }
    )
    # Either API_KEY or ACCESS_KEY + SECRET_KEY: checked in __init__, not expressible here.
    required_options = frozenset()
    max_batch_size = 1
    composes_outfits = True
    needs_input_urls = False
    supports_find = True
    default_result_hosts: ClassVar[tuple[str, ...]] = KLING_CDN_HOSTS
    default_base_url = "https://api-singapore.klingai.com"
    status_map = STATES
    # Kling deletes a task's results 30 days after it ends.
    task_retention_seconds = 30 * 24 * 3600

    def __init__(self, options: Mapping[str, Any], *, client: httpx.Client | None = None):
        super().__init__(options, client=client)
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._token_lock = threading.Lock()
        self._clock: Callable[[], float] = time.time

    @property
    def model_name(self) -> str:
        return self.model

    # -- the interface ---------------------------------------------------------------

    def submit(self, job: TryOnInput) -> ProviderTask:
        """Create a try-on task; the request id goes along as ``external_task_id``."""
        if job.lower_garment is not None:
            raise self._invalid(
                "Kling takes one garment image: compose the outfit into one image first"
            )
        if job.batch_size != 1:
            raise self._invalid(f"Kling makes one image per task, not {job.batch_size}")
        payload: dict[str, Any] = {
            "model_name": self.model,
            "human_image": self._image(job.person, "person"),
            "cloth_image": self._image(job.garment, "garment"),
            "external_task_id": job.request_id,
        }
        if job.callback_url:
            payload["callback_url"] = job.callback_url
        data = self._call("POST", TRYON_PATH, payload=payload)
        task_id = str(data.get("task_id") or "")
        if not task_id:
            # Kling said yes but gave no id: the task may exist, so find() must decide.
            raise ProviderUnavailable(
                "Kling accepted the task but returned no task_id", provider=self.name
            )
        raw_status = str(data.get("task_status") or "")
        return ProviderTask(
            provider=self.name,
            task_id=task_id,
            state=STATES.get(raw_status.lower(), TaskState.QUEUED),
            raw_status=raw_status,
            external_id=job.request_id,
            raw=data,
        )

    def fetch(self, task_id: str) -> ProviderTask:
        """Fetch a task by Kling's task id."""
        data = self._call("GET", f"{TRYON_PATH}/{quote(task_id, safe='')}", fetching=True)
        return self._task(data, task_id)

    def find(self, external_id: str) -> ProviderTask | None:
        """Look a task up by our request id; None when Kling has no such task."""
        try:
            data = self._call("GET", f"{TRYON_PATH}/{quote(external_id, safe='')}", fetching=True)
        except TaskNotFound:
            return None
        # Kling's query path takes either id, so the external id stands in if data has none.
        task = self._task(data, external_id)
        # A task asked for on the wrong host or account comes back as a failed task.
        if task.state is TaskState.FAILED and TASK_NOT_FOUND.search(task.message):
            return None
        return task

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> CallbackHint:
        """Read either callback shape: the legacy task object, or the newer ``{id, status}``."""
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise ValueError("Kling callback body is not a JSON object")
        if "task_id" in payload:
            task_info = payload.get("task_info")
            external_id = task_info.get("external_task_id") if isinstance(task_info, dict) else ""
            task_id, raw_status = payload.get("task_id"), payload.get("task_status")
        else:
            task_id, raw_status = payload.get("id"), payload.get("status")
            external_id = payload.get("external_task_id")
        if not task_id or not isinstance(task_id, str | int):
            raise ValueError("Kling callback body has no task id")
        return CallbackHint(
            task_id=str(task_id),
            raw_status=str(raw_status or ""),
            external_id=str(external_id or ""),
        )

    def verify_callback(
        self, body: bytes, headers: Mapping[str, str], *, request_secret: str
    ) -> bool:
        """Check the Standard Webhooks signature when WEBHOOK_SECRET is set.

        Kling signs only when the account opts in; without a secret the callback view's
        per-request URL token is the only check, and the body is only a hint anyway.
        """
        if not self.webhook_secret:
            return True
        return webhooks.verify(
            self.webhook_secret,
            body,
            headers,
            tolerance_seconds=float(get_setting("CALLBACK_TOLERANCE_SECONDS")),
            now=self._clock(),
        )

    def estimate_cost(self, batch_size: int) -> tuple[Decimal, str]:
        """One resource-pack unit per task: an estimate, the fetched task has the real figure."""
        return Decimal("1"), "units"

    # -- configuration ---------------------------------------------------------------

    def configure(self) -> None:
        config = self.config
        self.api_key = str(config.get("API_KEY") or "")
        self.access_key = str(config.get("ACCESS_KEY") or "")
        self.secret_key = str(config.get("SECRET_KEY") or "")
        if not self.api_key and not (self.access_key and self.secret_key):
            missing = [k for k in ("ACCESS_KEY", "SECRET_KEY") if not config.get(k)]
            raise ProviderConfigurationError(
                f"TRYON['PROVIDERS']['{self.name}'] needs API_KEY, or ACCESS_KEY and SECRET_KEY "
                f"(missing: {', '.join(missing)})"
            )
        self.model = self.choice("MODEL", MODELS, MODELS[0])
        self.image_transport = self.choice("IMAGE_TRANSPORT", IMAGE_TRANSPORTS, "base64")
        # Only URL transport needs the app to serve signed input URLs: shadow the class flag.
        self.needs_input_urls = self.image_transport == "url"  # type: ignore[misc]
        self.webhook_secret = str(config.get("WEBHOOK_SECRET") or "")
        if self.webhook_secret:
            try:
                webhooks.decode_secret(self.webhook_secret)
            except ValueError as exc:
                raise self.setting_error("WEBHOOK_SECRET", f"is not usable: {exc}") from None
        try:
            ttl = config.get("TOKEN_TTL_SECONDS")
            self.token_ttl = 1800 if ttl is None else int(ttl)
        except (TypeError, ValueError):
            self.token_ttl = 0
        if self.token_ttl <= 0:
            raise self.setting_error("TOKEN_TTL_SECONDS", "must be a positive number of seconds")

    # -- HTTP ------------------------------------------------------------------------

    def _call(
        self, method: str, path: str, *, payload: dict | None = None, fetching: bool = False
    ) -> dict[str, Any]:
        """Send one request and return the envelope's ``data``; raise a ProviderError otherwise."""
        # JWT mode gets one retry with a fresh token on 1003/1004; a plain key cannot refresh.
        attempts = 1 if self.api_key else 2
        for attempt in range(attempts):
            token = self._authorization(fresh=attempt > 0)
            response = self.send(
                method, path, json=payload, headers={"Authorization": f"Bearer {token}"}
            )
            body = _envelope(response)
            code = int_field(body)
            if response.is_success and code == 0:
                data = body.get("data") if body else None
                return data if isinstance(data, dict) else {}
            if code in TOKEN_CODES and attempt + 1 < attempts:
                logger.info("Kling refused the token (code %s); minting a new one", code)
                continue
            raise self._error(response, body, code, fetching=fetching)
        raise AssertionError("unreachable")  # pragma: no cover

    def _authorization(self, *, fresh: bool = False) -> str:
        """Return the bearer credential: the plain API key, or a cached JWT."""
        if self.api_key:
            return self.api_key
        with self._token_lock:
            now = self._clock()
            if (
                fresh
                or self._token is None
                or now >= (self._token_expires_at - TOKEN_REFRESH_MARGIN_SECONDS)
            ):
                expires_at = int(now) + self.token_ttl
                claims = {"iss": self.access_key, "exp": expires_at, "nbf": int(now) - 5}
                self._token = jwt.encode(
                    claims, self.secret_key, algorithm="HS256", headers={"typ": "JWT"}
                )
                self._token_expires_at = float(expires_at)
            return self._token

    def _error(
        self, response: httpx.Response, body: dict | None, code: int | None, *, fetching: bool
    ) -> ProviderError:
        """Map a failed response to the exception class its code (else HTTP status) means."""
        status = response.status_code
        message = str((body or {}).get("message") or "") or f"HTTP {status} from Kling"
        common: dict[str, Any] = {
            "provider": self.name,
            "http_status": status,
            "code": code,
            "body": body,
        }
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if body is None:
            # Not Kling's envelope (a proxy page, a truncated body): never proof of anything.
            if status == 429:
                return RateLimited(message, retry_after=retry_after, **common)
            return ProviderUnavailable(
                f"Kling answered HTTP {status} without its JSON envelope",
                retry_after=retry_after,
                **common,
            )
        if code in MISSING_CODES:
            # On create the missing resource is the model or the path: the shop must act.
            return (TaskNotFound if fetching else ProviderAccountError)(message, **common)
        kind = ERROR_OF_CODE.get(code)
        if kind is RateLimited:
            return RateLimited(message, retry_after=retry_after, **common)
        if kind is not None:
            return kind(message, **common)
        if code in SERVER_CODES or status >= 500:
            return ProviderUnavailable(message, retry_after=retry_after, **common)
        if status == 429:
            return RateLimited(message, retry_after=retry_after, **common)
        if status == 404 and fetching:
            return TaskNotFound(message, **common)
        if 400 <= status < 500:
            return PermanentProviderError(message, **common)
        # HTTP 2xx with a code Kling does not document: nothing says it is permanent.
        return ProviderUnavailable(message, **common)

    # -- translation -----------------------------------------------------------------

    def _image(self, image: InputImage, role: str) -> str:
        """Return one image as Kling wants it: raw base64 (no ``data:`` prefix) or its URL."""
        if self.image_transport == "url":
            if not image.url:
                raise self._invalid(f"IMAGE_TRANSPORT is 'url' but the {role} image has no URL")
            return image.url
        return base64.b64encode(image.data).decode("ascii")

    def _task(self, data: dict[str, Any], requested_id: str) -> ProviderTask:
        """Normalise Kling's task object."""
        if not data:
            raise ProviderUnavailable("Kling answered code 0 without a task", provider=self.name)
        raw_status = str(data.get("task_status") or "")
        message = str(data.get("task_status_msg") or "")
        task_info = data.get("task_info")
        external_id = task_info.get("external_task_id") if isinstance(task_info, dict) else ""
        cost, currency = _units(data.get("final_unit_deduction"))
        return self.build_task(
            task_id=str(data.get("task_id") or requested_id),
            raw_status=raw_status,
            image_urls=_image_urls(data.get("task_result")),
            failure=message,
            error_code="content_refused" if CONTENT_REFUSAL.search(message) else "provider_failed",
            message=message,
            cost=cost,
            cost_currency=currency,
            external_id=str(external_id or ""),
            raw=data,
        )

    def _invalid(self, message: str) -> InvalidInput:
        return InvalidInput(message, provider=self.name)


def _envelope(response: httpx.Response) -> dict[str, Any] | None:
    """Return Kling's JSON envelope, or None when the body is not one."""
    body = json_object(response)
    return body if body is not None and "code" in body else None


def _image_urls(task_result: Any) -> list[str]:
    """Return result URLs in Kling's index order, skipping empty entries."""
    if not isinstance(task_result, dict):
        return []
    images = [i for i in task_result.get("images") or [] if isinstance(i, dict) and i.get("url")]
    images.sort(key=lambda image: _int(image.get("index"), default=len(images)))
    return [str(image["url"]) for image in images]


def _units(value: Any) -> tuple[Decimal | None, str]:
    if value in (None, ""):
        return None, ""
    try:
        return Decimal(str(value)), "units"
    except InvalidOperation:
        return None, ""


def _int(value: Any, *, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
