"""Callback tokens and signed input links (links.py)."""

from __future__ import annotations

import pytest

from django_tryon import links
from django_tryon.models import TryOnRequest
from tests.unit.helpers import submitted

pytestmark = pytest.mark.django_db


def test_callback_token_is_derived_and_only_its_hash_stored(fake, make_garment, sent):
    request = submitted(fake, make_garment)
    token = links.callback_token(request)
    assert token not in str(TryOnRequest.objects.filter(pk=request.pk).values().get())
    assert links.request_for_callback_token(token).pk == request.pk
    assert links.request_for_callback_token(token + "x") is None


def test_a_callback_url_survives_a_secret_key_rotation(settings, fake, make_garment, sent):
    """Chaos found a paid PiAPI task no request owned: sent again after SECRET_KEY was
    rotated, its callback URL carried a token made with the new key, whose hash was not
    the stored one, so the webhook naming the task was refused and the task stayed lost."""
    request = submitted(fake, make_garment)
    before = links.callback_url(request)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "y" * 40
    request.refresh_from_db()
    assert links.callback_url(request) == before
    token = before.rstrip("/").rsplit("/", 1)[-1]
    assert links.request_for_callback_token(token).pk == request.pk
    # Without the old key among the fallbacks, the URL it made cannot be made again.
    settings.SECRET_KEY_FALLBACKS = []
    assert links.callback_url(request) != before


def test_signed_input_url_round_trip_and_expiry(settings, fake, make_garment, sent, monkeypatch):
    request = submitted(fake, make_garment)
    url = links.signed_input_url("tryon/prepared/x.jpg", request.pk)
    signed = url.rstrip("/").rsplit("/", 1)[-1]
    assert links.storage_name_from_signed(signed) == "tryon/prepared/x.jpg"
    assert links.storage_name_from_signed(signed[:-2] + "zz") is None
    settings.TRYON = {**settings.TRYON, "INPUT_URL_MAX_AGE_SECONDS": 1}
    # Two seconds later on the signer's clock (instead of sleeping them).
    import time
    from types import SimpleNamespace

    from django.core import signing

    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: time.time() + 2.1))
    assert links.storage_name_from_signed(signed) is None
