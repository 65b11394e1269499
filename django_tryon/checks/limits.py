"""Checks of what bounds spending and use: shop budgets, API rates, consent, anonymous
shoppers."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.checks import Error, Warning

from .providers import provider_currencies

BUDGET_KEYS = ("SHOP_DAILY_BUDGET", "SHOP_MONTHLY_BUDGET")
RATE_KEYS = ("API_CREATE_RATE", "API_READ_RATE")


def check_limits(values) -> list:
    errors = []
    budgets = {}
    for key in BUDGET_KEYS:
        budget = values[key]
        if budget is None:
            continue
        if not isinstance(budget, dict) or not all(
            isinstance(currency, str) and currency and _positive_amount(amount)
            for currency, amount in budget.items()
        ):
            errors.append(
                Error(
                    f"TRYON['{key}'] must be None or a dict of currency -> positive amount, "
                    f"not {budget!r}.",
                    hint='For example {"USD": "20.00", "units": 200}, in the currencies '
                    "your providers bill in (docs/providers.md).",
                    id="django_tryon.E013",
                )
            )
            continue
        budgets[key] = budget
    if budgets:
        billed = provider_currencies(values)
        for key, budget in budgets.items():
            for currency in sorted(set(budget) - billed):
                errors.append(
                    Warning(
                        f"TRYON['{key}'] sets a budget in '{currency}', which no configured "
                        "provider bills in: it never applies.",
                        hint=f"The configured providers bill in: {', '.join(sorted(billed)) or 'nothing'}.",
                        id="django_tryon.W004",
                    )
                )
    return errors


def _positive_amount(value) -> bool:
    if isinstance(value, bool):
        return False
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return False
    return amount.is_finite() and amount > 0


def check_api(values) -> list:
    from rest_framework.throttling import SimpleRateThrottle

    errors = []
    for key in RATE_KEYS:
        rate = values[key]
        if rate is None:
            continue
        try:
            count, _ = SimpleRateThrottle.parse_rate(None, rate)
            valid = isinstance(rate, str) and count > 0
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):
            valid = False
        if not valid:
            errors.append(
                Error(
                    f"TRYON['{key}'] must be None or a rate like \"10/minute\", not {rate!r}.",
                    hint="N/second, N/minute, N/hour or N/day.",
                    id="django_tryon.E014",
                )
            )
    consent = values["CONSENT_VERSION"]
    if not isinstance(consent, str) or not consent.strip() or len(consent) > 32:
        errors.append(
            Error(
                f"TRYON['CONSENT_VERSION'] must be a non-empty string of at most 32 "
                f"characters, not {consent!r}.",
                id="django_tryon.E015",
            )
        )
    if values["API_ALLOW_ANONYMOUS"] and not any(
        values[key] for key in ("SHOP_DAILY_GENERATION_LIMIT", "SHOP_DAILY_BUDGET")
    ):
        errors.append(
            Warning(
                "TRYON['API_ALLOW_ANONYMOUS'] is on with no shop-wide daily limit: anonymous "
                "shoppers' spend has no ceiling.",
                hint="Set SHOP_DAILY_GENERATION_LIMIT or SHOP_DAILY_BUDGET (or turn "
                "API_ALLOW_ANONYMOUS off).",
                id="django_tryon.W007",
            )
        )
    if values["API_ALLOW_ANONYMOUS"] and not any(
        m.endswith("SessionMiddleware") for m in getattr(settings, "MIDDLEWARE", [])
    ):
        errors.append(
            Warning(
                "TRYON['API_ALLOW_ANONYMOUS'] is on, but no SessionMiddleware is installed: "
                "anonymous shoppers cannot be bound to a session, so the API refuses them.",
                hint="Add django.contrib.sessions.middleware.SessionMiddleware, or set "
                "API_ALLOW_ANONYMOUS to False.",
                id="django_tryon.W005",
            )
        )
    return errors
