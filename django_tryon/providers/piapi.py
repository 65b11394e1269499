"""PiAPI's unified task API running Kling's try-on (PROVIDERS.md section 2).

PiAPI fetches every input by URL, takes an upper and a lower garment as two images, and
makes up to four results per task. Its envelope is ``{code, message, data}`` with
``code == 200`` on success; errors are told mostly by the HTTP status.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from .. import webhooks
from .base import (
    CallbackHint,
    CancelNotSupported,
    InvalidInput,
    PermanentProviderError,
    Provider,
    ProviderAccountError,
    ProviderAuthError,
    ProviderError,
    ProviderTask,
    ProviderUnavailable,
    TaskNotFound,
    TaskState,
    TryOnInput,
    int_field,
    json_object,
    parse_retry_after,
)
from .kling import KLING_CDN_HOSTS

logger = logging.getLogger(__name__)

TASK_PATH = "/api/v1/task"
SERVICE_MODES = ("public", "private", "")
#: Pay-as-you-go price of one output image.
PRICE_PER_IMAGE = Decimal("0.07")

STATES: dict[str, TaskState] = {
    "pending": TaskState.QUEUED,
    "staged": TaskState.QUEUED,
    "processing": TaskState.RUNNING,
    "completed": TaskState.SUCCEEDED,
    "failed": TaskState.FAILED,
}

GARMENT_KEYS = {"dress": "dress_input", "upper": "upper_input", "lower": "lower_input"}

# PiAPI passes Kling's free-text failure reasons through.
CONTENT_REFUSAL = re.compile(
    r"risk|sensitive|moderat|polic|nsfw|inappropriate|violat|illegal|censor|audit",
    re.IGNORECASE,
)


class PiAPIProvider(Provider):
    """PiAPI ``ai_try_on`` tasks (Kling underneath), pay as you go or on your own Kling account."""

    name = "piapi"
    label = "PiAPI (Kling through PiAPI)"
    options = frozenset({"API_KEY", "SERVICE_MODE"})
    required_options = frozenset({"API_KEY"})
    max_batch_size = 4
    composes_outfits = False
    takes_lower_garment = True
    supports_cancel = True
    needs_input_urls = True
    supports_find = False
    # Clean (unwatermarked) results live on PiAPI's storage; the watermarked fallback
    # (``image.resource``) is a URL on Kling's CDN, so those hosts are allowed too.
    default_result_hosts: ClassVar[tuple[str, ...]] = ("storage.theapi.app", *KLING_CDN_HOSTS)
    default_base_url = "https://api.piapi.ai"
    status_map = STATES
    # PiAPI deletes "after a period" it does not publish: follow a task three days at most.
    task_retention_seconds = 3 * 24 * 3600

    def configure(self) -> None:
        self.api_key = str(self.config["API_KEY"])
        # Unset means "public"; an explicit "" or None means the workspace's default.
        mode = self.config.get("SERVICE_MODE", "public")
        self.service_mode = "" if mode is None else str(mode)
        if self.service_mode not in SERVICE_MODES:
            raise self.setting_error(
                "SERVICE_MODE",
                f"must be 'public', 'private' or '' (the workspace default), "
                f"not {self.service_mode!r}",
            )

    @property
    def model_name(self) -> str:
        # PiAPI runs Kling's try-on; the service mode decides whose Kling account pays.
        return f"kling:{self.service_mode or 'default'}"

    # -- the interface ---------------------------------------------------------------

    def submit(self, job: TryOnInput) -> ProviderTask:
        """Create a try-on task; PiAPI fetches the images from their (signed) URLs."""
        payload: dict[str, Any] = {
            "model": "kling",
            "task_type": "ai_try_on",
            "input": self._input(job),
        }
        config: dict[str, Any] = {}
        if self.service_mode:
            config["service_mode"] = self.service_mode
        if job.callback_url:
            config["webhook_config"] = {
                "endpoint": job.callback_url,
                "secret": job.callback_secret or "",
            }
        if config:
            payload["config"] = config
        data = self._call("POST", TASK_PATH, payload=payload)
        if not data.get("task_id"):
            # Accepted but no id: PiAPI cannot be searched, so say so loudly.
            raise ProviderUnavailable(
                "PiAPI accepted the task but returned no task_id", provider=self.name
            )
        return self._task(data)

    def fetch(self, task_id: str) -> ProviderTask:
        """Fetch a task by PiAPI's task id."""
        return self._task(self._call("GET", _task_path(task_id), fetching=True))

    def cancel(self, task_id: str) -> None:
        """Cancel a task; PiAPI allows it only while the task is pending."""
        try:
            self._call("DELETE", _task_path(task_id), fetching=True)
        except (ProviderAuthError, ProviderAccountError, TaskNotFound):
            raise
        except PermanentProviderError as exc:
            # PiAPI refuses with a 4xx once the task has left "pending".
            raise CancelNotSupported(
                f"PiAPI would not cancel the task (only pending tasks can be): {exc.message}",
                provider=self.name,
                http_status=exc.http_status,
                code=exc.code,
                body=exc.body,
            ) from exc

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> CallbackHint:
        """Read ``{"timestamp": ..., "data": <task>}`` into a hint."""
        payload = json.loads(body)
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict):
            raise ValueError("PiAPI callback body has no data object")
        task_id = data.get("task_id")
        if not task_id or not isinstance(task_id, str | int):
            raise ValueError("PiAPI callback body has no task id")
        return CallbackHint(task_id=str(task_id), raw_status=str(data.get("status") or ""))

    def verify_callback(
        self, body: bytes, headers: Mapping[str, str], *, request_secret: str
    ) -> bool:
        """PiAPI does not sign; it echoes the task's webhook secret in ``x-webhook-secret``."""
        sent = webhooks.get_header(headers, "x-webhook-secret")
        if not sent or not request_secret:
            return False
        return hmac.compare_digest(sent.encode("utf-8"), request_secret.encode("utf-8"))

    def estimate_cost(self, batch_size: int) -> tuple[Decimal, str]:
        """Pay-as-you-go price: $0.07 per output image."""
        return PRICE_PER_IMAGE * batch_size, "USD"

    # -- HTTP ------------------------------------------------------------------------

    def _call(
        self, method: str, path: str, *, payload: dict | None = None, fetching: bool = False
    ) -> dict[str, Any]:
        """Send one request and return the envelope's ``data``; raise a ProviderError otherwise."""
        response = self.send(method, path, json=payload, headers={"x-api-key": self.api_key})
        body = json_object(response)
        code = int_field(body)
        if response.is_success and code == 200:
            data = body.get("data") if body else None
            return data if isinstance(data, dict) else {}
        raise self._error(response, body, code, fetching=fetching)

    def _error(
        self, response: httpx.Response, body: dict | None, code: int | None, *, fetching: bool
    ) -> ProviderError:
        """Map a failed response by its HTTP status (or, under HTTP 2xx, the body's code)."""
        status = response.status_code
        # PiAPI may answer HTTP 200 with an error code in the body; that code is the status.
        effective = code if response.is_success and code is not None else status
        message = _error_message(body) or f"HTTP {status} from PiAPI"
        common: dict[str, Any] = {
            "provider": self.name,
            "http_status": status,
            "code": code,
            "body": body,
        }
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if body is None and response.is_success:
            return ProviderUnavailable(
                "PiAPI answered without its JSON envelope", retry_after=retry_after, **common
            )
        return self.error_for_status(
            effective,
            message,
            fetching=fetching,
            retry_after=retry_after,
            content_refused=bool(CONTENT_REFUSAL.search(message)),
            **common,
        )

    # -- translation -----------------------------------------------------------------

    def _input(self, job: TryOnInput) -> dict[str, Any]:
        """Build the task input, refusing what PiAPI would refuse after charging a round trip."""
        if not 1 <= job.batch_size <= self.max_batch_size:
            raise self._invalid(f"batch_size must be 1 to {self.max_batch_size}")
        images = [("person", job.person), ("garment", job.garment)]
        if job.lower_garment is not None:
            images.append(("lower garment", job.lower_garment))
        for role, image in images:
            if not image.url:
                raise self._invalid(f"PiAPI fetches inputs by URL; the {role} image has none")
        key = GARMENT_KEYS.get(job.garment_category)
        if key is None:
            raise self._invalid(f"unknown garment category {job.garment_category!r}")
        result: dict[str, Any] = {"model_input": job.person.url}
        if job.lower_garment is not None:
            # An outfit is an upper and a lower; a dress excludes both.
            if job.garment_category != "upper":
                raise self._invalid("an outfit needs an upper garment with the lower garment")
            result["upper_input"] = job.garment.url
            result["lower_input"] = job.lower_garment.url
        else:
            result[key] = job.garment.url
        result["batch_size"] = job.batch_size
        return result

    def _task(self, data: dict[str, Any]) -> ProviderTask:
        """Normalise PiAPI's task object."""
        image_urls = _image_urls(data.get("output"))
        failure = _failure_reason(data)
        raw_status = str(data.get("status") or "")
        # The price of what was made: only a completed task with its images costs.
        made = self.normalise_status(raw_status) is TaskState.SUCCEEDED and image_urls
        return self.build_task(
            task_id=str(data.get("task_id") or ""),
            raw_status=raw_status,
            image_urls=image_urls,
            failure=failure,
            error_code="content_refused" if CONTENT_REFUSAL.search(failure) else "provider_failed",
            cost=PRICE_PER_IMAGE * len(image_urls) if made else None,
            cost_currency="USD" if made else "",
            raw=data,
        )

    def _invalid(self, message: str) -> InvalidInput:
        return InvalidInput(message, provider=self.name)


