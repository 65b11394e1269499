"""The reaper (what no event will move on its own) and the purge (what is kept too long)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.utils import timezone

from .. import files
from ..callers import SHOPPER_SOURCES
from ..conf import get_setting
from ..models import CallbackReceipt, Source, TryOnRequest, TryOnResult
from ..providers import get_provider
from ..status import AT_PROVIDER, TERMINAL, Status
from .dispatch import enqueue_on_commit
from .results import accept_task, not_being_stored
from .slots import waiting_for_slot, wake_waiting
from .submission import give_up_pending
from .transitions import drop_person_photo, fail, transition

log = logging.getLogger("django_tryon")


@dataclass
class ReapReport:
    requeued: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    woken: list[str] = field(default_factory=list)
    #: Requests whose step raised: logged and skipped, never stopping the run.
    errors: list[str] = field(default_factory=list)


EXPIRED_UNSENT = {"code": "deadline"}


EXPIRED_AT_PROVIDER = {"code": "provider_expired"}


def reap(*, now=None, enqueue=True) -> ReapReport:
    """Find requests that lost their message or callback, and finish or fail them.

    Only unsent work expires on our clock (``DEADLINE_SECONDS`` for shoppers,
    ``CATALOGUE_DEADLINE_SECONDS`` for catalogue work): nothing was paid for it. A
    request at the provider is followed until the provider's own retention. Each
    request is handled on its own: one that raises is logged and counted in
    ``errors``, and the run goes on.
    """
    now = now or timezone.now()
    report = ReapReport()
    for request in _unsent_past_deadline(now):
        _isolated(report, request.pk, _expire_unsent, request, report)

    stale_pending = now - timedelta(seconds=get_setting("REQUEUE_PENDING_AFTER_SECONDS"))
    for pk in TryOnRequest.objects.filter(
        status=Status.PENDING, updated_at__lt=stale_pending, next_check_at__isnull=True
    ).values_list("pk", flat=True):
        report.requeued.append(str(pk))
        if enqueue:
            enqueue_on_commit("submit", pk)

    # Waiting for a slot (see wake_waiting): one probe per provider and run, once due.
    due = waiting_for_slot().filter(next_check_at__lte=now).order_by()
    for provider in sorted(set(due.values_list("provider", flat=True).distinct())):
        woken = (
            _isolated(report, provider, wake_waiting, provider, due_before=now) if enqueue else None
        )
        if woken:
            report.woken.append(woken)

    stuck = now - timedelta(seconds=get_setting("SUBMITTING_STUCK_AFTER_SECONDS"))
    for request in TryOnRequest.objects.filter(status=Status.SUBMITTING, updated_at__lt=stuck):
        if _isolated(
            report, request.pk, resolve_stuck_submission, request, enqueue=enqueue, now=now
        ):
            report.resolved.append(str(request.pk))

    for request in _at_provider_past_retention(now):
        if _isolated(
            report,
            request.pk,
            fail,
            request,
            expected=list(AT_PROVIDER),
            detail="past the provider's retention of its tasks",
            **EXPIRED_AT_PROVIDER,
        ):
            report.expired.append(str(request.pk))

    # Poll what is due. Pushing next_check_at forward first is the claim: two reapers
    # running at once do not both enqueue the same refresh.
    interval = timedelta(seconds=get_setting("POLL_INTERVAL_SECONDS"))
    due = TryOnRequest.objects.filter(status__in=AT_PROVIDER).filter(
        Q(next_check_at__lte=now) | Q(next_check_at__isnull=True)
    )
    for pk, seen in due.values_list("pk", "next_check_at"):
        claimed = TryOnRequest.objects.filter(pk=pk, next_check_at=seen).update(
            next_check_at=now + interval
        )
        if claimed:
            report.refreshed.append(str(pk))
            if enqueue:
                enqueue_on_commit("refresh", pk)
    return report


def _isolated(report: ReapReport, key, step, *args, **kwargs):
    """Run one request's step of the reaper; an error is logged and counted, not raised.

    No transaction around it: a step may call the provider, and no row lock is ever held
    across an HTTP call. Each of its writes is a compare-and-set to a consistent state.
    """
    try:
        return step(*args, **kwargs)
    except Exception:
        log.exception("reaper: %s of %s failed; carrying on", step.__name__, key)
        report.errors.append(str(key))
        return None


def _unsent_past_deadline(now):
    shopper = now - timedelta(seconds=get_setting("DEADLINE_SECONDS"))
    catalogue = now - timedelta(seconds=get_setting("CATALOGUE_DEADLINE_SECONDS"))
    return TryOnRequest.objects.filter(status=Status.PENDING).filter(
        Q(source__in=SHOPPER_SOURCES, created_at__lt=shopper)
        | (~Q(source__in=SHOPPER_SOURCES) & Q(created_at__lt=catalogue))
    )


def _expire_unsent(request: TryOnRequest, report: ReapReport) -> None:
    limit = (
        "DEADLINE_SECONDS" if request.source in SHOPPER_SOURCES else "CATALOGUE_DEADLINE_SECONDS"
    )
    detail = f"not sent to the provider within TRYON['{limit}'] = {get_setting(limit)} s"
    # Never sent (the provider is asked where an earlier attempt may have reached it):
    # nothing was paid, so its quota is given back.
    if give_up_pending(request, detail=detail, **EXPIRED_UNSENT):
        report.expired.append(str(request.pk))


def _at_provider_past_retention(now):
    """Requests at a provider that has long since deleted their task (never found again).

    Not one whose images a worker is storing right now, and not at a provider that keeps
    nothing to ask for (retention None): a poll that finds nothing ends those."""
    rows = TryOnRequest.objects.none()
    at_provider = TryOnRequest.objects.filter(status__in=AT_PROVIDER).order_by()
    for name in at_provider.values_list("provider", flat=True).distinct():
        try:
            retention = get_provider(name).task_retention_seconds
        except ImproperlyConfigured:
            continue
        if retention is None:
            continue
        rows |= TryOnRequest.objects.filter(
            status__in=AT_PROVIDER,
            provider=name,
            submitted_at__lt=now - timedelta(seconds=retention),
        )
    return list(rows.filter(not_being_stored(now)))


def resolve_stuck_submission(request: TryOnRequest, *, enqueue=True, now=None) -> bool:
    """A worker died (or timed out) between claiming and recording the provider's answer.

    Where tasks can be looked up by our id (Kling), the provider says whether it exists.
    Elsewhere (PiAPI) the request waits for the provider's webhook to name its task
    (``UNCONFIRMED_SUBMIT_WAIT_SECONDS``), and only then fails as ``submit_unknown``:
    it is never sent again, so it is never paid twice. A provider that sends no webhook
    (Model Studio) has nothing to wait for: it fails at once.
    """
    adapter = get_provider(request.provider)
    if adapter.supports_find:
        task = adapter.find(str(request.pk))
        if task is not None:
            accept_task(request, adapter, task)
            return True
        # The provider never created it: safe to submit again.
        moved = transition(request, Status.PENDING, expected=[Status.SUBMITTING])
        if moved and enqueue:
            enqueue_on_commit("submit", request.pk)
        return moved
    now = now or timezone.now()
    waited = now - timedelta(seconds=get_setting("UNCONFIRMED_SUBMIT_WAIT_SECONDS"))
    if adapter.sends_callbacks and request.updated_at >= waited:
        return False  # its webhook may still come
    return fail(
        request,
        code="submit_unknown",
        detail="no answer to the create call and no webhook naming the task; not resubmitted "
        "so that it is never paid twice",
        expected=[Status.SUBMITTING],
    )


@dataclass
class PurgeReport:
    person_photos: int = 0
    results: int = 0
    files: int = 0
    callback_receipts: int = 0


def purge(*, now=None) -> PurgeReport:
    """Delete shoppers' photos past their retention, old shopper results and callback
    receipts, and every stored file no row owns any more (``files.sweep``)."""
    now = now or timezone.now()
    report = PurgeReport()
    cutoff = now - timedelta(hours=get_setting("PERSON_PHOTO_RETENTION_HOURS"))
    done = TryOnRequest.objects.filter(status__in=TERMINAL, completed_at__lt=cutoff).exclude(
        person_image=""
    )
    for request in done.only("pk", "person_image"):
        unlinked, deleted = drop_person_photo(request.pk, request.person_image.name, now)
        report.person_photos += unlinked
        report.files += deleted
    days = get_setting("RESULT_RETENTION_DAYS")
    if days is not None:
        old = TryOnResult.objects.filter(
            request__source__in=[Source.WIDGET, Source.API],
            created_at__lt=now - timedelta(days=days),
        )
        for result in old:
            result.delete()  # its file goes with it (files.py)
            report.results += 1
            report.files += 1
    receipts_cutoff = now - timedelta(days=get_setting("CALLBACK_RECEIPT_RETENTION_DAYS"))
    report.callback_receipts, _ = CallbackReceipt.objects.filter(
        received_at__lt=receipts_cutoff
    ).delete()
    report.files += files.sweep(now=now)
    return report


def erase_shopper(owner_key: str, *, finished_only: bool = False) -> int:
    """Delete every request of one shopper; their photos and results go with the rows
    once the deletion is committed (files.py). Returns how many requests.

    ``finished_only`` (the shopper's own "erase my data") leaves a try-on still being made:
    deleting it under a worker would leave a paid task with nowhere to go; erasing again
    once it has finished takes it too."""
    if not owner_key:
        raise ValueError("erase_shopper needs an owner key")
    requests = TryOnRequest.objects.filter(owner_key=owner_key)
    if finished_only:
        requests = requests.filter(status__in=TERMINAL)
    _, by_model = requests.delete()
    return by_model.get(TryOnRequest._meta.label, 0)
