"""The provider interface, the normalised task, and the one exception hierarchy.

Adapters translate HTTP and never touch the database: services hand them a
``TryOnInput`` and get a ``ProviderTask`` back.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

import httpx
from django.core.exceptions import ImproperlyConfigured


class TaskState(enum.StrEnum):
    """A provider task's status, normalised across providers (PROVIDERS.md section 3)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in (TaskState.SUCCEEDED, TaskState.FAILED)


@dataclass(frozen=True)
class InputImage:
    """One provider-ready image: normalised bytes, and a signed URL when the app serves it."""

    data: bytes
    content_type: str = "image/jpeg"
    url: str | None = None


@dataclass(frozen=True)
class TryOnInput:
    """Everything an adapter needs to create one task.

    ``garment`` is the single cloth image; for PiAPI outfits ``lower_garment`` is the
    second one (Kling gets one composed image from the service instead).
    """

    request_id: str
    person: InputImage
    garment: InputImage
    garment_category: str  # "upper", "lower" or "dress"
    lower_garment: InputImage | None = None
    batch_size: int = 1
    callback_url: str | None = None
    callback_secret: str | None = None


@dataclass
class ProviderTask:
    """A provider task as the app understands it; ``raw`` keeps the provider's own payload."""

    provider: str
    task_id: str
    state: TaskState
    raw_status: str = ""
    image_urls: list[str] = field(default_factory=list)
    message: str = ""
    error_code: str = ""
    external_id: str = ""
    cost: Decimal | None = None
    cost_currency: str = ""  # "USD" for money, "units" for Kling resource-pack units
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallbackHint:
    """What a callback body says: only a hint that tells the app which task to fetch."""

    task_id: str
    raw_status: str = ""
    external_id: str = ""


class ProviderConfigurationError(ImproperlyConfigured):
    """A provider setting is missing or wrong. Kept outside ProviderError so no retry swallows it."""


class ProviderError(Exception):
    """A provider refused or failed a call.

    ``user_message`` is fit to show a shopper; ``message`` is the provider's own words.
    """

    retryable: ClassVar[bool] = False
    #: Stable code recorded on a request this error failed (subclasses inherit theirs).
    error_code: ClassVar[str] = "provider_error"
    default_user_message: ClassVar[str] = "The try-on service could not process this request."

    def __init__(
        self,
        message: str = "",
        *,
        provider: str = "",
        http_status: int | None = None,
        code: str | int | None = None,
        user_message: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
    ):
        self.message = message or self.default_user_message
        self.provider = provider
        self.http_status = http_status
        self.code = "" if code is None else str(code)
        self.user_message = user_message or self.default_user_message
        self.retry_after = retry_after
        self.body = body
        super().__init__(self.message)

    def __str__(self) -> str:
        parts = [self.provider or "provider"]
        if self.http_status:
            parts.append(f"HTTP {self.http_status}")
        if self.code:
            parts.append(f"code {self.code}")
        return f"{' '.join(parts)}: {self.message}"


class RetryableProviderError(ProviderError):
    """Worth trying again later: rate limits, concurrency, 5xx, timeouts."""

    retryable = True
    default_user_message = "The try-on service is busy. We will keep trying."


class RateLimited(RetryableProviderError):
    error_code = "rate_limited"
    default_user_message = "The try-on service is busy right now. We will keep trying."


class ProviderUnavailable(RetryableProviderError):
    error_code = "provider_unavailable"
    default_user_message = "The try-on service is temporarily unavailable. We will keep trying."


class PermanentProviderError(ProviderError):
    """Never retried: bad input, moderation, authentication, billing."""


class InvalidInput(PermanentProviderError):
    error_code = "invalid_input"
    default_user_message = "The try-on service could not use these images."


class ContentRefused(PermanentProviderError):
    error_code = "content_refused"
    default_user_message = (
        "The try-on service refused this image under its content policy. Please try another photo."
    )


class ProviderAuthError(PermanentProviderError):
    error_code = "provider_auth"
    default_user_message = "Try-on is not available right now."


class ProviderAccountError(PermanentProviderError):
    """Arrears, exhausted resource pack, no access: the shop must act, not the shopper."""

    error_code = "provider_account"
    default_user_message = "Try-on is not available right now."


class TaskNotFound(PermanentProviderError):
    error_code = "task_not_found"
    default_user_message = "The try-on service lost track of this request."


class CancelNotSupported(PermanentProviderError):
    default_user_message = "This try-on can no longer be cancelled."


