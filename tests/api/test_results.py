"""Result URLs: signed and short-lived through the app on local storage, the storage's own
presigned URLs on S3; either way the bytes come back."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.test import override_settings

from django_tryon import links
from django_tryon.models import TryOnRequest, TryOnResult, tryon_storage
from django_tryon.status import Status
from kit import imagegen
from tests.integration.s3 import LocalS3, apply_safe_aws_env, reset_tryon_storage
from tests.settings import s3_test_storage

pytestmark = pytest.mark.django_db


@pytest.fixture
def result(make_garment):
    request = TryOnRequest.objects.create(
        garment=make_garment(),
        provider="kling",
        status=Status.SUCCEEDED,
        input_digest=uuid.uuid4().hex,
    )
    name = tryon_storage().save(
        "tryon/results/2025/01/r.png", ContentFile(imagegen.make_png(320, 400))
    )
    return TryOnResult.objects.create(request=request, index=0, image=name, width=320, height=400)


def fetch(client, url):
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.status_code == 200 else b""
    return response, body


def test_signed_url_serves_the_image(client, result):
    url = links.result_url(result)
    assert url.startswith("/tryon/results/") and result.image.name not in url
    response, body = fetch(client, url)
    assert response.status_code == 200 and body.startswith(b"\x89PNG")
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, max-age=3600"


def test_signed_url_expires(client, result, settings, monkeypatch):
    url = links.result_url(result)
    real_time = signing.time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() + 3601)
    assert fetch(client, url)[0].status_code == 404
    settings.TRYON = {**settings.TRYON, "RESULT_URL_MAX_AGE_SECONDS": 7200}
    assert fetch(client, url)[0].status_code == 200


def test_tampered_or_foreign_signatures_are_404(client, result):
    url = links.result_url(result)
    assert fetch(client, url[:-3] + "xx/")[0].status_code == 404
    # Input-image signatures are not result signatures.
    other = signing.dumps(str(result.pk), salt=links.INPUT_URL_SALT)
    assert fetch(client, f"/tryon/results/{other}/")[0].status_code == 404
    # A signed value that is no result id.
    junk = signing.dumps("tryon/results/2025/01/r.png", salt=links.RESULT_URL_SALT)
    assert fetch(client, f"/tryon/results/{junk}/")[0].status_code == 404
    # A result outside the results folder is never served.
    TryOnResult.objects.filter(pk=result.pk).update(image="tryon/persons/someone.jpg")
    assert fetch(client, url)[0].status_code == 404
    # A deleted file, or a deleted result, is 404, not 500.
    TryOnResult.objects.filter(pk=result.pk).update(image=result.image.name)
    tryon_storage().delete(result.image.name)
    assert fetch(client, url)[0].status_code == 404
    result.delete()
    assert fetch(client, url)[0].status_code == 404


def test_the_url_does_not_reveal_the_storage_name(result):
    url = links.result_url(result)
    value = url.split("/")[-2]
    decoded = signing.b64_decode(value.split(":")[0].encode())
    assert result.image.name.encode() not in decoded and b"results" not in decoded


class SigningStorage(FileSystemStorage):
    """Stands in for a storage that presigns its own URLs (S3's ``url(name, expire=)``)."""

    def url(self, name, expire=None):
        return f"https://cdn.example/{name}?expires-in={expire}"


def test_storage_that_signs_its_own_urls_is_used(result, settings):
    stores = {**settings.STORAGES, "signing": {"BACKEND": f"{__name__}.SigningStorage"}}
    with override_settings(STORAGES=stores, TRYON={**settings.TRYON, "STORAGE": "signing"}):
        assert links.result_url(result) == (
            f"https://cdn.example/{result.image.name}?expires-in=3600"
        )


@pytest.fixture
def s3(settings):
    """A moto S3 server on 127.0.0.1 as the try-on storage."""
    with pytest.MonkeyPatch.context() as mp:
        apply_safe_aws_env(mp)
        server = LocalS3().start()
        try:
            bucket = server.create_bucket(f"tryon-api-{uuid.uuid4().hex[:12]}")
            stores = {**settings.STORAGES, "tryon_s3": s3_test_storage(server.endpoint, bucket)}
            with override_settings(
                STORAGES=stores, TRYON={**settings.TRYON, "STORAGE": "tryon_s3"}
            ):
                reset_tryon_storage()
                yield server
        finally:
            reset_tryon_storage()
            server.stop()


@pytest.mark.integration
def test_on_s3_the_api_hands_out_presigned_urls(s3, alice, make_garment, sent):
    ident = alice.create(make_garment()).json()["id"]
    request = TryOnRequest.objects.get(pk=ident)
    name = tryon_storage().save(
        "tryon/results/2025/01/s3.png", ContentFile(imagegen.make_png(640, 800))
    )
    TryOnResult.objects.create(request=request, index=0, image=name, width=640, height=800)
    TryOnRequest.objects.filter(pk=ident).update(status=Status.SUCCEEDED)
    url = alice.get(f"requests/{ident}/").json()["results"][0]["url"]
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == s3.endpoint
    query = parse_qs(parts.query)
    assert query["X-Amz-Expires"] == ["3600"] and "X-Amz-Signature" in query
    with httpx.Client(trust_env=False) as http:
        assert http.get(url).content.startswith(b"\x89PNG")
        unsigned = url.split("?")[0]
        assert http.get(unsigned).status_code == 403
