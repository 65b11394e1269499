"""Bad input gets 400 with field-level messages, and creates nothing: no row, no file."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from django_tryon.models import TryOnRequest, UsageCounter
from kit import imagegen
from tests.api.conftest import photo

pytestmark = pytest.mark.django_db


def stored_person_photos() -> set[str]:
    folder = Path(settings.MEDIA_ROOT) / "tryon" / "persons"
    return {p.name for p in folder.glob("*")} if folder.exists() else set()


@pytest.fixture
def nothing_created():
    """Assert after the test that no request, counter or uploaded file appeared."""
    before = stored_person_photos()
    yield
    assert TryOnRequest.objects.count() == 0
    assert UsageCounter.objects.count() == 0
    assert stored_person_photos() == before


def refused(response, field, fragment=""):
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body, body
    assert all(isinstance(m, str) for m in body[field])
    assert fragment.lower() in " ".join(body[field]).lower(), body
    return body


@pytest.mark.parametrize(
    ("person", "fragment"),
    [
        (b"this is not an image at all", "not an image"),
        (imagegen.truncated_jpeg(), "damaged or incomplete"),
        (imagegen.make_png(600, 800)[:-40], "damaged or incomplete"),
        (imagegen.truncated_jpeg()[:20], ""),
        (imagegen.make_bomb(), "too many pixels"),
        (imagegen.make_jpeg(200, 250), "at least 300 pixels"),
        (imagegen.make_gif(400, 400), "GIF files are not accepted"),
        (imagegen.make_bmp(400, 400), "BMP files are not accepted"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, "damaged or incomplete"),
    ],
    ids=["not-image", "truncated-jpeg", "truncated-png", "garbage-header", "bomb",
         "too-small", "gif", "bmp", "broken-heic"],
)  # fmt: skip
def test_bad_photo(alice, garment, sent, nothing_created, person, fragment):
    refused(alice.create(garment, person=person), "person_image", fragment)


def test_empty_file(alice, garment, sent, nothing_created):
    response = alice.post(
        "requests/",
        {"garment": str(garment.pk), "consent": "true", "person_image": photo(b"", "e.jpg")},
    )
    refused(response, "person_image", "empty")


def test_photo_too_large_for_the_setting(alice, garment, sent, nothing_created, tryon_settings):
    tryon_settings(UPLOAD_MAX_BYTES=100 * 1024)
    big = imagegen.make_jpeg(1200, 1600, textured=True)
    assert len(big) > 100 * 1024
    refused(alice.create(garment, person=big), "person_image", "too large")


def test_oversized_multipart_is_refused_before_it_is_read(
    alice, garment, sent, nothing_created, tryon_settings, monkeypatch
):
    tryon_settings(UPLOAD_MAX_BYTES=64 * 1024)
    from rest_framework.request import Request

    def must_not_parse(self):
        raise AssertionError("the body of an oversized upload was parsed")

    monkeypatch.setattr(Request, "_parse", must_not_parse)
    upload = SimpleUploadedFile("big.jpg", b"\xff\xd8" + b"0" * (1024 * 1024))
    response = alice.post(
        "requests/", {"garment": str(garment.pk), "consent": "true", "person_image": upload}
    )
    body = refused(response, "person_image", "too large")
    assert body["person_image"] == ["This photo is too large (1 MB). The limit is 0.0625 MB."]


def test_django_upload_limits_are_400_not_500(alice, garment, sent, nothing_created, settings):
    # A huge non-file field trips DATA_UPLOAD_MAX_MEMORY_SIZE inside Django's parser.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = alice.post(
        "requests/", {"garment": str(garment.pk), "consent": "true", "note": "x" * 4096}
    )
    refused(response, "person_image", "too large")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    fields = {f"f{i}": "1" for i in range(10)}
    refused(alice.post("requests/", fields), "non_field_errors", "too many fields")


def test_garment_missing_unknown_or_inactive(alice, make_garment, sent, nothing_created):
    refused(alice.post("requests/", {"person_image": photo(), "consent": "true"}), "garment",
            "choose a garment")  # fmt: skip
    refused(alice.create("00000000-0000-0000-0000-000000000000"), "garment", "no garment")
    refused(alice.create("nope"), "garment", "valid uuid")
    refused(alice.create(make_garment(active=False)), "garment", "not available for try-on")


@pytest.mark.parametrize(("first", "second"), [("upper", "upper"), ("dress", "lower")])
def test_wrong_outfit_pair(alice, make_garment, sent, nothing_created, first, second):
    response = alice.create(make_garment(first), lower_garment=make_garment(second, name="2nd"))
    refused(response, "lower_garment")


def test_unknown_lower_garment(alice, garment, sent, nothing_created):
    refused(alice.create(garment, lower_garment="00000000-0000-0000-0000-000000000001"),
            "lower_garment", "no garment")  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"batch_size": 0}, "greater than or equal to 1"),
        ({"batch_size": 5}, "less than or equal to 4"),
        ({"batch_size": "two"}, "valid integer"),
        # (it said "between 1 and 1 for kling")
        ({"batch_size": 2}, "Kling makes one image per try-on: the batch size must be 1."),
        ({"batch_size": 2, "provider": "piapi"}, None),
    ],
)
def test_batch_size_out_of_range(alice, garment, sent, fields, fragment):
    response = alice.create(garment, **fields)
    if fragment is None:
        assert response.status_code == 202
        return
    refused(response, "batch_size", fragment)
    assert TryOnRequest.objects.count() == 0


def test_unknown_or_unconfigured_provider(alice, garment, sent, nothing_created, tryon_settings):
    refused(alice.create(garment, provider="acme"), "provider", "unknown provider 'acme'")
    tryon_settings(PUBLIC_BASE_URL=None)
    refused(alice.create(garment, provider="piapi"), "provider", "PUBLIC_BASE_URL")


@pytest.mark.parametrize("consent", [None, "false", "0"])
def test_consent_required_with_a_photo(alice, garment, sent, nothing_created, consent):
    data = {"garment": str(garment.pk), "person_image": photo()}
    if consent is not None:
        data["consent"] = consent
    refused(alice.post("requests/", data), "consent", "agree")


def test_photo_or_house_model_not_both_nor_neither(
    alice, garment, make_model_photo, sent, nothing_created, tryon_settings
):
    tryon_settings(HOUSE_MODELS_FOR_SHOPPERS=True)
    model = make_model_photo()
    model.offer_to_shoppers = True
    model.save()
    both = {"garment": str(garment.pk), "person_image": photo(), "consent": "true",
            "model_photo": str(model.pk)}  # fmt: skip
    refused(alice.post("requests/", both), "person_image", "either")
    refused(alice.create(garment, person=False), "person_image", "either")


def test_house_models_only_when_offered(
    alice, garment, make_model_photo, sent, nothing_created, tryon_settings
):
    tryon_settings(HOUSE_MODELS_FOR_SHOPPERS=False)
    model = make_model_photo()
    refused(alice.create(garment, model_photo=model), "model_photo", "not offered in this shop")
    tryon_settings(HOUSE_MODELS_FOR_SHOPPERS=True)
    refused(alice.create(garment, model_photo=model), "model_photo", "no house model")
    model.offer_to_shoppers, model.active = True, False
    model.save()
    refused(alice.create(garment, model_photo=model), "model_photo")


def test_all_problems_are_reported_at_once(alice, make_garment, sent, nothing_created):
    response = alice.create(
        make_garment(active=False), person=imagegen.make_jpeg(100, 100), provider="kling"
    )
    body = refused(response, "garment")
    assert "person_image" in body


def _progressive_jpeg() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (600, 800), (120, 80, 40)).save(buffer, "JPEG", progressive=True)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "person",
    [
        imagegen.make_jpeg(600, 800, exif_orientation=6, with_gps=True, with_icc=True,
                           comment=b"hi", with_xmp=True),
        imagegen.make_jpeg(600, 800, mode="CMYK"),
        _progressive_jpeg(),
        imagegen.make_mpo(640, 480),
        imagegen.make_person() + b"\x00" * 512,  # a trailer after the end marker
        imagegen.make_png(600, 800, alpha=True),
        imagegen.make_webp(600, 800),
    ],
    ids=["jpeg-metadata", "cmyk", "progressive", "mpo", "trailer", "png-alpha", "webp"],
)  # fmt: skip
def test_complete_photos_of_every_kind_are_accepted(alice, garment, sent, person):
    assert alice.create(garment, person=person).status_code == 202
