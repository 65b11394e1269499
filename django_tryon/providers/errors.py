"""The one exception hierarchy of the adapters, and how a provider's answer asks to wait.

Each class carries its stable ``error_code`` (recorded on the request it failed) and the
message a shopper may see; ``retryable`` says whether the pipeline tries again later.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured

from ..untrusted import plain


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
        # The provider's words reach logs, the admin and terminals: plain text, capped.
        self.message = plain(message, 1000) if message else self.default_user_message
        self.provider = provider
        self.http_status = http_status
        self.code = "" if code is None else plain(code, 64)
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


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form only)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
