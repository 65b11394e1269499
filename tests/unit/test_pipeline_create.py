"""Creating a try-on (pipeline/create.py, validation.py): refusals before anything is
created, dedupe and Idempotency-Key, what is stored of the photo, queueing on commit."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from django_tryon import services
from django_tryon.callers import Caller
from django_tryon.errors import IdempotencyConflict, TryOnValidationError
from django_tryon.models import TryOnRequest, tryon_storage
from django_tryon.pipeline import transitions
from kit import imagegen
from tests.unit.helpers import create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("person", "field", "fragment"),
    [
        (b"this is not an image", "person_image", "image"),
        (imagegen.truncated_jpeg()[:20], "person_image", ""),
        (imagegen.make_jpeg(200, 200), "person_image", "300"),
        (imagegen.make_bomb(), "person_image", ""),
        (imagegen.make_gif(400, 400), "person_image", ""),
    ],
    ids=["not-image", "garbage-header", "too-small", "bomb", "gif"],
)
def test_bad_person_photo_creates_nothing(fake, make_garment, person, field, fragment):
    garment = make_garment()
    with pytest.raises(TryOnValidationError) as info:
        create(garment, person)
    assert field in info.value.errors
    assert fragment in " ".join(info.value.errors[field])
    assert TryOnRequest.objects.count() == 0
    assert fake.calls == []


def test_forty_megabyte_upload_refused_before_decoding(fake, make_garment, monkeypatch):
    from django_tryon import images

    def must_not_run(*a, **k):
        raise AssertionError("decoded an oversized upload")

    monkeypatch.setattr(images, "inspect_image", must_not_run)
    upload = SimpleUploadedFile("big.jpg", b"\xff\xd8" + b"0" * (40 * 1024 * 1024))
    with pytest.raises(TryOnValidationError) as info:
        create(make_garment(), upload)
    assert "too large" in info.value.errors["person_image"][0]
    assert TryOnRequest.objects.count() == 0


def test_an_upload_spooled_to_disk_is_stored_as_its_re_encoding(fake, make_garment, sent):
    from django.core.files.uploadedfile import TemporaryUploadedFile

    data = imagegen.make_jpeg(900, 1200, textured=True, with_gps=True)
    upload = TemporaryUploadedFile("photo.jpg", "image/jpeg", len(data), None)
    upload.write(data)
    upload.seek(0)
    request, created = create(make_garment(), upload)
    assert created
    with tryon_storage().open(request.person_image.name, "rb") as fh:
        stored = fh.read()
    assert stored != data and not Image.open(io.BytesIO(stored)).getexif()
    upload.close()


def test_an_upload_held_in_memory_is_stored_as_its_re_encoding(fake, make_garment, sent):
    data = imagegen.make_jpeg(900, 1200, textured=True, with_gps=True)
    request, _ = create(make_garment(), SimpleUploadedFile("photo.jpg", data, "image/jpeg"))
    with tryon_storage().open(request.person_image.name, "rb") as fh:
        stored = fh.read()
    assert stored != data and Image.open(io.BytesIO(stored)).size == (900, 1200)
    assert not Image.open(io.BytesIO(stored)).getexif()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("upper", "upper"),
        ("lower", "lower"),
        ("dress", "upper"),
        ("upper", "dress"),
        ("dress", "dress"),
    ],
)
def test_invalid_outfit_pairs_refused(fake, make_garment, first, second):
    with pytest.raises(TryOnValidationError) as info:
        create(make_garment(first), lower_garment=make_garment(second, name="second"))
    assert "lower_garment" in info.value.errors
    assert TryOnRequest.objects.count() == 0


def test_upper_plus_lower_outfit_accepted(fake, make_garment, sent):
    request, created = create(
        make_garment("upper"), lower_garment=make_garment("lower", name="jeans")
    )
    assert created and request.outfit


def test_unknown_provider_and_inactive_garment_and_batch_size(fake, make_garment):
    with pytest.raises(TryOnValidationError) as info:
        create(make_garment(active=False), provider="nope", batch_size=9)
    assert "Unknown provider 'nope'" in info.value.errors["provider"][0]
    assert "not available" in info.value.errors["garment"][0]
    with pytest.raises(TryOnValidationError) as info:
        create(make_garment(), batch_size=9)
    assert "between 1 and 4" in info.value.errors["batch_size"][0]
    assert TryOnRequest.objects.count() == 0


def test_person_and_model_photo_are_exclusive(fake, make_garment, make_model_photo):
    with pytest.raises(TryOnValidationError):
        services.create_tryon(
            garment=make_garment(),
            person_image=imagegen.make_person(),
            model_photo=make_model_photo(),
            provider="fake",
            caller=Caller(source="api", consented=True),
        )
    with pytest.raises(TryOnValidationError):
        services.create_tryon(
            garment=make_garment(), provider="fake", caller=Caller(source="api", consented=True)
        )


def test_provider_fetching_by_url_needs_public_base_url(settings, make_garment):
    settings.TRYON = {**settings.TRYON, "PUBLIC_BASE_URL": None}
    with pytest.raises(TryOnValidationError) as info:
        create(make_garment(), provider="piapi")
    assert "PUBLIC_BASE_URL" in info.value.errors["provider"][0]


def test_create_enqueues_submit_only_after_commit(
    fake, make_garment, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        request, created = create(make_garment())
        assert sent == []  # nothing is sent inside the transaction
    # The submit, and the status version for cheap polls (django_tryon.polling).
    assert created and len(callbacks) == 2
    assert sent == [("django_tryon.submit", str(request.pk))]


def test_identical_inputs_from_same_owner_return_the_same_request(fake, make_garment, sent):
    garment, person = make_garment(), imagegen.make_person()
    first, created = create(garment, person, owner_key="session:a")
    second, created_again = create(garment, person, owner_key="session:a")
    other, created_other = create(garment, person, owner_key="session:b")
    assert created and not created_again and created_other
    assert second.pk == first.pk and other.pk != first.pk


def test_failed_request_is_not_a_dedupe_target(fake, make_garment, sent):
    garment, person = make_garment(), imagegen.make_person()
    first, _ = create(garment, person)
    transitions.fail(first, code="x")
    second, created = create(garment, person)
    assert created and second.pk != first.pk


def test_idempotency_key_returns_existing_request(fake, make_garment, sent):
    garment = make_garment()
    first, _ = create(garment, owner_key="user:1", idempotency_key="k1")
    again, created = create(garment, owner_key="user:1", idempotency_key="k1")
    assert not created and again.pk == first.pk
    with pytest.raises(IdempotencyConflict):
        create(garment, imagegen.make_person(width=800), owner_key="user:1", idempotency_key="k1")
    assert TryOnRequest.objects.count() == 1


def test_no_byte_of_an_uploads_metadata_reaches_storage(fake, make_garment, sent, monkeypatch):
    """SAFETY rule 13: the upload used to be stored as it came (GPS and all) until a worker
    re-encoded it; a try-on cancelled or stuck in the queue kept it for a day."""
    storage = tryon_storage()
    written = []
    backend = storage.__class__  # the lazy storage's real class
    real_save = backend._save

    def recording_save(self, name, content):
        written.append(content.read())
        content.seek(0)
        return real_save(self, name, content)

    monkeypatch.setattr(backend, "_save", recording_save)
    raw = imagegen.make_jpeg(1200, 1600, with_gps=True, exif_orientation=6, with_xmp=True)
    request, _ = create(make_garment(), raw)
    assert written
    for data in written:
        with Image.open(io.BytesIO(data)) as im:
            exif = im.getexif()
            assert set(exif) <= {0x0112} and not exif.get_ifd(0x8825)  # orientation only
            assert "xmp" not in im.info and b"TestCam" not in data
    stored = request.person_image.name
    services.submit(request.pk)
    request.refresh_from_db()
    # The worker re-encodes it from pixels before it is sent: upright, no EXIF at all.
    assert request.person_prepared and request.person_image.name != stored
    assert not tryon_storage().exists(stored)
    with storage.open(request.person_image.name) as fh:
        im = Image.open(io.BytesIO(fh.read()))
        assert not im.getexif()
        assert im.height < im.width  # orientation 6 applied: stored 1200x1600 shows landscape
    job = fake.calls_of("submit")[0][1]
    assert Image.open(io.BytesIO(job.person.data)).format == "JPEG"


def test_a_format_that_cannot_be_stripped_is_re_encoded_before_it_is_stored(
    fake, make_garment, sent
):
    request, _ = create(make_garment(), imagegen.make_webp(900, 1200))
    assert request.person_prepared
    with tryon_storage().open(request.person_image.name) as fh:
        assert Image.open(io.BytesIO(fh.read())).format == "JPEG"


@pytest.mark.parametrize("source", ["api", "widget"])
def test_a_shoppers_photo_without_consent_is_refused_by_the_pipeline(
    fake, make_garment, settings, source
):
    """Consent is the pipeline's rule, not one entry point's: a shopper's photo from any
    shopper entry point without the caller's consent creates nothing."""
    settings.TRYON = {**settings.TRYON, "CONSENT_VERSION": "2026-12"}
    garment = make_garment()
    shopper = Caller(source=source, owner_key="session:x")
    with pytest.raises(TryOnValidationError) as info:
        services.create_tryon(garment=garment, person_image=imagegen.make_person(), caller=shopper)
    assert list(info.value.errors) == ["consent"]
    assert TryOnRequest.objects.count() == 0

    agreed = Caller(source=source, owner_key="session:x", consented=True)
    tryon, _ = services.create_tryon(
        garment=garment, person_image=imagegen.make_person(), caller=agreed, provider="fake"
    )
    assert tryon.consent_version == "2026-12" and tryon.consent_at is not None


def test_a_merchandiser_and_a_house_model_need_no_consent(fake, make_garment):
    garment = make_garment()
    tryon, _ = services.create_tryon(
        garment=garment,
        person_image=imagegen.make_person(),
        caller=Caller.for_admin(None),
        provider="fake",
    )
    assert tryon.consent_version == "" and tryon.consent_at is None
