"""Celery tasks: thin wrappers over ``services``; the retry policy lives here.

Every task is idempotent (it re-reads the request and acts only on its current status),
so ``acks_late`` redelivery and the reaper's re-enqueueing are safe.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from . import services
from .conf import get_setting
from .fetch import DownloadError
from .models import TryOnRequest
from .providers.base import ProviderError, RetryableProviderError, backoff_seconds
from .status import Status

log = logging.getLogger("django_tryon")

TASK_OPTIONS = {
    "bind": True,
    "acks_late": True,
    # A task whose worker process died is not delivered again by Celery: it may be the
    # task that killed it. Nothing is lost: the reaper finds every request left behind
    # (pending, submitting, or at the provider) and queues its next step.
    "reject_on_worker_lost": False,
    "ignore_result": True,
    "max_retries": None,  # bounded by TRYON['MAX_RETRIES'] in _retry_later
    "soft_time_limit": 120,
    "time_limit": 150,
}
#: Kept below the broker's visibility timeout: a message that waits longer than that in
#: Redis is delivered a second time.
DEFAULT_VISIBILITY_TIMEOUT = 3600


@shared_task(name="django_tryon.submit", **TASK_OPTIONS)
def submit_tryon(self, request_id: str) -> None:
    """Send a pending request to its provider."""
    try:
        services.submit(request_id)
    except TryOnRequest.DoesNotExist:
        log.info("submit of %s skipped: the request no longer exists", request_id)
    except RetryableProviderError as exc:
        if not _retry_later(self, exc):
            request = TryOnRequest.objects.get(pk=request_id)
            if request.status == Status.PENDING:
                # Retries used up. An earlier attempt may still have created the task:
                # give_up_pending asks the provider before failing it unpaid.
                services.give_up_pending(request, code=exc.error_code, detail=str(exc))
    except SoftTimeLimitExceeded:
        log.warning("submit of %s hit its time limit; the reaper will resolve it", request_id)


@shared_task(
    name="django_tryon.refresh",
    # Defaults for a message sent without them; send() passes the configured limits.
    **{**TASK_OPTIONS, "soft_time_limit": 60, "time_limit": 75},
)
def refresh_tryon(self, request_id: str, callback_task_id: str = "", early: bool = False) -> None:
    """Fetch a request's task from its provider and save results when it has finished."""
    try:
        services.refresh(request_id, callback_task_id=callback_task_id, early=early)
    except TryOnRequest.DoesNotExist:
        log.info("refresh of %s skipped: the request no longer exists", request_id)
    except (RetryableProviderError, DownloadError) as exc:
        if not _retry_later(self, exc):
            log.warning("refresh of %s gave up for now: %s", request_id, exc)
    except SoftTimeLimitExceeded:
        log.warning("refresh of %s hit its time limit; the reaper will try again", request_id)


@shared_task(name="django_tryon.cancel", **TASK_OPTIONS)
def cancel_tryon(self, request_id: str) -> None:
    """Tell the provider a cancelled request's task is no longer wanted (best effort)."""
    try:
        services.cancel_at_provider(request_id)
    except TryOnRequest.DoesNotExist:
        return
    except RetryableProviderError as exc:
        if not _retry_later(self, exc):
            log.warning("cancel of %s at its provider gave up: %s", request_id, exc)


@shared_task(
    name="django_tryon.reap",
    bind=True,
    acks_late=True,
    ignore_result=True,
    soft_time_limit=60,
    time_limit=90,
)
def reap_tryons(self) -> dict:
    """Periodic: re-enqueue lost work, poll what is due, fail what is past its deadline."""
    report = services.reap()
    return {k: len(v) for k, v in vars(report).items()}


@shared_task(
    name="django_tryon.purge",
    bind=True,
    acks_late=True,
    ignore_result=True,
    soft_time_limit=600,
    time_limit=660,
)
def purge_tryons(self) -> dict:
    """Periodic: delete person photos and old results past their retention."""
    return vars(services.purge())


def _retry_later(task, exc: Exception) -> bool:
    """Schedule a retry with exponential backoff and jitter; False when retries are used up."""
    retries = task.request.retries
    if retries >= get_setting("MAX_RETRIES"):
        return False
    delay = backoff_seconds(
        retries, base=get_setting("RETRY_BASE_SECONDS"), cap=get_setting("RETRY_MAX_SECONDS")
    )
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        delay = max(delay, retry_after)
    delay = min(delay, longest_countdown(task.app))
    log.info("retrying %s in %.1fs after %s", task.name, delay, _safe(exc))
    raise task.retry(countdown=delay, exc=exc)


def longest_countdown(app) -> float:
    """The longest retry countdown the broker keeps safely: under its visibility timeout."""
    options = app.conf.broker_transport_options or {}
    visibility = float(options.get("visibility_timeout", DEFAULT_VISIBILITY_TIMEOUT))
    return max(visibility - 60.0, 1.0)


def _safe(exc: Exception) -> str:
    return str(exc) if isinstance(exc, ProviderError) else type(exc).__name__
