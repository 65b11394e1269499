"""Limits and idempotency hold when requests arrive at once: real HTTP to the live server
from many threads. On SQLite the writes serialise; on PostgreSQL (CI) they race for real.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from django_tryon import quotas
from django_tryon.models import TryOnRequest, UsageCounter
from kit import imagegen

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def run_at_once(count, call):
    """Run ``call(i)`` in ``count`` threads released together; return the results in order."""
    barrier = threading.Barrier(count)

    def start(i):
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(start, range(count)))


def post_create(client, url, garment, photo, headers=None):
    return client.post(
        url,
        data={"garment": str(garment.pk), "consent": "true"},
        files={"person_image": ("me.jpg", photo, "image/jpeg")},
        headers=headers or {},
    )


def creates_at_once(count, api, garment, photos, headers):
    """``count`` API creates released together, the i-th with ``photos[i]``."""

    def create(i):
        with httpx.Client(trust_env=False, timeout=60) as client:
            return post_create(client, api + "requests/", garment, photos[i], headers)

    return run_at_once(count, create)


@pytest.fixture
def api(live_server):
    return live_server.url + "/tryon/api/"


@pytest.fixture
def photos():
    return [imagegen.make_person(width=640 + 8 * i, height=900) for i in range(20)]


def test_twenty_parallel_creates_against_a_quota_of_five(
    api, make_garment, django_user_model, photos, sent, tryon_settings
):
    tryon_settings(SHOPPER_DAILY_GENERATION_LIMIT=5, API_CREATE_RATE=None)
    garment = make_garment()
    user = django_user_model.objects.create_user("racer")
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"}

    responses = creates_at_once(20, api, garment, photos, headers)
    codes = sorted(r.status_code for r in responses)
    assert codes == [202] * 5 + [429] * 15, [r.text for r in responses if r.status_code >= 500]
    assert TryOnRequest.objects.filter(owner=user).count() == 5
    counters = UsageCounter.objects.filter(scope=f"user:{user.pk}")
    assert [c.generations for c in counters] == [5]
    assert {r.json()["code"] for r in responses if r.status_code == 429} == {"shopper_daily"}


def test_shop_limit_across_twenty_anonymous_shoppers_at_once(
    api, make_garment, photos, sent, tryon_settings
):
    tryon_settings(SHOP_DAILY_GENERATION_LIMIT=5, API_CREATE_RATE=None)
    garment = make_garment()

    def create(i):
        with httpx.Client(trust_env=False, timeout=60) as client:
            client.get(api + "quota/")  # the CSRF cookie, as a product page would set it
            token = client.cookies["csrftoken"]
            return post_create(
                client, api + "requests/", garment, photos[i], {"X-CSRFToken": token}
            )

    responses = run_at_once(20, create)
    assert sorted(r.status_code for r in responses) == [202] * 5 + [429] * 15
    assert TryOnRequest.objects.count() == 5
    assert len(set(TryOnRequest.objects.values_list("owner_key", flat=True))) == 5
    assert UsageCounter.objects.get(scope="shop", period__startswith="day:").generations == 5


def test_parallel_duplicates_with_one_idempotency_key_make_one_request(
    api, make_garment, django_user_model, photos, sent, tryon_settings
):
    tryon_settings(API_CREATE_RATE=None)
    garment = make_garment()
    user = django_user_model.objects.create_user("double-clicker")
    headers = {
        "Authorization": f"Token {Token.objects.create(user=user).key}",
        "Idempotency-Key": "checkout-42",
    }

    responses = creates_at_once(10, api, garment, [photos[0]] * 10, headers)
    assert sorted(r.status_code for r in responses) == [200] * 9 + [202]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.headers["Location"] for r in responses}) == 1
    assert TryOnRequest.objects.count() == 1
    # Only the request that exists was counted: the losers' reservations rolled back.
    assert UsageCounter.objects.get(scope=f"user:{user.pk}").generations == 1


def test_identical_creates_sent_at_once_without_a_key_make_one_paid_request(
    api, make_garment, django_user_model, photos, sent, tryon_settings
):
    """A double click with no Idempotency-Key: one request, one reservation, one task."""
    tryon_settings(API_CREATE_RATE=None)
    garment = make_garment()
    user = django_user_model.objects.create_user("impatient")
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"}

    responses = creates_at_once(20, api, garment, [photos[0]] * 20, headers)
    assert sorted(r.status_code for r in responses) == [200] * 19 + [202]
    assert len({r.json()["id"] for r in responses}) == 1
    assert TryOnRequest.objects.count() == 1
    assert UsageCounter.objects.get(scope=f"user:{user.pk}").generations == 1
    assert [name for name, _ in sent] == ["django_tryon.submit"]


def test_reserve_from_many_threads_never_passes_the_limit(tryon_settings):
    tryon_settings(SHOP_MONTHLY_GENERATION_LIMIT=7)

    def reserve(i):
        try:
            quotas.reserve(quotas.Charge(1), owner_key=f"session:{i % 3}")
            return True
        except quotas.QuotaExceeded:
            return False
        finally:
            connection.close()

    assert sum(run_at_once(20, reserve)) == 7
    month = UsageCounter.objects.get(scope="shop", period__startswith="month:")
    assert month.generations == 7
