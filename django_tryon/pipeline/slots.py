"""Waiting for a provider slot: requests a busy provider refused, and waking them.

A provider that answers "busy" (HTTP 429: Kling 1303 when every concurrency slot of the
account is taken, or a rate limit) created nothing. Retrying each request on its own
backoff timer either leaves slots idle for seconds or floods the provider with creates
that are refused again. Instead the request waits (pending, error_code
WAITING_FOR_SLOT, next_check_at set) with no message queued, and is woken:

* when one of our tasks at that provider ends (persist_results, a failed task): the
  oldest waiting request is submitted at once, in the freed slot;
* by the reaper, one per provider and run, once its own backoff has passed
  (next_check_at): slots freed by someone else's tasks, or a rate limit that lifted.

Waking is a compare-and-set on next_check_at, so each wake queues exactly one submit.
New requests queue behind waiting ones instead of trying the provider first, so only a
woken or probed request spends a create call. A request refused more than MAX_RETRIES
times fails, as does one past DEADLINE_SECONDS; waiting in line is not a refusal.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from ..conf import get_setting
from ..models import TryOnRequest
from ..providers.base import backoff_seconds
from ..status import Status
from .dispatch import enqueue_on_commit
from .transitions import transition

#: error_code of a request waiting for a free slot: its provider answered "busy" (429).
WAITING_FOR_SLOT = "rate_limited"


def wake_waiting(provider: str, *, due_before=None) -> str | None:
    """Queue the submission of the oldest request waiting for a slot at ``provider``.

    ``due_before`` limits it to requests whose own backoff has passed (the reaper's
    probe). Returns the request id woken, or None.
    """
    waiting = waiting_for_slot().filter(provider=provider)
    if due_before is not None:
        waiting = waiting.filter(next_check_at__lte=due_before)
    for pk, seen in waiting.order_by("created_at").values_list("pk", "next_check_at")[:5]:
        # The claim: only one waker moves next_check_at from what it saw to NULL.
        if TryOnRequest.objects.filter(pk=pk, status=Status.PENDING, next_check_at=seen).update(
            next_check_at=None, updated_at=timezone.now()
        ):
            enqueue_on_commit("submit", pk)
            return str(pk)
    return None


def wait_for_slot(
    request: TryOnRequest,
    detail: str,
    *,
    retry_after: float | None = None,
    from_status: str = Status.PENDING,
) -> bool:
    """Park a pending (or just refused) request until a slot frees; see above."""
    delay = backoff_seconds(
        max(request.attempts - 1, 0),
        base=get_setting("RETRY_BASE_SECONDS"),
        cap=get_setting("RETRY_MAX_SECONDS"),
    )
    fields = {
        "error_code": WAITING_FOR_SLOT,
        "error_detail": detail[:2000],
        "next_check_at": timezone.now() + timedelta(seconds=max(delay, retry_after or 0)),
    }
    if from_status == Status.SUBMITTING:
        return transition(request, Status.PENDING, expected=[Status.SUBMITTING], **fields)
    return bool(
        TryOnRequest.objects.filter(pk=request.pk, status=Status.PENDING).update(
            updated_at=timezone.now(), **fields
        )
    )


def waiting_for_slot():
    return TryOnRequest.objects.filter(status=Status.PENDING, next_check_at__isnull=False)


def refused_last_time(request: TryOnRequest) -> bool:
    """The last attempt got a busy answer (or never called): the provider holds no task."""
    return request.error_code == WAITING_FOR_SLOT
