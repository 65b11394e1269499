"""Moving a routed request that never reached its provider to the next one on its route."""

from __future__ import annotations

from django.db import transaction

from .. import quotas, routing
from ..models import TryOnRequest
from ..providers import get_provider
from ..status import Status
from .charges import charge_for, reserved_charge
from .dispatch import enqueue_on_commit
from .transitions import transition


def move_on(request: TryOnRequest, reason: str) -> bool:
    """Send a claimed (``submitting``) request to the next available provider of its
    route, instead of failing it. Only for a request the route chose and that holds no
    task anywhere: never sent, or refused with an answer that proves nothing was made.

    The reservation moves with it, in one transaction: given back in the old provider's
    currency, counted in the new one's (on the day it was first counted). A shop budget
    the new provider would pass leaves the request where it was. Returns True when moved.
    """
    if not request.routed:
        return False
    left = [name for name in request.providers_left.split(",") if name] + [request.provider]
    fits = routing.taking(
        garment_category=request.garment.category,
        outfit=request.lower_garment_id is not None,
        batch_size=request.batch_size,
    )
    what = routing.what_of(request.garment.category, request.lower_garment_id is not None)
    choice = routing.choose(request.source, fits=fits, leave=left, what=what)
    if choice is None:
        return False
    adapter = get_provider(choice.provider)
    new = charge_for(adapter, request.batch_size, request.garment.category)
    old = reserved_charge(request)
    note = "; ".join(p for p in (f"{request.provider} {reason}", choice.note) if p)
    note = f"{note} -> {choice.provider}"
    if request.routing_note:
        note = f"{request.routing_note}; {note}"
    try:
        with transaction.atomic():
            moved = transition(
                request,
                Status.PENDING,
                expected=[Status.SUBMITTING],
                provider=choice.provider,
                provider_model=adapter.model_name,
                providers_left=",".join(left)[:200],
                routing_note=note[:500],
                attempts=0,
                error_code="",
                error_detail="",
                reserved_amount=new.amount,
                reserved_currency=new.currency,
                unit_price=new.price,
                shop_currency=new.shop_currency,
            )
            if not moved:
                return False
            who = {"owner_key": request.owner_key, "client_key": request.client_key}
            quotas.release(old, when=request.created_at, **who)
            quotas.reserve(new, enforce_shopper=False, now=request.created_at, **who)
    except quotas.QuotaExceeded:
        request.refresh_from_db()
        return False
    enqueue_on_commit("submit", request.pk)
    return True
