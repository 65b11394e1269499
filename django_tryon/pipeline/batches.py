"""A merchandiser's bulk run: one batch with a try-on per garment and house model, all of
it or nothing, counted against the shop's limits at once."""

from __future__ import annotations

from django.db import transaction

from .. import quotas, routing
from ..callers import Caller
from ..errors import NothingToRun
from ..models import Source, TryOnBatch
from .charges import estimated_charge
from .create import create_tryon


def create_batch(
    caller: Caller,
    garments,
    model_photos,
    *,
    provider: str | None,
    batch_size: int,
    lower_garment=None,
    note: str = "",
) -> tuple[TryOnBatch, int, int]:
    """Make the batch; returns ``(batch, created, reused)``. ``provider`` None sends each
    garment where ``plan_batch`` says (the admin's route for its category). Pairs that already
    have a result (or one in progress) are not paid for again. Submissions are queued once
    everything is committed. Raises what ``create_tryon`` raises, or ``NothingToRun``;
    either way nothing is created and nothing stays reserved."""
    pairs = [(garment, photo) for garment in garments for photo in model_photos]
    if not pairs:
        raise NothingToRun()
    planned = {
        garment.pk: chosen
        for garment, chosen in plan_batch(garments, provider, batch_size, lower_garment)
    }
    # Sent where the merchandiser saw it would go; a garment nothing takes goes to the
    # named provider (or the route's first), whose validation then says why not.
    first = provider or routing.first_available(Source.ADMIN)
    sent_to = {pk: chosen or first for pk, chosen in planned.items()}
    # A garment's price depends on where it goes and what it is (FASHN's accessories).
    prices = {
        (name, garment.category): estimated_charge(name, batch_size, garment.category)
        for garment in garments
        if (name := sent_to[garment.pk])
    }
    charged = [prices[sent_to[garment.pk], garment.category] for garment, _photo in pairs]
    # The whole batch is counted against the shop's limits first, in one short
    # transaction per provider: the shop's counter rows are never held locked while a
    # thousand requests are written, so shoppers' creates do not wait for the batch.
    wholes = reserve_each(charged)
    created, reused = 0, []
    try:
        with transaction.atomic():
            batch = TryOnBatch.objects.create(
                created_by=caller.user,
                provider=", ".join(sorted(set(sent_to.values())))[:100],
                note=note,
            )
            for garment, photo in pairs:
                _request, new = create_tryon(
                    garment=garment,
                    model_photo=photo,
                    lower_garment=lower_garment,
                    provider=sent_to[garment.pk],
                    batch_size=batch_size,
                    caller=caller,
                    batch=batch,
                    reserved=True,
                )
                created += new
                if not new:
                    reused.append(prices[sent_to[garment.pk], garment.category])
            if not created:
                raise NothingToRun()
    except BaseException:
        for whole in wholes:
            quotas.release(whole)
        raise
    for whole in quotas.added_up(reused):  # nothing new is paid for these
        quotas.release(whole)
    return batch, created, len(reused)


def plan_batch(garments, provider: str | None, batch_size: int, lower_garment=None) -> list:
    """``(garment, provider)`` for each garment: ``provider`` where it can try the garment
    on, else None; with no provider named, the first on the admin's route (of the
    garment's category, or for outfits) that takes it and is available now (None when
    none takes it). Claims nothing: the same answer for the bulk page and the batch."""
    outfit = lower_garment is not None
    planned = []
    for garment in garments:
        fits = routing.taking(
            garment_category=garment.category, outfit=outfit, batch_size=batch_size
        )
        if provider:
            adapter = routing.adapter_or_none(provider)
            planned.append((garment, provider if adapter and fits(adapter) else None))
            continue
        choice = routing.choose(
            Source.ADMIN, fits=fits, what=routing.what_of(garment.category, outfit)
        )
        planned.append((garment, choice.provider if choice else None))
    return planned


def reserve_each(charges: list[quotas.Charge]) -> list[quotas.Charge]:
    """Count ``charges`` against the shop's limits, one reservation per provider's
    currency and price, all or none: what was reserved, to give back if the batch fails."""
    done = []
    try:
        for whole in quotas.added_up(charges):
            quotas.reserve(whole, enforce_shopper=False)
            done.append(whole)
    except BaseException:
        for whole in done:
            quotas.release(whole)
        raise
    return done
