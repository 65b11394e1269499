"""Creating a try-on: validate, dedupe, store the re-encoded photo, count it, queue it."""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .. import polling, quotas, routing
from ..callers import SHOPPER_SOURCES, Caller
from ..conf import get_setting
from ..errors import IdempotencyConflict, TryOnDisabled
from ..models import Garment, ModelPhoto, TryOnBatch, TryOnRequest, tryon_storage
from ..providers import default_provider_name
from ..providers.base import Provider
from ..status import ACTIVE, Status
from .charges import charge_for, record_charge
from .dispatch import enqueue_on_commit
from .inputs import catalogue_digest
from .validation import (
    FieldErrors,
    storable_upload,
    validate_batch_size,
    validate_garments,
    validated_person,
    validated_provider,
)


def create_tryon(
    *,
    garment: Garment,
    person_image: File | bytes | None = None,
    model_photo: ModelPhoto | None = None,
    lower_garment: Garment | None = None,
    provider: str | None = None,
    batch_size: int = 1,
    caller: Caller,
    idempotency_key: str = "",
    batch: TryOnBatch | None = None,
    retry_of: TryOnRequest | None = None,
    enqueue: bool = True,
    require_active: bool = True,
    reserved: bool = False,
) -> tuple[TryOnRequest, bool]:
    """Validate, dedupe, count against the quotas and save ``caller``'s try-on, and queue
    its submission once committed.

    Returns ``(request, created)``; ``created`` is False when an identical request of
    the same owner (same Idempotency-Key, or same inputs still in flight or succeeded)
    is returned instead of paying again. Raises ``TryOnValidationError`` for bad input
    and ``QuotaExceeded`` (``TryOnDisabled`` for the kill switch) when a limit would be
    passed; either way nothing is created. The caller says who owns the try-on and which
    limits apply: a shopper's own (``Caller.shopper_limits``) and an anonymous client's,
    beside the shop's budgets, which always apply. ``reserved``: the charge was already
    counted (``create_batch`` reserves a whole batch at once).
    """
    source, owner_key, client_key = caller.source, caller.owner_key, caller.client_key
    enforce_shopper_quota = caller.shopper_limits
    routed = None if provider else _route(source, garment, lower_garment, batch_size)
    provider_name = provider or (routed.provider if routed else default_provider_name())
    errors = FieldErrors()
    adapter = validated_provider(provider_name, errors)
    validate_garments(
        garment, lower_garment, errors, require_active=require_active, adapter=adapter
    )
    upload = validated_person(person_image, model_photo, errors)
    if person_image is not None and caller.source in SHOPPER_SOURCES and not caller.consented:
        errors.add("consent", "Please agree to the photo terms before uploading your photo.")
    if adapter is not None:
        validate_batch_size(batch_size, adapter, errors)
    errors.raise_if_any()

    person_digest = (
        hashlib.sha256(upload.data).hexdigest()
        if upload is not None
        else _model_photo_digest(model_photo)
    )
    digest = _input_digest(
        provider_name, _provider_model(adapter), person_digest, garment, lower_garment, batch_size
    )
    if idempotency_key:
        existing = _same_key(owner_key, idempotency_key, digest)
        if existing is not None:
            return existing, False
    if retry_of is None:
        duplicate = find_duplicate(owner_key, digest)
        if duplicate is not None:
            return duplicate, False

    consent_version = get_setting("CONSENT_VERSION") if upload and caller.consented else ""
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
        # A shopper's try-on belongs to its owner; a merchandiser's batch to nobody.
        owner=caller.user if caller.owner_key and caller.user is not None else None,
        owner_key=owner_key,
        idempotency_key=idempotency_key,
        # What the shopper agreed to with their photo (a house model needs no consent).
        consent_version=consent_version,
        consent_at=timezone.now() if consent_version else None,
        routed=routed is not None,
        routing_note=routed.note[:500] if routed else "",
    )
    if not get_setting("ENABLED"):
        raise TryOnDisabled()
    charge = charge_for(adapter, batch_size, garment.category)
    saved_name = ""
    try:
        # The upload is stored before the transaction, so the usage-counter rows are
        # locked only for the few statements below, never across a (possibly remote) write.
        if upload is not None:
            # Made storable here, in the request that received it: the uploaded bytes
            # (GPS, camera, comments) never reach storage, not even for a moment. Decoding
            # is the costly part, so it is only done for a caller who may spend now.
            def may_spend():
                if not reserved:
                    quotas.check(
                        charge,
                        owner_key=owner_key,
                        client_key=client_key,
                        enforce_shopper=enforce_shopper_quota,
                    )

            stored, request.person_prepared = storable_upload(upload, before_decoding=may_spend)
            saved_name = tryon_storage().save(
                request.person_image.field.generate_filename(request, "upload.jpg"),
                ContentFile(stored),
            )
            request.person_image.name = saved_name
        elif retry_of is not None and retry_of.person_image:
            request.person_image.name = retry_of.person_image.name
            request.person_prepared = retry_of.person_prepared
        record_charge(request, charge)
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
            polling.changed(request)
            if enqueue:
                enqueue_on_commit("submit", request.pk)
    except IntegrityError:
        # A parallel create won the race: the same Idempotency-Key, or the same inputs
        # while the other is in flight (tryon_unique_in_flight). Return its request; this
        # one's reservation was rolled back with the transaction, nothing is paid twice.
        if saved_name:
            tryon_storage().delete(saved_name)
        existing = _same_key(owner_key, idempotency_key, digest) if idempotency_key else None
        existing = existing or find_duplicate(owner_key, digest)
        if existing is not None:
            return existing, False
        raise
    except BaseException:
        if saved_name:
            tryon_storage().delete(saved_name)
        raise
    return request, True


