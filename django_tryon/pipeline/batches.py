"""A merchandiser's bulk run: one batch with a try-on per garment and house model, all of
it or nothing, counted against the shop's limits at once."""

from __future__ import annotations

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
    each = estimated_charge(provider, batch_size)
    # The whole batch is counted against the shop's limits first, in one short
    # transaction: the shop's counter rows are never held locked while a thousand
    # requests are written, so shoppers' creates do not wait for the batch.
    quotas.reserve(each.times(len(pairs)), enforce_shopper=False)
    created = 0
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
            if not created:
                raise NothingToRun()
    except BaseException:
        quotas.release(each.times(len(pairs)))
        raise
    reused = len(pairs) - created
    if reused:  # already had a result or one in progress: nothing new is paid for
        quotas.release(each.times(reused))
    return batch, created, reused
