"""The root of everything the app raises to its callers, with a stable ``error_code``.

Callers catch ``TryOnError`` (or one of its kinds) and decide by class or by code; the
API maps each kind to its HTTP status in one place (``api/errors.py``). What a shopper
is told for a code comes from ``messages.py``.

- ``TryOnValidationError`` (below): bad input, field by field; ``IdempotencyConflict`` is
  one of them.
- ``QuotaExceeded`` (below, enforced by ``quotas.py``): a limit or budget is used up;
  ``TryOnDisabled``: the kill switch. ``error_code`` is the limit's name.
- ``NothingToRun`` (below): a merchandiser's batch in which every pair is already made.
- ``ImageError`` (``images/opening.py``): an image the app refuses.
- ``ProviderError`` (``providers/errors.py``): a provider refused or failed a call.
- ``DownloadError`` (``fetch.py``): a result could not be downloaded.
"""

from __future__ import annotations

from typing import ClassVar

from .messages import shopper_message


class TryOnError(Exception):
    """Something the app refuses or could not do; ``error_code`` is stable."""

    error_code: ClassVar[str] = "tryon_error"


class TryOnValidationError(TryOnError):
    """Bad input: ``errors`` maps a field name to readable messages. Nothing was created."""

    error_code = "invalid"

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


class IdempotencyConflict(TryOnValidationError):
    """The Idempotency-Key was already used by this shopper for different inputs."""

    error_code = "idempotency_key_reused"

    def __init__(self):
        super().__init__(
            {"idempotency_key": ["This Idempotency-Key was already used for a different try-on."]}
        )


class QuotaExceeded(TryOnError):
    """A limit would be passed: nothing was created or counted.

    ``message`` is for the shopper; ``retry_after_seconds`` says when the limit resets
    (None: not on its own); ``scope`` names the limit (``shopper_daily``, ``shop_daily``,
    ``shop_monthly``, ``shop_daily_budget``, ``shop_monthly_budget`` or ``disabled``).
    """

    def __init__(self, message: str, retry_after_seconds: int | None, scope: str):
        super().__init__(message)
        self.message = message
        self.retry_after_seconds = retry_after_seconds
        self.scope = scope
        self.error_code = scope


class TryOnDisabled(QuotaExceeded):
    """The kill switch (``TRYON['ENABLED'] = False``) is off: no try-on may start."""

    def __init__(self):
        super().__init__(shopper_message("disabled"), None, "disabled")


class NothingToRun(TryOnError):
    """Every pair of the batch already has a result or is being made: nothing is new."""

    error_code = "nothing_to_run"
