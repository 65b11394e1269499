"""Providers as plug-ins: TRYON["PROVIDERS"][name]["CLASS"] names a shop's own adapter."""

from __future__ import annotations

import pytest

from django_tryon import services
from django_tryon.callers import Caller
from django_tryon.errors import TryOnValidationError
from django_tryon.providers import get_provider, provider_class, provider_names
from django_tryon.providers.base import ProviderConfigurationError
from kit import imagegen
from tests.fakes import FakeProvider


def plug(settings, name: str, **options) -> None:
    providers = {**settings.TRYON["PROVIDERS"], name: options}
    settings.TRYON = {**settings.TRYON, "PROVIDERS": providers}


def test_a_shop_plugs_its_own_provider_in_by_dotted_path(settings, make_garment, monkeypatch):
    """The registry was a fixed dict: a shop could not add a provider without a fork."""
    from django_tryon.pipeline import dispatch

    monkeypatch.setattr(dispatch, "send", lambda *args, **kwargs: None)
    plug(settings, "fake", CLASS="tests.fakes.FakeProvider")
    assert "fake" in provider_names()
    assert provider_class("fake") is FakeProvider
    request, created = services.create_tryon(
        garment=make_garment(),
        person_image=imagegen.make_person(),
        provider="fake",
        caller=Caller(source="api", consented=True),
    )
    assert created and request.provider == "fake"
    services.submit(request.pk)
    request.refresh_from_db()
    assert request.provider_task_id and get_provider("fake").calls_of("submit")


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("tests.fakes.NoSuchProvider", "cannot be imported"),
        ("tests.fakes.itertools", "not a Provider"),
    ],
)
def test_a_bad_class_path_is_a_clear_configuration_error(settings, path, says):
    plug(settings, "mine", CLASS=path)
    with pytest.raises(ProviderConfigurationError, match=says):
        provider_class("mine")


def test_without_a_default_the_first_configured_provider_serves(settings):
    """The app's own default named one provider; a shop without it got a broken default."""
    from django_tryon.providers import default_provider_name

    tryon = {k: v for k, v in settings.TRYON.items() if k != "DEFAULT_PROVIDER"}
    settings.TRYON = {**tryon, "PROVIDERS": {"piapi": settings.TRYON["PROVIDERS"]["piapi"]}}
    assert default_provider_name() == "piapi"
    assert get_provider().name == "piapi"
    settings.TRYON = {**settings.TRYON, "DEFAULT_PROVIDER": "kling"}
    assert default_provider_name() == "kling"
    settings.TRYON = {**tryon, "PROVIDERS": {}}
    assert default_provider_name() == ""


def test_an_unknown_provider_without_a_class_is_still_refused():
    with pytest.raises(ProviderConfigurationError, match="Unknown try-on provider 'nope'"):
        provider_class("nope")


# -- capabilities: the pipeline refuses or adapts before paying -----------------------------


class OneGarmentTops(FakeProvider):
    """A provider that tries on one top at a time and cannot cancel."""

    composes_outfits = False
    takes_lower_garment = False
    supports_cancel = False
    garment_categories = frozenset({"upper"})
    label = "Tops Only"


@pytest.fixture
def tops_only(settings):
    plug(settings, "fake", CLASS=f"{__name__}.OneGarmentTops")
    return get_provider("fake")


def test_a_category_the_provider_does_not_take_is_refused_before_anything_is_created(
    tops_only, make_garment
):
    from django_tryon.models import TryOnRequest

    with pytest.raises(TryOnValidationError) as caught:
        services.create_tryon(
            garment=make_garment("dress"),
            person_image=imagegen.make_person(),
            provider="fake",
            caller=Caller(source="api", consented=True),
        )
    assert caught.value.errors == {
        "garment": ["Tops Only cannot try on this kind of garment (dress)."]
    }
    assert not TryOnRequest.objects.exists()


def test_an_outfit_is_refused_where_the_provider_takes_one_garment(tops_only, make_garment):
    with pytest.raises(TryOnValidationError) as caught:
        services.create_tryon(
            garment=make_garment("upper"),
            lower_garment=make_garment("upper", name="Second top"),
            person_image=imagegen.make_person(),
            provider="fake",
            caller=Caller(source="api", consented=True),
        )
    assert caught.value.errors["lower_garment"] == ["Tops Only tries on one garment at a time."]


def test_a_provider_that_cannot_cancel_is_not_sent_a_cancel(
    tops_only, make_garment, monkeypatch, django_capture_on_commit_callbacks
):
    """A cancel task used to be queued for every provider, only to be refused (Kling)."""
    from django_tryon.pipeline import dispatch

    queued = []
    monkeypatch.setattr(dispatch, "send", lambda name, request_id, **kw: queued.append(name))
    request, _ = services.create_tryon(
        garment=make_garment("upper"),
        person_image=imagegen.make_person(),
        provider="fake",
        caller=Caller(source="api", consented=True),
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.submit(request.pk)
        request.refresh_from_db()
        assert services.cancel(request)
    assert "django_tryon.cancel" not in queued
