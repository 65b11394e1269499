"""Waiting for a provider slot (pipeline/slots.py): busy providers, waking the oldest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from django_tryon import services
from django_tryon.models import TryOnRequest
from django_tryon.pipeline import slots
from django_tryon.providers import get_provider
from django_tryon.providers.base import RateLimited
from django_tryon.status import Status
from kit import imagegen
from tests.unit.helpers import create, submitted

pytestmark = pytest.mark.django_db


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
        assert slots.wake_waiting("fake") == str(request.pk)
        assert slots.wake_waiting("fake") is None
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
    assert slots.wake_waiting("fake") == str(first.pk)
    assert slots.wake_waiting("fake") == str(second.pk)
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
    slots.wake_waiting("fake")
    services.submit(request.pk)
    request.refresh_from_db()
    assert request.status == Status.FAILED and request.error_code == "rate_limited"
    assert "busy" in request.error_message  # messages.py, for rate_limited


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
