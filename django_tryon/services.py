"""The only place a try-on changes state.

Every entry point (API, widget, admin, terminal command, Celery tasks, callbacks) calls
these functions. Status moves are compare-and-set UPDATEs (``transition``); no row lock
is ever held across an HTTP call.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from . import files, images, quotas
from .conf import get_setting, refresh_limits
from .fetch import DownloadError, download
from .models import (
    CallbackReceipt,
    Garment,
    ModelPhoto,
    Source,
    TryOnBatch,
    TryOnRequest,
    TryOnResult,
    result_name,
    tryon_storage,
)
from .providers import get_provider, provider_names
from .providers.base import (
    InputImage,
    InvalidInput,
    PermanentProviderError,
    Provider,
    ProviderConfigurationError,
    ProviderError,
    ProviderTask,
    RateLimited,
    RetryableProviderError,
    TaskNotFound,
    TaskState,
    TryOnInput,
    backoff_seconds,
)
from .quotas import QuotaExceeded, TryOnDisabled
from .signals import tryon_failed, tryon_submitted, tryon_succeeded
from .status import ACTIVE, AT_PROVIDER, TERMINAL, InvalidTransition, Status, can_move

log = logging.getLogger("django_tryon")

#: Failures on our side, after the provider finished: the results can be fetched again
#: (``recover_results``) while the provider keeps them, without paying for a new task.
RECOVERABLE_CODES = frozenset({"result_unavailable", "result_invalid"})
#: error_code of a request waiting for a free slot: its provider answered "busy" (429).
WAITING_FOR_SLOT = "rate_limited"
INPUT_URL_SALT = "django_tryon.input-url"
RESULT_URL_SALT = "django_tryon.result-url"
OWNER_KEY_SALT = "django_tryon.owner-key"
#: Sources whose requests count against the per-shopper quota by default.
SHOPPER_SOURCES = frozenset({Source.WIDGET, Source.API})

__all__ = [
    "IdempotencyConflict",
    "QuotaExceeded",
    "TryOnDisabled",
    "TryOnValidationError",
    "cancel",
    "create_tryon",
    "erase_shopper",
    "owner_key_for",
    "retry",
]
CALLBACK_TOKEN_SALT = "django_tryon.callback-token"  # noqa: S105 (a salt, not a secret)


class TryOnValidationError(Exception):
    """Bad input: ``errors`` maps a field name to readable messages. Nothing was created."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


@dataclass
class _Errors:
    by_field: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.by_field.setdefault(name, []).append(str(message))

    def raise_if_any(self) -> None:
        if self.by_field:
            raise TryOnValidationError(self.by_field)


# -- create ------------------------------------------------------------------------------


def owner_key_for(user=None, session_key: str | None = None) -> str:
    """The string that binds a request to its shopper: a user, else a session, else nobody.

    ``session_key`` is the random shopper token the API keeps in the session. It is
    named by its hash, never itself: owner keys are shown to staff and kept in usage
    counters. The hash is not keyed with SECRET_KEY, so rotating the key does not cut
    anonymous shoppers off their try-ons (or reset their quota).
    """
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.pk}"
    if session_key:
        digest = hashlib.sha256(f"{OWNER_KEY_SALT}:{session_key}".encode()).hexdigest()
        return f"session:{digest[:40]}"
    return ""


def create_tryon(
    *,
    garment: Garment,
    person_image: File | bytes | None = None,
    model_photo: ModelPhoto | None = None,
    lower_garment: Garment | None = None,
    provider: str | None = None,
    batch_size: int = 1,
    source: str = Source.API,
    owner=None,
    owner_key: str = "",
    idempotency_key: str = "",
    consent_version: str = "",
    batch: TryOnBatch | None = None,
    retry_of: TryOnRequest | None = None,
    enqueue: bool = True,
    require_active: bool = True,
    enforce_shopper_quota: bool | None = None,
    client_key: str = "",
    reserved: bool = False,
) -> tuple[TryOnRequest, bool]:
    """Validate, dedupe, count against the quotas and save a try-on, and queue its
    submission once committed.

    Returns ``(request, created)``; ``created`` is False when an identical request of
    the same owner (same Idempotency-Key, or same inputs still in flight or succeeded)
    is returned instead of paying again. Raises ``TryOnValidationError`` for bad input
    and ``QuotaExceeded`` (``TryOnDisabled`` for the kill switch) when a limit would be
    passed; either way nothing is created. ``enforce_shopper_quota`` defaults to True for
    widget and API requests (staff callers pass False); the shop's budgets always apply.
    ``client_key`` names an anonymous shopper's client address (``quotas.client_key``),
    whose own daily limit applies too. ``reserved``: the caller already counted this
    request's charge (an admin batch reserves all of its requests at once).
    """
    provider_name = provider or get_setting("DEFAULT_PROVIDER")
    errors = _Errors()
    adapter = _validated_provider(provider_name, errors)
    _validate_garments(garment, lower_garment, errors, require_active=require_active)
    person_bytes = _validated_person(person_image, model_photo, errors)
    if adapter is not None:
        _validate_batch_size(batch_size, adapter, errors)
    errors.raise_if_any()

    person_digest = (
        hashlib.sha256(person_bytes).hexdigest()
        if person_bytes is not None
        else f"model:{model_photo.pk}:{_file_digest(model_photo)}"
    )
    digest = _input_digest(
        provider_name,
        _provider_model(adapter),
        person_digest,
        # The garment rows as well as their images: two products that share a picture
        # are still two try-ons, each shown with its own product.
        garment.pk,
        _file_digest(garment),
        lower_garment.pk if lower_garment else "",
        _file_digest(lower_garment) if lower_garment else "",
        batch_size,
    )
    if idempotency_key:
        existing = _same_key(owner_key, idempotency_key, digest)
        if existing is not None:
            return existing, False
    if retry_of is None:
        duplicate = _find_duplicate(owner_key, digest)
        if duplicate is not None:
            return duplicate, False

    if enforce_shopper_quota is None:
        enforce_shopper_quota = source in SHOPPER_SOURCES
    request = TryOnRequest(
        provider=provider_name,
        provider_model=_provider_model(adapter),
        source=source,
        garment=garment,
        lower_garment=lower_garment,
        model_photo=model_photo,
        batch_size=batch_size,
        batch=batch,
        retry_of=retry_of,
        input_digest=digest,
        owner=owner if owner is not None and getattr(owner, "is_authenticated", False) else None,
        owner_key=owner_key,
        idempotency_key=idempotency_key,
        consent_version=consent_version,
        consent_at=timezone.now() if consent_version else None,
    )
    if not get_setting("ENABLED"):
        raise TryOnDisabled()
    saved_name = ""
    try:
        # The upload is stored before the transaction, so the usage-counter rows are
        # locked only for the few statements below, never across a (possibly remote) write.
        if person_bytes is not None:
            # Re-encoded here, in the request that received it: the uploaded bytes (GPS,
            # camera, orientation tag) never reach storage, not even for a moment.
            saved_name = tryon_storage().save(
                request.person_image.field.generate_filename(request, "upload.jpg"),
                ContentFile(_normalised_upload(person_bytes)),
            )
            request.person_image.name = saved_name
            request.person_prepared = True
        elif retry_of is not None and retry_of.person_image:
            request.person_image.name = retry_of.person_image.name
            request.person_prepared = retry_of.person_prepared
        charge = _charge(adapter, batch_size)
        request.reserved_amount, request.reserved_currency = charge.amount, charge.currency
        request.client_key = client_key
        with transaction.atomic():
            if not reserved:
                quotas.reserve(
                    charge,
                    owner_key=owner_key,
                    client_key=client_key,
                    enforce_shopper=enforce_shopper_quota,
                    now=request.created_at,
                    savepoint=False,  # a refusal leaves (and rolls back) this transaction
                )
            request.save(force_insert=True)
            if enqueue:
                _enqueue_on_commit("submit", request.pk)
    except IntegrityError:
        # A parallel create won the race: the same Idempotency-Key, or the same inputs
        # while the other is in flight (tryon_unique_in_flight). Return its request; this
        # one's reservation was rolled back with the transaction, nothing is paid twice.
        if saved_name:
            tryon_storage().delete(saved_name)
        existing = _same_key(owner_key, idempotency_key, digest) if idempotency_key else None
        existing = existing or _find_duplicate(owner_key, digest)
        if existing is not None:
            return existing, False
        raise
    except BaseException:
        if saved_name:
            tryon_storage().delete(saved_name)
        raise
    return request, True


