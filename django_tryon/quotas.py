"""Per-shopper quotas, shop-wide budgets and the kill switch, enforced in the database.

Usage lives in ``UsageCounter`` rows, one per (scope, period):

* ``(<owner key>, "day:YYYY-MM-DD")``: one shopper's generations today;
* ``("shop", "day:...")`` and ``("shop", "month:YYYY-MM")``: every generation of the shop;
* ``("shop:<currency>", "day:...")`` and ``("shop:<currency>", "month:...")``: estimated
  spend in one currency (Kling bills resource-pack "units", PiAPI bills "USD"; the two
  never add up, so budgets are set per currency). A charge whose provider has a price in
  the shop's currency (``TRYON['CURRENCY']``, the provider's ``UNIT_PRICE``) also counts,
  converted, on the shop currency's rows: a budget in that currency bounds every provider.

``reserve`` counts a request against every one of them with conditional UPDATEs
(``UPDATE ... SET generations = generations + n WHERE generations <= limit - n``), all in
one transaction, in a fixed row order: when many requests arrive at once the database
serialises them on the rows, so limits hold under concurrency without any lock held
across Python code. Days and months are the shop's own (``settings.TIME_ZONE``).

A generation is one output image: a request with ``batch_size=4`` counts 4.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone

from .conf import get_setting
from .errors import QuotaExceeded, TryOnDisabled
from .models import UsageCounter

SHOP = "shop"
_MONEY = models.DecimalField(max_digits=12, decimal_places=4)
# Counters keep 4 decimal places; comparing with half a unit of the last place keeps
# SQLite (which stores decimals as floats) from refusing 0.07 + 0.07 + 0.07 <= 0.21.
_HALF_LAST_PLACE = Decimal("0.00005")


@dataclass(frozen=True)
class Charge:
    """What one request counts: output images, its estimated cost in the currency the
    provider bills in, and (``price``) what one unit of that costs in ``shop_currency``."""

    generations: int
    amount: Decimal = Decimal("0")
    currency: str = ""
    price: Decimal | None = None
    shop_currency: str = ""

    @property
    def converted(self) -> bool:
        """Whether this charge also counts, converted, in the shop's own currency."""
        return bool(
            self.currency
            and self.shop_currency
            and self.price is not None
            and self.shop_currency != self.currency
        )

    def times(self, n: int) -> Charge:
        """``n`` of this charge together (a bulk run's requests, reserved at once)."""
        return replace(self, generations=self.generations * n, amount=self.amount * n)

    def in_shop_currency(self, amount) -> Decimal:
        """``amount`` of the billed currency in the shop's, to the counters' 4 places."""
        return (Decimal(amount) * self.price).quantize(Decimal("0.0001"))


def added_up(charges: list[Charge]) -> list[Charge]:
    """``charges`` added up per currency and price, as one provider bills them (a batch
    whose garments go to two providers is two charges)."""
    groups: dict[tuple, Charge] = {}
    for charge in charges:
        key = (charge.currency, charge.price, charge.shop_currency)
        seen = groups.get(key)
        groups[key] = (
            charge
            if seen is None
            else replace(
                seen,
                generations=seen.generations + charge.generations,
                amount=seen.amount + charge.amount,
            )
        )
    return list(groups.values())


@dataclass
class Allowance:
    """What is left for one shopper right now (what the API shows the widget)."""

    available: bool
    reason: str | None = None
    message: str | None = None
    retry_after_seconds: int | None = None
    shopper_limit: int | None = None
    shopper_used: int = 0
    shopper_remaining: int | None = None
    resets_at: datetime | None = None
    details: dict = field(default_factory=dict)


# -- entry points ---------------------------------------------------------------------------


def client_key(address: str) -> str:
    """An anonymous client's address as a counter scope: hashed, never stored as is."""
    if not address:
        return ""
    return "client:" + hashlib.sha256(f"django_tryon.client:{address}".encode()).hexdigest()[:32]


def reserve(
    charge: Charge,
    *,
    owner_key: str = "",
    client_key: str = "",
    enforce_shopper: bool = True,
    now=None,
    savepoint: bool = True,
) -> None:
    """Count ``charge`` against every limit, or raise QuotaExceeded and count nothing.

    The shopper's own row is counted whenever there is an owner key; its limit is only
    checked when ``enforce_shopper`` (staff, admin and terminal runs are exempt from the
    per-shopper quota, never from the shop's budget or the kill switch).

    ``savepoint=False`` (``create_tryon``, whose own transaction a refusal always leaves
    and rolls back) saves the two queries of a savepoint on every try-on.
    """
    if not get_setting("ENABLED"):
        raise TryOnDisabled()
    steps = _steps(charge, owner_key, enforce_shopper, now or timezone.now(), client_key)
    with transaction.atomic(savepoint=savepoint):
        _take_all(steps)


