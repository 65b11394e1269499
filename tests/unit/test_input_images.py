"""Prepared input images at signed, expiring URLs (what PiAPI fetches)."""

from __future__ import annotations

import time
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.core.files.base import ContentFile
from django.test import Client

from django_tryon import links
from django_tryon.conf import get_setting
from django_tryon.models import tryon_storage
from kit import imagegen

JPEG = imagegen.make_jpeg(400, 500)


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def stored():
    """A prepared input image in the app's storage; removed afterwards."""
    storage = tryon_storage()
    name = storage.save("tryon/prepared/test-input.jpg", ContentFile(JPEG))
    yield name
    storage.delete(name)


@pytest.fixture(autouse=True)
def running(db, make_garment):
    """The try-on every URL here is made for, still at the provider."""
    from django_tryon.models import TryOnRequest
    from django_tryon.status import Status

    return TryOnRequest.objects.create(
        provider="piapi", garment=make_garment(), input_digest="i" * 64, status=Status.SUBMITTED
    )


def path_of(name: str) -> str:
    """The path part of the signed URL the app hands to the provider."""
    from django_tryon.models import TryOnRequest

    return urlsplit(links.signed_input_url(name, TryOnRequest.objects.get().pk)).path


def signed_path(name: str) -> str:
    """A URL signed with the app's salt for any name, as if the app had made it."""
    from django_tryon.models import TryOnRequest

    payload = [name, str(TryOnRequest.objects.get().pk)]
    signed = signing.dumps(payload, salt=links.INPUT_URL_SALT, compress=True)
    return f"/tryon/inputs/{signed}/"


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def test_signed_url_serves_the_stored_file(client, stored, running):
    url = links.signed_input_url(stored, running.pk)
    assert url.startswith(get_setting("PUBLIC_BASE_URL").rstrip("/") + "/tryon/inputs/")
    assert stored not in url  # the name is compressed and signed, not readable in the URL
    response = client.get(urlsplit(url).path)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Robots-Tag"] == "noindex"
    assert body_of(response) == JPEG


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),  # signature changed
        lambda s: ("." + s[2:]) if not s.startswith(".") else s[1:],  # payload changed
        lambda s: s.split(":")[0],  # signature dropped
        lambda s: "not-signed-at-all",
    ],
    ids=["signature", "payload", "no-signature", "garbage"],
)
def test_tampered_signature_is_404(client, stored, tamper):
    signed = path_of(stored).split("/")[-2]
    tampered = tamper(signed)
    assert tampered != signed
    assert links.storage_name_from_signed(tampered) is None
    assert client.get(f"/tryon/inputs/{tampered}/").status_code == 404


def test_signature_made_with_another_salt_is_404(client, stored):
    signed = signing.dumps(stored, salt="some.other.feature", compress=True)
    assert client.get(f"/tryon/inputs/{signed}/").status_code == 404


def test_expired_url_is_404(client, stored, monkeypatch):
    path = path_of(stored)
    assert client.get(path).status_code == 200
    max_age = get_setting("INPUT_URL_MAX_AGE_SECONDS")
    now = time.time()
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: now + max_age - 5))
    assert client.get(path).status_code == 200
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: now + max_age + 5))
    assert client.get(path).status_code == 404


def test_max_age_follows_the_setting(client, stored, settings):
    path = path_of(stored)
    settings.TRYON = {**settings.TRYON, "INPUT_URL_MAX_AGE_SECONDS": 1}
    assert client.get(path).status_code == 200
    time.sleep(2.1)
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    "name",
    [
        "shop/secret.jpg",
        "other/tryon/x.jpg",
        "tryon",
        "/tryon/prepared/test-input.jpg",
        "",
    ],
)
def test_signed_name_outside_tryon_is_404(client, name):
    storage = tryon_storage()
    if name.startswith("shop/"):
        storage.save(name, ContentFile(JPEG))  # exists, but is not ours to serve
    try:
        assert client.get(signed_path(name)).status_code == 404
    finally:
        if name.startswith("shop/"):
            storage.delete(name)


@pytest.mark.parametrize(
    "name",
    ["tryon/prepared/never-saved.jpg", "tryon/../tryon/prepared/never-saved.jpg"],
)
def test_missing_file_is_404(client, name):
    assert not tryon_storage().exists("tryon/prepared/never-saved.jpg")
    assert client.get(signed_path(name)).status_code == 404


def test_path_traversal_out_of_storage_is_refused(client):
    """A signed name that climbs out of the app's folders is refused before storage is asked."""
    response = client.get(signed_path("tryon/../../../etc/passwd"))
    assert response.status_code == 404
    assert b"root:" not in response.content


def test_deleted_file_is_404(client, stored):
    path = path_of(stored)
    tryon_storage().delete(stored)
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch", "head"])
def test_other_methods_are_405(stored, method):
    response = getattr(Client(), method)(path_of(stored))
    assert response.status_code == 405
    assert response["Allow"] == "GET"


def test_post_from_a_csrf_enforcing_client_is_refused_before_the_view(client, stored):
    """Not exempt from CSRF: a cross-site POST is stopped by the middleware (403)."""
    assert client.post(path_of(stored)).status_code == 403


def test_an_input_url_stops_working_when_its_try_on_ends(client, stored, running):
    """PiAPI's URL for a shopper's photo used to serve it for an hour after the try-on
    succeeded; it now dies with the try-on."""
    from django_tryon.models import TryOnRequest
    from django_tryon.status import Status

    path = path_of(stored)
    assert client.get(path).status_code == 200
    TryOnRequest.objects.filter(pk=running.pk).update(status=Status.SUCCEEDED)
    assert client.get(path).status_code == 404


def test_a_url_made_for_no_try_on_serves_nothing(client, stored):
    """Such a URL lived for the whole INPUT_URL_MAX_AGE_SECONDS, whatever happened."""
    signed = signing.dumps(stored, salt=links.INPUT_URL_SALT, compress=True)
    assert client.get(f"/tryon/inputs/{signed}/").status_code == 404