def reserved_charge(request: TryOnRequest) -> quotas.Charge:
    """What ``create_tryon`` counted for a request, as it was counted then: release and
    settle give back exactly that, whatever the settings or prices say today."""
    return quotas.Charge(
        request.batch_size, request.reserved_amount or Decimal("0"), request.reserved_currency
    )


def estimated_charge(provider: str | None = None, batch_size: int = 1) -> quotas.Charge:
    """What a new request would count (default provider, one image unless told)."""
    try:
        adapter = get_provider(provider)
    except ImproperlyConfigured:
        adapter = None
    return _charge(adapter, batch_size)


def _charge(adapter: Provider | None, batch_size: int) -> quotas.Charge:
    if adapter is None:
        return quotas.Charge(batch_size)
    amount, currency = adapter.estimate_cost(batch_size)
    return quotas.Charge(batch_size, amount, currency)


def _release(request: TryOnRequest) -> None:
    """Give back a request's reservation: it failed before anything was paid."""
    quotas.release(
        reserved_charge(request),
        owner_key=request.owner_key,
        client_key=request.client_key,
        when=request.created_at,
    )


def fail_unsent(
    request: TryOnRequest, *, code: str, message: str, detail: str = "", expected: Iterable[str]
) -> bool:
    """Fail a request the provider never accepted, and give its quota back."""
    moved = fail(request, code=code, message=message, detail=detail, expected=expected)
    if moved:
        _release(request)
        _discard_unused_photo(request)
    return moved


def give_up_pending(request: TryOnRequest, *, code: str, message: str, detail: str = "") -> bool:
    """Fail a pending request for good (its deadline passed, its retries are used up),
    unless an earlier attempt reached the provider after all.

    A pending request that was tried before, with an answer that did not prove nothing
    was created (a timeout, Kling's 5002 "server timeout" after creating the task), may
    hold a paid task. Where the provider can be asked by our id, it is asked first, and a
    task found is followed instead. Returns True when the request failed.
    """
    adapter = get_provider(request.provider)
    if not (request.attempts and not _refused_last_time(request) and adapter.supports_find):
        return fail_unsent(
            request, code=code, message=message, detail=detail, expected=[Status.PENDING]
        )
    # The claim, as for a submission: committed before the HTTP call, no lock held. Should
    # the lookup raise, the request stays "submitting" and the reaper resolves it.
    if not transition(request, Status.SUBMITTING, expected=[Status.PENDING]):
        return False
    task = adapter.find(str(request.pk))
    if task is not None:
        _accept_task(request, adapter, task)
        return False
    return fail_unsent(
        request, code=code, message=message, detail=detail, expected=[Status.SUBMITTING]
    )


def _validated_provider(name: str, errors: _Errors) -> Provider | None:
    if name not in provider_names():
        errors.add(
            "provider", f"Unknown provider '{name}'. Choose one of: {', '.join(provider_names())}."
        )
        return None
    try:
        adapter = get_provider(name)
    except ProviderConfigurationError as exc:
        errors.add("provider", f"Provider '{name}' is not configured: {exc}")
        return None
    if adapter.needs_input_urls and not get_setting("PUBLIC_BASE_URL"):
        errors.add(
            "provider",
            f"Provider '{name}' fetches images by URL, so TRYON['PUBLIC_BASE_URL'] must be set.",
        )
    return adapter