def release(charge: Charge, *, owner_key: str = "", client_key: str = "", when=None) -> None:
    """Give back what ``reserve`` counted for a request that never reached the provider.

    ``when`` is the time the charge was reserved (the request's ``created_at``), so the
    right day and month get it back. Never goes below zero.
    """
    for step in _steps(charge, owner_key, False, when or timezone.now(), client_key):
        UsageCounter.objects.filter(scope=step.scope, period=step.period).update(
            generations=Greatest(F("generations") - step.generations, Value(0)),
            spend=Greatest(
                F("spend") - step.amount,
                Value(Decimal("0")),
                output_field=models.DecimalField(max_digits=12, decimal_places=4),
            ),
            updated_at=timezone.now(),
        )


def settle(estimate: Charge, actual_amount, actual_currency: str, *, when=None) -> None:
    """Correct the shop's spend once the provider reported what a request really cost."""
    if actual_amount is None or not estimate.currency or actual_currency != estimate.currency:
        return
    delta = Decimal(actual_amount) - estimate.amount
    if not delta:
        return
    day, month, _, _ = _periods(when or timezone.now())
    corrections = [(estimate.currency, delta)]
    if estimate.converted:
        shop_delta = estimate.in_shop_currency(actual_amount) - estimate.in_shop_currency(
            estimate.amount
        )
        corrections.append((estimate.shop_currency, shop_delta))
    for currency, change in corrections:
        scope = f"{SHOP}:{currency}"[:100]
        UsageCounter.objects.filter(scope=scope, period__in=(day, month)).update(
            spend=Greatest(F("spend") + change, Value(Decimal("0")), output_field=_MONEY),
            updated_at=timezone.now(),
        )


def check(
    charge: Charge, *, owner_key: str = "", client_key: str = "", enforce_shopper=True
) -> None:
    """Raise the QuotaExceeded that ``reserve`` would raise now, counting nothing: a cheap,
    lock-free look before costly work (decoding a photo) that ``reserve`` then enforces."""
    blocked = _blocked(_steps(charge, owner_key, enforce_shopper, timezone.now(), client_key))
    if blocked is not None:
        raise blocked


def remaining(
    owner_key: str = "",
    *,
    enforce_shopper: bool = True,
    next_charge: Charge | None = None,
    now=None,
) -> Allowance:
    """What is left for ``owner_key`` now, and whether ``next_charge`` (default: one
    generation, no cost) could start. Read-only: ``reserve`` is what enforces."""
    now = now or timezone.now()
    charge = next_charge or Charge(1)
    shopper_limit = get_setting("SHOPPER_DAILY_GENERATION_LIMIT") if enforce_shopper else None
    day, _, day_end, _ = _periods(now)
    steps = _steps(charge, owner_key, enforce_shopper, now)
    rows = _rows(steps)
    used = 0
    if owner_key:
        row = rows.get((owner_key[:100], day))
        used = row.generations if row else 0
    allowance = Allowance(
        available=True,
        shopper_limit=shopper_limit,
        shopper_used=used,
        shopper_remaining=max(shopper_limit - used, 0) if shopper_limit is not None else None,
        resets_at=day_end,
    )
    blocked = _blocked(steps, rows)
    if blocked is not None:
        allowance.available = False
        allowance.reason = blocked.scope
        allowance.message = blocked.message
        allowance.retry_after_seconds = blocked.retry_after_seconds
    return allowance


# -- the rows -----------------------------------------------------------------------------


def _rows(steps) -> dict[tuple[str, str], UsageCounter]:
    found = UsageCounter.objects.filter(
        scope__in={s.scope for s in steps}, period__in={s.period for s in steps}
    )
    return {(row.scope, row.period): row for row in found}


def _blocked(steps, rows=None) -> QuotaExceeded | None:
    """What would refuse these steps now (the kill switch first), or None; reads only."""
    if not get_setting("ENABLED"):
        return TryOnDisabled()
    rows = _rows(steps) if rows is None else rows
    return next((s.exceeded() for s in steps if not s.fits(rows.get((s.scope, s.period)))), None)


@dataclass(frozen=True)
class _Step:
    scope: str
    period: str
    generations: int
    amount: Decimal
    generation_limit: int | None
    spend_limit: Decimal | None
    kind: str
    resets_at: datetime
    now: datetime

    def fits(self, row: UsageCounter | None) -> bool:
        generations = row.generations if row else 0
        spend = Decimal(row.spend) if row else Decimal("0")
        if self.generation_limit is not None and generations + self.generations > (
            self.generation_limit
        ):
            return False
        return not (
            self.spend_limit is not None
            and spend + self.amount > self.spend_limit + _HALF_LAST_PLACE
        )

    def exceeded(self) -> QuotaExceeded:
        if self.kind == "client_daily":
            return QuotaExceeded(
                "Too many try-ons have come from your network today. Please try again "
                "tomorrow, or sign in.",
                _seconds_until(self.resets_at, self.now),
                "client_daily",
            )
        if self.kind == "shopper_daily":
            return _shopper_exceeded(self.generation_limit, self.resets_at, self.now)
        when = "today" if "daily" in self.kind else "this month"
        again = "tomorrow" if "daily" in self.kind else "next month"
        return QuotaExceeded(
            f"Virtual try-on has reached its limit for {when}. Please try again {again}.",
            _seconds_until(self.resets_at, self.now),
            self.kind,
        )


