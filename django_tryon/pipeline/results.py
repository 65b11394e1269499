"""Following a task at its provider (refresh) and storing its results (persist)."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from .. import images, quotas
from ..conf import get_setting, refresh_limits
from ..fetch import DownloadError, download
from ..links import callback_url
from ..models import TryOnRequest, TryOnResult, result_name, tryon_storage
from ..providers import get_provider
from ..providers.base import Provider, ProviderTask, TaskNotFound, TaskState
from ..signals import tryon_submitted, tryon_succeeded
from ..status import AT_PROVIDER, Status
from ..untrusted import plain
from .charges import reserved_charge
from .dispatch import enqueue_refresh, send_on_commit
from .slots import waiting_for_slot, wake_waiting
from .transitions import fail, transition

#: Failures on our side, after the provider finished: the results can be fetched again
#: (``recover_results``) while the provider keeps them, without paying for a new task.
RECOVERABLE_CODES = frozenset({"result_unavailable", "result_invalid"})


def refresh(request_id, *, callback_task_id: str = "", early: bool = False) -> TryOnRequest:
    """Fetch the request's task from its provider (the truth) and act on the answer.

    ``callback_task_id`` comes from a callback that passed its provider's authentication
    for this very request; it lets a request whose create answer was lost find its task
    at a provider that cannot look tasks up by our id (PiAPI). ``early`` marks a callback
    that said "still running" before the create call's answer was saved: once that
    answer is saved, a fetch would learn nothing.
    """
    # Two facts for later, read with the row instead of by two more queries: whether
    # any image is stored already, and whether anyone waits for a slot at this provider.
    request = (
        TryOnRequest.objects.annotate(
            has_results=Exists(TryOnResult.objects.filter(request=OuterRef("pk"))),
            slot_waiters=Exists(waiting_for_slot().filter(provider=OuterRef("provider"))),
        )
    ).get(pk=request_id)
    if request.status not in AT_PROVIDER and request.status != Status.SUBMITTING:
        return request
    if early and request.provider_task_id:
        return request
    adapter = get_provider(request.provider)
    if not request.provider_task_id:
        task = None
        if request.status == Status.SUBMITTING and adapter.supports_find:
            task = adapter.find(str(request.pk))
        elif request.status == Status.SUBMITTING and callback_task_id:
            task = adapter.fetch(callback_task_id)  # the provider confirms it exists
        if task is not None:
            accept_task(request, adapter, task)
        return request
    try:
        task = adapter.fetch(request.provider_task_id)
    except TaskNotFound as exc:
        # A provider that keeps nothing (Vertex) cannot be asked again while a worker
        # still stores the answer it had in hand: only a lapsed lease means it was lost.
        fail(
            request,
            code="task_not_found",
            detail=str(exc),
            expected=list(AT_PROVIDER),
            where=not_being_stored(timezone.now()),
        )
        return request
    if task.state != TaskState.SUCCEEDED:  # persist_results records the check itself
        # Compare-and-set: a slow "still running" answer must not overwrite what another
        # worker stored meanwhile (a success, a failure).
        TryOnRequest.objects.filter(pk=request.pk, status__in=AT_PROVIDER).update(
            **_checked(task, request)
        )
    apply_task(request, adapter, task)
    return request


def mark_generating(request: TryOnRequest) -> bool:
    """The provider says it is generating this request's task (an authenticated callback
    of its own): submitted -> processing. Only what the shopper is told changes."""
    return transition(request, Status.PROCESSING, expected=[Status.SUBMITTED])


def accept_task(request: TryOnRequest, adapter: Provider, task: ProviderTask) -> None:
    target = Status.PROCESSING if task.state == TaskState.RUNNING else Status.SUBMITTED
    # Until the provider reports the real figure, the cost is what create reserved.
    estimate, currency = request.reserved_amount, request.reserved_currency
    moved = transition(
        request,
        target,
        expected=[Status.SUBMITTING],
        provider_task_id=task.task_id,
        provider_status=task.raw_status[:32],
        submitted_at=timezone.now(),
        cost=task.cost if task.cost is not None else estimate,
        cost_currency=task.cost_currency or currency,
        error_code="",
        next_check_at=timezone.now() + timedelta(seconds=_first_poll_delay(request, adapter)),
    )
    if not moved:
        # Moved on while the create call was in flight (cancelled, or accepted by another
        # worker): keep the task id where none is recorded, so nothing paid is lost.
        TryOnRequest.objects.filter(
            pk=request.pk, provider_task_id="", status__in=[Status.CANCELLED, Status.SUBMITTING]
        ).update(provider_task_id=task.task_id)
        return
    send_on_commit(tryon_submitted, request)
    if task.state.is_terminal:
        apply_task(request, adapter, task)


def _first_poll_delay(request: TryOnRequest, adapter: Provider) -> float:
    if adapter.sends_callbacks and callback_url(request):
        return get_setting("POLL_FIRST_AFTER_SECONDS")
    return get_setting("POLL_INTERVAL_SECONDS")


def _checked(task: ProviderTask, request: TryOnRequest) -> dict:
    """Fields that record one look at the provider's task, and when to look again."""
    now = timezone.now()
    return {
        "last_checked_at": now,
        "provider_status": task.raw_status[:32],
        "next_check_at": now + timedelta(seconds=poll_delay(request, now)),
    }