def _validate_garments(garment, lower_garment, errors: _Errors, *, require_active=True) -> None:
    if garment is None:
        errors.add("garment", "Choose a garment.")
        return
    if require_active and not garment.active:
        errors.add("garment", f"'{garment.name}' is not available for try-on.")
    if lower_garment is None:
        return
    if require_active and not lower_garment.active:
        errors.add("lower_garment", f"'{lower_garment.name}' is not available for try-on.")
    try:
        images.check_outfit(garment.category, lower_garment.category)
    except images.ImageError as exc:
        errors.add("lower_garment", exc.message)


def _validated_person(person_image, model_photo, errors: _Errors) -> bytes | None:
    if (person_image is None) == (model_photo is None):
        errors.add("person_image", "Give either a person photo or a house model, not both.")
        return None
    if model_photo is not None:
        if not model_photo.active:
            errors.add("model_photo", f"'{model_photo.name}' is not available.")
        return None
    max_bytes = get_setting("UPLOAD_MAX_BYTES")
    size = len(person_image) if isinstance(person_image, bytes) else person_image.size
    if size is not None and size > max_bytes:
        errors.add(
            "person_image",
            f"This photo is too large ({size / 1048576:.1f} MB). "
            f"The limit is {max_bytes / 1048576:.0f} MB.",
        )
        return None
    data = person_image if isinstance(person_image, bytes) else _read_all(person_image)
    try:
        info = images.inspect_image(data)
        images.check_sendable(info)
        images.check_complete(data, info.format)
    except images.ImageError as exc:
        errors.add("person_image", exc.message)
        return None
    return data


def _normalised_upload(data: bytes) -> bytes:
    """The provider-ready re-encoding of a validated upload: upright RGB JPEG, no metadata."""
    try:
        return images.prepare_for_provider(data).data
    except images.ImageError as exc:
        raise TryOnValidationError({"person_image": [exc.message]}) from None


def _validate_batch_size(batch_size, adapter: Provider, errors: _Errors) -> None:
    if not isinstance(batch_size, int) or not 1 <= batch_size <= adapter.max_batch_size:
        errors.add(
            "batch_size",
            f"Batch size must be between 1 and {adapter.max_batch_size} for {adapter.name}.",
        )


def _read_all(upload) -> bytes:
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    return data


def _file_digest(obj) -> str:
    """Digest of a garment's or model photo's image, computed once and kept on the row."""
    if obj is None:
        return ""
    if not obj.image_digest:
        with obj.image.open("rb") as fh:
            obj.image_digest = hashlib.sha256(fh.read()).hexdigest()
        type(obj).objects.filter(pk=obj.pk).update(image_digest=obj.image_digest)
    return obj.image_digest


def _input_digest(*parts) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def _provider_model(adapter: Provider | None) -> str:
    return getattr(adapter, "model_name", "") if adapter is not None else ""


class IdempotencyConflict(TryOnValidationError):
    """The Idempotency-Key was already used by this shopper for different inputs."""

    def __init__(self):
        super().__init__(
            {"idempotency_key": ["This Idempotency-Key was already used for a different try-on."]}
        )


def _same_key(owner_key: str, idempotency_key: str, digest: str) -> TryOnRequest | None:
    existing = TryOnRequest.objects.filter(
        owner_key=owner_key, idempotency_key=idempotency_key
    ).first()
    if existing is not None and existing.input_digest != digest:
        raise IdempotencyConflict()
    return existing


def _find_duplicate(owner_key: str, digest: str) -> TryOnRequest | None:
    """The same owner's identical request that is in flight, or succeeded with its results."""
    candidates = TryOnRequest.objects.filter(owner_key=owner_key, input_digest=digest).filter(
        Q(status__in=ACTIVE) | Q(status=Status.SUCCEEDED, results__isnull=False)
    )
    return candidates.order_by("-created_at").first()


def _enqueue_on_commit(kind: str, request_id, **kwargs) -> None:
    from . import tasks

    task = {
        "submit": tasks.submit_tryon,
        "refresh": tasks.refresh_tryon,
        "cancel": tasks.cancel_tryon,
    }[kind]

    def send():
        try:
            tasks.send(task, str(request_id), **kwargs)
        except Exception as exc:  # kombu's OperationalError, a refused connection, ...
            # The broker is down. The request is saved and its state tells what comes
            # next, so the reaper queues this step once the broker is back: answer the
            # shopper normally instead of a 500 for work that was already counted.
            log.warning(
                "could not queue %s of try-on %s (%s); the reaper will queue it",
                kind,
                request_id,
                type(exc).__name__,
            )

    transaction.on_commit(send)


def enqueue_refresh(request_id, *, callback_task_id: str = "", early: bool = False) -> None:
    """Ask a worker to fetch the request's task from its provider (see ``refresh``)."""
    kwargs = {"callback_task_id": callback_task_id} if callback_task_id else {}
    if early:
        kwargs["early"] = True
    if kwargs:
        _enqueue_on_commit("refresh", request_id, kwargs=kwargs)
    else:
        _enqueue_on_commit("refresh", request_id)


# -- transitions --------------------------------------------------------------------------


def transition(
    request: TryOnRequest, target: str, *, expected: Iterable[str] | None = None, **fields
) -> bool:
    """Move ``request`` to ``target`` if it is still in an expected status: compare-and-set.

    Returns False (and changes nothing) when another worker or event moved it first.
    ``request`` is updated in memory when the move happens.
    """
    sources = [s for s in (expected or [request.status]) if can_move(s, target)]
    if not sources:
        raise InvalidTransition(f"{list(expected or [request.status])} -> {target}")
    now = timezone.now()
    values = {"status": target, "updated_at": now, **fields}
    if target in TERMINAL and "completed_at" not in values:
        values["completed_at"] = now
    moved = TryOnRequest.objects.filter(pk=request.pk, status__in=sources).update(**values)
    if moved:
        for key, value in values.items():
            setattr(request, key, value)
    return bool(moved)


