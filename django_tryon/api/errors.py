"""The API's one error shape, ``{"detail", "code"}`` (or field -> messages), and the
errors its views raise beyond DRF's own."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from ..conf import get_setting
from ..errors import (
    IdempotencyConflict,
    QuotaExceeded,
    TryOnDisabled,
    TryOnError,
    TryOnValidationError,
)

#: Room for the form fields around the photo in a multipart body.
MULTIPART_SLACK_BYTES = 256 * 1024


class LimitReached(exceptions.APIException):
    """A quota or budget is used up (429), or the kill switch is off (503)."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "quota_exceeded"

    def __init__(self, exc: QuotaExceeded):
        super().__init__(detail=exc.message, code=exc.scope)
        self.wait = exc.retry_after_seconds
        if isinstance(exc, TryOnDisabled):
            self.status_code = status.HTTP_503_SERVICE_UNAVAILABLE


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the try-on's current state."


class SessionRequired(exceptions.APIException):
    """An anonymous create from a browser that has no try-on session yet."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "session_required"
    default_detail = (
        "Start a session first: read GET quota/ with this client's cookies, then send the "
        "try-on with the same cookies."
    )


def as_api_error(exc: TryOnError) -> exceptions.APIException | TryOnError:
    """The one map from what the app raises to what the API answers: bad input 400 (field
    by field), a reused Idempotency-Key 409, a used-up limit 429, the kill switch 503.
    Anything else is not the caller's to see (DRF answers 500)."""
    if isinstance(exc, IdempotencyConflict):
        return Conflict(
            "This Idempotency-Key was already used for a different try-on.", code=exc.error_code
        )
    if isinstance(exc, TryOnValidationError):
        return exceptions.ValidationError(exc.errors)
    if isinstance(exc, QuotaExceeded):
        return LimitReached(exc)
    return exc


def exception_handler(exc, context):
    """DRF's handler, with the app's own errors mapped once (``as_api_error``), Django's
    upload-limit errors as 400s, and one error shape: ``{"detail", "code"}`` (plus
    ``retry_after_seconds`` on 429/503), or field -> messages."""
    if isinstance(exc, TryOnError):
        exc = as_api_error(exc)
    if isinstance(exc, RequestDataTooBig):
        exc = exceptions.ValidationError({"person_image": [too_large(None)]})
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = exceptions.ValidationError({"non_field_errors": ["This form has too many fields."]})
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(response.data, dict) and set(response.data) == {"detail"}:
        codes = exc.get_codes()
        response.data = {
            "detail": str(response.data["detail"]),
            "code": codes if isinstance(codes, str) else exc.default_code,
        }
        if response.status_code in (429, 503):
            wait = getattr(exc, "wait", None)
            response.data["retry_after_seconds"] = None if wait is None else int(wait)
    return response


def refuse_oversized_body(request) -> None:
    """Refuse a body larger than any acceptable photo before reading a byte of it."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > get_setting("UPLOAD_MAX_BYTES") + MULTIPART_SLACK_BYTES:
        raise exceptions.ValidationError({"person_image": [too_large(length)]})


def too_large(size: int | None) -> str:
    limit = get_setting("UPLOAD_MAX_BYTES")
    this = f" ({size / 1048576:.3g} MB)" if size else ""
    return f"This photo is too large{this}. The limit is {limit / 1048576:.3g} MB."