def _task_path(task_id: str) -> str:
    return f"{TASK_PATH}/{quote(task_id, safe='')}"


def _error_of(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        return {}
    error = data.get("error")
    return error if isinstance(error, dict) else {}


def _error_message(body: dict[str, Any] | None) -> str:
    """The most specific words PiAPI gave for a refused call."""
    if not body:
        return ""
    error = _error_of(body.get("data"))
    for candidate in (error.get("message"), error.get("raw_message"), body.get("message")):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return ""


def _failure_reason(data: dict[str, Any]) -> str:
    """Why a task failed; ``error.code`` 0 with empty strings means there is no error."""
    error = _error_of(data)
    for candidate in (
        error.get("message"),
        error.get("raw_message"),
        error.get("detail"),
        data.get("detail"),
    ):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return ""


def _image_urls(output: Any) -> list[str]:
    """Result URLs, clean ones first choice; the shape is unconfirmed, so read it defensively."""
    if not isinstance(output, dict):
        return []
    urls: list[str] = []
    for work in output.get("works") or []:
        image = work.get("image") if isinstance(work, dict) else None
        if not isinstance(image, dict):
            continue
        url = image.get("resource_without_watermark") or image.get("resource")
        if isinstance(url, str) and url.strip():
            urls.append(url.strip())
    if not urls:
        extra = output.get("image_urls")
        candidates = [*(extra if isinstance(extra, list) else []), output.get("image_url")]
        for url in candidates:
            if isinstance(url, str) and url.strip() and url.strip() not in urls:
                urls.append(url.strip())
    return urls
