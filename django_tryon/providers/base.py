"""The provider interface (the value types are in ``tasks.py``, the errors in ``errors.py``;
both are re-exported here).

Adapters translate HTTP and never touch the database: services hand them a
``TryOnInput`` and get a ``ProviderTask`` back.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

import httpx

# The errors are part of the adapter interface: ``from .base import RateLimited`` works.
from .errors import (  # noqa: F401
    CancelNotSupported,
    ContentRefused,
    InvalidInput,
    PermanentProviderError,
    ProviderAccountError,
    ProviderAuthError,
    ProviderConfigurationError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    RetryableProviderError,
    TaskNotFound,
    parse_retry_after,
)
from .tasks import CallbackHint, InputImage, ProviderTask, TaskState, TryOnInput  # noqa: F401


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
    #: False when the app reads no callback of the provider's: its tasks are polled from
    #: the start instead of after POLL_FIRST_AFTER_SECONDS.
    sends_callbacks: ClassVar[bool] = True
    #: Hosts result images may be downloaded from (the safe downloader enforces it).
    default_result_hosts: ClassVar[tuple[str, ...]] = ()
    #: How long the provider keeps a task and its results: a task we are following is
    #: given up (``provider_expired``) only past this, never on our own clock. None: it
    #: keeps nothing to ask for again (the answer was the result), so no clock applies.
    task_retention_seconds: ClassVar[int | None] = 24 * 3600

    common_options: ClassVar[frozenset[str]] = frozenset(
        {
            "CLASS",
            "BASE_URL",
            "TIMEOUT_SECONDS",
            "RESULT_HOSTS",
            "ALLOW_HTTP_DOWNLOADS",
            "ALLOW_PRIVATE_DOWNLOADS",
            "UNIT_PRICE",
            "ENABLED",
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
        try:
            self.unit_price = self._unit_price()
            self.configure()
        except ProviderConfigurationError:
            if client is None:
                self.client.close()
            raise

    def configure(self) -> None:
        """Read and check this provider's own options from ``self.config``; raise
        ``setting_error(...)`` naming the exact setting (never its value if it is a key)."""

    def price_in(self, billed_currency: str, shop_currency: str) -> Decimal | None:
        """What one unit of ``billed_currency`` costs the shop in ``shop_currency``: 1 when
        the provider bills in the shop's own currency, else the UNIT_PRICE option, else None
        (the cost cannot be converted and is shown as billed)."""
        if not billed_currency or not shop_currency:
            return None
        if billed_currency == shop_currency:
            return Decimal(1)
        return self.unit_price

    def _unit_price(self) -> Decimal | None:
        value = self.config.get("UNIT_PRICE")
        if value is None or value == "":
            return None
        try:
            price = Decimal(str(value))
        except ArithmeticError:
            price = None
        if isinstance(value, bool) or price is None or not price.is_finite() or price < 0:
            raise self.setting_error(
                "UNIT_PRICE", f"must be a number of TRYON['CURRENCY'] per unit, not {value!r}"
            )
        return price

    def setting_error(self, key: str, problem: str) -> ProviderConfigurationError:
        return ProviderConfigurationError(f"TRYON['PROVIDERS']['{self.name}']['{key}'] {problem}")

    def choice(self, key: str, allowed: tuple[str, ...], default: str) -> str:
        """Option ``key`` (``default`` when unset or empty), which must be one of ``allowed``."""
        value = self.config.get(key)
        value = default if value is None or value == "" else str(value)
        if value not in allowed:
            said = ", ".join(repr(a) for a in allowed)
            raise self.setting_error(key, f"must be one of {said}, not {value!r}")
        return value

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
        """Read a callback body into a hint; raise ValueError when it is not one (always,
        for a provider that sends none)."""
        if not self.sends_callbacks:
            raise ValueError(f"{self.name} sends no callbacks: its try-ons are polled")
        raise NotImplementedError

    def verify_callback(
        self, body: bytes, headers: Mapping[str, str], *, request_secret: str
    ) -> bool:
        """Check the callback's provider-level authentication (signature or secret header);
        nothing passes for a provider that sends no callbacks."""
        return self.sends_callbacks

    #: Provider status (lower case) -> normalised state; unknown values count as RUNNING.
    status_map: ClassVar[dict[str, TaskState]] = {}

    def normalise_status(self, raw: str) -> TaskState:
        """Map a provider's status word to a TaskState, case-insensitively."""
        return self.status_map.get((raw or "").strip().lower(), TaskState.RUNNING)

    def hint_state(self, hint: CallbackHint) -> TaskState | None:
        """What a callback's status word says of its task, or None when the word is missing
        or not one this provider documents. Unlike ``normalise_status`` (a fetched task's
        unknown word is still running), an unknown word in a hint may mean the task ended."""
        raw = (hint.raw_status or "").strip().lower()
        return self.status_map.get(raw)

    def estimate_cost(self, batch_size: int) -> tuple[Decimal, str]:
        """What one request is expected to cost, as (amount, currency)."""
        return Decimal("0"), ""

    def estimate_cost_of(self, batch_size: int, category: str) -> tuple[Decimal, str]:
        """``estimate_cost`` for a garment of ``category``: a provider whose price depends
        on what is tried on (FASHN's accessories go to a dearer model) says so here."""
        return self.estimate_cost(batch_size)

    def build_task(
        self,
        *,
        task_id: str,
        raw_status: str,
        image_urls: list[str],
        images: list[bytes] | None = None,
        failure: str = "",
        error_code: str = "provider_failed",
        message: str = "",
        cost: Decimal | None = None,
        cost_currency: str = "",
        external_id: str = "",
        raw: dict[str, Any] | None = None,
    ) -> ProviderTask:
        """The normalised task, the same way for every provider: the status word mapped
        by ``status_map``; a failed task carries ``failure`` (the provider's own words) and
        ``error_code``; a success without a result image is a failure (``no_result``)."""
        state = self.normalise_status(raw_status)
        name = self.label.split(" (")[0] if self.label else self.name
        if state is TaskState.FAILED:
            message = failure or f"{name} reported the task as failed without a reason"
        elif state is TaskState.SUCCEEDED and not (image_urls or images):
            state, error_code = TaskState.FAILED, "no_result"
            message = f"{name} reported success but returned no result image"
        else:
            error_code = ""
        return ProviderTask(
            provider=self.name,
            task_id=task_id,
            state=state,
            raw_status=raw_status,
            image_urls=image_urls,
            images=images or [],
            message=message,
            error_code=error_code,
            external_id=external_id,
            cost=cost,
            cost_currency=cost_currency,
            raw=raw or {},
        )

    def close(self) -> None:
        self.client.close()

    # -- helpers for the HTTP translation ----------------------------------------------

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request to ``base_url + path``; a network failure is ProviderUnavailable."""
        try:
            return self.client.request(method, self.base_url + path, **kwargs)
        except httpx.TransportError as exc:
            raise ProviderUnavailable(
                f"{self.label or self.name} could not be reached ({type(exc).__name__})",
                provider=self.name,
            ) from exc

    def refusal(
        self,
        response: httpx.Response,
        body: dict | None,
        *,
        code: str,
        message: str,
        fetching: bool,
        content_refused: bool = False,
        account: bool = False,
    ) -> ProviderError:
        """The error of a refused call, once the adapter has read the provider's own
        ``code`` and ``message``: the account when it says so; unknown when the body is not
        the provider's JSON or a 2xx carries an error (a 429 is busy whatever its body);
        else what its HTTP status means (``error_for_status``)."""
        status = response.status_code
        common: dict[str, Any] = {
            "provider": self.name,
            "http_status": status,
            "code": code or None,
            "body": body,
        }
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if account:
            return ProviderAccountError(message, **common)
        if status != 429 and (body is None or response.is_success):
            return ProviderUnavailable(message, retry_after=retry_after, **common)
        return self.error_for_status(
            status,
            message,
            fetching=fetching,
            retry_after=retry_after,
            content_refused=content_refused,
            **common,
        )

    def error_for_status(
        self,
        status: int,
        message: str,
        *,
        fetching: bool,
        retry_after: float | None = None,
        content_refused: bool = False,
        **common: Any,
    ) -> ProviderError:
        """What an HTTP status means for a refused call, once the adapter has handled
        what its own provider says otherwise: busy, down (or not an error status at
        all), bad input or content refused, bad key, the account, a task it does not
        have (fetching only), else permanent."""
        if status == 429:
            return RateLimited(message, retry_after=retry_after, **common)
        if status >= 500 or status < 400:
            return ProviderUnavailable(message, retry_after=retry_after, **common)
        if status == 400:
            return (ContentRefused if content_refused else InvalidInput)(message, **common)
        if status == 401:
            return ProviderAuthError(message, **common)
        if status in (402, 403):
            return ProviderAccountError(message, **common)
        if status == 404 and fetching:
            return TaskNotFound(message, **common)
        return PermanentProviderError(message, **common)


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The response's JSON body when it is an object, else None (never raises)."""
    try:
        body = response.json()
    except (ValueError, RecursionError):  # a body nested too deep is no envelope either
        return None
    return body if isinstance(body, dict) else None


def int_field(body: dict[str, Any] | None, key: str = "code") -> int | None:
    """``body[key]`` as an int, or None when absent or not a number."""
    if body is None:
        return None
    try:
        return int(body.get(key))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def backoff_seconds(attempt: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter for retry number ``attempt`` (0-based)."""
    ceiling = min(cap, base * (2**attempt))
    return random.uniform(ceiling / 2, ceiling)
