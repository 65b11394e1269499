"""Quotas, budgets and the kill switch: in the database, for every entry point, with the
quota given back when nothing was paid, and 429/503 with Retry-After in the API."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from django_tryon import quotas, services
from django_tryon.models import Source, TryOnRequest, UsageCounter
from django_tryon.pipeline import results as results_module
from django_tryon.pipeline import transitions
from django_tryon.providers import PROVIDER_CLASSES, get_provider
from django_tryon.providers.base import InvalidInput, RateLimited
from django_tryon.quotas import Charge, QuotaExceeded, TryOnDisabled
from django_tryon.status import Status
from kit import imagegen
from tests.unit.helpers import create

pytestmark = pytest.mark.django_db

USD = "USD"


def usage(scope="shop", kind="day", now=None):
    day, month, _, _ = quotas._periods(now or timezone.now())
    row = UsageCounter.objects.filter(scope=scope, period=day if kind == "day" else month).first()
    return (row.generations, row.spend) if row else (0, Decimal("0"))


@pytest.fixture
def fake(tryon_settings, monkeypatch):
    """The scripted provider of tests/fakes.py: estimates $0.07 an image, no HTTP."""
    monkeypatch.setitem(PROVIDER_CLASSES, "fake", "tests.fakes.FakeProvider")
    from django.conf import settings

    tryon_settings(PROVIDERS={**settings.TRYON["PROVIDERS"], "fake": {}}, DEFAULT_PROVIDER="fake")
    return get_provider("fake")


def person(i: int) -> bytes:
    return imagegen.make_person(width=700 + i)


# -- the counters ---------------------------------------------------------------------------


def test_reserve_counts_every_row(tryon_settings):
    quotas.reserve(Charge(2, Decimal("0.14"), USD), owner_key="user:1")
    assert usage("user:1") == (2, Decimal("0"))
    assert usage("shop") == (2, Decimal("0")) and usage("shop", "month") == (2, Decimal("0"))
    assert usage("shop:USD") == (2, Decimal("0.14"))
    assert usage("shop:USD", "month") == (2, Decimal("0.14"))


def test_shopper_limit_refuses_and_counts_nothing(tryon_settings):
    tryon_settings(SHOPPER_DAILY_GENERATION_LIMIT=3)
    quotas.reserve(Charge(2), owner_key="user:1")
    with pytest.raises(QuotaExceeded) as info:
        quotas.reserve(Charge(2), owner_key="user:1")
    assert info.value.scope == "shopper_daily"
    assert (
        info.value.message == "You have used all 3 of today's try-ons. Please try again tomorrow."
    )
    assert 0 < info.value.retry_after_seconds <= 86400
    assert usage("user:1") == (2, 0) and usage("shop") == (2, 0)  # the shop row rolled back
    quotas.reserve(Charge(1), owner_key="user:1")  # exactly up to the limit
    quotas.reserve(Charge(3), owner_key="user:2")  # others are not affected
    quotas.reserve(Charge(5), owner_key="user:1", enforce_shopper=False)  # staff, admin
    assert usage("user:1") == (8, 0)


@pytest.mark.parametrize(
    ("setting", "scope", "words"),
    [
        ("SHOP_DAILY_GENERATION_LIMIT", "shop_daily", "for today"),
        ("SHOP_MONTHLY_GENERATION_LIMIT", "shop_monthly", "for this month"),
    ],
)
def test_shop_generation_limits(tryon_settings, setting, scope, words):
    tryon_settings(**{setting: 3, "SHOPPER_DAILY_GENERATION_LIMIT": None})
    quotas.reserve(Charge(1), owner_key="session:a")
    quotas.reserve(Charge(2), owner_key="session:b", enforce_shopper=False)
    with pytest.raises(QuotaExceeded) as info:
        quotas.reserve(Charge(1), owner_key="", enforce_shopper=False)  # admin, CLI: no exemption
    assert info.value.scope == scope and words in info.value.message


def test_money_budgets_are_per_currency(tryon_settings):
    tryon_settings(SHOP_DAILY_BUDGET={"USD": "0.21"}, SHOP_MONTHLY_BUDGET={"units": 2})
    for _ in range(3):
        quotas.reserve(Charge(1, Decimal("0.07"), USD))  # 0.07 * 3 == 0.21, no float drift
    with pytest.raises(QuotaExceeded) as info:
        quotas.reserve(Charge(1, Decimal("0.07"), USD))
    assert info.value.scope == "shop_daily_budget"
    quotas.reserve(Charge(1, Decimal("1"), "units"))
    quotas.reserve(Charge(1, Decimal("1"), "units"))
    with pytest.raises(QuotaExceeded) as info:
        quotas.reserve(Charge(1, Decimal("1"), "units"))
    assert info.value.scope == "shop_monthly_budget" and "this month" in info.value.message
    assert usage("shop:USD") == (3, Decimal("0.21")) and usage("shop:units") == (2, 2)


def test_a_priced_charge_counts_in_the_shops_money_too(tryon_settings):
    """Kling's units at $0.14 each: a dollar budget bounds them as it bounds PiAPI's
    dollars, and settling and giving back correct both counts."""
    tryon_settings(SHOP_DAILY_BUDGET={"USD": "0.50"})
    kling = Charge(1, Decimal("1"), "units", Decimal("0.14"), USD)
    for _ in range(3):
        quotas.reserve(kling)
    assert usage("shop:units") == (3, Decimal("3")) and usage("shop:USD") == (3, Decimal("0.42"))
    with pytest.raises(QuotaExceeded) as info:
        quotas.reserve(Charge(1, Decimal("0.14"), USD))  # 0.42 + 0.14 is over 0.50
    assert info.value.scope == "shop_daily_budget"
    assert usage("shop:USD") == (3, Decimal("0.42"))  # refused: nothing counted
    quotas.reserve(Charge(1, Decimal("0.07"), USD, Decimal("1"), USD))  # 0.49 fits
    quotas.settle(kling, Decimal("2"), "units")  # one try-on took two units
    assert usage("shop:units")[1] == Decimal("4") and usage("shop:USD")[1] == Decimal("0.63")
    quotas.release(kling)
    assert usage("shop:units")[1] == Decimal("3") and usage("shop:USD")[1] == Decimal("0.49")


def test_a_request_keeps_the_price_it_was_counted_at(fake, make_garment, tryon_settings, settings):
    """The shop's money is counted at the price of the day: a price changed later gives
    back exactly what was counted, not the new figure."""
    from django_tryon.pipeline.charges import release_reservation

    providers = settings.TRYON["PROVIDERS"]
    tryon_settings(CURRENCY="EUR", PROVIDERS={**providers, "fake": {"UNIT_PRICE": "0.90"}})
    request, _ = create(make_garment())
    request.refresh_from_db()
    assert (request.unit_price, request.shop_currency) == (Decimal("0.9"), "EUR")
    assert usage("shop:USD")[1] == Decimal("0.07") and usage("shop:EUR")[1] == Decimal("0.063")
    tryon_settings(PROVIDERS={**providers, "fake": {"UNIT_PRICE": "5"}})
    release_reservation(request)
    assert usage("shop:USD")[1] == 0 and usage("shop:EUR")[1] == 0


def test_release_gives_back_and_never_goes_below_zero():
    quotas.reserve(Charge(2, Decimal("0.14"), USD), owner_key="user:1")
    quotas.release(Charge(2, Decimal("0.14"), USD), owner_key="user:1")
    assert usage("user:1") == (0, 0) and usage("shop:USD") == (0, 0)
    quotas.release(Charge(2, Decimal("0.14"), USD), owner_key="user:1")
    assert usage("user:1") == (0, 0) and usage("shop:USD") == (0, 0)


def test_settle_corrects_the_estimate_with_the_real_cost():
    estimate = Charge(1, Decimal("1"), "units")
    quotas.reserve(estimate)
    quotas.settle(estimate, Decimal("0.8"), "units")
    assert usage("shop:units") == (1, Decimal("0.8"))
    quotas.settle(estimate, Decimal("3"), "USD")  # another currency: not comparable
    assert usage("shop:units") == (1, Decimal("0.8"))


def test_days_and_months_are_the_shops_own(settings):
    settings.TIME_ZONE = "Pacific/Auckland"
    auckland = zoneinfo.ZoneInfo("Pacific/Auckland")
    # 11:30 UTC on 31 March is 00:30 on 1 April in Auckland.
    now = datetime(2025, 3, 31, 11, 30, tzinfo=zoneinfo.ZoneInfo("UTC"))
    day, month, day_end, month_end = quotas._periods(now)
    assert (day, month) == ("day:2025-04-01", "month:2025-04")
    assert day_end == datetime(2025, 4, 2, tzinfo=auckland)
    assert month_end == datetime(2025, 5, 1, tzinfo=auckland)


def test_retry_after_is_the_time_left_in_the_period(tryon_settings):
    tryon_settings(SHOPPER_DAILY_GENERATION_LIMIT=1)
    now = datetime(2025, 6, 1, 23, 59, 30, tzinfo=zoneinfo.ZoneInfo("UTC"))
    quotas.reserve(Charge(1), owner_key="user:1", now=now)
    with pytest.raises(QuotaExceeded) as info:
        quotas.reserve(Charge(1), owner_key="user:1", now=now)
    assert info.value.retry_after_seconds == 30
    quotas.reserve(Charge(1), owner_key="user:1", now=now.replace(day=2, hour=0))  # a new day


def test_kill_switch(tryon_settings):
    tryon_settings(ENABLED=False)
    with pytest.raises(TryOnDisabled) as info:
        quotas.reserve(Charge(1))
    assert info.value.scope == "disabled" and info.value.retry_after_seconds is None
    assert UsageCounter.objects.count() == 0


def test_remaining(tryon_settings):
    tryon_settings(SHOPPER_DAILY_GENERATION_LIMIT=2, SHOP_DAILY_BUDGET={"USD": "0.10"})
    fresh = quotas.remaining("user:1", next_charge=Charge(1, Decimal("0.07"), USD))
    assert (fresh.available, fresh.shopper_used, fresh.shopper_remaining) == (True, 0, 2)
    quotas.reserve(Charge(1, Decimal("0.07"), USD), owner_key="user:1")
    after = quotas.remaining("user:1", next_charge=Charge(1, Decimal("0.07"), USD))
    assert (after.available, after.reason) == (False, "shop_daily_budget")
    assert after.shopper_used == 1 and after.shopper_remaining == 1
    staff = quotas.remaining("user:1", enforce_shopper=False)
    assert staff.shopper_limit is None and staff.available  # no cost named: images only


# -- through the services (every entry point) -----------------------------------------------


def test_create_over_the_limit_creates_nothing(fake, make_garment, sent, tryon_settings):
    tryon_settings(SHOPPER_DAILY_GENERATION_LIMIT=1)
    garment = make_garment()
    create(garment, person=person(1), owner_key="session:a", source=Source.API)
    with pytest.raises(QuotaExceeded):
        create(garment, person=person(2), owner_key="session:a", source=Source.API)
    assert TryOnRequest.objects.count() == 1
    # A duplicate of the first (no new generation) is still answered.
    _, created = create(garment, person=person(1), owner_key="session:a", source=Source.API)
    assert not created


def test_admin_and_cli_skip_the_shopper_quota_not_the_shop_budget(
    fake, make_garment, sent, tryon_settings
):
    tryon_settings(SHOPPER_DAILY_GENERATION_LIMIT=1, SHOP_DAILY_GENERATION_LIMIT=3)
    garment = make_garment()
    for i, source in enumerate([Source.ADMIN, Source.CLI, Source.ADMIN]):
        create(garment, person=person(i), owner_key="user:9", source=source)
    with pytest.raises(QuotaExceeded) as info:
        create(garment, person=person(9), source=Source.ADMIN)
    assert info.value.scope == "shop_daily"


def test_retry_counts_against_the_shop_budget(fake, make_garment, sent, tryon_settings):
    tryon_settings(SHOP_DAILY_GENERATION_LIMIT=1)
    first, _ = create(make_garment())
    transitions.fail(first, code="x")
    with pytest.raises(QuotaExceeded):
        services.retry(first)
    assert TryOnRequest.objects.count() == 1


def test_worker_validation_failure_gives_the_quota_back(fake, make_garment, sent):
    from django_tryon.models import tryon_storage

    garment = make_garment()
    with tryon_storage().open(garment.image.name, "wb") as fh:
        fh.write(imagegen.truncated_jpeg())
    request, _ = create(garment, owner_key="session:a", source=Source.API)
    assert usage("session:a") == (1, 0) and usage("shop:USD") == (1, Decimal("0.07"))
    services.submit(request.pk)
    request.refresh_from_db()
    assert request.status == Status.FAILED and request.error_code == "truncated"
    assert usage("session:a") == (0, 0) and usage("shop:USD") == (0, 0)


def test_refusal_on_create_gives_the_quota_back(fake, make_garment, sent):
    fake.config["FIND"] = False
    fake.supports_find = False
    request, _ = create(make_garment(), owner_key="session:a", source=Source.API)
    fake.submit_effects.append(InvalidInput("bad photo", provider="fake", http_status=400))
    services.submit(request.pk)
    request.refresh_from_db()
    assert request.status == Status.FAILED
    assert usage("session:a") == (0, 0) and usage("shop") == (0, 0)


def test_retries_used_up_give_the_quota_back(fake, make_garment, sent, tryon_settings):
    from django_tryon import tasks

    tryon_settings(MAX_RETRIES=0)
    fake = get_provider("fake")  # changed settings made a fresh adapter
    request, _ = create(make_garment(), owner_key="session:a", source=Source.API)
    fake.submit_effects.append(RateLimited("busy", provider="fake", http_status=429))
    tasks.submit_tryon.apply(args=[str(request.pk)])
    request.refresh_from_db()
    assert request.status == Status.FAILED and request.error_code == "rate_limited"
    assert usage("session:a") == (0, 0)


def test_cancel_before_submission_gives_the_quota_back_after_does_not(fake, make_garment, sent):
    garment = make_garment()
    pending, _ = create(garment, person=person(1), owner_key="session:a", source=Source.API)
    sent_one, _ = create(garment, person=person(2), owner_key="session:a", source=Source.API)
    services.submit(sent_one.pk)
    sent_one.refresh_from_db()
    assert sent_one.status == Status.SUBMITTED
    assert services.cancel(pending) and services.cancel(sent_one)
    assert usage("session:a") == (1, 0)  # the submitted one may still be charged


def test_deadline_of_a_never_sent_request_gives_the_quota_back(fake, make_garment, sent):
    from datetime import timedelta

    request, _ = create(make_garment(), owner_key="session:a", source=Source.API)
    report = services.reap(now=timezone.now() + timedelta(hours=1), enqueue=False)
    assert report.expired == [str(request.pk)]
    assert usage("session:a") == (0, 0)


def test_kill_switch_stops_queued_requests_before_the_provider(
    fake, make_garment, sent, tryon_settings
):
    request, _ = create(make_garment(), owner_key="session:a", source=Source.API)
    tryon_settings(ENABLED=False)
    services.submit(request.pk)
    request.refresh_from_db()
    assert request.status == Status.FAILED and request.error_code == "disabled"
    assert get_provider("fake").calls == []  # the adapter in use since the change
    assert usage("session:a") == (0, 0)
    with pytest.raises(TryOnDisabled):
        create(make_garment(name="another"))


def test_real_cost_settles_the_spend(fake, make_garment, sent, monkeypatch):
    monkeypatch.setattr(results_module, "download", lambda url, **kw: imagegen.make_png(640, 800))
    request, _ = create(make_garment())
    services.submit(request.pk)
    request.refresh_from_db()
    task_id = request.provider_task_id
    fake.finish(task_id, ["https://fake.example/r.png"], cost=Decimal("0.05"))
    fake.tasks[task_id].cost_currency = "USD"
    services.refresh(request.pk)
    request.refresh_from_db()
    assert request.status == Status.SUCCEEDED
    assert usage("shop:USD") == (1, Decimal("0.05"))


def test_cli_prints_a_quota_hit_and_exits_1(tmp_path, tryon_settings):
    tryon_settings(ENABLED=False)
    (tmp_path / "p.jpg").write_bytes(imagegen.make_person())
    (tmp_path / "g.png").write_bytes(imagegen.make_garment("upper"))
    with pytest.raises(CommandError) as info:
        call_command(
            "tryon", "--person", str(tmp_path / "p.jpg"), "--garment", str(tmp_path / "g.png")
        )
    assert info.value.returncode == 1
    assert "switched off" in str(info.value)


# -- the API --------------------------------------------------------------------------------


def test_quota_hit_is_429_with_retry_after(anonymous, garment, sent, tryon_settings):
    tryon_settings(SHOPPER_DAILY_GENERATION_LIMIT=2)
    assert anonymous.get("quota/").json()["shopper"] == {
        "limit": 2,
        "used": 0,
        "remaining": 2,
        "resets_at": anonymous.get("quota/").json()["shopper"]["resets_at"],
    }
    for i in range(2):
        assert anonymous.create(garment, person=person(i)).status_code == 202
    response = anonymous.create(garment, person=person(5))
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "shopper_daily"
    assert body["detail"] == "You have used all 2 of today's try-ons. Please try again tomorrow."
    assert int(response["Retry-After"]) == body["retry_after_seconds"] > 0
    assert TryOnRequest.objects.count() == 2
    quota = anonymous.get("quota/").json()
    assert quota["available"] is False and quota["reason"] == "shopper_daily"
    assert quota["shopper"]["used"] == 2 and quota["shopper"]["remaining"] == 0
    assert quota["message"] == body["detail"]


def test_batch_size_counts_each_image(alice, garment, sent, tryon_settings):
    tryon_settings(SHOPPER_DAILY_GENERATION_LIMIT=4)
    assert alice.create(garment, provider="piapi", batch_size=3).status_code == 202
    response = alice.create(garment, person=person(1), provider="piapi", batch_size=2)
    assert response.status_code == 429


def test_staff_skip_the_shopper_quota_but_not_the_shop_limit(staff, garment, sent, tryon_settings):
    tryon_settings(SHOPPER_DAILY_GENERATION_LIMIT=1, SHOP_DAILY_GENERATION_LIMIT=2)
    assert staff.get("quota/").json()["shopper"]["limit"] is None
    assert staff.create(garment, person=person(1)).status_code == 202
    assert staff.create(garment, person=person(2)).status_code == 202
    response = staff.create(garment, person=person(3))
    assert response.status_code == 429 and response.json()["code"] == "shop_daily"


def test_shop_budget_hides_the_button_for_everyone(anonymous, alice, garment, sent, tryon_settings):
    tryon_settings(SHOP_DAILY_BUDGET={"units": 1})  # Kling: one unit per image
    assert anonymous.get("quota/").json()["available"] is True
    assert alice.create(garment).status_code == 202
    quota = anonymous.get("quota/").json()
    assert quota["available"] is False and quota["reason"] == "shop_daily_budget"
    assert "Please try again tomorrow" in quota["message"]


def test_the_button_follows_the_provider_the_route_would_use(
    anonymous, garment, sent, tryon_settings
):
    # The widget's route goes to FASHN (credits); the shop's credit budget is spent.
    tryon_settings(
        ROUTING={"widget": ["fashn"], "default": ["kling"]}, SHOP_DAILY_BUDGET={"credits": 1}
    )
    assert anonymous.create(garment, headers={"X-Tryon-Client": "widget"}).status_code == 202
    widget = anonymous.get("quota/", **{"X-Tryon-Client": "widget"}).json()
    assert widget["available"] is False and widget["reason"] == "shop_daily_budget"
    # A headless client's try-ons go to Kling, which this budget does not bound.
    assert anonymous.get("quota/").json()["available"] is True


def test_kill_switch_is_503(anonymous, garment, sent, tryon_settings):
    tryon_settings(ENABLED=False)
    quota = anonymous.get("quota/").json()
    assert quota["available"] is False and quota["reason"] == "disabled"
    response = anonymous.create(garment)
    assert response.status_code == 503
    assert response.json() == {
        "detail": "Virtual try-on is switched off at the moment. Please try again later.",
        "code": "disabled",
        "retry_after_seconds": None,
    }
    assert "Retry-After" not in response
    assert TryOnRequest.objects.count() == 0


def test_burst_throttle_on_top(alice, garment, sent, tryon_settings):
    tryon_settings(API_CREATE_RATE="2/minute", SHOPPER_DAILY_GENERATION_LIMIT=None)
    codes = [alice.create(garment, person=person(i)).status_code for i in range(3)]
    assert codes == [202, 202, 429]
    response = alice.create(garment, person=person(9))
    assert response.json()["code"] == "throttled" and int(response["Retry-After"]) > 0
    assert alice.get("requests/").status_code == 200  # reads have their own rate
    tryon_settings(API_READ_RATE="1/minute")
    alice.get("garments/")
    assert alice.get("garments/").status_code == 429
