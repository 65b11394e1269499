"""The root of everything the app raises to its callers, with a stable ``error_code``.

Callers catch ``TryOnError`` (or one of its kinds) and decide by class or by code; the
API maps each kind to its HTTP status in one place (``api/errors.py``). What a shopper
is told for a code comes from ``messages.py``.

- ``TryOnValidationError`` (``pipeline/validation.py``): bad input, field by field;
  ``IdempotencyConflict`` is one of them.
- ``QuotaExceeded`` (``quotas.py``): a limit or budget is used up; ``TryOnDisabled``: the
  kill switch. ``error_code`` is the limit's name.
- ``ImageError`` (``images/opening.py``): an image the app refuses.
- ``ProviderError`` (``providers/errors.py``): a provider refused or failed a call.
- ``DownloadError`` (``fetch.py``): a result could not be downloaded.
"""

from __future__ import annotations

from typing import ClassVar


class TryOnError(Exception):
    """Something the app refuses or could not do; ``error_code`` is stable."""

    error_code: ClassVar[str] = "tryon_error"
