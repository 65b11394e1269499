"""Retrying a finished try-on as a new request with the same inputs."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from .. import quotas
from ..errors import TryOnValidationError
from ..models import TryOnRequest
from ..status import Status
from .charges import estimated_charge, record_charge
from .create import find_duplicate
from .dispatch import enqueue_on_commit


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
    charge = estimated_charge(clone.provider, clone.batch_size, request.garment.category)
    record_charge(clone, charge)
    try:
        with transaction.atomic():
            # Staff retry on the shopper's behalf: the shop's budget applies, not the
            # shopper's own daily quota.
            quotas.reserve(
                charge, owner_key=clone.owner_key, enforce_shopper=False, now=clone.created_at
            )
            clone.save(force_insert=True)
            enqueue_on_commit("submit", clone.pk)
    except IntegrityError:
        # The same try-on is already in flight (retried twice at once): that one it is.
        in_flight = find_duplicate(clone.owner_key, clone.input_digest)
        if in_flight is None:
            raise
        return in_flight
    return clone