def fail(
    request: TryOnRequest,
    *,
    code: str,
    message: str,
    detail: str = "",
    expected: Iterable[str] | None = None,
    **fields,
) -> bool:
    """Fail an active request with a message a shopper can read; send ``tryon_failed``."""
    moved = transition(
        request,
        Status.FAILED,
        expected=expected or [s for s in ACTIVE],
        error_code=code[:40],
        error_message=message[:500],
        error_detail=detail,
        persist_claimed_at=None,
        next_check_at=None,
        **fields,
    )
    if moved:
        log.info("try-on %s failed: %s", request.pk, code)
        _send_on_commit(tryon_failed, request)
    return moved


def _send_on_commit(signal, request: TryOnRequest, **extra) -> None:
    """Tell the shop's receivers once committed. A receiver that raises is logged, never
    allowed to undo or stop the pipeline's work (a reaper run, a stored result)."""

    def send():
        for receiver, outcome in signal.send_robust(sender=TryOnRequest, request=request, **extra):
            if isinstance(outcome, Exception):
                log.error(
                    "a %s receiver (%s) failed for try-on %s",
                    _signal_name(signal),
                    getattr(receiver, "__qualname__", receiver),
                    request.pk,
                    exc_info=outcome,
                )

    transaction.on_commit(send)


def _signal_name(signal) -> str:
    names = {tryon_failed: "tryon_failed", tryon_submitted: "tryon_submitted"}
    return names.get(signal, "tryon_succeeded")


# -- submit ------------------------------------------------------------------------------


def submit(request_id) -> TryOnRequest:
    """Send a pending request to its provider, exactly once.

    When the provider answers "busy" (429) the request waits for a free slot (see
    ``wake_waiting``). Raises RetryableProviderError for other passing failures where
    the provider created nothing; the request is then pending again for the caller to
    retry later.
    """
    request = (
        TryOnRequest.objects.select_related("garment", "lower_garment", "model_photo")
        .annotate(queue_ahead=Exists(_waiting_for_slot().filter(provider=OuterRef("provider"))))
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
            message=TryOnDisabled().message,
            detail="TRYON['ENABLED'] is False: not sent to the provider",
        )
        return request
    adapter = get_provider(request.provider)
    try:
        job = _prepare_inputs(request, adapter)
    except images.ImageError as exc:
        give_up_pending(request, code=exc.code, message=exc.message)
        return request
    except (OSError, ValueError) as exc:
        give_up_pending(
            request,
            code="input_unavailable",
            message="The photo for this try-on could not be read. Please upload it again.",
            detail=str(exc),
        )
        return request
    if request.queue_ahead and request.attempts == 0 and not request.error_code:
        # Earlier requests wait for a slot at this provider: queue behind them (first come,
        # first served) instead of spending a create call that would be refused as well.
        _wait_for_slot(
            request, f"waiting behind earlier requests for a free {request.provider} slot"
        )
        return request

    if not transition(
        request,
        Status.SUBMITTING,
        expected=[Status.PENDING],
        attempts=request.attempts + 1,
        callback_salt=request.callback_salt,
        callback_token_hash=request.callback_token_hash,
    ):
        return request  # another worker claimed it

    try:
        task = None
        if adapter.supports_find and request.attempts > 1 and not _refused_last_time(request):
            # An earlier attempt may have reached the provider before dying: never create twice.
            task = adapter.find(str(request.pk))
        if task is None:
            task = adapter.submit(job)
    except RateLimited as exc:
        if exc.http_status is None:
            raise  # no answer: not a refusal (never raised so by the adapters)
        if request.attempts > get_setting("MAX_RETRIES"):
            # Refused that often: give up (nothing was created, so the quota goes back).
            fail_unsent(
                request,
                code=exc.error_code,
                message=exc.user_message,
                detail=str(exc),
                expected=[Status.SUBMITTING],
            )
            return request
        # The provider is busy (Kling 1303: every concurrency slot taken) and created
        # nothing. Wait for a slot instead of a timer of our own: see wake_waiting.
        _wait_for_slot(
            request, str(exc), retry_after=exc.retry_after, from_status=Status.SUBMITTING
        )
        return request
    except RetryableProviderError as exc:
        if not adapter.supports_find and not _nothing_created(exc):
            # No clear "nothing was created" (a timeout, a gateway 502/504, a dropped
            # connection): the provider may hold a paid task we cannot look up. Never send
            # it again; wait in "submitting" for its webhook (see resolve_stuck_submission).
            _note_error(request, exc)
            return request
        transition(request, Status.PENDING, expected=[Status.SUBMITTING], **_error_fields(exc))
        raise
    except PermanentProviderError as exc:
        # A create refused as a duplicate of our own id means an earlier attempt got there.
        task = _find_quietly(adapter, request) if isinstance(exc, InvalidInput) else None
        if task is None:
            # Refused on create: nothing was paid, so the quota is given back.
            fail_unsent(
                request,
                code=exc.error_code,
                message=exc.user_message,
                detail=str(exc),
                expected=[Status.SUBMITTING],
            )
            return request
    _accept_task(request, adapter, task)
    return request


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


# -- waiting for a provider slot ----------------------------------------------------------
#
# A provider that answers "busy" (HTTP 429: Kling 1303 when every concurrency slot of the
# account is taken, or a rate limit) created nothing. Retrying each request on its own
# backoff timer either leaves slots idle for seconds or floods the provider with creates
# that are refused again. Instead the request waits (pending, error_code
# WAITING_FOR_SLOT, next_check_at set) with no message queued, and is woken:
#
# * when one of our tasks at that provider ends (persist_results, a failed task): the
#   oldest waiting request is submitted at once, in the freed slot;
# * by the reaper, one per provider and run, once its own backoff has passed
#   (next_check_at): slots freed by someone else's tasks, or a rate limit that lifted.
#
# Waking is a compare-and-set on next_check_at, so each wake queues exactly one submit.
# New requests queue behind waiting ones instead of trying the provider first, so only a
# woken or probed request spends a create call. A request refused more than MAX_RETRIES
# times fails, as does one past DEADLINE_SECONDS; waiting in line is not a refusal.