def already_made(
    garments, model_photos, *, provider: str, batch_size: int, lower_garment=None, owner_key=""
) -> set[tuple]:
    """The (garment pk, model photo pk) pairs an identical try-on of ``owner_key`` already
    covers (in flight, or succeeded with its results): ``create_tryon`` would return that
    one instead of paying again. One query, for a bulk run's estimate."""
    from ..providers import get_provider

    model = _provider_model(get_provider(provider))
    digests = {
        _input_digest(
            provider, model, _model_photo_digest(photo), garment, lower_garment, batch_size
        ): (garment.pk, photo.pk)
        for garment in garments
        for photo in model_photos
    }
    found = find_duplicates(owner_key, list(digests)).values_list("input_digest", flat=True)
    return {digests[digest] for digest in found}


def _route(source, garment, lower_garment, batch_size) -> routing.Choice | None:
    """The provider the shop's route gives a try-on that names none (None: no route,
    or nothing on it can take this try-on, which validation then says)."""
    if garment is None or not routing.routed_shop():
        return None
    outfit = lower_garment is not None
    fits = routing.taking(garment_category=garment.category, outfit=outfit, batch_size=batch_size)
    return routing.choose(source, fits=fits, what=routing.what_of(garment.category, outfit))


def _model_photo_digest(model_photo) -> str:
    return f"model:{model_photo.pk}:{catalogue_digest(model_photo)}"


def _input_digest(provider_name, model, person_digest, garment, lower_garment, batch_size) -> str:
    parts = (
        provider_name,
        model,
        person_digest,
        # The garment rows as well as their images: two products that share a picture
        # are still two try-ons, each shown with its own product.
        garment.pk,
        catalogue_digest(garment),
        lower_garment.pk if lower_garment else "",
        catalogue_digest(lower_garment) if lower_garment else "",
        batch_size,
    )
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def _provider_model(adapter: Provider | None) -> str:
    return getattr(adapter, "model_name", "") if adapter is not None else ""


def _same_key(owner_key: str, idempotency_key: str, digest: str) -> TryOnRequest | None:
    existing = TryOnRequest.objects.filter(
        owner_key=owner_key, idempotency_key=idempotency_key
    ).first()
    if existing is not None and existing.input_digest != digest:
        raise IdempotencyConflict()
    return existing


def find_duplicate(owner_key: str, digest: str) -> TryOnRequest | None:
    """The same owner's identical request that is in flight, or succeeded with its results."""
    return find_duplicates(owner_key, [digest]).order_by("-created_at").first()


def find_duplicates(owner_key: str, digests: list[str]):
    """The owner's requests with one of ``digests`` that an identical create would reuse."""
    return TryOnRequest.objects.filter(owner_key=owner_key, input_digest__in=digests).filter(
        Q(status__in=ACTIVE) | Q(status=Status.SUCCEEDED, results__isnull=False)
    )
