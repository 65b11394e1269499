"""How long a try-on usually takes at this shop, per provider: what the widget tells a
waiting shopper ("usually about 25 seconds"), from the shop's own recent try-ons."""

from __future__ import annotations

import statistics

from django.core.cache import cache
from django.db.models import DurationField, ExpressionWrapper, F

from .models import TryOnRequest
from .status import Status

#: Recent successes a figure is made from, the fewest that make one, and how long it is
#: kept (every poll of every shopper reads it: one query a minute, not one a poll).
SAMPLE = 20
FEWEST = 3
CACHE_SECONDS = 60


def usual_seconds(provider: str) -> int | None:
    """The median time from upload to stored result of the provider's last successes,
    in whole seconds; None until the shop has a few."""
    key = f"django_tryon:usual_seconds:{provider}"
    cached = cache.get(key)
    if cached is not None:
        return cached or None
    took = (
        TryOnRequest.objects.filter(
            provider=provider, status=Status.SUCCEEDED, completed_at__isnull=False
        )
        .order_by("-completed_at")
        .annotate(took=ExpressionWrapper(F("completed_at") - F("created_at"), DurationField()))
        .values_list("took", flat=True)[:SAMPLE]
    )
    seconds = [t.total_seconds() for t in took if t is not None and t.total_seconds() > 0]
    figure = round(statistics.median(seconds)) if len(seconds) >= FEWEST else 0
    cache.set(key, figure, CACHE_SECONDS)
    return figure or None
