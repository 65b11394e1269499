"""Orders after a try-on: when Oscar places an order, each line whose product the same
shopper tried on counts once as "ordered after a try-on" on its garment's funnel day
(``TRYON["FUNNEL"]``). Only counts are kept: no order, line or person is stored."""

from __future__ import annotations

from django.db.models import Q

from ... import funnel
from ...callers import owner_key_for, owner_key_of
from ...models import TryOnRequest
from ...products import garments_of
from ...status import Status


def connect() -> None:
    from oscar.apps.checkout.signals import post_checkout
    from oscar.apps.order.signals import order_placed

    order_placed.connect(_placed, dispatch_uid="django_tryon.oscar.order_placed")
    post_checkout.connect(_checked_out, dispatch_uid="django_tryon.oscar.post_checkout")


def count_order(order, owner_key: str) -> int:
    """Count the order's lines that ``owner_key`` tried on; returns how many."""
    if not funnel.enabled() or not owner_key:
        return 0
    products = {line.product_id for line in order.lines.all() if line.product_id}
    if not products:
        return 0
    from oscar.core.loading import get_model

    garments = garments_of(get_model("catalogue", "Product"), products)
    tried = TryOnRequest.objects.filter(owner_key=owner_key, status=Status.SUCCEEDED)
    counted = 0
    for garment in garments:
        if tried.filter(Q(garment=garment) | Q(lower_garment=garment)).exists():
            funnel.count_ordered(garment)
            counted += 1
    return counted


def _placed(sender, order, user=None, **kwargs) -> None:
    # A signed-in shopper's order, however it was placed (checkout, the order creator).
    if user is not None and user.is_authenticated:
        count_order(order, owner_key_for(user))


def _checked_out(sender, order, user=None, request=None, **kwargs) -> None:
    # An anonymous shopper's order: their try-ons belong to their browser's session.
    if request is not None and not (user is not None and user.is_authenticated):
        count_order(order, owner_key_of(request))