class Provider:
    """Base class for one provider's adapter.

    Subclasses set ``name`` and implement the HTTP translation; the base owns the HTTP
    client, timeouts and the option check.
    """

    name: ClassVar[str] = ""
    #: How merchandisers see it in the admin (the name when empty).
    label: ClassVar[str] = ""
    #: Options this provider accepts in ``TRYON["PROVIDERS"][name]``; others are an error.
    options: ClassVar[frozenset[str]] = frozenset()
    required_options: ClassVar[frozenset[str]] = frozenset()
    #: Largest batch_size the provider accepts.
    max_batch_size: ClassVar[int] = 1
    #: True when the provider takes one composed upper+lower image (Kling v1-5).
    composes_outfits: ClassVar[bool] = False
    #: True when it takes an upper and a lower garment image side by side (PiAPI). With
    #: neither, an outfit is refused before anything is paid.
    takes_lower_garment: ClassVar[bool] = False
    #: Garment categories it can try on; others are refused before anything is paid.
    garment_categories: ClassVar[frozenset[str]] = frozenset({"upper", "lower", "dress"})
    #: True when ``cancel()`` can stop a task (PiAPI, while it is pending); when False a
    #: cancelled try-on is simply no longer followed, and nothing is sent.
    supports_cancel: ClassVar[bool] = False
    #: True when the provider fetches inputs by URL, so the app must serve them signed.
    needs_input_urls: ClassVar[bool] = False
    #: True when tasks can be looked up by our own request id (Kling external_task_id).
    supports_find: ClassVar[bool] = False
    #: Hosts result images may be downloaded from (the safe downloader enforces it).
    default_result_hosts: ClassVar[tuple[str, ...]] = ()
    #: How long the provider keeps a task and its results: a task we are following is
    #: given up (``provider_expired``) only past this, never on our own clock.
    task_retention_seconds: ClassVar[int] = 24 * 3600

    common_options: ClassVar[frozenset[str]] = frozenset(
        {
            "CLASS",
            "BASE_URL",
            "TIMEOUT_SECONDS",
            "RESULT_HOSTS",
            "ALLOW_HTTP_DOWNLOADS",
            "ALLOW_PRIVATE_DOWNLOADS",
        }
    )

    def __init__(self, options: Mapping[str, Any], *, client: httpx.Client | None = None):
        unknown = set(options) - self.options - self.common_options
        if unknown:
            raise ProviderConfigurationError(
                f"TRYON['PROVIDERS']['{self.name}'] has unknown option(s): "
                f"{', '.join(sorted(unknown))}"
            )
        missing = [k for k in sorted(self.required_options) if not options.get(k)]
        if missing:
            raise ProviderConfigurationError(
                f"TRYON['PROVIDERS']['{self.name}'] needs {', '.join(missing)}"
            )
        self.config = dict(options)
        self.base_url = str(self.config.get("BASE_URL") or self.default_base_url).rstrip("/")
        timeout = float(self.config.get("TIMEOUT_SECONDS", 30))
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            trust_env=False,
            follow_redirects=False,
        )

    default_base_url: ClassVar[str] = ""

    @property
    def result_hosts(self) -> tuple[str, ...]:
        """Hosts results may come from: the setting, else the provider's CDNs plus BASE_URL's host."""
        configured = self.config.get("RESULT_HOSTS")
        if configured:
            return tuple(configured)
        return (*self.default_result_hosts, httpx.URL(self.base_url).host)

    @property
    def download_trust(self) -> dict[str, bool]:
        """Whether this provider's result URLs may be http or resolve to a private address:
        its own ALLOW_*_DOWNLOADS option, else TRYON's. Lets the sandbox be trusted without
        trusting a real provider configured beside it."""
        from ..conf import get_setting

        return {
            "allow_http": bool(
                self.config.get("ALLOW_HTTP_DOWNLOADS", get_setting("ALLOW_HTTP_DOWNLOADS"))
            ),
            "allow_private": bool(
                self.config.get("ALLOW_PRIVATE_DOWNLOADS", get_setting("ALLOW_PRIVATE_DOWNLOADS"))
            ),
        }

    @property
    def model_name(self) -> str:
        """The provider model new tasks use: recorded on each request, part of its dedupe key."""
        return ""

    # -- the interface ---------------------------------------------------------------

    def submit(self, job: TryOnInput) -> ProviderTask:
        """Create a task at the provider."""
        raise NotImplementedError

    def fetch(self, task_id: str) -> ProviderTask:
        """Fetch a task by the provider's id: the truth about its status."""
        raise NotImplementedError

    def find(self, external_id: str) -> ProviderTask | None:
        """Look a task up by our own request id; None when the provider has none."""
        return None

    def cancel(self, task_id: str) -> None:
        """Cancel a task; raise CancelNotSupported when the provider cannot."""
        raise CancelNotSupported("cancel is not supported", provider=self.name)

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> CallbackHint:
        """Read a callback body into a hint; raise ValueError when it is not one."""
        raise NotImplementedError

    def verify_callback(
        self, body: bytes, headers: Mapping[str, str], *, request_secret: str
    ) -> bool:
        """Check the callback's provider-level authentication (signature or secret header)."""
        return True

    #: Provider status (lower case) -> normalised state; unknown values count as RUNNING.
    status_map: ClassVar[dict[str, TaskState]] = {}

    def normalise_status(self, raw: str) -> TaskState:
        """Map a provider's status word to a TaskState, case-insensitively."""
        return self.status_map.get((raw or "").strip().lower(), TaskState.RUNNING)

    def estimate_cost(self, batch_size: int) -> tuple[Decimal, str]:
        """What one request is expected to cost, as (amount, currency)."""
        return Decimal("0"), ""

    def close(self) -> None:
        self.client.close()


def backoff_seconds(attempt: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter for retry number ``attempt`` (0-based)."""
    ceiling = min(cap, base * (2**attempt))
    return random.uniform(ceiling / 2, ceiling)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form only)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
