"""Every file the app stores has an owner row and dies with it (django_tryon/files.py)."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from django_tryon import files, images, links, services
from django_tryon.callers import Caller
from django_tryon.models import Garment, ModelPhoto, TryOnRequest, TryOnResult, tryon_storage
from django_tryon.pipeline import transitions
from django_tryon.status import Status
from kit import imagegen
from tests.unit.helpers import create

LATER = timedelta(days=400)  # past every retention and the sweep's grace


@pytest.fixture(autouse=True)
def own_media(settings, tmp_path):
    """A storage of this test's own, so listing it sees only what this test made."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def stored() -> set[str]:
    return {
        name for folder in files.SWEPT_FOLDERS for name in files._listed(tryon_storage(), folder)
    }


def owned_by_rows() -> set[str]:
    """What the rows name, worked out here from the rows alone (not by files.py)."""
    names = set()
    for garment in Garment.objects.all():
        names |= {garment.image.name, f"tryon/prepared/garment-{garment.image_digest}.jpg"}
    for photo in ModelPhoto.objects.all():
        names |= {photo.image.name, f"tryon/prepared/model-{photo.image_digest}.jpg"}
    names |= set(
        TryOnRequest.objects.exclude(person_image="").values_list("person_image", flat=True)
    )
    names |= set(TryOnResult.objects.values_list("image", flat=True))
    return names


def finish(fake, request):
    services.submit(request.pk)
    request.refresh_from_db()
    fake.finish(request.provider_task_id, ["https://fake.example/a.png"])
    services.refresh(request.pk)
    request.refresh_from_db()
    assert request.status == Status.SUCCEEDED
    return request


def replace_image(obj, data: bytes) -> None:
    """What shop code does: assign a new file and save, leaving the digest alone."""
    obj.image.save("new.png", ContentFile(data), save=True)


def test_after_purge_and_erasure_every_stored_file_has_an_owner_row(
    fake,
    make_garment,
    make_model_photo,
    sent,
    downloads,
    django_capture_on_commit_callbacks,
):
    """Prepared copies, replaced images and deleted rows' files used to stay for ever."""
    top, jeans = make_garment("upper"), make_garment("lower", name="Jeans")
    house = make_model_photo()
    kept = finish(fake, create(top, owner_key="session:kept")[0])
    finish(fake, create(top, lower_garment=jeans, owner_key="session:gone")[0])
    catalogue, _ = services.create_tryon(
        garment=jeans, model_photo=house, provider="fake", caller=Caller(source="admin")
    )
    finish(fake, catalogue)
    unused = make_model_photo(name="Never used")
    assert any(name.startswith("tryon/prepared/outfit-") for name in stored())

    replace_image(top, imagegen.make_garment("dress"))  # the shop changes a product photo
    with django_capture_on_commit_callbacks(execute=True):
        unused.delete()
        services.erase_shopper("session:gone")
        TryOnResult.objects.filter(request=kept).delete()  # staff delete a result
    services.purge(now=timezone.now() + LATER)

    leftovers = stored() - owned_by_rows()
    assert leftovers == set()
    assert kept.garment.image.name in stored()  # what rows own is still there


def test_shop_code_that_assigns_a_new_image_sends_the_new_garment(
    fake,
    make_garment,
    sent,
):
    """The old digest stayed on the row, so the old garment's prepared copy was sent."""
    garment = make_garment("upper")
    first = create(garment)[0]
    services.submit(first.pk)
    old_digest = Garment.objects.get(pk=garment.pk).image_digest
    garment = Garment.objects.get(pk=garment.pk)
    dress = imagegen.make_garment("dress")
    replace_image(garment, dress)
    assert Garment.objects.get(pk=garment.pk).image_digest != old_digest
    second = create(Garment.objects.get(pk=garment.pk), imagegen.make_jpeg(700, 900))[0]
    services.submit(second.pk)
    sent_garment = fake.calls_of("submit")[-1][1].garment.data
    expected = images.prepare_for_provider(dress).data
    assert sent_garment == expected