def _waiting_for_slot():
    return TryOnRequest.objects.filter(status=Status.PENDING, next_check_at__isnull=False)


def _refused_last_time(request: TryOnRequest) -> bool:
    """The last attempt got a busy answer (or never called): the provider holds no task."""
    return request.error_code == WAITING_FOR_SLOT


def _wait_for_slot(
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


def wake_waiting(provider: str, *, due_before=None) -> str | None:
    """Queue the submission of the oldest request waiting for a slot at ``provider``.

    ``due_before`` limits it to requests whose own backoff has passed (the reaper's
    probe). Returns the request id woken, or None.
    """
    waiting = _waiting_for_slot().filter(provider=provider)
    if due_before is not None:
        waiting = waiting.filter(next_check_at__lte=due_before)
    for pk, seen in waiting.order_by("created_at").values_list("pk", "next_check_at")[:5]:
        # The claim: only one waker moves next_check_at from what it saw to NULL.
        if TryOnRequest.objects.filter(pk=pk, status=Status.PENDING, next_check_at=seen).update(
            next_check_at=None, updated_at=timezone.now()
        ):
            _enqueue_on_commit("submit", pk)
            return str(pk)
    return None


def _prepare_inputs(request: TryOnRequest, adapter: Provider) -> TryOnInput:
    """Make every image provider-ready (no money spent yet) and build the adapter's input."""
    storage = tryon_storage()
    if request.model_photo_id:
        person = _prepared_copy(
            request.model_photo.image, "model", _file_digest(request.model_photo)
        )
    else:
        if not request.person_image:
            raise images.ImageError(
                "input_unavailable", "The photo for this try-on is no longer stored."
            )
        if not request.person_prepared:  # stored by a version that kept the upload as-is
            _normalise_person(request)
        person = request.person_image.name
    garment_name = _prepared_copy(request.garment.image, "garment", _file_digest(request.garment))
    lower_name = None
    category = request.garment.category
    if request.lower_garment_id:
        lower_name = _prepared_copy(
            request.lower_garment.image, "garment", _file_digest(request.lower_garment)
        )
        if adapter.composes_outfits:
            upper, lower = (garment_name, lower_name)
            if request.garment.category != "upper":
                upper, lower = lower, upper
            garment_name = _composed_outfit(upper, lower)
            lower_name = None

    def image_input(name: str) -> InputImage:
        with storage.open(name, "rb") as fh:
            data = fh.read()
        # The URL dies with the try-on: once it ends, the provider has no more use for it.
        url = signed_input_url(name, request.pk) if adapter.needs_input_urls else None
        return InputImage(data=data, content_type="image/jpeg", url=url)

    if not request.callback_salt:
        request.callback_salt = secrets.token_hex(16)
        request.callback_token_hash = hash_token(callback_token(request))
    return TryOnInput(
        request_id=str(request.pk),
        person=image_input(person),
        garment=image_input(garment_name),
        garment_category=category,
        lower_garment=image_input(lower_name) if lower_name else None,
        batch_size=request.batch_size,
        callback_url=callback_url(request),
        callback_secret=callback_secret(request),
    )


def _normalise_person(request: TryOnRequest) -> None:
    """Replace the uploaded bytes by their normalised re-encoding (no metadata survives)."""
    storage = tryon_storage()
    old = request.person_image.name
    with storage.open(old, "rb") as fh:
        prepared = images.prepare_for_provider(fh.read())
    # Named after the upload (as unguessable), so a worker killed right after this save
    # leaves a file the next run replaces instead of an orphan.
    new = storage.save(_fresh_name(storage, _normalised_name(old)), ContentFile(prepared.data))
    updated = TryOnRequest.objects.filter(pk=request.pk, person_image=old).update(
        person_image=new, person_prepared=True
    )
    if updated:
        request.person_image.name = new
        request.person_prepared = True
        # Only a retry shares its original's upload; nothing else can still point at it.
        if not request.retry_of_id or not TryOnRequest.objects.filter(person_image=old).exists():
            storage.delete(old)
    else:  # someone else normalised it first
        storage.delete(new)
        request.refresh_from_db(fields=["person_image", "person_prepared"])


def _normalised_name(upload_name: str) -> str:
    stem = upload_name.rsplit(".", 1)[0]
    return f"{stem.removesuffix('-n')}-n.jpg"


def _prepared_copy(image_field, kind: str, digest: str) -> str:
    """Storage name of a provider-ready copy of a shop image, made once and reused."""
    storage = tryon_storage()
    name = files.prepared_name(kind, digest)
    if not storage.exists(name):
        with image_field.open("rb") as fh:
            prepared = images.prepare_for_provider(fh.read())
        name = storage.save(name, ContentFile(prepared.data))
    return name


def _composed_outfit(upper_name: str, lower_name: str) -> str:
    storage = tryon_storage()
    name = files.outfit_name(upper_name, lower_name)
    if not storage.exists(name):
        with storage.open(upper_name, "rb") as up, storage.open(lower_name, "rb") as low:
            composed = images.compose_outfit(up.read(), low.read())
        name = storage.save(name, ContentFile(composed.data))
    return name


def _accept_task(request: TryOnRequest, adapter: Provider, task: ProviderTask) -> None:
    target = Status.PROCESSING if task.state == TaskState.RUNNING else Status.SUBMITTED
    estimate, currency = adapter.estimate_cost(request.batch_size)
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
        error_message="",
        next_check_at=timezone.now() + timedelta(seconds=_first_poll_delay(request)),
    )
    if not moved:
        # Moved on while the create call was in flight (cancelled, or accepted by another
        # worker): keep the task id where none is recorded, so nothing paid is lost.
        TryOnRequest.objects.filter(
            pk=request.pk, provider_task_id="", status__in=[Status.CANCELLED, Status.SUBMITTING]
        ).update(provider_task_id=task.task_id)
        return
    _send_on_commit(tryon_submitted, request)
    if task.state.is_terminal:
        _apply_task(request, adapter, task)


