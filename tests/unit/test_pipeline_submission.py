"""Sending a try-on to its provider exactly once (pipeline/submission.py, inputs.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from django_tryon import services
from django_tryon.messages import shopper_message
from django_tryon.models import TryOnRequest, tryon_storage
from django_tryon.providers import get_provider
from django_tryon.providers.base import ContentRefused, TaskState
from django_tryon.signals import tryon_failed, tryon_submitted
from django_tryon.status import Status
from kit import imagegen
from tests.unit.helpers import create

pytestmark = pytest.mark.django_db


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


def two_runs(make_garment):
    """A request whose upload is not yet normalised, read by two submit runs at once:
    ``(upload name, first run's row, second run's row)``."""
    request, _ = create(make_garment())
    raw = tryon_storage().save(
        "tryon/persons/legacy.jpg", ContentFile(imagegen.make_jpeg(900, 1200))
    )
    TryOnRequest.objects.filter(pk=request.pk).update(person_image=raw, person_prepared=False)
    first = TryOnRequest.objects.get(pk=request.pk)
    second = TryOnRequest.objects.get(pk=request.pk)  # read before the first one finished
    return raw, first, second


def test_two_workers_normalising_one_photo_keep_the_file_the_row_points_at(
    fake, make_garment, sent
):
    """Found by the chaos run: the second worker's UPDATE lost, and it deleted "its" copy,
    which had the same name as the first worker's: the row pointed at nothing."""
    from django_tryon.pipeline.inputs import _normalise_person

    raw, first, second = two_runs(make_garment)
    _normalise_person(first)
    tryon_storage().save(raw, ContentFile(imagegen.make_jpeg(900, 1200)))  # its copy, still read
    _normalise_person(second)
    row = TryOnRequest.objects.get(pk=first.pk)
    assert row.person_prepared and row.person_image.name == first.person_image.name
    assert tryon_storage().exists(row.person_image.name)


def test_a_run_killed_while_normalising_never_takes_the_other_runs_file(
    fake, make_garment, sent, monkeypatch
):
    """Found by benchmark 7 (two submit runs of one woken request): the second run made
    room for "its" re-encoding by deleting the first run's, which the row pointed at;
    killed before saving its own (or read in between), the try-on failed as
    input_unavailable."""
    from django.core.files.storage import Storage

    from django_tryon.pipeline.inputs import _normalise_person

    storage = tryon_storage()
    raw, first, second = two_runs(make_garment)
    _normalise_person(first)
    storage.save(raw, ContentFile(imagegen.make_jpeg(900, 1200)))  # its copy, still read

    def killed(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(Storage, "save", killed)
    with pytest.raises(SystemExit):
        _normalise_person(second)
    row = TryOnRequest.objects.get(pk=first.pk)
    assert row.person_image.name == first.person_image.name
    assert storage.exists(row.person_image.name)


def test_a_run_that_finds_the_upload_gone_uses_the_other_runs_copy(fake, make_garment, sent):
    from django_tryon.pipeline.inputs import _normalise_person

    _, first, second = two_runs(make_garment)
    _normalise_person(first)  # it deletes the upload the second one was about to read
    _normalise_person(second)
    assert second.person_prepared and second.person_image.name == first.person_image.name


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
    assert request.error_message == shopper_message("content_refused")
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
