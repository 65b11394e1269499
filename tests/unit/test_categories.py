"""Garments beyond clothing (shoes, bags, hats, jewellery): taken only by a provider that
declares them, routed to one, refused before paying when none takes them, and no widget
for a product none takes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from django_tryon import routing, services
from django_tryon.callers import Caller
from django_tryon.checks.providers import check_routing
from django_tryon.conf import get_setting
from django_tryon.errors import TryOnValidationError
from django_tryon.models import TryOnRequest
from django_tryon.widget import render_widget
from kit import imagegen

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(settings):
    """Set TRYON keys for one test: shop(ROUTING=..., FASHN=...)."""

    def configure(*, fashn=None, **values):
        tryon = {**settings.TRYON, **values}
        if fashn is not None:
            providers = dict(tryon["PROVIDERS"])
            providers["fashn"] = {**providers["fashn"], **fashn}
            tryon["PROVIDERS"] = providers
        settings.TRYON = tryon

    return configure


def shopper() -> Caller:
    return Caller(source="widget", owner_key="session:a", consented=True)


def test_a_route_per_category_and_for_outfits_comes_before_the_entry_points(shop):
    shop(ROUTING={"default": ["kling", "fashn"], "shoes": ["fashn"], "outfit": ["piapi"]})
    assert routing.route("widget", "shoes") == ["fashn"]
    assert routing.route("widget", routing.what_of("upper", outfit=True)) == ["piapi"]
    assert routing.route("widget", "upper") == ["kling", "fashn"]


def test_the_check_takes_categories_and_outfits_as_route_names(shop):
    shop(ROUTING={"default": ["kling"], "shoes": ["fashn"], "outfit": ["kling"]})
    assert check_routing({**get_setting_values(), "ROUTING": get_setting("ROUTING")}) == []
    bad = check_routing({**get_setting_values(), "ROUTING": {"scarves": ["fashn"]}})
    assert [e.id for e in bad] == ["django_tryon.E018"]


def test_the_check_takes_cheapest_on_a_route_and_no_misspelling_of_it(shop):
    values = get_setting_values()
    assert check_routing({**values, "ROUTING": {"default": ["fashn", "cheapest"]}}) == []
    [bad] = check_routing({**values, "ROUTING": {"default": ["cheepest"]}})
    assert "'cheepest', not in TRYON['PROVIDERS']" in bad.msg


def get_setting_values() -> dict:
    return {"PROVIDERS": get_setting("PROVIDERS"), "ROUTING": get_setting("ROUTING")}


def test_a_shoe_is_routed_to_the_provider_that_takes_shoes(shop, make_garment, sent):
    shop(ROUTING={"default": ["kling", "fashn"]})
    shoe = make_garment("shoes")
    request, _ = services.create_tryon(
        garment=shoe, person_image=imagegen.make_person(), caller=shopper()
    )
    assert request.provider == "fashn"  # Kling, first on the route, takes no shoes
    # tryon-max's 4 credits an image are what is reserved, not tryon-v1.6's one.
    assert (request.reserved_amount, request.reserved_currency) == (Decimal(4), "credits")


def test_a_shoe_no_provider_takes_is_refused_before_anything_is_made(shop, make_garment, sent):
    shop(fashn={"ACCESSORIES": False})
    shoe = make_garment("shoes")
    with pytest.raises(TryOnValidationError) as caught:
        services.create_tryon(garment=shoe, person_image=imagegen.make_person(), caller=shopper())
    assert caught.value.errors == {
        "garment": ["No try-on provider this shop uses can try on shoes."]
    }
    assert TryOnRequest.objects.count() == 0 and sent == []


def test_a_provider_that_takes_no_shoes_says_so_when_it_is_named(shop, make_garment, sent):
    with pytest.raises(TryOnValidationError) as caught:
        services.create_tryon(
            garment=make_garment("shoes"),
            person_image=imagegen.make_person(),
            caller=shopper(),
            provider="kling",
        )
    assert "Kling" in caught.value.errors["garment"][0]


def test_an_accessory_is_worn_alone(make_garment, sent):
    with pytest.raises(TryOnValidationError) as caught:
        services.create_tryon(
            garment=make_garment("upper"),
            lower_garment=make_garment("bag"),
            person_image=imagegen.make_person(),
            caller=shopper(),
            provider="piapi",
        )
    assert "by themselves" in " ".join(caught.value.errors["lower_garment"])


def test_no_widget_for_a_product_no_provider_of_its_route_takes(shop, make_garment, rf):
    hat = make_garment("hat")
    request = rf.get("/")
    request.session = {}
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    shop(ROUTING={"widget": ["kling"]})
    assert render_widget(request, hat, include_assets=False) == ""
    shop(ROUTING={"widget": ["kling"], "hat": ["fashn"]})
    assert "<tryon-widget" in render_widget(request, hat, include_assets=False)
    assert "<tryon-widget" in render_widget(request, make_garment("upper"), include_assets=False)


def test_a_batch_of_clothing_and_shoes_reserves_what_each_costs(make_garment, sent):
    from django_tryon.models import ModelPhoto, UsageCounter

    photo = ModelPhoto(name="Sam", active=True)
    from django.core.files.base import ContentFile

    photo.image.save("sam.jpg", ContentFile(imagegen.make_person()), save=True)
    garments = [make_garment("upper"), make_garment("shoes")]
    _batch, created, reused = services.create_batch(
        Caller.for_admin(None), garments, [photo], provider="fashn", batch_size=1
    )
    assert (created, reused) == (2, 0)
    spent = UsageCounter.objects.filter(scope="shop:credits", period__startswith="day:")
    assert spent.get().spend == Decimal(5)  # 1 credit for the top, 4 for the shoes
