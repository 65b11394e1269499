"""System checks for the API, quota and budget settings."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks

from django_tryon.checks import NUMERIC_KEYS


def ids():
    return sorted(m.id for m in run_checks() if m.id and m.id.startswith("django_tryon.E"))


def warnings():
    return sorted(m.id for m in run_checks() if m.id in ("django_tryon.W004", "django_tryon.W005"))


def test_the_shipped_defaults_pass(tryon_settings):
    assert ids() == [] and warnings() == []


@pytest.mark.parametrize(
    "key",
    [
        "SHOPPER_DAILY_GENERATION_LIMIT",
        "SHOP_DAILY_GENERATION_LIMIT",
        "SHOP_MONTHLY_GENERATION_LIMIT",
        "RESULT_URL_MAX_AGE_SECONDS",
    ],
)
def test_limits_are_positive_numbers(tryon_settings, key):
    assert key in NUMERIC_KEYS
    tryon_settings(**{key: -1})
    assert ids() == ["django_tryon.E008"]


@pytest.mark.parametrize(
    "key",
    [
        "SHOPPER_DAILY_GENERATION_LIMIT",
        "SHOP_DAILY_GENERATION_LIMIT",
        "SHOP_MONTHLY_GENERATION_LIMIT",
    ],
)
def test_limits_may_be_none(tryon_settings, key):
    tryon_settings(**{key: None})
    assert ids() == []


@pytest.mark.parametrize(
    "budget",
    [5, {"USD": 0}, {"USD": "-1"}, {"USD": "lots"}, {"": 5}, {"USD": True}, {"USD": float("nan")}],
)
def test_e013_budgets(tryon_settings, budget):
    tryon_settings(SHOP_MONTHLY_BUDGET=budget)
    assert ids() == ["django_tryon.E013"]


def test_budgets_per_currency_pass(tryon_settings):
    tryon_settings(SHOP_DAILY_BUDGET={"USD": "20.00", "units": 200})
    assert ids() == [] and warnings() == []


def test_w004_a_budget_in_a_currency_nobody_bills_in(tryon_settings):
    tryon_settings(SHOP_DAILY_BUDGET={"EUR": 20})
    assert warnings() == ["django_tryon.W004"]
    message = next(m for m in run_checks() if m.id == "django_tryon.W004")
    assert "'EUR'" in message.msg and "USD, credits, images, units" in message.hint


@pytest.mark.parametrize("rate", ["10", "ten/minute", "0/minute", "5/fortnight", "/s", 10])
def test_e014_rates(tryon_settings, rate):
    tryon_settings(API_CREATE_RATE=rate)
    assert ids() == ["django_tryon.E014"]


@pytest.mark.parametrize("rate", [None, "10/minute", "1/s", "100/day", "3/hour"])
def test_rates_that_pass(tryon_settings, rate):
    tryon_settings(API_READ_RATE=rate)
    assert ids() == []


@pytest.mark.parametrize("version", ["", "   ", None, 3, "x" * 33])
def test_e015_consent_version(tryon_settings, version):
    tryon_settings(CONSENT_VERSION=version)
    assert ids() == ["django_tryon.E015"]


def test_w005_anonymous_api_without_sessions(tryon_settings, settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "SessionMiddleware" not in m]
    assert "django_tryon.W005" in warnings()
    tryon_settings(API_ALLOW_ANONYMOUS=False)
    assert "django_tryon.W005" not in warnings()


@pytest.mark.django_db
def test_without_sessions_anonymous_creates_are_refused(settings, garment, sent):
    from tests.api.conftest import Caller

    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "SessionMiddleware" not in m]
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "auth.middleware" not in m]
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "messages.middleware" not in m]
    caller = Caller()
    response = caller.create(garment)
    assert response.status_code == 403
    assert "session" in response.json()["detail"]


# -- cost in the shop's money ------------------------------------------------------------


def _kling(settings, **options):
    entry = {**settings.TRYON["PROVIDERS"]["kling"], **options}
    return {
        **settings.TRYON["PROVIDERS"],
        "kling": {k: v for k, v in entry.items() if v is not None},
    }


def _messages(code):
    return [m for m in run_checks() if m.id == code]


def test_w010_a_provider_whose_units_have_no_price(tryon_settings, settings):
    """Kling bills in units: with no UNIT_PRICE its spend cannot be read in dollars."""
    assert _messages("django_tryon.W010") == []  # the sandbox's entry has a price
    tryon_settings(PROVIDERS=_kling(settings, UNIT_PRICE=None))
    [warning] = _messages("django_tryon.W010")
    assert "TRYON['PROVIDERS']['kling']" in warning.msg and "'units'" in warning.msg
    assert "['UNIT_PRICE']" in warning.hint
    # PiAPI bills in the shop's own currency: it needs no price.
    assert "piapi" not in warning.msg


@pytest.mark.parametrize("price", ["cheap", "-0.1", True, float("inf")])
def test_a_unit_price_that_is_not_a_price(tryon_settings, settings, price):
    tryon_settings(PROVIDERS=_kling(settings, UNIT_PRICE=price))
    [error] = _messages("django_tryon.E005")
    assert "TRYON['PROVIDERS']['kling']['UNIT_PRICE'] must be a number" in error.msg


@pytest.mark.parametrize("currency", ["", None, 5, "DOLLARS-US"])
def test_e017_the_shops_currency(tryon_settings, currency):
    tryon_settings(CURRENCY=currency)
    assert "django_tryon.E017" in ids()


def test_a_budget_in_the_shops_currency_applies_when_a_provider_has_a_price(
    tryon_settings, settings
):
    configured = settings.TRYON["PROVIDERS"]
    providers = {"kling": configured["kling"]}
    tryon_settings(CURRENCY="EUR", SHOP_DAILY_BUDGET={"EUR": 20}, PROVIDERS=providers)
    # Kling's units have a price in EUR: the budget counts them.
    assert warnings() == [] and _messages("django_tryon.W010") == []
    tryon_settings(PROVIDERS={**providers, "piapi": configured["piapi"]})
    # PiAPI bills USD and has no price in EUR.
    assert [w.msg for w in _messages("django_tryon.W010")] == [
        "TRYON['PROVIDERS']['piapi'] bills in 'USD' and has no UNIT_PRICE: its spend cannot "
        "be shown or budgeted in EUR."
    ]
    unpriced = {k: v for k, v in providers["kling"].items() if k != "UNIT_PRICE"}
    tryon_settings(PROVIDERS={"kling": unpriced})  # nobody has a price in EUR now
    assert warnings() == ["django_tryon.W004"]


@pytest.mark.parametrize(
    "routing",
    [
        ["kling"],
        {},
        {"default": []},
        {"default": "kling"},
        {"checkout": ["kling"]},
        {"default": ["kling", "replicate"]},
    ],
)
def test_e018_routing(tryon_settings, routing):
    tryon_settings(ROUTING=routing)
    assert ids() == ["django_tryon.E018"]


def test_a_route_per_entry_point_passes(tryon_settings):
    tryon_settings(ROUTING={"default": ["kling", "fashn"], "admin": ["fashn"], "cli": ["piapi"]})
    assert ids() == []
