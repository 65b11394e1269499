"""Signals for shop code. Receivers must be fast and idempotent (see docs/architecture.md#signals).

Each is sent once per request, after the status change has been committed, with
``sender=TryOnRequest`` and ``request=<the TryOnRequest>``:

- ``tryon_submitted``: the provider accepted the task (``provider_task_id`` is set).
- ``tryon_succeeded``: the result images are in storage (``results`` is the list of
  ``TryOnResult``).
- ``tryon_failed``: the request failed (``error_code`` is set; ``error_message`` reads
  what a shopper is told for it from ``messages.py``).
"""

from django.dispatch import Signal

tryon_submitted = Signal()
tryon_succeeded = Signal()
tryon_failed = Signal()
