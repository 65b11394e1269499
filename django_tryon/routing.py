"""Which provider a new try-on goes to, and when one that never reached it may move.

``TRYON["ROUTING"]`` lists providers in order per entry point (widget, api, admin, cli,
or "default"), and may name a route per garment category ("shoes", "dress"...) or for
outfits ("outfit"), which comes first. "cheapest" on a route stands for the providers it
does not name, the cheapest first. A try-on that does not name its provider goes to the
first on its route that is available now:

* not switched off (its ``ENABLED`` option);
* not out of credit (it answered Kling 1100-1103/1304, FASHN ``OutOfCredits``, PiAPI
  402/403 within ``OUT_OF_CREDIT_RETRY_SECONDS``);
* not tripped by its circuit breaker: ``BREAKER_FAILURES`` creates in a row with no
  answer or a 5xx open it for ``BREAKER_OPEN_SECONDS``; then it is half-open, and exactly
  one try-on (the one whose conditional UPDATE claims the probe) is sent to see whether
  it has come back. A success closes the breaker, a failure opens it again.

The state is one ``ProviderHealth`` row per provider in the shop's database, so every web
process and worker on every machine sees the same breaker.

Money: a request that has reached a provider never moves to another (that could pay
twice). Only one that was never sent, or whose create was refused with an answer that
proves nothing was made (a 4xx, such as out of credit), moves on, with its reservation
given back in the old provider's currency and counted in the new one's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ImproperlyConfigured
from django.db.models import F, Q
from django.utils import timezone

from .conf import get_setting
from .models import ProviderHealth
from .providers import configured_providers, default_provider_name, get_provider
from .untrusted import plain

SOURCES = ("widget", "api", "admin", "cli")
#: A route for outfits (an upper and a lower garment at once), beside the categories'.
OUTFIT = "outfit"
#: On a route: every configured provider the route does not name, cheapest first.
CHEAPEST = "cheapest"
BEING_PROBED = "is being probed after failing"


@dataclass(frozen=True)
class Choice:
    """The provider a try-on goes to, and why any before it on the route were passed over."""

    provider: str
    note: str = ""


def route(source: str, what: str = "") -> list[str]:
    """The providers a try-on from ``source`` may go to, in order: the route of ``what``
    it is (a garment category, or ``OUTFIT``) when the shop names one, else its entry
    point's, else the default. ``CHEAPEST`` on a route stands for the providers it does
    not name, cheapest first."""
    routing = get_setting("ROUTING")
    if not routing:
        return [default_provider_name()]
    names = (routing.get(what) if what else None) or routing.get(source) or routing.get("default")
    names = list(names or []) or [default_provider_name()]
    if CHEAPEST not in names:
        return names
    others = [name for name in by_price(what) if name not in names]
    expanded = []
    for name in names:
        expanded += others if name == CHEAPEST else [name]
    return list(dict.fromkeys(expanded))


def by_price(what: str = "") -> list[str]:
    """The configured providers, the cheapest first for one image of ``what`` (a garment
    category or ``OUTFIT``) in the shop's money (``CURRENCY``, and each provider's
    ``UNIT_PRICE`` where it bills in something else). One with no such price cannot be
    compared: it comes after those priced, in ``TRYON["PROVIDERS"]`` order."""
    category = "upper" if what == OUTFIT else what
    shop_currency = get_setting("CURRENCY") or ""

    def price(name: str):
        adapter = adapter_or_none(name)
        if adapter is None:
            return None
        amount, billed = adapter.estimate_cost_of(1, category)
        unit = adapter.price_in(billed, shop_currency)
        return None if unit is None else amount * unit

    priced = [(price(name), order, name) for order, name in enumerate(configured_providers())]
    priced.sort(key=lambda row: (row[0] is None, row[0] or 0, row[1]))
    return [name for _price, _order, name in priced]


def choose(source: str, *, fits=None, leave=(), now=None, what: str = "") -> Choice | None:
    """The first provider on the route that ``fits`` (a predicate on the adapter) and is
    available now, skipping those in ``leave``. Claims nothing: a half-open breaker's
    probe is claimed by the request about to be sent (``claim_to_send``), so a create
    refused afterwards (bad photo, quota, a duplicate) never holds it.

    With none available the first that fits is chosen anyway (its own answer then tells
    the shopper), except when moving a request (``leave`` given): then None.
    """
    now = now or timezone.now()
    skipped, fitting = [], []
    for name in route(source, what):
        if name in leave:
            continue
        adapter = adapter_or_none(name)
        if adapter is None or (fits is not None and not fits(adapter)):
            continue
        fitting.append(name)
        why = _unavailable(name, adapter, now)
        if why is None:
            return Choice(name, "; ".join(skipped))
        skipped.append(f"{name} {why}")
    if leave or not fitting:
        return None
    return Choice(fitting[0], "; ".join(skipped) + "; none available, sent to the first")


def taking(*, garment_category: str, outfit: bool, batch_size: int):
    """The ``fits`` of ``choose`` for one try-on: whether an adapter can try it on at all
    (what validation would refuse)."""

    def fits(adapter) -> bool:
        if outfit and not (adapter.composes_outfits or adapter.takes_lower_garment):
            return False
        return (
            garment_category in adapter.garment_categories and batch_size <= adapter.max_batch_size
        )

    return fits


# -- what the pipeline reports -------------------------------------------------------------


def routed_shop() -> bool:
    """Whether the shop has a route (TRYON["ROUTING"]). Without one nothing is routed and
    the providers' health is neither read nor kept: keeping it would cost every try-on a
    query for nothing."""
    return bool(get_setting("ROUTING"))


def record_success(provider: str) -> None:
    """A create was accepted: the breaker closes, the credit is proven."""
    if not routed_shop():
        return
    ProviderHealth.objects.filter(provider=provider).filter(
        Q(consecutive_failures__gt=0)
        | Q(open_until__isnull=False)
        | Q(out_of_credit_until__isnull=False)
    ).update(
        consecutive_failures=0,
        open_until=None,
        probe_at=None,
        out_of_credit_until=None,
        updated_at=timezone.now(),
    )


def record_unavailable(provider: str, reason: str, *, now=None) -> None:
    """A create got no answer or a 5xx: count it; at the threshold the breaker opens (or
    opens again, after a failed probe)."""
    if not routed_shop():
        return
    now = now or timezone.now()
    _row(provider)
    rows = ProviderHealth.objects.filter(provider=provider)
    rows.update(
        consecutive_failures=F("consecutive_failures") + 1,
        last_error=plain(reason, 300),
        updated_at=now,
    )
    rows.filter(consecutive_failures__gte=get_setting("BREAKER_FAILURES")).filter(
        Q(open_until__isnull=True) | Q(open_until__lte=now)
    ).update(open_until=now + timedelta(seconds=get_setting("BREAKER_OPEN_SECONDS")), probe_at=None)


def record_out_of_credit(provider: str, reason: str, *, now=None) -> None:
    """The provider refused a create because the account has no credit left."""
    if not routed_shop():
        return
    now = now or timezone.now()
    _row(provider)
    ProviderHealth.objects.filter(provider=provider).update(
        out_of_credit_until=now + timedelta(seconds=get_setting("OUT_OF_CREDIT_RETRY_SECONDS")),
        last_error=plain(reason, 300),
        updated_at=now,
    )


def first_available(source: str, what: str = "") -> str:
    """The provider a try-on from ``source`` (of ``what``: a category or an outfit) would
    go to now, without claiming a probe: what the admin's bulk form offers first, and
    what the quota endpoint prices."""
    if not routed_shop():
        return default_provider_name()
    names = route(source, what)
    for name in names:
        if unavailable_now(name) is None:
            return name
    return names[0]


def providers_taking(category: str) -> list[str]:
    """The configured providers that can try on a garment of ``category``."""
    return [name for name in configured_providers() if _takes(name, category)]


def offered(source: str, category: str) -> bool:
    """Whether a try-on of a ``category`` garment from ``source`` has a provider that
    takes it where it would be sent (its route, or the default provider): the widget is
    not shown for a product none takes."""
    return any(_takes(name, category) for name in route(source, category))


def _takes(name: str, category: str) -> bool:
    adapter = adapter_or_none(name)
    return adapter is not None and category in adapter.garment_categories


def what_of(garment_category: str, outfit: bool) -> str:
    """The route key of a try-on: ``OUTFIT`` for an upper and a lower, else its category."""
    return OUTFIT if outfit else garment_category


def unavailable_now(provider: str, *, now=None) -> str | None:
    """Why ``provider`` takes no new try-on now (never claims a probe), or None."""
    now = now or timezone.now()
    adapter = adapter_or_none(provider)
    if adapter is None:
        return "is not configured"
    return _unavailable(provider, adapter, now)


def claim_to_send(provider: str, *, now=None) -> tuple[str | None, datetime | None]:
    """For a routed request about to be sent for the first time: why ``provider`` should
    not get it, or None; and when the provider's breaker is half-open, the probe this
    request claimed (None otherwise). A claimed probe that is not spent on a create is
    handed back with ``give_back_probe``."""
    now = now or timezone.now()
    adapter = adapter_or_none(provider)
    if adapter is None:
        return "is not configured", None
    why, half_open = _health(provider, adapter, now)
    if why is not None or not half_open:
        return why, None
    if not _claim_probe(provider, now):
        return BEING_PROBED, None
    return None, now


def give_back_probe(provider: str, claimed_at: datetime | None) -> None:
    """The probe claimed at ``claimed_at`` was not decided by a create (never sent, or
    answered without proving the provider up or down): the next request may take it."""
    if claimed_at is not None:
        ProviderHealth.objects.filter(provider=provider, probe_at=claimed_at).update(probe_at=None)


# -- the state -----------------------------------------------------------------------------


def _unavailable(name: str, adapter, now) -> str | None:
    """Why ``name`` takes no new try-on now, or None; claims nothing."""
    why, _half_open = _health(name, adapter, now)
    return why


def _health(name: str, adapter, now) -> tuple[str | None, bool]:
    """Why ``name`` takes no new try-on now (or None), and whether its breaker is
    half-open with the probe free to claim."""
    if adapter.config.get("ENABLED") is False:
        return "is switched off", False
    health = ProviderHealth.objects.filter(provider=name).first()
    if health is None:
        return None, False
    if health.out_of_credit_until and health.out_of_credit_until > now:
        return f"is out of credit ({health.last_error})", False
    if health.open_until is None:
        return None, False
    if health.open_until > now:
        failures = health.consecutive_failures
        why = f"is failing (circuit open after {failures} failures in a row: {health.last_error})"
        return why, False
    # Half-open: one try-on probes; the others keep away until it has answered (or until
    # a claim older than BREAKER_OPEN_SECONDS is taken as lost).
    if health.probe_at is None or health.probe_at <= _stale(now):
        return None, True
    return BEING_PROBED, False


def _claim_probe(name: str, now) -> bool:
    """Take the half-open breaker's one probe (a conditional UPDATE: one claimer wins)."""
    stale = _stale(now)
    return bool(
        ProviderHealth.objects.filter(provider=name, open_until__lte=now)
        .filter(Q(probe_at__isnull=True) | Q(probe_at__lte=stale))
        .update(probe_at=now)
    )


def _stale(now):
    return now - timedelta(seconds=get_setting("BREAKER_OPEN_SECONDS"))


def _row(provider: str) -> None:
    ProviderHealth.objects.bulk_create([ProviderHealth(provider=provider)], ignore_conflicts=True)


def adapter_or_none(name: str):
    """The adapter of ``name``, or None when it is not configured (or misconfigured)."""
    try:
        return get_provider(name)
    except ImproperlyConfigured:
        return None
