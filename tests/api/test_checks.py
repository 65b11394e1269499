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
    assert "'EUR'" in message.msg and "USD, units" in message.hint


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
