"""Spend is bounded out of the box: anonymous clients that throw their cookies away (or
make up an X-Forwarded-For) meet a per-address daily limit kept in the database, and
the shop has a daily image limit by default."""

from __future__ import annotations

import pytest

from django_tryon import quotas
from django_tryon.callers import client_address
from django_tryon.conf import DEFAULTS
from django_tryon.models import TryOnRequest, UsageCounter
from kit import imagegen
from tests.api.conftest import photo

pytestmark = pytest.mark.django_db


def fresh_shopper(client_class, garment, address="203.0.113.7", forwarded=None, n=0):
    """A new cookie jar for every create: each is a new anonymous shopper."""
    client = client_class()
    client.get("/tryon/api/quota/")
    headers = {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value, "REMOTE_ADDR": address}
    if forwarded:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(
        "/tryon/api/requests/",
        {
            "garment": str(garment.pk),
            "consent": "true",
            "person_image": photo(imagegen.make_person(width=640 + 8 * n)),
        },
        **headers,
    )


@pytest.fixture
def csrf_client():
    from django.test import Client

    return lambda: Client(enforce_csrf_checks=True)


def test_one_address_meets_its_daily_limit_whatever_its_sessions(
    csrf_client, make_garment, tryon_settings, sent
):
    tryon_settings(ANONYMOUS_DAILY_GENERATION_LIMIT_PER_CLIENT=3, API_CREATE_RATE=None)
    garment = make_garment()
    codes = [
        fresh_shopper(csrf_client, garment, forwarded=f"198.51.100.{i}", n=i).status_code
        for i in range(6)
    ]
    assert codes == [202, 202, 202, 429, 429, 429]
    assert TryOnRequest.objects.count() == 3
    assert len(set(TryOnRequest.objects.values_list("owner_key", flat=True))) == 3
    # Another address is another client.
    assert fresh_shopper(csrf_client, garment, address="203.0.113.8", n=9).status_code == 202


def test_a_cancelled_unsent_try_on_gives_the_address_its_image_back(
    csrf_client, make_garment, tryon_settings, sent
):
    from django_tryon import services

    tryon_settings(ANONYMOUS_DAILY_GENERATION_LIMIT_PER_CLIENT=1, API_CREATE_RATE=None)
    garment = make_garment()
    assert fresh_shopper(csrf_client, garment).status_code == 202
    services.cancel(TryOnRequest.objects.get())
    assert fresh_shopper(csrf_client, garment, n=1).status_code == 202
    key = quotas.client_key("203.0.113.7")
    assert UsageCounter.objects.get(scope=key).generations == 1


def test_the_client_address_trusts_only_the_configured_proxies(rf, tryon_settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert client_address(request) == "10.0.0.2"
    tryon_settings(TRUSTED_PROXY_COUNT=1)
    assert client_address(request) == "203.0.113.9"  # what our proxy saw, not the client's text
    tryon_settings(TRUSTED_PROXY_COUNT=3)
    assert client_address(request) == "10.0.0.2"  # fewer hops than proxies: not trusted


def test_the_shop_has_a_daily_image_limit_by_default():
    assert DEFAULTS["SHOP_DAILY_GENERATION_LIMIT"] == 500
    assert DEFAULTS["ANONYMOUS_DAILY_GENERATION_LIMIT_PER_CLIENT"] == 20
