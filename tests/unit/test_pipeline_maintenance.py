"""The reaper, the purge and erasing a shopper (pipeline/maintenance.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from django_tryon import services
from django_tryon.models import TryOnRequest, TryOnResult, tryon_storage
from django_tryon.status import Status
from kit import imagegen
from tests.unit.helpers import create, submitted

pytestmark = pytest.mark.django_db


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