def _first_poll_delay(request: TryOnRequest) -> float:
    if callback_url(request):
        return get_setting("POLL_FIRST_AFTER_SECONDS")
    return get_setting("POLL_INTERVAL_SECONDS")


def _note_error(request: TryOnRequest, exc: ProviderError) -> None:
    TryOnRequest.objects.filter(pk=request.pk, status=request.status).update(
        updated_at=timezone.now(), **_error_fields(exc)
    )


def _error_fields(exc: ProviderError) -> dict:
    return {"error_code": exc.error_code, "error_detail": str(exc)[:2000]}


# -- refresh and persist -----------------------------------------------------------------


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
            slot_waiters=Exists(_waiting_for_slot().filter(provider=OuterRef("provider"))),
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
            _accept_task(request, adapter, task)
        return request
    try:
        task = adapter.fetch(request.provider_task_id)
    except TaskNotFound as exc:
        fail(
            request,
            code="task_not_found",
            message=exc.user_message,
            detail=str(exc),
            expected=list(AT_PROVIDER),
        )
        return request
    if task.state != TaskState.SUCCEEDED:  # persist_results records the check itself
        # Compare-and-set: a slow "still running" answer must not overwrite what another
        # worker stored meanwhile (a success, a failure).
        TryOnRequest.objects.filter(pk=request.pk, status__in=AT_PROVIDER).update(
            **_checked(task, request)
        )
    _apply_task(request, adapter, task)
    return request


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