def poll_delay(request: TryOnRequest, now) -> float:
    """Seconds until the next poll: a tenth of the task's age, within the two settings.

    A try-on normally ends within a minute; one that runs for hours (a provider backlog)
    is still followed to the end, just less and less often.
    """
    started = request.submitted_at or request.created_at
    age = max((now - started).total_seconds(), 0.0)
    floor = get_setting("POLL_INTERVAL_SECONDS")
    return max(floor, min(age / 10, get_setting("POLL_MAX_INTERVAL_SECONDS")))


def apply_task(request: TryOnRequest, adapter: Provider, task: ProviderTask) -> None:
    if task.state == TaskState.RUNNING and request.status == Status.SUBMITTED:
        transition(request, Status.PROCESSING, expected=[Status.SUBMITTED])
    elif task.state == TaskState.SUCCEEDED:
        persist_results(request, adapter, task)
    elif task.state == TaskState.FAILED:
        code = task.error_code or "provider_failed"
        # The provider's own figure of what the failed task cost (Kling reports
        # final_unit_deduction "0"), in place of our estimate.
        reported = {"cost": task.cost} if task.cost is not None else {}
        if fail(
            request,
            code=code,
            detail=task.message,
            expected=list(AT_PROVIDER),
            **reported,
        ):
            if reported:
                currency = task.cost_currency or request.cost_currency
                quotas.settle(
                    reserved_charge(request), task.cost, currency, when=request.created_at
                )
            _hand_on_slot(request)


def persist_results(
    request: TryOnRequest, adapter: Provider, task: ProviderTask, *, recovering: bool = False
) -> bool:
    """Download every result image once, store it, then mark the request succeeded.

    One worker at a time holds the request (a lease of ``PERSIST_LEASE_SECONDS``, so a
    worker killed mid-download delays the results by no more). Each image is stored as it
    arrives; a run that would not finish within its time budget stores what it can and
    hands the rest to a fresh refresh. ``recovering`` is ``recover_results``: the request
    failed on our side after the provider finished, and succeeds once its images are in.
    """
    now = timezone.now()
    if recovering:
        rows = TryOnRequest.objects.filter(
            pk=request.pk, status=Status.FAILED, error_code__in=RECOVERABLE_CODES
        )
    else:
        rows = TryOnRequest.objects.filter(pk=request.pk, status__in=AT_PROVIDER)
    claimed = rows.filter(not_being_stored(now)).update(
        persist_claimed_at=now, **_checked(task, request)
    )
    if not claimed:
        return False
    ours = TryOnRequest.objects.filter(pk=request.pk, persist_claimed_at=now)
    if not recovering:
        # The task has ended, so its slot at the provider is free: hand it on first.
        _hand_on_slot(request)
    try:
        stored, raced, finished = _store_images(request, adapter, task)
    except DownloadError as exc:
        ours.update(persist_claimed_at=None)
        if exc.retryable and (recovering or not _out_of_download_tries(request)):
            raise
        _fail_on_our_side(
            request,
            code="result_unavailable",
            detail=exc.reason,
            recovering=recovering,
        )
        return False
    except images.ImageError as exc:
        ours.update(persist_claimed_at=None)
        _fail_on_our_side(
            request,
            code="result_invalid",
            detail=exc.message,
            recovering=recovering,
        )
        return False
    except BaseException:
        # Storage down, a time limit, a lost database connection: give the lease back
        # (if it is still ours) so the next poll carries on at once, then let it raise.
        ours.update(persist_claimed_at=None)
        raise
    if not finished:
        ours.update(persist_claimed_at=None)
        enqueue_refresh(request.pk)
        return False
    done = {
        "persist_claimed_at": None,
        "provider_status": task.raw_status[:32],
        "cost": task.cost if task.cost is not None else request.cost,
        "cost_currency": task.cost_currency or request.cost_currency,
        "error_code": "",
        "error_detail": "",
        "next_check_at": None,
    }
    if recovering:
        # Not a move the status table allows (failed is final): only this claim, on a
        # failure of ours, takes it.
        done.update(status=Status.SUCCEEDED, updated_at=timezone.now(), completed_at=timezone.now())
        moved = bool(ours.filter(status=Status.FAILED).update(**done))
        if moved:
            for key, value in done.items():
                setattr(request, key, value)
    else:
        moved = transition(request, Status.SUCCEEDED, expected=list(AT_PROVIDER), **done)
    if moved:
        quotas.settle(
            reserved_charge(request), request.cost, request.cost_currency, when=request.created_at
        )
        results = list(request.results.all()) if raced else [stored[i] for i in sorted(stored)]
        send_on_commit(tryon_succeeded, request, results=results)
    return moved