def _shopper_exceeded(limit: int, resets_at: datetime, now: datetime) -> QuotaExceeded:
    return QuotaExceeded(
        f"You have used all {limit} of today's try-ons. Please try again tomorrow.",
        _seconds_until(resets_at, now),
        "shopper_daily",
    )


def _steps(
    charge: Charge, owner_key: str, enforce_shopper: bool, now, client: str = ""
) -> list[_Step]:
    """Every row a charge counts on, in one fixed order (so concurrent writers never deadlock)."""
    day, month, day_end, month_end = _periods(now)
    n, amount = int(charge.generations), Decimal(charge.amount or 0)
    steps = []
    if client:
        # One address's anonymous sessions together: a script that throws its cookies away
        # (a new session, so a new shopper, each time) still meets this limit.
        limit = get_setting("ANONYMOUS_DAILY_GENERATION_LIMIT_PER_CLIENT")
        steps.append(_Step(client, day, n, Decimal("0"), limit, None, "client_daily", day_end, now))
    if owner_key:
        limit = get_setting("SHOPPER_DAILY_GENERATION_LIMIT") if enforce_shopper else None
        steps.append(
            _Step(owner_key[:100], day, n, Decimal("0"), limit, None, "shopper_daily", day_end, now)
        )
    steps += [
        _Step(
            SHOP,
            day,
            n,
            Decimal("0"),
            get_setting("SHOP_DAILY_GENERATION_LIMIT"),
            None,
            "shop_daily",
            day_end,
            now,
        ),
        _Step(
            SHOP,
            month,
            n,
            Decimal("0"),
            get_setting("SHOP_MONTHLY_GENERATION_LIMIT"),
            None,
            "shop_monthly",
            month_end,
            now,
        ),
    ]
    spent = [(charge.currency, amount)] if charge.currency else []
    if charge.converted:
        spent.append((charge.shop_currency, charge.in_shop_currency(amount)))
    for currency, money in spent:
        scope = f"{SHOP}:{currency}"[:100]
        for period, setting, kind, ends in (
            (day, "SHOP_DAILY_BUDGET", "shop_daily_budget", day_end),
            (month, "SHOP_MONTHLY_BUDGET", "shop_monthly_budget", month_end),
        ):
            steps.append(
                _Step(scope, period, n, money, None, _budget(setting, currency), kind, ends, now)
            )
    return sorted(steps, key=lambda s: (s.scope, s.period))


def _take_all(steps: list[_Step]) -> None:
    """Count every step, or raise the first one's QuotaExceeded: three statements, however
    many rows. The rows are made if missing (INSERT ... ON CONFLICT DO NOTHING), locked
    in one fixed order (SELECT ... FOR UPDATE ORDER BY scope, period: concurrent creates
    never deadlock), checked, and all counted by one UPDATE while still locked, so the
    limits hold when many requests arrive at once."""
    UsageCounter.objects.bulk_create(
        [UsageCounter(scope=s.scope, period=s.period) for s in steps], ignore_conflicts=True
    )
    these = Q()
    for step in steps:
        these |= Q(scope=step.scope, period=step.period)
    rows = UsageCounter.objects.filter(these)
    locked = {(r.scope, r.period): r for r in rows.select_for_update().order_by("scope", "period")}
    for step in steps:
        if not step.fits(locked.get((step.scope, step.period))):
            raise step.exceeded()
    spent = [When(scope=s.scope, then=Value(s.amount)) for s in steps if s.amount]
    rows.update(
        generations=F("generations") + steps[0].generations,
        spend=F("spend") + Case(*spent, default=Value(Decimal("0")), output_field=_MONEY),
        updated_at=timezone.now(),
    )


def _budget(setting: str, currency: str) -> Decimal | None:
    budgets = get_setting(setting) or {}
    value = budgets.get(currency)
    return None if value is None else Decimal(str(value))


def _periods(now) -> tuple[str, str, datetime, datetime]:
    """The shop's day and month around ``now``, and when each ends."""
    local = timezone.localtime(now) if timezone.is_aware(now) else now
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    day_end = _localise(midnight.replace(tzinfo=None) + timedelta(days=1))
    first = midnight.replace(day=1, tzinfo=None)
    month_end = _localise((first + timedelta(days=32)).replace(day=1))
    return f"day:{local:%Y-%m-%d}", f"month:{local:%Y-%m}", day_end, month_end


def _localise(naive: datetime) -> datetime:
    if not settings.USE_TZ:
        return naive
    return timezone.make_aware(naive, timezone.get_current_timezone())


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))