def _apply_task(request: TryOnRequest, adapter: Provider, task: ProviderTask) -> None:
    if task.state == TaskState.RUNNING and request.status == Status.SUBMITTED:
        transition(request, Status.PROCESSING, expected=[Status.SUBMITTED])
    elif task.state == TaskState.SUCCEEDED:
        persist_results(request, adapter, task)
    elif task.state == TaskState.FAILED:
        code = task.error_code or "provider_failed"
        message = (
            "The try-on service refused this photo under its content policy. "
            "Please try another photo."
            if code == "content_refused"
            else "The try-on service could not create this image. Please try another photo."
        )
        # The provider's own figure of what the failed task cost (Kling reports
        # final_unit_deduction "0"), in place of our estimate.
        reported = {"cost": task.cost} if task.cost is not None else {}
        if fail(
            request,
            code=code,
            message=message,
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
    lease = timedelta(seconds=get_setting("PERSIST_LEASE_SECONDS"))
    if recovering:
        rows = TryOnRequest.objects.filter(
            pk=request.pk, status=Status.FAILED, error_code__in=RECOVERABLE_CODES
        )
    else:
        rows = TryOnRequest.objects.filter(pk=request.pk, status__in=AT_PROVIDER)
    claimed = rows.filter(
        Q(persist_claimed_at__isnull=True) | Q(persist_claimed_at__lt=now - lease)
    ).update(persist_claimed_at=now, **_checked(task, request))
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
        if exc.retryable:
            raise
        _fail_on_our_side(
            request,
            code="result_unavailable",
            message="The finished image could not be retrieved from the try-on service.",
            detail=exc.reason,
            recovering=recovering,
        )
        return False
    except images.ImageError as exc:
        ours.update(persist_claimed_at=None)
        _fail_on_our_side(
            request,
            code="result_invalid",
            message="The try-on service returned an image that could not be read.",
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
        "error_message": "",
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
        _send_on_commit(tryon_succeeded, request, results=results)
    return moved


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
    for index, url in enumerate(task.image_urls):
        if index in stored:
            continue
        spent = time.monotonic() - started
        if fetched and spent > persist_time_budget():
            return stored, raced, False  # hand the rest on rather than hit the time limit
        fetched += 1
        data = download(url, allowed_hosts=adapter.result_hosts, **adapter.download_trust)
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


def _fail_on_our_side(request, *, code, message, detail, recovering) -> None:
    """The provider finished and was paid, but we could not store its images: fail with
    a code ``recover_results`` accepts (a recovery attempt only records the new reason)."""
    if recovering:
        TryOnRequest.objects.filter(pk=request.pk, status=Status.FAILED).update(
            error_code=code, error_detail=detail, updated_at=timezone.now()
        )
        return
    fail(request, code=code, message=message, detail=detail, expected=list(AT_PROVIDER))


# -- cancel, retry -----------------------------------------------------------------------


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
            error_message="This try-on was cancelled.",
        ):
            if not (request.attempts and not _refused_last_time(request)):
                _release(request)
            _discard_unused_photo(request)
            return True
        request.refresh_from_db(fields=["status", "provider_task_id"])
    moved = transition(
        request,
        Status.CANCELLED,
        expected=[Status.PENDING, Status.SUBMITTED, Status.PROCESSING],
        error_code="cancelled",
        error_message="This try-on was cancelled.",
        next_check_at=None,
    )
    if moved and request.provider_task_id:
        # Kling cannot cancel, PiAPI only while pending: the task may still finish (and be
        # charged); we stop following it. The provider is told from a worker, so a slow or
        # failing provider never holds (or breaks) the shopper's cancel.
        _enqueue_on_commit("cancel", request.pk)
    return moved


def _discard_unused_photo(request: TryOnRequest) -> None:
    """Delete the photo of a try-on that ended before any worker sent it (cancelled while
    queued, past its deadline): nothing will ever use it, so it is not kept for the purge."""
    if request.person_image and not request.attempts:
        _drop_person_photo(request.pk, request.person_image.name, timezone.now())


def _drop_person_photo(pk, name: str, now) -> tuple[bool, bool]:
    """Unlink a request from its person photo (compare-and-set on the name), and delete
    the file unless another request (a retry) still uses it: ``(unlinked, deleted)``."""
    if not TryOnRequest.objects.filter(pk=pk, person_image=name).update(
        person_image="", person_purged_at=now
    ):
        return False, False
    if TryOnRequest.objects.filter(person_image=name).exists():
        return True, False
    tryon_storage().delete(name)
    return True, True


def cancel_at_provider(request_id) -> None:
    """Ask the provider to cancel a cancelled request's task, where it can; best effort."""
    request = TryOnRequest.objects.get(pk=request_id)
    if request.status != Status.CANCELLED or not request.provider_task_id:
        return
    with contextlib.suppress(PermanentProviderError):
        get_provider(request.provider).cancel(request.provider_task_id)


def retry(request: TryOnRequest, *, source: str | None = None) -> TryOnRequest:
    """Start a fresh request with the same inputs as a failed or cancelled one.

    Raises ``QuotaExceeded`` when the shop's budget (or the kill switch) forbids it.
    """
    if request.status not in (Status.FAILED, Status.CANCELLED):
        raise TryOnValidationError({"status": ["Only failed or cancelled try-ons can be retried."]})
    if not request.model_photo_id and not request.person_image:
        raise TryOnValidationError(
            {
                "person_image": [
                    "The person photo has been deleted, so this try-on cannot be retried."
                ]
            }
        )
    clone = TryOnRequest(
        provider=request.provider,
        provider_model=request.provider_model,
        source=source or request.source,
        garment_id=request.garment_id,
        lower_garment_id=request.lower_garment_id,
        model_photo_id=request.model_photo_id,
        person_image=request.person_image.name,
        person_prepared=request.person_prepared,
        batch_size=request.batch_size,
        batch_id=request.batch_id,
        retry_of=request,
        input_digest=request.input_digest,
        owner_id=request.owner_id,
        owner_key=request.owner_key,
        consent_version=request.consent_version,
        consent_at=request.consent_at,
    )
    charge = estimated_charge(clone.provider, clone.batch_size)
    clone.reserved_amount, clone.reserved_currency = charge.amount, charge.currency
    try:
        with transaction.atomic():
            # Staff retry on the shopper's behalf: the shop's budget applies, not the
            # shopper's own daily quota.
            quotas.reserve(
                charge, owner_key=clone.owner_key, enforce_shopper=False, now=clone.created_at
            )
            clone.save(force_insert=True)
            _enqueue_on_commit("submit", clone.pk)
    except IntegrityError:
        # The same try-on is already in flight (retried twice at once): that one it is.
        in_flight = _find_duplicate(clone.owner_key, clone.input_digest)
        if in_flight is None:
            raise
        return in_flight
    return clone


# -- recovering results ---------------------------------------------------------------


@dataclass
class Recovery:
    """The outcome of ``recover_results``, in words a merchandiser can act on."""

    recovered: bool
    message: str


def is_recoverable(request: TryOnRequest) -> bool:
    """Failed on our side after the provider finished a task we know: ``recover_results``
    can store its images without a new task."""
    return (
        request.status == Status.FAILED
        and request.error_code in RECOVERABLE_CODES
        and bool(request.provider_task_id)
    )


def recover_results(request: TryOnRequest) -> Recovery:
    """Fetch a finished task's images again after a failure on our side (the download
    was refused, the image check failed): no new task, no new charge. (Storage being
    down fails nothing: the next poll tries again.)

    Works while the provider still keeps the task (Kling: 30 days).
    """
    request.refresh_from_db()
    if request.status == Status.SUCCEEDED:
        return Recovery(True, "This try-on already has its results.")
    if not is_recoverable(request):
        return Recovery(
            False,
            "Only a try-on the provider finished, but whose images could not be stored, "
            "can fetch them again. Use Retry instead (a new task, charged again).",
        )
    adapter = get_provider(request.provider)
    try:
        task = adapter.fetch(request.provider_task_id)
    except TaskNotFound:
        return Recovery(False, "The provider no longer keeps this task: use Retry instead.")
    except ProviderError as exc:
        return Recovery(False, f"The provider could not be asked ({exc}). Try again later.")
    if task.state != TaskState.SUCCEEDED:
        return Recovery(False, f"The provider reports this task as '{task.raw_status}'.")
    try:
        moved = persist_results(request, adapter, task, recovering=True)
    except DownloadError as exc:
        return Recovery(False, f"The images could not be downloaded yet ({exc.reason}).")
    request.refresh_from_db()
    if moved:
        count = request.results.count()
        return Recovery(True, f"Stored {count} image{'s' if count != 1 else ''}.")
    if request.persist_claimed_at:
        return Recovery(False, "Another worker is fetching these images right now.")
    return Recovery(False, f"The images could not be stored again: {request.error_detail}")


# -- reaper and purge --------------------------------------------------------------------


@dataclass
class ReapReport:
    requeued: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    woken: list[str] = field(default_factory=list)
    #: Requests whose step raised: logged and skipped, never stopping the run.
    errors: list[str] = field(default_factory=list)


EXPIRED_UNSENT = {
    "code": "deadline",
    "message": "This try-on took too long to start and was stopped. Please try again.",
}
EXPIRED_AT_PROVIDER = {
    "code": "provider_expired",
    "message": "The try-on service did not finish this try-on in time. Please try again.",
}


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
            _enqueue_on_commit("submit", pk)

    # Waiting for a slot (see wake_waiting): one probe per provider and run, once due.
    due = _waiting_for_slot().filter(next_check_at__lte=now).order_by()
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
                _enqueue_on_commit("refresh", pk)
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
    """Requests at a provider that has long since deleted their task (never found again)."""
    rows = TryOnRequest.objects.none()
    at_provider = TryOnRequest.objects.filter(status__in=AT_PROVIDER).order_by()
    for name in at_provider.values_list("provider", flat=True).distinct():
        try:
            retention = get_provider(name).task_retention_seconds
        except ImproperlyConfigured:
            continue
        rows |= TryOnRequest.objects.filter(
            status__in=AT_PROVIDER,
            provider=name,
            submitted_at__lt=now - timedelta(seconds=retention),
        )
    return list(rows)


def resolve_stuck_submission(request: TryOnRequest, *, enqueue=True, now=None) -> bool:
    """A worker died (or timed out) between claiming and recording the provider's answer.

    Where tasks can be looked up by our id (Kling), the provider says whether it exists.
    Elsewhere (PiAPI) the request waits for the provider's webhook to name its task
    (``UNCONFIRMED_SUBMIT_WAIT_SECONDS``), and only then fails as ``submit_unknown``:
    it is never sent again, so it is never paid twice.
    """
    adapter = get_provider(request.provider)
    if adapter.supports_find:
        task = adapter.find(str(request.pk))
        if task is not None:
            _accept_task(request, adapter, task)
            return True
        # The provider never created it: safe to submit again.
        moved = transition(request, Status.PENDING, expected=[Status.SUBMITTING])
        if moved and enqueue:
            _enqueue_on_commit("submit", request.pk)
        return moved
    now = now or timezone.now()
    waited = now - timedelta(seconds=get_setting("UNCONFIRMED_SUBMIT_WAIT_SECONDS"))
    if request.updated_at >= waited:
        return False  # its webhook may still come
    return fail(
        request,
        code="submit_unknown",
        message="We could not confirm this try-on with the provider. Please try again.",
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
        unlinked, deleted = _drop_person_photo(request.pk, request.person_image.name, now)
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


def erase_shopper(owner_key: str) -> int:
    """Delete every request of one shopper; their photos and results go with the rows
    once the deletion is committed (files.py). Returns how many requests."""
    if not owner_key:
        raise ValueError("erase_shopper needs an owner key")
    _, by_model = TryOnRequest.objects.filter(owner_key=owner_key).delete()
    return by_model.get(TryOnRequest._meta.label, 0)


# -- callback tokens and signed input URLs ----------------------------------------------


def callback_token(request: TryOnRequest) -> str:
    """The request's callback URL token: derived from SECRET_KEY, never stored."""
    mac = hmac.new(
        settings.SECRET_KEY.encode(),
        f"{CALLBACK_TOKEN_SALT}:{request.pk}:{request.callback_salt}".encode(),
        hashlib.sha256,
    )
    return signing.b64_encode(mac.digest()).decode()


def callback_secret(request: TryOnRequest, *, key: str | None = None) -> str:
    """Per-request secret PiAPI echoes back in x-webhook-secret (from SECRET_KEY, or ``key``)."""
    mac = hmac.new(
        (key or settings.SECRET_KEY).encode(),
        f"django_tryon.webhook-secret:{request.pk}:{request.callback_salt}".encode(),
        hashlib.sha256,
    )
    return mac.hexdigest()


def callback_secrets(request: TryOnRequest) -> list[str]:
    """Every secret a genuine callback may carry: SECRET_KEY's, then each of
    SECRET_KEY_FALLBACKS' (a task created before the key was rotated still calls back)."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [callback_secret(request, key=key) for key in keys]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def callback_url(request: TryOnRequest) -> str | None:
    base = get_setting("PUBLIC_BASE_URL")
    if not base:
        return None
    path = reverse(
        "django_tryon:callback",
        kwargs={"provider": request.provider, "token": callback_token(request)},
    )
    return base.rstrip("/") + path


def request_for_callback_token(token: str) -> TryOnRequest | None:
    """The request a callback token belongs to, or None (same answer for unknown and bad)."""
    digest = hash_token(token)
    request = TryOnRequest.objects.filter(callback_token_hash=digest).first()
    if request is None or not hmac.compare_digest(request.callback_token_hash, digest):
        return None
    return request


def signed_input_url(name: str, request_id) -> str:
    """An expiring, unguessable URL under PUBLIC_BASE_URL that serves one prepared input
    image to the provider, only while the try-on ``request_id`` is unfinished."""
    value = signing.dumps([name, str(request_id)], salt=INPUT_URL_SALT, compress=True)
    path = reverse("django_tryon:input-image", kwargs={"signed": value})
    return get_setting("PUBLIC_BASE_URL").rstrip("/") + path


def result_url(result: TryOnResult, http_request=None) -> str:
    """A short-lived URL a browser can load one result image from.

    Storages that sign their own URLs (S3 through django-storages: ``url(name, expire=)``,
    checked by ``files.storage_signs_urls``) hand out a presigned URL; any other storage
    (FileSystemStorage, or S3 set up to hand out permanent links) gets an expiring,
    signed URL of the app's own ``result-image`` view, which works whether or not the
    shop serves MEDIA_URL. Both stop working after ``RESULT_URL_MAX_AGE_SECONDS``. The
    app's URL names the result by its id, never by its storage name.
    """
    storage = tryon_storage()
    max_age = int(get_setting("RESULT_URL_MAX_AGE_SECONDS"))
    if files.storage_signs_urls(storage):
        return storage.url(result.image.name, expire=max_age)
    value = signing.dumps(str(result.pk), salt=RESULT_URL_SALT)
    path = reverse("django_tryon:result-image", kwargs={"signed": value})
    return http_request.build_absolute_uri(path) if http_request is not None else path


def result_from_signed(value: str) -> TryOnResult | None:
    """The result a signed result URL names, or None when bad, expired or gone."""
    try:
        pk = signing.loads(
            value, salt=RESULT_URL_SALT, max_age=get_setting("RESULT_URL_MAX_AGE_SECONDS")
        )
    except signing.BadSignature:
        return None
    try:
        return TryOnResult.objects.filter(pk=pk).first()
    except (ValueError, ValidationError):
        return None


def storage_name_from_signed(value: str) -> str | None:
    """The storage name inside a signed input URL, or None when bad, expired, or when the
    try-on it was made for has ended."""
    try:
        payload = signing.loads(
            value, salt=INPUT_URL_SALT, max_age=get_setting("INPUT_URL_MAX_AGE_SECONDS")
        )
    except signing.BadSignature:
        return None
    if not isinstance(payload, list):
        return None  # every URL names the try-on it was made for
    name, request_id = [*payload, "", ""][:2]
    try:
        unfinished = TryOnRequest.objects.filter(pk=request_id, status__in=ACTIVE).exists()
    except (ValueError, ValidationError):
        return None
    return name if unfinished else None
