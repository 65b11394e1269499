"""What a group of try-ons cost, in the shop's money and as billed (the cost page's figures)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F

from .display import money

#: A request's cost in the shop's currency (null when its price was unknown).
IN_SHOP_MONEY = ExpressionWrapper(
    F("cost") * F("unit_price"), output_field=DecimalField(max_digits=20, decimal_places=6)
)
#: What the spend of a group of requests is split by: billed and converted currency.
CURRENCIES = ("cost_currency", "shop_currency")


class Spend:
    """What a group of requests cost: the shop's money where a price was known, what was
    billed in each currency, and any billed amount that has no price (never added in)."""

    def __init__(self):
        self.money: dict = defaultdict(Decimal)
        self.billed: dict = defaultdict(Decimal)
        self.unpriced: dict = defaultdict(Decimal)

    def add(self, row: dict, period: str) -> None:
        """Count one grouped row: its ``<period>_cost`` and ``<period>_money`` sums."""
        cost, converted = row[f"{period}_cost"] or Decimal(0), row[f"{period}_money"]
        self.billed[row["cost_currency"]] += cost
        if converted is not None:
            self.money[row["shop_currency"]] += converted
        else:
            self.unpriced[row["cost_currency"]] += cost

    def per(self, n: int) -> Spend:
        """This spend divided over ``n`` (cost per add to cart); empty when ``n`` is 0."""
        share = Spend()
        if n:
            for mine, theirs in (
                (self.money, share.money),
                (self.billed, share.billed),
                (self.unpriced, share.unpriced),
            ):
                for currency, amount in mine.items():
                    theirs[currency] = (amount / n).quantize(Decimal("0.0001"))
        return share

    @property
    def parts(self) -> list[str]:
        """The shop's money, then any amount without a price, one figure per currency."""
        in_money = dict(self.money)
        for currency, amount in self.unpriced.items():
            if currency in in_money:  # billed in the shop's own money: already money
                in_money[currency] += amount
        parts = [money(_cents(v), c) for c, v in sorted(in_money.items())]
        return parts + [money(v, c) for c, v in sorted(self.unpriced.items()) if c not in in_money]

    def __str__(self) -> str:
        """``$4.62``, or ``$0.70, 40 units`` when the units have no price; a dash if empty."""
        return ", ".join(self.parts) or "—"

    @property
    def as_billed(self) -> str:
        """What the providers billed, when that is not already what ``str`` shows."""
        if not self.money or set(self.billed) == set(self.money):
            return ""
        return ", ".join(money(v, c) for c, v in sorted(self.billed.items()))


def _cents(amount: Decimal) -> Decimal:
    return Decimal(amount).quantize(Decimal("0.01"))
