"""Sending a pending request to its provider, exactly once."""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from .. import images, routing
from ..conf import get_setting
from ..models import TryOnRequest
from ..providers import get_provider
from ..providers.base import (
    InvalidInput,
    PermanentProviderError,
    Provider,
    ProviderAccountError,
    ProviderError,
    ProviderTask,
    ProviderUnavailable,
    RateLimited,
    RetryableProviderError,
)
from ..status import Status
from .fallback import move_on
from .inputs import prepare_inputs
from .results import accept_task
from .slots import refused_last_time, wait_for_slot, waiting_for_slot
from .transitions import error_fields, fail_unsent, note_error, transition


def submit(request_id) -> TryOnRequest:
    """Send a pending request to its provider, exactly once.

    When the provider answers "busy" (429) the request waits for a free slot (see
    ``wake_waiting``). Raises RetryableProviderError for other passing failures where
    the provider created nothing; the request is then pending again for the caller to
    retry later.
    """
    request = (
        TryOnRequest.objects.select_related("garment", "lower_garment", "model_photo")
        .annotate(queue_ahead=Exists(waiting_for_slot().filter(provider=OuterRef("provider"))))
        .get(pk=request_id)
    )
    if request.status != Status.PENDING:
        return request
    # Every way out below asks the provider first (give_up_pending) when an earlier
    # attempt may have created the task.
    if not get_setting("ENABLED"):
        give_up_pending(
            request,
            code="disabled",
            detail="TRYON['ENABLED'] is False: not sent to the provider",
        )
        return request
    adapter = get_provider(request.provider)
    try:
        job = prepare_inputs(request, adapter)
    except images.ImageError as exc:
        give_up_pending(request, code=exc.code, detail=exc.message)
        return request
    except (OSError, ValueError) as exc:
        give_up_pending(
            request,
            code="input_unavailable",
            detail=str(exc),
        )
        return request
    if request.queue_ahead and request.attempts == 0 and not request.error_code:
        # Earlier requests wait for a slot at this provider: queue behind them (first come,
        # first served) instead of spending a create call that would be refused as well.
        wait_for_slot(
            request, f"waiting behind earlier requests for a free {request.provider} slot"
        )
        return request

    refused_before = refused_last_time(request)  # read before the claim clears it
    if not transition(
        request,
        Status.SUBMITTING,
        expected=[Status.PENDING],
        attempts=request.attempts + 1,
        # This attempt's outcome replaces the last one's: a busy refusal recorded before
        # must not make a create that dies in flight look refused (and so never looked up).
        error_code="",
        callback_salt=request.callback_salt,
        callback_token_hash=request.callback_token_hash,
    ):
        return request  # another worker claimed it
    probed, probe = request.provider, None
    if request.attempts == 1 and request.routed:
        # Never sent yet: a provider that went down (or ran out of credit) since the
        # route chose it is passed over now, while moving costs nothing. A half-open
        # breaker's one probe is claimed here, by the request about to be sent.
        why, probe = routing.claim_to_send(request.provider)
        if why and move_on(request, why):
            return request
    try:
        return _send(request, adapter, job, refused_before)
    finally:
        # Sent and answered, the breaker was closed or opened again (the claim is gone);
        # anything else hands the probe on.
        routing.give_back_probe(probed, probe)


def _send(request, adapter, job, refused_before) -> TryOnRequest:
    try:
        task = None
        if adapter.supports_find and request.attempts > 1 and not refused_before:
            # An earlier attempt may have reached the provider before dying: never create twice.
            task = adapter.find(str(request.pk))
        if task is None:
            task = adapter.submit(job)
    except RateLimited as exc:
        if exc.http_status is None:
            raise  # no answer: not a refusal (never raised so by the adapters)
        if request.attempts > get_setting("MAX_RETRIES"):
            # Refused that often: give up (nothing was created, so the quota goes back).
            _refused(request, exc)
            return request
        # The provider is busy (Kling 1303: every concurrency slot taken) and created
        # nothing. Wait for a slot instead of a timer of our own: see wake_waiting.
        wait_for_slot(request, str(exc), retry_after=exc.retry_after, from_status=Status.SUBMITTING)
        return request
    except RetryableProviderError as exc:
        if isinstance(exc, ProviderUnavailable):
            routing.record_unavailable(request.provider, str(exc))
        if not adapter.supports_find and not _nothing_created(exc):
            # No clear "nothing was created" (a timeout, a gateway 502/504, a dropped
            # connection): the provider may hold a paid task we cannot look up. Never send
            # it again; wait in "submitting" for its webhook (see resolve_stuck_submission).
            note_error(request, exc)
            return request
        transition(request, Status.PENDING, expected=[Status.SUBMITTING], **error_fields(exc))
        raise
    except PermanentProviderError as exc:
        # A create refused as a duplicate of our own id means an earlier attempt got there.
        task = _find_quietly(adapter, request) if isinstance(exc, InvalidInput) else None
        if task is None:
            if isinstance(exc, ProviderAccountError):
                # Out of credit (or the account refused): nothing was made, so the next
                # provider on the route may take it.
                routing.record_out_of_credit(request.provider, str(exc))
                if move_on(request, f"refused the try-on ({exc.message})"):
                    return request
            # Refused on create: nothing was paid, so the quota is given back.
            _refused(request, exc)
            return request
    routing.record_success(request.provider)
    accept_task(request, adapter, task)
    return request


def give_up_pending(request: TryOnRequest, *, code: str, detail: str = "") -> bool:
    """Fail a pending request for good (its deadline passed, its retries are used up),
    unless an earlier attempt reached the provider after all.

    A pending request that was tried before, with an answer that did not prove nothing
    was created (a timeout, Kling's 5002 "server timeout" after creating the task), may
    hold a paid task. Where the provider can be asked by our id, it is asked first, and a
    task found is followed instead. Returns True when the request failed.
    """
    adapter = get_provider(request.provider)
    if not (request.attempts and not refused_last_time(request) and adapter.supports_find):
        return fail_unsent(request, code=code, detail=detail, expected=[Status.PENDING])
    # The claim, as for a submission: committed before the HTTP call, no lock held. Should
    # the lookup raise, the request stays "submitting" and the reaper resolves it.
    if not transition(request, Status.SUBMITTING, expected=[Status.PENDING]):
        return False
    task = adapter.find(str(request.pk))
    if task is not None:
        accept_task(request, adapter, task)
        return False
    return fail_unsent(request, code=code, detail=detail, expected=[Status.SUBMITTING])


def _refused(request: TryOnRequest, exc: ProviderError) -> None:
    """Fail a request its provider refused on create (nothing was created or paid)."""
    fail_unsent(
        request,
        code=exc.error_code,
        detail=str(exc),
        expected=[Status.SUBMITTING],
    )


def _nothing_created(exc: RetryableProviderError) -> bool:
    """True only for an answer that proves the provider created no task: a 4xx refusal.

    A 5xx may come from a gateway in front of a provider that did create the task, and
    no answer at all proves nothing either.
    """
    return exc.http_status is not None and 400 <= exc.http_status < 500


def _find_quietly(adapter: Provider, request: TryOnRequest) -> ProviderTask | None:
    if not adapter.supports_find:
        return None
    try:
        return adapter.find(str(request.pk))
    except ProviderError:
        return None
