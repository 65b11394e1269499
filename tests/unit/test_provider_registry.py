"""Providers as plug-ins: TRYON["PROVIDERS"][name]["CLASS"] names a shop's own adapter."""

from __future__ import annotations

import pytest

from django_tryon import services
from django_tryon.providers import get_provider, provider_class, provider_names
from django_tryon.providers.base import ProviderConfigurationError
from tests import imagegen
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
        garment=make_garment(), person_image=imagegen.make_person(), provider="fake"
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


def test_an_unknown_provider_without_a_class_is_still_refused():
    with pytest.raises(ProviderConfigurationError, match="Unknown try-on provider 'nope'"):
        provider_class("nope")
