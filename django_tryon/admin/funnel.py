"""The cost page's "does try-on pay for itself": this month's funnel counts per garment
(``django_tryon.funnel``) beside what the shoppers' try-ons of it cost."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, QuerySet, Sum

from .. import funnel
from ..callers import SHOPPER_SOURCES
from ..models import Garment
from .spend import CURRENCIES, IN_SHOP_MONEY, Spend


def funnel_summary(month: datetime, charged: QuerySet) -> dict:
    """Per garment: dialogs opened, photos given, results shown, adds to cart after a
    try-on, the shoppers' try-ons and their cost, and the cost of one add to cart.

    Only shoppers' try-ons (widget and API) are counted against the adds to cart: the
    catalogue's runs in the admin are not what a shopper saw.
    """
    counts = funnel.totals_since(month.date())
    shoppers = (
        charged.filter(source__in=SHOPPER_SOURCES)
        .values("garment_id", "garment__name", *CURRENCIES)
        .annotate(
            month_count=Count("pk"),
            month_cost=Sum("cost"),
            month_money=Sum(IN_SHOP_MONEY),
        )
    )
    rows: dict = {}
    for row in shoppers:
        line = rows.setdefault(row["garment_id"], _line(row["garment__name"], Spend()))
        line["tryons"] += row["month_count"]
        line["cost"].add(row, "month")
    names = _names(set(counts) - set(rows))
    for garment_id, steps in counts.items():
        line = rows.setdefault(garment_id, _line(names.get(garment_id, "?"), Spend()))
        line.update({step: steps[step] or 0 for step in funnel.COUNTS})
    for line in rows.values():
        line["per_add_to_cart"] = line["cost"].per(line["added_to_cart"])
    ordered = sorted(
        rows.values(), key=lambda line: (-line["added_to_cart"], -line["tryons"], line["name"])
    )
    return {"enabled": funnel.enabled(), "rows": ordered}


def _line(name: str, cost) -> dict:
    return {"name": name, "tryons": 0, "cost": cost, **dict.fromkeys(funnel.COUNTS, 0)}


def _names(ids: set) -> dict:
    return dict(Garment.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
