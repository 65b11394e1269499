"""Cancelling a try-on, here and (where it can) at the provider."""

from __future__ import annotations

import contextlib

from ..models import TryOnRequest
from ..providers import get_provider
from ..providers.base import PermanentProviderError, ProviderConfigurationError
from ..status import Status
from .charges import release_reservation
from .dispatch import enqueue_on_commit
from .slots import refused_last_time
from .transitions import discard_unused_photo, transition


def cancel(request: TryOnRequest) -> bool:
    """Cancel an unfinished request; the provider task is cancelled where it can be.

    A request cancelled before it was sent gives its quota back; once at the provider it
    may still be charged, so it keeps counting, as does a pending one whose earlier create
    went unanswered (the provider may hold a task for it).
    """
    if request.status == Status.PENDING:
        if transition(
            request,
            Status.CANCELLED,
            expected=[Status.PENDING],
            error_code="cancelled",
        ):
            if not (request.attempts and not refused_last_time(request)):
                release_reservation(request)
            discard_unused_photo(request)
            return True
        request.refresh_from_db(fields=["status", "provider_task_id"])
    moved = transition(
        request,
        Status.CANCELLED,
        expected=[Status.PENDING, Status.SUBMITTED, Status.PROCESSING],
        error_code="cancelled",
        next_check_at=None,
    )
    if moved and request.provider_task_id and _can_cancel(request.provider):
        # Some providers cannot cancel (Kling), others only while pending (PiAPI): the task
        # may still finish (and be charged); we stop following it. The provider is told
        # from a worker, so a slow or failing provider never holds the shopper's cancel.
        enqueue_on_commit("cancel", request.pk)
    return moved


def cancel_at_provider(request_id) -> None:
    """Ask the provider to cancel a cancelled request's task, where it can; best effort."""
    request = TryOnRequest.objects.get(pk=request_id)
    if request.status != Status.CANCELLED or not request.provider_task_id:
        return
    with contextlib.suppress(PermanentProviderError):
        get_provider(request.provider).cancel(request.provider_task_id)


def _can_cancel(provider: str) -> bool:
    try:
        return get_provider(provider).supports_cancel
    except ProviderConfigurationError:  # no longer configured: nothing to tell it
        return False
