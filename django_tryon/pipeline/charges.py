"""What a request counts against the quotas and budgets, and giving it back."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured

from .. import quotas, routing
from ..callers import Caller
from ..conf import get_setting
from ..models import TryOnRequest
from ..providers import get_provider
from ..providers.base import Provider


def estimated_charge(
    provider: str | None = None, batch_size: int = 1, category: str = ""
) -> quotas.Charge:
    """What a new request would count (default provider, one image unless told)."""
    try:
        adapter = get_provider(provider)
    except ImproperlyConfigured:
        adapter = None
    return charge_for(adapter, batch_size, category)


def next_tryon_allowance(caller: Caller) -> quotas.Allowance:
    """What is left for ``caller`` now, priced at the provider the route of its source
    would send their next try-on to: the one answer of the quota endpoint and of the
    widget tag (the shopper's own limits as ``Caller.shopper_limits`` says; the shop's
    budgets always)."""
    return quotas.remaining(
        caller.owner_key,
        enforce_shopper=caller.shopper_limits,
        next_charge=estimated_charge(routing.first_available(caller.source)),
    )


def reserved_charge(request: TryOnRequest) -> quotas.Charge:
    """What ``create_tryon`` counted for a request, as it was counted then: release and
    settle give back exactly that, whatever the settings or prices say today."""
    return quotas.Charge(
        request.batch_size,
        request.reserved_amount or Decimal("0"),
        request.reserved_currency,
        request.unit_price,
        request.shop_currency,
    )


def charge_for(adapter: Provider | None, batch_size: int, category: str = "") -> quotas.Charge:
    if adapter is None:
        return quotas.Charge(batch_size)
    amount, currency = adapter.estimate_cost_of(batch_size, category)
    shop_currency = get_setting("CURRENCY") or ""
    price = adapter.price_in(currency, shop_currency)
    return quotas.Charge(
        batch_size, amount, currency, price, shop_currency if price is not None else ""
    )


def record_charge(request: TryOnRequest, charge: quotas.Charge) -> None:
    """Write on a new request what its reservation counted, so it is given back or settled
    exactly so, whatever the settings or prices say later."""
    request.reserved_amount, request.reserved_currency = charge.amount, charge.currency
    request.unit_price, request.shop_currency = charge.price, charge.shop_currency


def release_reservation(request: TryOnRequest) -> None:
    """Give back a request's reservation: it failed before anything was paid."""
    quotas.release(
        reserved_charge(request),
        owner_key=request.owner_key,
        client_key=request.client_key,
        when=request.created_at,
    )
