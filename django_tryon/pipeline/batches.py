"""A merchandiser's bulk run: one batch with a try-on per garment and house model, all of
it or nothing, counted against the shop's limits at once."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from django.db import transaction

from .. import quotas
from ..callers import Caller
from ..errors import NothingToRun
from ..models import TryOnBatch
from .charges import estimated_charge
from .create import create_tryon


def create_batch(
    caller: Caller,
    garments,
    model_photos,
    *,
    provider: str,
    batch_size: int,
    lower_garment=None,
    note: str = "",
) -> tuple[TryOnBatch, int, int]:
    """Make the batch; returns ``(batch, created, reused)``. Pairs that already have a
    result (or one in progress) are not paid for again. Submissions are queued once
    everything is committed. Raises what ``create_tryon`` raises, or ``NothingToRun``;
    either way nothing is created and nothing stays reserved."""
    pairs = [(garment, photo) for garment in garments for photo in model_photos]
    if not pairs:
        raise NothingToRun()
    # A garment's price can depend on what it is (FASHN's accessories): priced per pair.
    prices = {
        category: estimated_charge(provider, batch_size, category)
        for category in {garment.category for garment in garments}
    }
    whole = together([prices[garment.category] for garment, _photo in pairs])
    # The whole batch is counted against the shop's limits first, in one short
    # transaction: the shop's counter rows are never held locked while a thousand
    # requests are written, so shoppers' creates do not wait for the batch.
    quotas.reserve(whole, enforce_shopper=False)
    created, reused = 0, []
    try:
        with transaction.atomic():
            batch = TryOnBatch.objects.create(created_by=caller.user, provider=provider, note=note)
            for garment, photo in pairs:
                _request, new = create_tryon(
                    garment=garment,
                    model_photo=photo,
                    lower_garment=lower_garment,
                    provider=provider,
                    batch_size=batch_size,
                    caller=caller,
                    batch=batch,
                    reserved=True,
                )
                created += new
                if not new:
                    reused.append(prices[garment.category])
            if not created:
                raise NothingToRun()
    except BaseException:
        quotas.release(whole)
        raise
    if reused:  # already had a result or one in progress: nothing new is paid for
        quotas.release(together(reused))
    return batch, created, len(reused)


def together(charges: list[quotas.Charge]) -> quotas.Charge:
    """Charges of one provider (one currency and price) as one."""
    first = charges[0]
    return replace(
        first,
        generations=sum(c.generations for c in charges),
        amount=sum((c.amount for c in charges), Decimal("0")),
    )
