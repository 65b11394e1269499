"""Does try-on pay for itself: counts of how shoppers go through the widget, per garment
per day, when the shop opts in (``TRYON["FUNNEL"]``).

The widget reports four steps through the API (``POST api/funnel/``), from the same DOM
events a shop can forward to its own analytics (docs/funnel.md):

* ``opened``: the try-on dialog opened;
* ``photo_given``: a photo (or a house model) was given;
* ``result_shown``: a finished try-on's result was on screen;
* ``added_to_cart``: the garment went into the cart after its try-on was shown.

Nothing about the shopper is recorded: a ``FunnelDay`` row holds a garment, a day and four
numbers. The last two steps name the shopper's own finished try-on, so each counts once per
try-on however often it is reported (a flag on the request, deleted with it), and nobody
can count steps for a try-on that is not theirs.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from .conf import get_setting
from .models import FunnelDay, Garment, TryOnRequest

STEPS = ("opened", "photo_given", "result_shown", "added_to_cart")
#: Every count a funnel day keeps: the widget's steps, and orders a shop reports.
COUNTS = (*STEPS, "ordered")
#: Steps that belong to one finished try-on, and the request flag that counts each once.
ONCE_PER_TRYON = {
    "result_shown": "counted_result_shown",
    "added_to_cart": "counted_added_to_cart",
}
#: A step that counts only after another of the same try-on: an add to cart "after a
#: try-on" is one whose result was shown first.
AFTER = {"added_to_cart": "counted_result_shown"}


def enabled() -> bool:
    return bool(get_setting("FUNNEL"))


def count(step: str, garment: Garment, tryon: TryOnRequest | None = None, *, now=None) -> bool:
    """Count one ``step`` for ``garment`` on today's row; False when ``tryon`` already
    had it counted (or, for an add to cart, never had its result shown). Two statements on the day's row (made if missing, then ``+ 1`` in the
    database), so concurrent reports never lose a count."""
    if step not in STEPS:
        raise ValueError(f"unknown funnel step {step!r}")
    day = timezone.localdate(now)
    with transaction.atomic():
        flag = ONCE_PER_TRYON.get(step)
        if flag is not None:
            if tryon is None:
                raise ValueError(f"{step} belongs to a try-on")
            this = TryOnRequest.objects.filter(pk=tryon.pk, **{flag: False})
            if step in AFTER:
                this = this.filter(**{AFTER[step]: True})
            first = this.update(**{flag: True})
            if not first:
                return False
        FunnelDay.objects.bulk_create([FunnelDay(garment=garment, day=day)], ignore_conflicts=True)
        FunnelDay.objects.filter(garment=garment, day=day).update(**{step: F(step) + 1})
    return True


def count_ordered(garment: Garment, *, now=None) -> None:
    """One order line of ``garment`` by a shopper who had tried it on (a shop
    integration reports it: django_tryon.contrib.oscar counts Oscar's orders)."""
    day = timezone.localdate(now)
    with transaction.atomic():
        FunnelDay.objects.bulk_create([FunnelDay(garment=garment, day=day)], ignore_conflicts=True)
        FunnelDay.objects.filter(garment=garment, day=day).update(ordered=F("ordered") + 1)


def totals_since(first_day: date) -> dict:
    """Each garment's counts from ``first_day`` on: ``{garment_id: {step: n}}``."""
    rows = (
        FunnelDay.objects.filter(day__gte=first_day)
        .values("garment_id")
        .annotate(**{step: Sum(step) for step in COUNTS})
        .order_by()
    )
    return {row.pop("garment_id"): row for row in rows}
