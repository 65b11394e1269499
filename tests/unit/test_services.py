"""The services layer against a scripted provider: state, money and files."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from django_tryon import services
from django_tryon.models import TryOnRequest, TryOnResult, tryon_storage
from django_tryon.pipeline import results as results_module
from django_tryon.providers import get_provider
from django_tryon.providers.base import ContentRefused, RateLimited, TaskState
from django_tryon.signals import tryon_failed, tryon_submitted, tryon_succeeded
from django_tryon.status import Status
from tests import imagegen
from tests.unit.helpers import create, submitted

pytestmark = pytest.mark.django_db


# -- create: validation -------------------------------------------------------------------


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
    with pytest.raises(services.TryOnValidationError) as info:
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
    with pytest.raises(services.TryOnValidationError) as info:
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
    with pytest.raises(services.TryOnValidationError) as info:
        create(make_garment(first), lower_garment=make_garment(second, name="second"))
    assert "lower_garment" in info.value.errors
    assert TryOnRequest.objects.count() == 0


def test_upper_plus_lower_outfit_accepted(fake, make_garment, sent):
    request, created = create(
        make_garment("upper"), lower_garment=make_garment("lower", name="jeans")
    )
    assert created and request.outfit


def test_unknown_provider_and_inactive_garment_and_batch_size(fake, make_garment):
    with pytest.raises(services.TryOnValidationError) as info:
        create(make_garment(active=False), provider="nope", batch_size=9)
    assert "Unknown provider 'nope'" in info.value.errors["provider"][0]
    assert "not available" in info.value.errors["garment"][0]
    with pytest.raises(services.TryOnValidationError) as info:
        create(make_garment(), batch_size=9)
    assert "between 1 and 4" in info.value.errors["batch_size"][0]
    assert TryOnRequest.objects.count() == 0


def test_person_and_model_photo_are_exclusive(fake, make_garment, make_model_photo):
    with pytest.raises(services.TryOnValidationError):
        services.create_tryon(
            garment=make_garment(),
            person_image=imagegen.make_person(),
            model_photo=make_model_photo(),
            provider="fake",
        )
    with pytest.raises(services.TryOnValidationError):
        services.create_tryon(garment=make_garment(), provider="fake")


def test_provider_fetching_by_url_needs_public_base_url(settings, make_garment):
    settings.TRYON = {**settings.TRYON, "PUBLIC_BASE_URL": None}
    with pytest.raises(services.TryOnValidationError) as info:
        create(make_garment(), provider="piapi")
    assert "PUBLIC_BASE_URL" in info.value.errors["provider"][0]


# -- create: dedupe, idempotency, enqueue ------------------------------------------------


def test_create_enqueues_submit_only_after_commit(
    fake, make_garment, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        request, created = create(make_garment())
        assert sent == []  # nothing is sent inside the transaction
    assert created and len(callbacks) == 1
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
    services.fail(first, code="x", message="no")
    second, created = create(garment, person)
    assert created and second.pk != first.pk


def test_idempotency_key_returns_existing_request(fake, make_garment, sent):
    garment = make_garment()
    first, _ = create(garment, owner_key="user:1", idempotency_key="k1")
    again, created = create(garment, owner_key="user:1", idempotency_key="k1")
    assert not created and again.pk == first.pk
    with pytest.raises(services.IdempotencyConflict):
        create(garment, imagegen.make_person(width=800), owner_key="user:1", idempotency_key="k1")
    assert TryOnRequest.objects.count() == 1


# -- submit ------------------------------------------------------------------------------


def test_submit_moves_to_submitted_and_records_task(
    fake, make_garment, sent, django_capture_on_commit_callbacks
):
    request, _ = create(make_garment())
    received = []
    tryon_submitted.connect(
        lambda sender, request, **kw: received.append(request.pk), weak=False, dispatch_uid="t1"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.submit(request.pk)
    finally:
        tryon_submitted.disconnect(dispatch_uid="t1")
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED
    assert request.provider_task_id
    assert request.attempts == 1
    assert request.callback_token_hash and request.callback_salt
    assert str(request.cost) == "0.0700" and request.cost_currency == "USD"
    assert len(fake.calls_of("submit")) == 1
    job = fake.calls_of("submit")[0][1]
    assert job.request_id == str(request.pk)
    assert job.callback_url.endswith("/") and "/tryon/callbacks/fake/" in job.callback_url
    assert received == [request.pk]


def test_submit_twice_calls_the_provider_once(fake, make_garment, sent):
    request, _ = create(make_garment())
    services.submit(request.pk)
    services.submit(request.pk)
    assert len(fake.calls_of("submit")) == 1


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


def test_a_photo_stored_as_uploaded_by_an_older_version_is_normalised_before_submit(
    fake, make_garment, sent
):
    request, _ = create(make_garment())
    legacy = ContentFile(imagegen.make_jpeg(900, 1200, with_gps=True))
    raw = tryon_storage().save("tryon/persons/legacy.jpg", legacy)
    TryOnRequest.objects.filter(pk=request.pk).update(person_image=raw, person_prepared=False)
    services.submit(request.pk)
    request.refresh_from_db()
    assert request.person_prepared and request.person_image.name != raw
    assert not tryon_storage().exists(raw)


def busy():
    return RateLimited("1303", provider="fake", http_status=429, code=1303)


def test_busy_provider_makes_the_request_wait_for_a_slot(
    fake, make_garment, sent, django_capture_on_commit_callbacks
):
    request, _ = create(make_garment())
    fake.submit_effects = [busy()]
    services.submit(request.pk)  # no exception, no retry timer: it waits
    request.refresh_from_db()
    assert request.status == Status.PENDING and request.error_code == "rate_limited"
    assert request.next_check_at > timezone.now()  # when the reaper may probe it
    assert sent == []

    # A freed slot wakes it, exactly once.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.wake_waiting("fake") == str(request.pk)
        assert services.wake_waiting("fake") is None
    assert sent == [("django_tryon.submit", str(request.pk))]
    services.submit(request.pk)
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED
    # The refusal proved nothing was created: no lookup before the second create.
    assert [c[0] for c in fake.calls] == ["submit", "submit"]
    assert len(fake.tasks) == 1


def test_new_requests_queue_behind_waiting_ones_without_calling(fake, make_garment, sent):
    garment = make_garment()
    first, _ = create(garment, owner_key="a")
    fake.submit_effects = [busy()]
    services.submit(first.pk)
    second, _ = create(garment, owner_key="b")
    services.submit(second.pk)
    second.refresh_from_db()
    assert second.status == Status.PENDING and second.error_code == "rate_limited"
    assert second.next_check_at is not None
    assert len(fake.calls_of("submit")) == 1  # only the first one asked the provider
    # First come, first served; a woken request goes to the provider even with others
    # still waiting.
    assert services.wake_waiting("fake") == str(first.pk)
    assert services.wake_waiting("fake") == str(second.pk)
    services.submit(second.pk)
    second.refresh_from_db()
    assert second.status == Status.SUBMITTED


def test_refused_more_than_max_retries_fails_and_gives_the_quota_back(
    fake, make_garment, sent, settings
):
    settings.TRYON = {**settings.TRYON, "MAX_RETRIES": 1}
    fake = get_provider("fake")  # changed settings made a fresh adapter
    request, _ = create(make_garment())
    fake.submit_effects = [busy(), busy()]
    services.submit(request.pk)
    services.wake_waiting("fake")
    services.submit(request.pk)
    request.refresh_from_db()
    assert request.status == Status.FAILED and request.error_code == "rate_limited"
    assert "busy" in request.error_message


@pytest.mark.parametrize("outcome", ["succeeded", "failed"])
def test_a_task_that_ends_hands_its_slot_to_the_oldest_waiting_request(
    fake, make_garment, sent, downloads, outcome, django_capture_on_commit_callbacks
):
    garment = make_garment()
    running = submitted(fake, make_garment, person=imagegen.make_person(width=700))
    waiting = []
    for i in range(2):
        request, _ = create(garment, owner_key=f"w{i}")
        fake.submit_effects = [busy()]
        services.submit(request.pk)
        waiting.append(request)
    sent.clear()
    if outcome == "succeeded":
        fake.finish(running.provider_task_id, ["https://fake.example/r/0.png"])
    else:
        fake.fail_task(running.provider_task_id, "generation failed")
    with django_capture_on_commit_callbacks(execute=True):
        services.refresh(running.pk)
    running.refresh_from_db()
    assert running.status == outcome
    assert sent == [("django_tryon.submit", str(waiting[0].pk))]  # one slot, one wake
    waiting[1].refresh_from_db()
    assert waiting[1].next_check_at is not None  # still waiting


def test_reaper_probes_one_due_waiting_request_per_run_and_never_requeues_it(
    fake, make_garment, sent, django_capture_on_commit_callbacks
):
    garment = make_garment()
    requests = []
    for i in range(3):
        request, _ = create(garment, owner_key=f"p{i}")
        fake.submit_effects = [busy()]
        services.submit(request.pk)
        requests.append(request)
    old = timezone.now() - timedelta(minutes=10)
    TryOnRequest.objects.filter(pk__in=[r.pk for r in requests[:2]]).update(
        updated_at=old, next_check_at=old
    )
    # Not due yet: its backoff has not passed, so it is neither probed nor requeued.
    TryOnRequest.objects.filter(pk=requests[2].pk).update(updated_at=old)
    sent.clear()

    assert services.reap(enqueue=False).woken == []  # a dry run changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        report = services.reap()
        assert report.woken == [str(requests[0].pk)] and report.requeued == []
        assert services.reap().woken == [str(requests[1].pk)]
        assert services.reap().woken == []
    assert sent == [("django_tryon.submit", str(r.pk)) for r in requests[:2]]


def test_content_refusal_fails_with_readable_message(
    fake, make_garment, sent, django_capture_on_commit_callbacks
):
    request, _ = create(make_garment())
    failed = []
    tryon_failed.connect(
        lambda sender, request, **kw: failed.append(request.error_code),
        weak=False,
        dispatch_uid="f1",
    )
    try:
        fake.submit_effects = [
            ContentRefused("risk control", provider="fake", http_status=400, code=1301)
        ]
        with django_capture_on_commit_callbacks(execute=True):
            services.submit(request.pk)
    finally:
        tryon_failed.disconnect(dispatch_uid="f1")
    request.refresh_from_db()
    assert request.status == Status.FAILED
    assert request.error_code == "content_refused"
    assert "content policy" in request.error_message
    assert failed == ["content_refused"]


def test_unreadable_stored_image_fails_without_provider_call(fake, make_garment, sent):
    garment = make_garment()
    with tryon_storage().open(garment.image.name, "wb") as fh:
        fh.write(imagegen.truncated_jpeg())
    request, _ = create(garment)
    services.submit(request.pk)
    request.refresh_from_db()
    assert request.status == Status.FAILED and request.error_code == "truncated"
    assert fake.calls_of("submit") == []


def test_worker_death_after_create_is_adopted_not_recreated(fake, make_garment, sent):
    """A task created at the provider whose answer we never saved is found by our id."""
    request, _ = create(make_garment())
    services.submit(request.pk)
    task_id = fake.calls and fake.by_external[str(request.pk)]
    # Simulate the crash: the provider has the task, our row is stuck in submitting.
    TryOnRequest.objects.filter(pk=request.pk).update(
        status=Status.SUBMITTING,
        provider_task_id="",
        updated_at=timezone.now() - timedelta(hours=1),
    )
    report = services.reap(enqueue=False)
    request.refresh_from_db()
    assert report.resolved == [str(request.pk)]
    assert request.status == Status.SUBMITTED and request.provider_task_id == task_id
    assert len(fake.calls_of("submit")) == 1


def test_stuck_submission_without_find_fails_instead_of_paying_twice(
    settings, fake, make_garment, sent
):
    settings.TRYON = {
        **settings.TRYON,
        "PROVIDERS": {**settings.TRYON["PROVIDERS"], "fake": {"FIND": False}},
    }
    request, _ = create(make_garment())
    TryOnRequest.objects.filter(pk=request.pk).update(
        status=Status.SUBMITTING, updated_at=timezone.now() - timedelta(hours=1)
    )
    services.reap(enqueue=False)
    request.refresh_from_db()
    assert request.status == Status.FAILED and request.error_code == "submit_unknown"
    assert get_provider("fake").calls_of("submit") == []


# -- refresh and persist -----------------------------------------------------------------


def test_success_stores_results_once_and_signals_once(
    fake, make_garment, sent, downloads, django_capture_on_commit_callbacks
):
    request = submitted(fake, make_garment, batch_size=2)
    fake.finish(
        request.provider_task_id,
        ["https://fake.example/a.png", "https://fake.example/b.png"],
        cost="2",
    )
    got = []
    tryon_succeeded.connect(
        lambda sender, request, results, **kw: got.append([r.index for r in results]),
        weak=False,
        dispatch_uid="s1",
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.refresh(request.pk)
            services.refresh(request.pk)  # a duplicate callback
    finally:
        tryon_succeeded.disconnect(dispatch_uid="s1")
    request.refresh_from_db()
    assert request.status == Status.SUCCEEDED and request.completed_at
    assert str(request.cost) == "2.0000" and request.cost_currency == "units"
    results = list(request.results.order_by("index"))
    assert [(r.index, r.width, r.height) for r in results] == [(0, 640, 800), (1, 640, 800)]
    assert all(tryon_storage().exists(r.image.name) for r in results)
    assert downloads == ["https://fake.example/a.png", "https://fake.example/b.png"]
    assert got == [[0, 1]]


def test_running_then_failed(fake, make_garment, sent):
    request = submitted(fake, make_garment)
    fake.tasks[request.provider_task_id].state = TaskState.RUNNING
    services.refresh(request.pk)
    request.refresh_from_db()
    assert request.status == Status.PROCESSING
    fake.fail_task(request.provider_task_id, "Image pixel is invalid")
    services.refresh(request.pk)
    request.refresh_from_db()
    assert request.status == Status.FAILED and request.error_detail == "Image pixel is invalid"
    assert "could not create" in request.error_message


def test_late_events_never_move_backwards(fake, make_garment, sent, downloads):
    request = submitted(fake, make_garment)
    fake.finish(request.provider_task_id, ["https://fake.example/a.png"])
    services.refresh(request.pk)
    # Now the provider (or a stale cache) says "running" and then "failed": nothing changes.
    fake.tasks[request.provider_task_id].state = TaskState.RUNNING
    services.refresh(request.pk)
    fake.fail_task(request.provider_task_id, "late")
    services.refresh(request.pk)
    request.refresh_from_db()
    assert request.status == Status.SUCCEEDED and request.results.count() == 1


def test_non_retryable_download_failure_fails_request(fake, make_garment, sent, monkeypatch):
    from django_tryon.fetch import DownloadError

    def gone(url, **kwargs):
        raise DownloadError("HTTP 404", retryable=False)

    monkeypatch.setattr(results_module, "download", gone)
    request = submitted(fake, make_garment)
    fake.finish(request.provider_task_id, ["https://fake.example/a.png"])
    services.refresh(request.pk)
    request.refresh_from_db()
    assert request.status == Status.FAILED and request.error_code == "result_unavailable"


def test_retryable_download_failure_releases_the_lease(fake, make_garment, sent, monkeypatch):
    from django_tryon.fetch import DownloadError

    def flaky(url, **kwargs):
        raise DownloadError("timeout", retryable=True)

    monkeypatch.setattr(results_module, "download", flaky)
    request = submitted(fake, make_garment)
    fake.finish(request.provider_task_id, ["https://fake.example/a.png"])
    with pytest.raises(DownloadError):
        services.refresh(request.pk)
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED and request.persist_claimed_at is None


# -- reaper, cancel, retry, purge --------------------------------------------------------


def test_reaper_requeues_pending_polls_due_and_fails_past_deadline(fake, make_garment, sent):
    old = timezone.now() - timedelta(minutes=10)
    lost, _ = create(make_garment(name="lost"))
    TryOnRequest.objects.filter(pk=lost.pk).update(updated_at=old)
    polled = submitted(fake, make_garment, person=imagegen.make_person(width=700))
    TryOnRequest.objects.filter(pk=polled.pk).update(next_check_at=old)
    expired, _ = create(make_garment(name="expired"), imagegen.make_person(width=720))
    TryOnRequest.objects.filter(pk=expired.pk).update(created_at=timezone.now() - timedelta(days=1))

    report = services.reap(enqueue=False)
    assert str(lost.pk) in report.requeued
    assert report.refreshed == [str(polled.pk)]
    assert report.expired == [str(expired.pk)]
    expired.refresh_from_db()
    assert expired.status == Status.FAILED and expired.error_code == "deadline"
    # The poll was claimed: a second reaper right after does not poll it again.
    assert services.reap(enqueue=False).refreshed == []


def test_cancel_pending_and_refuse_cancel_of_finished(fake, make_garment, sent):
    request, _ = create(make_garment())
    assert services.cancel(request)
    request.refresh_from_db()
    assert request.status == Status.CANCELLED
    assert not services.cancel(request)


def test_retry_makes_a_new_request_with_same_inputs(fake, make_garment, sent):
    request, _ = create(make_garment())
    services.fail(request, code="x", message="no")
    clone = services.retry(request)
    assert clone.pk != request.pk and clone.retry_of_id == request.pk
    assert clone.status == Status.PENDING and clone.person_image.name == request.person_image.name
    with pytest.raises(services.TryOnValidationError):
        services.retry(clone)


def test_purge_deletes_person_photos_and_old_results(fake, make_garment, sent, downloads):
    request = submitted(fake, make_garment)
    fake.finish(request.provider_task_id, ["https://fake.example/a.png"])
    services.refresh(request.pk)
    request.refresh_from_db()
    photo = request.person_image.name
    result = request.results.get()
    assert tryon_storage().exists(photo)

    assert services.purge().person_photos == 0  # still within retention
    later = timezone.now() + timedelta(days=60)
    report = services.purge(now=later)
    request.refresh_from_db()
    assert report.person_photos == 1 and report.results == 1
    assert request.person_image.name == "" and request.person_purged_at
    assert not tryon_storage().exists(photo)
    assert not tryon_storage().exists(result.image.name)
    assert not TryOnResult.objects.filter(pk=result.pk).exists()


def test_erase_shopper_removes_rows_and_files(
    fake, make_garment, sent, django_capture_on_commit_callbacks
):
    request, _ = create(make_garment(), owner_key="session:zz")
    name = request.person_image.name
    with django_capture_on_commit_callbacks(execute=True):
        assert services.erase_shopper("session:zz") == 1
    assert not TryOnRequest.objects.exists()
    assert not tryon_storage().exists(name)


def test_callback_token_is_derived_and_only_its_hash_stored(fake, make_garment, sent):
    request = submitted(fake, make_garment)
    token = services.callback_token(request)
    assert token not in str(TryOnRequest.objects.filter(pk=request.pk).values().get())
    assert services.request_for_callback_token(token).pk == request.pk
    assert services.request_for_callback_token(token + "x") is None


def test_signed_input_url_round_trip_and_expiry(settings, fake, make_garment, sent):
    request = submitted(fake, make_garment)
    url = services.signed_input_url("tryon/prepared/x.jpg", request.pk)
    signed = url.rstrip("/").rsplit("/", 1)[-1]
    assert services.storage_name_from_signed(signed) == "tryon/prepared/x.jpg"
    assert services.storage_name_from_signed(signed[:-2] + "zz") is None
    settings.TRYON = {**settings.TRYON, "INPUT_URL_MAX_AGE_SECONDS": 1}
    import time

    time.sleep(2.1)
    assert services.storage_name_from_signed(signed) is None


def test_duplicate_id_refusal_adopts_the_existing_task(fake, make_garment, sent):
    from django_tryon.providers.base import InvalidInput

    request, _ = create(make_garment())
    # The provider already holds a task under our id (an earlier attempt got there) ...
    fake.by_external[str(request.pk)] = "77"
    from django_tryon.providers.base import ProviderTask

    fake.tasks["77"] = ProviderTask("fake", "77", TaskState.QUEUED, "queued")
    # ... and refuses a second create with the same external id.
    fake.submit_effects = [InvalidInput("external_task_id exists", provider="fake", code=1201)]
    services.submit(request.pk)
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED and request.provider_task_id == "77"


def test_lost_create_answer_adopts_the_task_a_verified_callback_names(
    settings, fake, make_garment, sent
):
    from django_tryon.providers.base import ProviderTask

    settings.TRYON = {
        **settings.TRYON,
        "PROVIDERS": {**settings.TRYON["PROVIDERS"], "fake": {"FIND": False}},
    }
    provider = get_provider("fake")
    request, _ = create(make_garment())
    TryOnRequest.objects.filter(pk=request.pk).update(status=Status.SUBMITTING)
    services.refresh(request.pk)  # no hint, no lookup: nothing to go on
    request.refresh_from_db()
    assert request.status == Status.SUBMITTING
    provider.tasks["55"] = ProviderTask("fake", "55", TaskState.RUNNING, "running")
    services.refresh(request.pk, callback_task_id="55")
    request.refresh_from_db()
    assert request.status == Status.PROCESSING and request.provider_task_id == "55"
    assert provider.calls_of("fetch") == [("fetch", "55")]


def test_early_refresh_skips_the_fetch_once_the_create_answer_is_saved(fake, make_garment, sent):
    """A "still running" callback that beat the create call's answer: by the time its
    refresh runs the answer is saved, so a GET would learn nothing."""
    request = submitted(fake, make_garment)
    services.refresh(request.pk, early=True)
    assert fake.calls_of("fetch") == []
    services.refresh(request.pk)  # any other refresh fetches
    assert fake.calls_of("fetch") == [("fetch", request.provider_task_id)]


def test_early_refresh_still_looks_the_task_up_while_the_answer_is_missing(
    fake, make_garment, sent
):
    request, _ = create(make_garment())
    services.submit(request.pk)
    task_id = fake.by_external[str(request.pk)]
    # The create answer was never saved (the worker is slow or died).
    TryOnRequest.objects.filter(pk=request.pk).update(status=Status.SUBMITTING, provider_task_id="")
    services.refresh(request.pk, early=True)
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED and request.provider_task_id == task_id
    assert [c[0] for c in fake.calls][-1] == "find"


def test_a_providers_own_download_trust_applies_to_its_results_only(
    fake, make_garment, sent, settings, monkeypatch
):
    """Trust was global: the sandbox beside a real provider opened http and loopback
    downloads for both."""
    settings.TRYON = {
        **settings.TRYON,
        "ALLOW_HTTP_DOWNLOADS": False,
        "ALLOW_PRIVATE_DOWNLOADS": False,
        "PROVIDERS": {**settings.TRYON["PROVIDERS"], "fake": {"ALLOW_HTTP_DOWNLOADS": True}},
    }
    asked = []
    monkeypatch.setattr(
        results_module,
        "download",
        lambda url, **kwargs: asked.append(kwargs) or imagegen.make_png(640, 800),
    )
    fake = get_provider("fake")
    request = submitted(fake, make_garment)
    fake.finish(request.provider_task_id, ["http://127.0.0.1:9/a.png"])
    services.refresh(request.pk)
    assert asked and asked[0]["allow_http"] is True and asked[0]["allow_private"] is False
    assert get_provider("piapi").download_trust == {"allow_http": False, "allow_private": False}


def test_a_webp_result_is_stored_and_served_as_webp(fake, make_garment, sent, monkeypatch, client):
    """It was stored as .jpg and served as image/jpeg."""
    monkeypatch.setattr(
        results_module, "download", lambda url, **kwargs: imagegen.make_webp(640, 800)
    )
    request = submitted(fake, make_garment)
    fake.finish(request.provider_task_id, ["https://fake.example/a.webp"])
    services.refresh(request.pk)
    result = TryOnResult.objects.get(request=request)
    assert result.image.name.endswith(".webp")
    response = client.get(services.result_url(result))
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