def test_a_young_unowned_file_is_not_swept(make_garment):
    """A file saved a moment ago may belong to a row about to be committed."""
    name = tryon_storage().save("tryon/persons/in-flight.jpg", ContentFile(b"x"))
    assert files.sweep(now=timezone.now()) == 0
    assert tryon_storage().exists(name)
    assert files.sweep(now=timezone.now() + LATER) == 1


def test_an_old_prepared_copy_is_kept_while_a_try_on_sent_before_the_change_may_fetch_it(
    fake,
    make_garment,
    sent,
):
    fake.needs_input_urls = True
    garment = make_garment("upper")
    request = create(garment)[0]
    services.submit(request.pk)
    old = files.prepared_name("garment", Garment.objects.get(pk=garment.pk).image_digest)
    age = time.time() - 7200  # the copy itself is old: only the in-flight try-on keeps it
    os.utime(tryon_storage().path(old), (age, age))
    replace_image(Garment.objects.get(pk=garment.pk), imagegen.make_garment("dress"))
    files.sweep(now=timezone.now())
    assert tryon_storage().exists(old)  # PiAPI may not have fetched it yet
    transitions.fail(TryOnRequest.objects.get(pk=request.pk), code="x")
    files.sweep(now=timezone.now())
    assert not tryon_storage().exists(old)


def test_the_terminal_command_stores_garments_without_their_metadata(tmp_path, db):
    """It stored the file's bytes as they came, camera and GPS included."""
    from django_tryon.management.commands.tryon import Command

    path = tmp_path / "shirt.jpg"
    path.write_bytes(imagegen.make_jpeg(600, 800, with_gps=True))
    garment = Command()._garment(str(path), "upper", "--garment")
    with garment.image.open("rb") as fh:
        assert not Image.open(io.BytesIO(fh.read())).getexif()
    assert Command()._garment(str(path), "upper", "--garment").pk == garment.pk  # reused


# -- links that really expire --------------------------------------------------------------


S3_OPTIONS = {
    "bucket_name": "shop",
    "access_key": "testing",
    "secret_key": "testing",
    "region_name": "us-east-1",
    "endpoint_url": "http://127.0.0.1:9",  # never contacted: signing is local
}


@pytest.mark.parametrize(
    ("options", "signs"),
    [
        ({"querystring_auth": True}, True),
        ({"querystring_auth": True, "custom_domain": "cdn.shop.example"}, False),
        ({"querystring_auth": False}, False),
    ],
)
def test_only_a_storage_that_really_signs_is_trusted_with_result_links(
    options, signs, monkeypatch, settings, db
):
    """result_url trusted any storage whose url() took expire=: S3 with a custom domain
    and no CloudFront signer, or without querystring auth, gave permanent public links."""
    from storages.backends.s3 import S3Storage

    from django_tryon import checks
    from django_tryon.models import _storage

    storage = S3Storage(**S3_OPTIONS, **options)
    assert files.storage_signs_urls(storage) is signs
    monkeypatch.setattr(_storage, "_wrapped", storage)
    result = TryOnResult(pk=1, image="tryon/results/2026/12/x.jpg")
    url = links.result_url(result)
    if signs:
        assert "Signature=" in url and "Expires=" in url
    else:
        assert url.startswith("/") and "cdn.shop.example" not in url  # the app's own view
    backend = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {**S3_OPTIONS, **options}}
    settings.STORAGES = {**settings.STORAGES, "s3": backend}
    settings.TRYON = {**settings.TRYON, "STORAGE": "s3"}
    ids = [m.id for m in checks.check_tryon_settings()]
    assert ("django_tryon.W008" in ids) is not signs


def test_a_filesystem_storage_gets_the_apps_expiring_links_without_a_warning(settings, db):
    from django_tryon import checks

    assert not files.storage_signs_urls(tryon_storage())
    assert "django_tryon.W008" not in [m.id for m in checks.check_tryon_settings()]
