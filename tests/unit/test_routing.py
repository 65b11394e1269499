"""Routing (TRYON["ROUTING"]): which provider a new try-on goes to, the shared circuit
breaker with its one half-open probe, out of credit, and who may never move."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from django_tryon import routing, services
from django_tryon.callers import Caller
from django_tryon.errors import QuotaExceeded, TryOnValidationError
from django_tryon.models import ProviderHealth, Source
from kit import imagegen

pytestmark = pytest.mark.django_db


@pytest.fixture
def routed(settings):
    def use(route=("kling", "fashn"), **more):
        settings.TRYON = {
            **settings.TRYON,
            "ROUTING": {"default": list(route), **more},
            "BREAKER_FAILURES": 3,
            "BREAKER_OPEN_SECONDS": 60,
            "OUT_OF_CREDIT_RETRY_SECONDS": 600,
        }

    use()
    return use


def create(
    make_garment, *, lower=False, source="api", owner_key="", enforce_shopper_quota=None, **kwargs
):
    kwargs.setdefault("person_image", imagegen.make_person())
    caller = Caller(
        source=source, owner_key=owner_key, staff=enforce_shopper_quota is False, consented=True
    )
    request, _ = services.create_tryon(
        garment=make_garment("upper"),
        lower_garment=make_garment("lower") if lower else None,
        enqueue=False,
        caller=caller,
        **kwargs,
    )
    return request


def trip(provider="kling", times=3, now=None):
    for _ in range(times):
        routing.record_unavailable(provider, "HTTP 500 from Kling", now=now)


def test_without_a_route_the_default_provider_and_no_routing(make_garment, sent):
    request = create(make_garment)
    assert (request.provider, request.routed, request.routing_note) == ("kling", False, "")


def test_the_first_available_on_the_route(make_garment, routed, sent):
    request = create(make_garment)
    assert (request.provider, request.routed, request.routing_note) == ("kling", True, "")


def test_each_entry_point_has_its_route(make_garment, routed, sent):
    routed(admin=["fashn"])
    assert create(make_garment, source=Source.ADMIN).provider == "fashn"
    assert create(make_garment, source=Source.WIDGET).provider == "kling"
    # Kling makes one image a task: a batch of two goes on to FASHN.
    assert create(make_garment, source=Source.WIDGET, batch_size=2).provider == "fashn"


def test_a_provider_that_is_switched_off_is_passed_over(make_garment, routed, settings, sent):
    providers = settings.TRYON["PROVIDERS"]
    settings.TRYON = {
        **settings.TRYON,
        "PROVIDERS": {**providers, "kling": {**providers["kling"], "ENABLED": False}},
    }
    request = create(make_garment)
    assert (request.provider, request.routing_note) == ("fashn", "kling is switched off")


def test_out_of_credit_until_it_has_had_time(make_garment, routed, sent):
    routing.record_out_of_credit("kling", "1102 account arrears")
    request = create(make_garment)
    assert request.provider == "fashn"
    assert request.routing_note == "kling is out of credit (1102 account arrears)"
    later = timezone.now() + timedelta(seconds=601)
    assert routing.choose("widget", now=later).provider == "kling"


def test_the_breaker_opens_after_failures_in_a_row_and_a_success_resets_them(routed):
    trip(times=2)
    routing.record_success("kling")
    trip(times=2)
    assert routing.choose("widget").provider == "kling"  # 2 in a row: still closed
    trip(times=1)
    choice = routing.choose("widget")
    assert choice.provider == "fashn"
    assert choice.note.startswith("kling is failing (circuit open after 3 failures in a row")


def test_half_open_lets_exactly_one_probe_through(routed):
    trip()
    later = timezone.now() + timedelta(seconds=61)
    # Choosing claims nothing: while the probe is free, the route still leads to Kling.
    assert [routing.choose("widget", now=later).provider for _ in range(3)] == ["kling"] * 3
    # The first request about to be sent claims it; the others are turned away.
    claims = [routing.claim_to_send("kling", now=later) for _ in range(3)]
    assert claims == [(None, later)] + [("is being probed after failing", None)] * 2
    assert routing.choose("widget", now=later).note == "kling is being probed after failing"
    # The probe failed: open for another period, from now.
    routing.record_unavailable("kling", "HTTP 503", now=later)
    assert routing.choose("widget", now=later + timedelta(seconds=30)).provider == "fashn"
    # A probe that never answered is not waited for forever.
    much_later = later + timedelta(seconds=200)
    assert routing.choose("widget", now=much_later).provider == "kling"
    assert routing.claim_to_send("kling", now=much_later) == (None, much_later)
    routing.record_success("kling")
    health = ProviderHealth.objects.get(provider="kling")
    assert (health.consecutive_failures, health.open_until, health.probe_at) == (0, None, None)
    assert routing.choose("widget", now=much_later).provider == "kling"


def half_open(provider="kling"):
    trip(provider)
    ProviderHealth.objects.filter(provider=provider).update(
        open_until=timezone.now() - timedelta(seconds=1)
    )


def test_a_create_refused_before_sending_never_holds_the_probe(
    make_garment, routed, settings, sent
):
    half_open()
    with pytest.raises(TryOnValidationError):
        create(make_garment, person_image=b"not a photo")
    settings.TRYON = {**settings.TRYON, "SHOPPER_DAILY_GENERATION_LIMIT": 1}
    first = create(make_garment, owner_key="user:1", enforce_shopper_quota=True)
    again, made = services.create_tryon(
        garment=first.garment,
        person_image=imagegen.make_person(),
        enqueue=False,
        caller=Caller(source="api", owner_key="user:1", consented=True),
    )
    assert (again.pk, made) == (first.pk, False)  # the same photo: a duplicate, not paid again
    with pytest.raises(QuotaExceeded):
        create(make_garment, owner_key="user:1", enforce_shopper_quota=True)
    # None of them was about to be sent: the probe is still free for the one that is.
    assert ProviderHealth.objects.get(provider="kling").probe_at is None
    assert routing.claim_to_send("kling")[0] is None


def test_a_claimed_probe_that_is_not_spent_goes_back(routed):
    half_open()
    why, probe = routing.claim_to_send("kling")
    assert why is None and probe is not None
    assert routing.claim_to_send("kling") == ("is being probed after failing", None)
    routing.give_back_probe("kling", probe)
    assert routing.claim_to_send("kling")[0] is None


def test_what_a_provider_cannot_take_is_routed_past_it(make_garment, routed, sent):
    routed(route=("fashn", "kling"))
    assert create(make_garment, lower=True).provider == "kling"  # FASHN: one garment a run
    assert create(make_garment).provider == "fashn"


def test_when_none_is_available_the_first_is_used_and_said(routed):
    trip("kling")
    trip("fashn")
    choice = routing.choose("widget")
    assert choice.provider == "kling" and choice.note.endswith("none available, sent to the first")


def test_a_named_provider_is_never_routed(make_garment, routed, sent):
    trip("kling")
    request = create(make_garment, provider="kling")
    assert (request.provider, request.routed) == ("kling", False)


def test_a_shop_without_a_route_keeps_no_health_and_pays_no_query_for_it(
    settings, django_assert_num_queries
):
    settings.TRYON = {**settings.TRYON, "ROUTING": None}
    with django_assert_num_queries(0):
        routing.record_success("kling")
        trip("kling", times=5)
        routing.record_out_of_credit("kling", "no credit")
    assert not ProviderHealth.objects.exists()


# -- "cheapest": routing by price ------------------------------------------------------------


def priced(settings, **unit_prices):
    """The suite's providers with these UNIT_PRICEs (None: no price in the shop's money)."""
    providers = {name: dict(options) for name, options in settings.TRYON["PROVIDERS"].items()}
    for name, price in unit_prices.items():
        if price is None:
            providers[name].pop("UNIT_PRICE", None)
        else:
            providers[name]["UNIT_PRICE"] = price
    settings.TRYON = {**settings.TRYON, "PROVIDERS": providers}


def test_cheapest_orders_the_providers_by_their_price_of_one_image(settings):
    priced(settings, kling="0.14", piapi=None, fashn="0.075", dashscope="0.072", vertex="0.06")
    # PiAPI bills in dollars, the shop's own money: $0.07 an image with no UNIT_PRICE.
    assert routing.by_price("upper") == ["vertex", "piapi", "dashscope", "fashn", "kling"]
    # A shoe at FASHN is tryon-max, four credits: dearer than a Kling unit.
    assert routing.by_price("shoes")[-2:] == ["kling", "fashn"]


def test_a_provider_with_no_price_in_the_shops_money_comes_after_the_priced(settings):
    priced(settings, kling=None, vertex=None)
    assert routing.by_price("upper")[-2:] == ["kling", "vertex"]  # in TRYON["PROVIDERS"] order


def test_cheapest_stands_for_the_providers_the_route_does_not_name(settings, routed):
    priced(settings, kling="0.01")
    routed(route=("cheapest", "piapi"))
    assert routing.route("api")[0] == "kling" and routing.route("api")[-1] == "piapi"
    assert sorted(routing.route("api")) == sorted(settings.TRYON["PROVIDERS"])


def test_everything_else_to_the_cheapest_healthy_provider(make_garment, routed, settings, sent):
    """The issue's example: shoes to FASHN, outfits to Kling, the rest to the cheapest."""
    routed(route=("cheapest",), shoes=["fashn"], outfit=["kling"])
    assert create(make_garment).provider == "vertex"  # $0.06 an image in the sandbox prices
    assert create(make_garment, lower=True).provider == "kling"
    trip("vertex")
    request = create(make_garment)
    assert request.provider == "piapi"  # the next cheapest, and why vertex was passed over
    assert request.routing_note.startswith("vertex is failing")
    priced(settings, kling="0.01")
    assert create(make_garment).provider == "kling"