def not_being_stored(now) -> Q:
    """Rows no worker is storing images for: unclaimed, or their lease has lapsed (the
    worker was killed mid-download)."""
    lease = timedelta(seconds=get_setting("PERSIST_LEASE_SECONDS"))
    return Q(persist_claimed_at__isnull=True) | Q(persist_claimed_at__lt=now - lease)


def persist_time_budget() -> float:
    """Seconds after which one refresh run starts no more downloads (``refresh_limits``).
    Should the one under way not fit, the soft limit gives the lease back and the next
    poll goes on."""
    return refresh_limits(get_setting("REFRESH_TIME_LIMIT_SECONDS")).download_budget


def _hand_on_slot(request: TryOnRequest) -> None:
    """A task ended, so its slot at the provider is free: submit the oldest waiting
    request into it. ``slot_waiters`` (read by refresh) spares the query when nobody
    waits; one who starts waiting meanwhile is woken by the reaper's probe."""
    if getattr(request, "slot_waiters", True):
        wake_waiting(request.provider)


def _store_images(request: TryOnRequest, adapter: Provider, task: ProviderTask):
    """Store the images not stored yet: ``(stored by index, raced, finished)``."""
    storage = tryon_storage()
    stored = {}
    if getattr(request, "has_results", True):  # known from refresh's read, else ask
        stored = {result.index: result for result in request.results.all()}
    raced = False
    started = time.monotonic()
    fetched = 0
    # Images that came in the provider's answer are stored as they are; links are
    # downloaded through the safe downloader.
    for index, source in enumerate(task.images or task.image_urls):
        if index in stored:
            continue
        spent = time.monotonic() - started
        if fetched and spent > persist_time_budget():
            return stored, raced, False  # hand the rest on rather than hit the time limit
        fetched += 1
        data = source if isinstance(source, bytes) else _download(source, adapter)
        info = images.verify_image(data, min_side=1, max_bytes=get_setting("DOWNLOAD_MAX_BYTES"))
        ext = {"PNG": "png", "WEBP": "webp"}.get(info.format, "jpg")
        name = _fresh_name(storage, _result_name(request, index, ext))
        name = storage.save(name, ContentFile(data))
        try:
            with transaction.atomic():
                stored[index] = TryOnResult.objects.create(
                    request=request, index=index, image=name, width=info.width, height=info.height
                )
        except IntegrityError:
            storage.delete(name)  # a parallel persist stored this index first
            raced = True
    return stored, raced, True


def _download(url: str, adapter: Provider) -> bytes:
    return download(url, allowed_hosts=adapter.result_hosts, **adapter.download_trust)


def _result_name(request: TryOnRequest, index: int, ext: str) -> str:
    """The same unguessable name every time for one request's image ``index``: a worker
    killed between storing the file and writing its row leaves a file the next run
    replaces, never an orphan. ``callback_salt`` is random and never leaves the server."""
    key = hashlib.sha256(f"{request.pk}:{request.callback_salt}:{index}".encode()).hexdigest()
    return result_name(request, key[:32], ext)


def _fresh_name(storage, name: str) -> str:
    """``name``, after removing what a killed worker left there (no row references it)."""
    if storage.exists(name):
        storage.delete(name)
    return name


def _out_of_download_tries(request) -> bool:
    """Count one more download that failed in a way that may pass (a timeout, a 5xx);
    True once ``MAX_RETRIES`` of them have failed. A result host that drips or never
    answers then ends the wait, as ``result_unavailable``: the shopper is told, and the
    images can still be fetched again later without a new charge (``recover_results``)."""
    rows = TryOnRequest.objects.filter(pk=request.pk)
    rows.update(download_failures=F("download_failures") + 1)
    failures = rows.values_list("download_failures", flat=True).first() or 0
    return failures > get_setting("MAX_RETRIES")


def _fail_on_our_side(request, *, code, detail, recovering) -> None:
    """The provider finished and was paid, but we could not store its images: fail with
    a code ``recover_results`` accepts (a recovery attempt only records the new reason)."""
    if recovering:
        TryOnRequest.objects.filter(pk=request.pk, status=Status.FAILED).update(
            error_code=code, error_detail=plain(detail, 2000), updated_at=timezone.now()
        )
        return
    fail(request, code=code, detail=detail, expected=list(AT_PROVIDER))
