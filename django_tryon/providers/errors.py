"""The one exception hierarchy of the adapters, and how a provider's answer asks to wait.

Each class carries its stable ``error_code`` (recorded on the request it failed; the words
a shopper reads for it are ``messages.shopper_message``'s); ``retryable`` says whether the
pipeline tries again later.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured

from ..errors import TryOnError
from ..messages import shopper_message
from ..untrusted import plain


class ProviderConfigurationError(ImproperlyConfigured):
    """A provider setting is missing or wrong. Kept outside ProviderError so no retry swallows it."""


class ProviderError(TryOnError):
    """A provider refused or failed a call.

    ``message`` is the provider's own words (for logs and staff); ``user_message`` is what
    a shopper is told, from the one table in ``messages.py``.
    """

    retryable: ClassVar[bool] = False
    #: Stable code recorded on a request this error failed (subclasses inherit theirs).
    error_code: ClassVar[str] = "provider_error"

    def __init__(
        self,
        message: str = "",
        *,
        provider: str = "",
        http_status: int | None = None,
        code: str | int | None = None,
        retry_after: float | None = None,
        body: Any = None,
    ):
        # The provider's words reach logs, the admin and terminals: plain text, capped.
        self.message = plain(message, 1000) if message else self.error_code.replace("_", " ")
        self.provider = provider
        self.http_status = http_status
        self.code = "" if code is None else plain(code, 64)
        self.retry_after = retry_after
        self.body = body
        super().__init__(self.message)

    @property
    def user_message(self) -> str:
        return shopper_message(self.error_code)

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


class RateLimited(RetryableProviderError):
    error_code = "rate_limited"


class ProviderUnavailable(RetryableProviderError):
    error_code = "provider_unavailable"


class PermanentProviderError(ProviderError):
    """Never retried: bad input, moderation, authentication, billing."""


class InvalidInput(PermanentProviderError):
    error_code = "invalid_input"


class ContentRefused(PermanentProviderError):
    error_code = "content_refused"


class ProviderAuthError(PermanentProviderError):
    error_code = "provider_auth"


class ProviderAccountError(PermanentProviderError):
    """Arrears, exhausted resource pack, no access: the shop must act, not the shopper."""

    error_code = "provider_account"


class TaskNotFound(PermanentProviderError):
    error_code = "task_not_found"


class CancelNotSupported(PermanentProviderError):
    """The provider cannot cancel this task (any more)."""

    error_code = "cancel_not_supported"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form only)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
