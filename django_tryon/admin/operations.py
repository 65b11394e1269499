"""What the admin's buttons do to try-ons, on top of ``services``.

Every function here is safe to run twice (a double click, two merchandisers at once):
a failed try-on is retried once, however often "retry" is pressed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet

from .. import services
from ..errors import QuotaExceeded, TryOnDisabled, TryOnValidationError
from ..models import TryOnBatch, TryOnRequest
from ..providers.base import ProviderError
from ..status import AT_PROVIDER, Status

RETRYABLE = (Status.FAILED, Status.CANCELLED)
CANCELLABLE = (Status.PENDING, Status.SUBMITTED, Status.PROCESSING)
REFRESHABLE = (*AT_PROVIDER, Status.SUBMITTING)


@dataclass
class Outcome:
    """How many try-ons an action changed, and why the others were left alone."""

    done: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    #: New requests an action started (retries).
    started: list[TryOnRequest] = field(default_factory=list)


def not_retried() -> Exists:
    """Requests nobody has retried yet (a retry supersedes the request it copies)."""
    return ~Exists(TryOnRequest.objects.filter(retry_of=OuterRef("pk")))


def current_requests(batch: TryOnBatch) -> QuerySet[TryOnRequest]:
    """The batch's requests that count: a retried request is replaced by its retry."""
    return TryOnRequest.objects.filter(batch=batch).filter(not_retried())


def retry(requests: Iterable[TryOnRequest]) -> Outcome:
    """Start again every failed or cancelled request that has not been retried yet."""
    outcome = Outcome()
    for request in requests:
        try:
            retried = _retry_once(request.pk)
        except TryOnValidationError as exc:
            outcome.skipped += 1
            outcome.problems.extend(msg for msgs in exc.errors.values() for msg in msgs)
            continue
        except QuotaExceeded as exc:
            outcome.skipped += 1
            outcome.problems.append(quota_message(exc))
            continue
        if retried is not None:
            outcome.done += 1
            outcome.started.append(retried)
        else:
            outcome.skipped += 1
    return outcome


def _retry_once(pk) -> TryOnRequest | None:
    with transaction.atomic():
        # The row lock makes two simultaneous retries of one request queue one copy.
        request = TryOnRequest.objects.select_for_update().get(pk=pk)
        if request.status not in RETRYABLE or TryOnRequest.objects.filter(retry_of=pk).exists():
            return None
        return services.retry(request)


def retry_failed(batch: TryOnBatch) -> Outcome:
    """Retry the batch's failed and cancelled try-ons (each once)."""
    return retry(current_requests(batch).filter(status__in=RETRYABLE).order_by("created_at"))


def refresh(requests: Iterable[TryOnRequest]) -> Outcome:
    """Ask a worker to fetch each request's task from its provider."""
    outcome = Outcome()
    for request in requests:
        if request.status in REFRESHABLE:
            services.enqueue_refresh(request.pk)
            outcome.done += 1
        else:
            outcome.skipped += 1
    return outcome


def recover(requests: Iterable[TryOnRequest]) -> Outcome:
    """Fetch results again for try-ons that failed on our side after the provider
    finished (``services.recover_results``): no new task, no new charge."""
    outcome = Outcome()
    for request in requests:
        if not services.is_recoverable(request):
            outcome.skipped += 1
            continue
        recovery = services.recover_results(request)
        if recovery.recovered:
            outcome.done += 1
        else:
            outcome.skipped += 1
            outcome.problems.append(f"{request.pk}: {recovery.message}")
    return outcome


def cancel(requests: Iterable[TryOnRequest]) -> Outcome:
    """Cancel unfinished requests (the provider task too, where the provider allows)."""
    outcome = Outcome()
    for request in requests:
        if request.status not in CANCELLABLE:
            outcome.skipped += 1
            continue
        try:
            cancelled = services.cancel(request)
        except ProviderError as exc:
            outcome.skipped += 1
            outcome.problems.append(
                f"The provider could not be reached to cancel: {exc.user_message}"
            )
            continue
        if cancelled:
            outcome.done += 1
        else:
            outcome.skipped += 1
    return outcome


def quota_message(exc: QuotaExceeded) -> str:
    """A refused try-on explained to a merchandiser (the setting that refused it)."""
    if isinstance(exc, TryOnDisabled):
        return "Try-on is switched off for the whole shop (TRYON['ENABLED'] is False)."
    setting = {
        "shop_daily": "SHOP_DAILY_GENERATION_LIMIT",
        "shop_monthly": "SHOP_MONTHLY_GENERATION_LIMIT",
        "shop_daily_budget": "SHOP_DAILY_BUDGET",
        "shop_monthly_budget": "SHOP_MONTHLY_BUDGET",
    }.get(exc.scope)
    where = f" (TRYON['{setting}'])" if setting else ""
    return f"The shop's limit{where} does not allow this: {exc.message}"
