"""Never pay twice, never lose a paid result: the services layer under faults.

Each test here is one way a busy shop's try-on used to be charged twice, or paid for and
lost: the deadline, the reaper, lost create answers, refused downloads, stale answers,
cancel against a provider that is down, and the accounting of what was reserved.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from django_tryon import services
from django_tryon.callers import Caller
from django_tryon.errors import TryOnValidationError
from django_tryon.fetch import DownloadError
from django_tryon.models import Source, TryOnRequest, UsageCounter
from django_tryon.pipeline import dispatch, maintenance
from django_tryon.pipeline import results as results_module
from django_tryon.providers import get_provider
from django_tryon.providers.base import (
    ProviderAuthError,
    ProviderTask,
    ProviderUnavailable,
    TaskNotFound,
    TaskState,
)
from django_tryon.quotas import _periods
from django_tryon.signals import tryon_failed
from django_tryon.status import Status
from kit import imagegen
from tests.unit.helpers import create, submitted

pytestmark = pytest.mark.django_db

RESULT = "https://fake.example/a.png"


@pytest.fixture
def no_find(settings, fake):
    """The fake provider without a lookup by our id, as PiAPI is."""
    settings.TRYON = {
        **settings.TRYON,
        "PROVIDERS": {**settings.TRYON["PROVIDERS"], "fake": {"FIND": False}},
    }
    return get_provider("fake")


def age(request, **fields):
    TryOnRequest.objects.filter(pk=request.pk).update(**fields)
    request.refresh_from_db()


def move_counts_to(when) -> tuple[str, str]:
    """Move today's usage counts to the day and month of ``when``, as if counted then
    (a request is given back on the day it was counted: its ``created_at``)."""
    day, month = _periods(timezone.now())[:2]
    then_day, then_month = _periods(when)[:2]
    UsageCounter.objects.filter(period=day).update(period=then_day)
    UsageCounter.objects.filter(period=month).update(period=then_month)
    return then_day, then_month


# -- the deadline ---------------------------------------------------------------------------


def test_a_request_at_the_provider_is_never_failed_by_our_deadline(fake, make_garment, sent):
    request = submitted(fake, make_garment)
    hours_ago = timezone.now() - timedelta(hours=5)  # far past DEADLINE_SECONDS
    age(request, created_at=hours_ago, submitted_at=hours_ago, next_check_at=hours_ago)
    report = services.reap(enqueue=False)
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED and report.expired == []
    assert report.refreshed == [str(request.pk)]  # still followed


def test_unsent_shopper_work_expires_sooner_than_catalogue_work(fake, make_garment, sent):
    twenty_minutes_ago = timezone.now() - timedelta(minutes=20)
    shopper, _ = create(make_garment(name="shopper"), source=Source.WIDGET)
    catalogue, _ = create(
        make_garment(name="batch"), imagegen.make_person(width=700), source=Source.ADMIN
    )
    for request in (shopper, catalogue):
        age(request, created_at=twenty_minutes_ago)
    # Counted when they were made: in the small hours that was yesterday's row.
    counted_day, counted_month = move_counts_to(twenty_minutes_ago)
    assert services.reap(enqueue=False).expired == [str(shopper.pk)]
    shopper.refresh_from_db()
    catalogue.refresh_from_db()
    assert shopper.status == Status.FAILED and shopper.error_code == "deadline"
    assert catalogue.status == Status.PENDING
    # Never sent, so nothing was paid: the shopper's reservation is given back.
    assert UsageCounter.objects.get(scope="shop", period=counted_day).generations == 1
    assert UsageCounter.objects.get(scope="shop", period=counted_month).generations == 1


def test_a_request_in_flight_at_the_provider_is_not_failed_while_its_create_call_runs(
    fake, make_garment, sent
):
    """The reaper used to fail a "submitting" request past the deadline while its create
    call was in flight; the answer then landed on a failed row, paid and never followed."""
    request, _ = create(make_garment())
    hour_ago = timezone.now() - timedelta(hours=1)
    age(request, created_at=hour_ago)

    def create_while_the_reaper_runs(job):
        services.reap(enqueue=False)
        return type(fake).submit(fake, job)

    fake.submit = create_while_the_reaper_runs
    services.submit(request.pk)
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED and request.provider_task_id


def created_then_timed_out(fake):
    """The create reaches the provider, and its answer is lost (Kling's 5002, a timeout)."""

    def submit(job):
        type(fake).submit(fake, job)
        raise ProviderUnavailable("server timeout", provider="fake", http_status=500, code=5002)

    fake.submit = submit


def test_a_pending_request_whose_last_create_was_lost_is_looked_up_before_it_expires(
    fake, make_garment, sent
):
    """Found by the chaos run: the create timed out after the provider made the task, the
    request went back to pending for a retry, and the deadline failed it: paid, lost."""
    request, _ = create(make_garment(), source=Source.WIDGET)
    created_then_timed_out(fake)
    with pytest.raises(ProviderUnavailable):
        services.submit(request.pk)
    request.refresh_from_db()
    assert request.status == Status.PENDING and len(fake.tasks) == 1
    age(request, created_at=timezone.now() - timedelta(hours=1))
    report = services.reap(enqueue=False)
    request.refresh_from_db()
    assert report.expired == []
    assert request.status == Status.SUBMITTED
    assert request.provider_task_id == next(iter(fake.tasks))


def test_a_pending_request_that_never_reached_the_provider_still_expires(fake, make_garment, sent):
    request, _ = create(make_garment(), source=Source.WIDGET)
    fake.submit_effects = [ProviderUnavailable("down", provider="fake", http_status=503)]
    with pytest.raises(ProviderUnavailable):
        services.submit(request.pk)
    age(request, created_at=timezone.now() - timedelta(hours=1))
    assert services.reap(enqueue=False).expired == [str(request.pk)]
    request.refresh_from_db()
    assert request.status == Status.FAILED and request.error_code == "deadline"
    assert fake.calls_of("find")  # asked first: the last answer proved nothing


def test_retries_used_up_after_a_lost_create_adopt_the_task(fake, make_garment, sent, settings):
    from django_tryon import tasks

    settings.TRYON = {**settings.TRYON, "MAX_RETRIES": 0}
    fake = get_provider("fake")  # the settings change built a new adapter
    request, _ = create(make_garment())
    created_then_timed_out(fake)
    tasks.submit_tryon.apply(args=[str(request.pk)]).get()  # no retry left: gives up
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED and len(fake.tasks) == 1


def test_a_task_past_the_providers_retention_fails_with_its_own_reason(fake, make_garment, sent):
    request = submitted(fake, make_garment)
    long_ago = timezone.now() - timedelta(seconds=fake.task_retention_seconds + 60)
    age(request, submitted_at=long_ago)
    assert services.reap(enqueue=False).expired == [str(request.pk)]
    request.refresh_from_db()
    assert request.status == Status.FAILED and request.error_code == "provider_expired"


def test_a_task_past_retention_is_not_expired_while_its_images_are_stored(fake, make_garment, sent):
    request = submitted(fake, make_garment)
    long_ago = timezone.now() - timedelta(seconds=fake.task_retention_seconds + 60)
    age(request, submitted_at=long_ago, persist_claimed_at=timezone.now())
    assert services.reap(enqueue=False).expired == []
    age(request, persist_claimed_at=long_ago)  # that worker's lease lapsed
    assert services.reap(enqueue=False).expired == [str(request.pk)]


def test_an_answer_being_stored_is_not_given_up_at_a_provider_that_keeps_nothing(
    fake, make_garment, sent, monkeypatch
):
    """Vertex answers with the images themselves and keeps no task to ask for again. While
    a worker stores that answer neither the reaper nor a poll gives the try-on up (the
    images are paid and in hand); once that worker's lease has run out, the poll does."""
    monkeypatch.setattr(type(fake), "task_retention_seconds", None)
    request = submitted(fake, make_garment)
    long_ago = timezone.now() - timedelta(days=40)
    age(request, submitted_at=long_ago, persist_claimed_at=timezone.now())
    assert services.reap(enqueue=False).expired == []
    fake.fetch_effects.append(TaskNotFound("keeps nothing", provider="fake"))
    services.refresh(request.pk)
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED
    age(request, persist_claimed_at=long_ago)  # the storing worker died
    fake.fetch_effects.append(TaskNotFound("keeps nothing", provider="fake"))
    services.refresh(request.pk)
    request.refresh_from_db()
    assert request.status == Status.FAILED and request.error_code == "task_not_found"


def test_a_long_running_task_is_polled_less_and_less_often(fake, make_garment, settings):
    settings.TRYON = {**settings.TRYON, "POLL_INTERVAL_SECONDS": 3}
    request = submitted(fake, make_garment)
    now = timezone.now()
    request.submitted_at = now - timedelta(seconds=5)
    assert results_module.poll_delay(request, now) == 3
    request.submitted_at = now - timedelta(minutes=10)
    assert results_module.poll_delay(request, now) == 60
    request.submitted_at = now - timedelta(days=3)
    assert results_module.poll_delay(request, now) == 300


# -- the reaper isolates failures --------------------------------------------------------


def test_one_failing_lookup_does_not_stop_the_reapers_run(fake, make_garment, sent):
    stuck, _ = create(make_garment(name="stuck"))
    age(stuck, status=Status.SUBMITTING, updated_at=timezone.now() - timedelta(hours=1))
    polled = submitted(fake, make_garment, person=imagegen.make_person(width=700))
    age(polled, next_check_at=timezone.now() - timedelta(minutes=1))

    def find(external_id):
        raise ProviderAuthError("401 after a key rotation", provider="fake", http_status=401)

    fake.find = find
    report = services.reap(enqueue=False)
    assert report.errors == [str(stuck.pk)]
    assert report.refreshed == [str(polled.pk)]


def test_a_shops_failing_receiver_does_not_stop_the_reaper(
    fake, make_garment, sent, django_capture_on_commit_callbacks
):
    first, _ = create(make_garment(name="one"), source=Source.WIDGET)
    second, _ = create(
        make_garment(name="two"), imagegen.make_person(width=700), source=Source.WIDGET
    )
    for request in (first, second):
        age(request, created_at=timezone.now() - timedelta(hours=1))
    seen = []

    def broken_receiver(sender, request, **kwargs):
        seen.append(request.pk)
        raise RuntimeError("the shop's own bug")

    tryon_failed.connect(broken_receiver, weak=False, dispatch_uid="broken")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            report = services.reap(enqueue=False)
    finally:
        tryon_failed.disconnect(dispatch_uid="broken")
    assert sorted(report.expired) == sorted([str(first.pk), str(second.pk)])
    assert sorted(seen) == sorted([first.pk, second.pk])


# -- a create without a clear answer, at a provider with no lookup (PiAPI) ----------------


@pytest.mark.parametrize("status", [502, 504, None])
def test_a_gateway_error_on_create_is_never_sent_again(no_find, make_garment, sent, status):
    request, _ = create(make_garment())
    no_find.submit_effects = [ProviderUnavailable("gateway", provider="fake", http_status=status)]
    services.submit(request.pk)  # no exception: nothing to retry
    services.submit(request.pk)
    services.reap(enqueue=False)
    request.refresh_from_db()
    assert request.status == Status.SUBMITTING
    assert len(no_find.calls_of("submit")) == 1


def test_a_refusal_on_create_is_sent_again(no_find, make_garment, sent):
    """A 4xx (not 429) proves nothing was created: retrying is safe."""
    request, _ = create(make_garment())
    no_find.submit_effects = [ProviderUnavailable("no", provider="fake", http_status=409)]
    with pytest.raises(ProviderUnavailable):
        services.submit(request.pk)
    request.refresh_from_db()
    assert request.status == Status.PENDING


def test_an_unconfirmed_create_waits_for_its_webhook_then_fails_unpaid_twice(
    no_find, make_garment, sent, settings
):
    settings.TRYON = {**settings.TRYON, "UNCONFIRMED_SUBMIT_WAIT_SECONDS": 3600}
    no_find = get_provider("fake")  # the settings change built a new adapter
    request, _ = create(make_garment())
    no_find.submit_effects = [ProviderUnavailable("timeout", provider="fake")]
    services.submit(request.pk)
    age(request, updated_at=timezone.now() - timedelta(minutes=30))
    services.reap(enqueue=False)
    request.refresh_from_db()
    assert request.status == Status.SUBMITTING  # its webhook may still name the task
    age(request, updated_at=timezone.now() - timedelta(hours=2))
    services.reap(enqueue=False)
    request.refresh_from_db()
    assert request.status == Status.FAILED and request.error_code == "submit_unknown"
    assert len(no_find.calls_of("submit")) == 1


def test_an_unconfirmed_create_at_a_provider_without_webhooks_fails_at_the_reapers_look(
    no_find, make_garment, sent, settings, monkeypatch
):
    """Nothing can ever name the task (Model Studio sends no webhook): waiting an hour
    would only keep the shopper waiting. Still never sent again."""
    settings.TRYON = {**settings.TRYON, "UNCONFIRMED_SUBMIT_WAIT_SECONDS": 3600}
    no_find = get_provider("fake")
    monkeypatch.setattr(type(no_find), "sends_callbacks", False)
    request, _ = create(make_garment())
    no_find.submit_effects = [ProviderUnavailable("timeout", provider="fake")]
    services.submit(request.pk)
    age(request, updated_at=timezone.now() - timedelta(minutes=3))  # stuck, not an hour
    services.reap(enqueue=False)
    request.refresh_from_db()
    assert request.status == Status.FAILED and request.error_code == "submit_unknown"
    assert len(no_find.calls_of("submit")) == 1


# -- refused downloads are recovered, not paid again ---------------------------------------


def test_a_refused_download_is_recovered_without_a_new_task(fake, make_garment, sent, monkeypatch):
    request = submitted(fake, make_garment)
    fake.finish(request.provider_task_id, [RESULT])

    def refused(url, **kwargs):
        raise DownloadError("host not in RESULT_HOSTS", retryable=False)

    monkeypatch.setattr(results_module, "download", refused)
    services.refresh(request.pk)
    request.refresh_from_db()
    assert request.status == Status.FAILED and request.error_code == "result_unavailable"
    assert request.provider_task_id  # kept: the paid task can be fetched again

    outcome = services.recover_results(request)
    assert not outcome.recovered and "host not in RESULT_HOSTS" in outcome.message

    monkeypatch.setattr(results_module, "download", lambda url, **kw: imagegen.make_png(640, 800))
    outcome = services.recover_results(request)
    request.refresh_from_db()
    assert outcome.recovered and outcome.message == "Stored 1 image."
    assert request.status == Status.SUCCEEDED and request.results.count() == 1
    assert len(fake.calls_of("submit")) == 1
    assert services.recover_results(request).recovered  # a second press changes nothing
    assert request.results.count() == 1


def test_recovery_refuses_a_failure_the_provider_made(fake, make_garment, sent):
    request = submitted(fake, make_garment)
    fake.fail_task(request.provider_task_id, "risk control")
    services.refresh(request.pk)
    outcome = services.recover_results(request)
    assert not outcome.recovered and "Retry" in outcome.message


def test_a_time_limit_mid_download_gives_the_lease_back(fake, make_garment, sent, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    request = submitted(fake, make_garment)
    fake.finish(request.provider_task_id, [RESULT])

    def slow(url, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(results_module, "download", slow)
    with pytest.raises(SoftTimeLimitExceeded):
        services.refresh(request.pk)
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED and request.persist_claimed_at is None
    monkeypatch.setattr(results_module, "download", lambda url, **kw: imagegen.make_png(640, 800))
    services.refresh(request.pk)  # the next run completes at once
    request.refresh_from_db()
    assert request.status == Status.SUCCEEDED


def test_a_slow_batch_hands_its_remaining_images_to_a_new_refresh(
    fake, make_garment, sent, monkeypatch, django_capture_on_commit_callbacks
):
    request = submitted(fake, make_garment, batch_size=3)
    fake.finish(request.provider_task_id, [RESULT, RESULT + "?2", RESULT + "?3"])
    calls = []

    def clock():  # every look at the clock finds 12 s more gone: a slow result host
        calls.append(None)
        return 12.0 * len(calls)

    monkeypatch.setattr(results_module.time, "monotonic", clock)
    monkeypatch.setattr(results_module, "download", lambda url, **kw: imagegen.make_png(640, 800))
    with django_capture_on_commit_callbacks(execute=True):
        services.refresh(request.pk)
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED and request.persist_claimed_at is None
    assert request.results.count() == 1  # what fitted in the time budget is kept
    assert ("django_tryon.refresh", str(request.pk)) in sent


# -- compare-and-set on every write ------------------------------------------------------


def test_a_stale_running_answer_never_touches_a_stored_success(fake, make_garment, sent, downloads):
    request = submitted(fake, make_garment)
    running = ProviderTask("fake", request.provider_task_id, TaskState.RUNNING, "processing")

    def fetch_while_another_worker_stores_the_success(task_id):
        TryOnRequest.objects.filter(pk=request.pk).update(
            status=Status.SUCCEEDED, provider_status="done", next_check_at=None
        )
        return running

    fake.fetch = fetch_while_another_worker_stores_the_success
    services.refresh(request.pk)
    request.refresh_from_db()
    assert request.status == Status.SUCCEEDED
    assert request.provider_status == "done" and request.next_check_at is None


# -- cancel -------------------------------------------------------------------------------


def test_cancel_never_waits_for_the_provider(
    fake, make_garment, sent, django_capture_on_commit_callbacks
):
    request = submitted(fake, make_garment)

    def down(task_id):
        raise ProviderUnavailable("502 Bad Gateway", provider="fake", http_status=502)

    fake.cancel = down
    with django_capture_on_commit_callbacks(execute=True):
        assert services.cancel(request)
    request.refresh_from_db()
    assert request.status == Status.CANCELLED
    # The provider is told from a worker, once committed.
    assert sent == [("django_tryon.cancel", str(request.pk))]
    with pytest.raises(ProviderUnavailable):  # retried by the task, never the shopper's 500
        services.cancel_at_provider(request.pk)


# -- accounting ----------------------------------------------------------------------------


def test_a_failed_task_records_what_the_provider_charged(fake, make_garment, sent):
    request = submitted(fake, make_garment)
    spend = UsageCounter.objects.get(scope="shop:USD", period__startswith="day:")
    assert spend.spend == Decimal("0.07")
    failed = ProviderTask("fake", request.provider_task_id, TaskState.FAILED, "failed",
                          message="risk control", cost=Decimal("0"), cost_currency="USD")  # fmt: skip
    fake.tasks[request.provider_task_id] = failed
    services.refresh(request.pk)
    request.refresh_from_db()
    assert request.status == Status.FAILED and request.cost == Decimal("0")
    spend.refresh_from_db()
    assert spend.spend == Decimal("0")


def test_release_gives_back_what_was_reserved_whatever_the_price_is_now(
    fake, make_garment, sent, monkeypatch
):
    request, _ = create(make_garment())
    monkeypatch.setattr(type(fake), "estimate_cost", lambda self, n: (Decimal("5.00") * n, "USD"))
    services.cancel(request)
    spend = UsageCounter.objects.get(scope="shop:USD", period__startswith="day:")
    assert spend.spend == Decimal("0")


def test_the_provider_model_is_recorded_and_part_of_the_dedupe(settings, make_garment, sent):
    kling = get_provider("kling")
    assert kling.model_name == "kolors-virtual-try-on-v1-5"
    garment = make_garment()
    first, _ = services.create_tryon(
        garment=garment,
        person_image=imagegen.make_person(),
        provider="kling",
        caller=Caller(source="api", consented=True),
    )
    assert first.provider_model == "kolors-virtual-try-on-v1-5"
    options = {**settings.TRYON["PROVIDERS"]["kling"], "MODEL": "kolors-virtual-try-on-v1"}
    settings.TRYON = {
        **settings.TRYON,
        "PROVIDERS": {**settings.TRYON["PROVIDERS"], "kling": options},
    }
    second, created = services.create_tryon(
        garment=garment,
        person_image=imagegen.make_person(),
        provider="kling",
        caller=Caller(source="api", consented=True),
    )
    assert created and second.pk != first.pk and second.provider_model == "kolors-virtual-try-on-v1"


# -- the broker is down --------------------------------------------------------------------


def test_create_succeeds_when_the_broker_is_down(
    fake, make_garment, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    def down(task, request_id, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(dispatch, "send", down)
    with django_capture_on_commit_callbacks(execute=True):
        request, created = create(make_garment())
    assert created and request.status == Status.PENDING
    # The reaper queues it once the broker is back.
    age(request, updated_at=timezone.now() - timedelta(minutes=5))
    assert services.reap(enqueue=False).requeued == [str(request.pk)]


# -- bad input is refused at create ----------------------------------------------------


def test_a_long_narrow_photo_is_refused_at_create(fake, make_garment, sent):
    with pytest.raises(TryOnValidationError) as info:
        create(make_garment(), imagegen.make_jpeg(300, 4000))
    assert "too long and narrow" in info.value.errors["person_image"][0]
    assert TryOnRequest.objects.count() == 0 and fake.calls == []


# -- what a create costs the database --------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_shoppers_create_takes_at_most_eight_queries(fake, make_garment, sent):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def statements(queries):
        sql = [q["sql"] for q in queries.captured_queries]
        control = ("BEGIN", "BEGIN IMMEDIATE", "COMMIT")  # SQLite begins IMMEDIATE
        return [q for q in sql if q not in control]  # transaction control

    garment = make_garment()
    shopper = {"owner_key": "session:q", "client_key": "client:q", "source": Source.WIDGET}
    create(garment, imagegen.make_person(width=700), **shopper)  # digests and rows exist
    with CaptureQueriesContext(connection) as queries:
        _, created = create(garment, imagegen.make_person(width=720), **shopper)
    assert created
    # The duplicate check; the six counter rows (client, shopper, shop day and month,
    # spend day and month) made if missing, locked and counted: three statements; the
    # INSERT.
    assert len(statements(queries)) == 5, "\n".join(statements(queries))
    with CaptureQueriesContext(connection) as queries:
        create(garment, imagegen.make_person(width=740), idempotency_key="k-1", **shopper)
    assert len(statements(queries)) == 6  # and the Idempotency-Key's lookup


def test_cancelling_a_pending_request_whose_create_went_unanswered_keeps_counting(
    fake, make_garment, sent
):
    request, _ = create(make_garment())
    created_then_timed_out(fake)
    with pytest.raises(ProviderUnavailable):
        services.submit(request.pk)
    request.refresh_from_db()
    assert services.cancel(request)
    # The provider may have charged for it: its reservation is not given back.
    assert UsageCounter.objects.get(scope="shop", period__startswith="day:").generations == 1


def test_the_kill_switch_asks_the_provider_before_failing_a_retried_request(
    fake, make_garment, sent, settings
):
    request, _ = create(make_garment())
    created_then_timed_out(fake)
    with pytest.raises(ProviderUnavailable):
        services.submit(request.pk)
    settings.TRYON = {**settings.TRYON, "ENABLED": False}
    fake = get_provider("fake")  # a new adapter, whose provider holds nothing
    services.submit(request.pk)
    request.refresh_from_db()
    assert request.status == Status.FAILED and request.error_code == "disabled"
    assert fake.calls_of("find") == [("find", str(request.pk))]


def test_a_try_on_cancelled_before_a_worker_saw_it_leaves_no_raw_upload(fake, make_garment, sent):
    """The upload, GPS and all, used to stay in storage until the purge, 24 h after."""
    from django_tryon.models import tryon_storage

    request, _ = create(make_garment(), imagegen.make_jpeg(900, 1200, with_gps=True))
    raw = request.person_image.name
    assert tryon_storage().exists(raw)
    assert services.cancel(request)
    request.refresh_from_db()
    assert not tryon_storage().exists(raw)
    assert request.person_image.name == "" and request.person_purged_at is not None


def test_unsent_work_past_its_deadline_leaves_no_raw_upload(fake, make_garment, sent):
    from django_tryon.models import tryon_storage

    request, _ = create(make_garment(), imagegen.make_jpeg(900, 1200, with_gps=True))
    raw = request.person_image.name
    age(request, created_at=timezone.now() - timedelta(hours=1))
    services.reap(enqueue=False)
    request.refresh_from_db()
    assert request.error_code == "deadline" and not tryon_storage().exists(raw)


def test_a_create_that_died_after_a_busy_refusal_is_looked_up_before_the_deadline_fails_it(
    fake, make_garment, sent
):
    """Found by the chaos run (seed 41): the error code of an earlier busy refusal stayed on
    the row through the next attempt, so when that attempt's worker died mid-create the
    request looked "refused last time" and the deadline failed it unsent, skipping the
    lookup, while the provider held its paid task."""
    from tests.unit.test_pipeline_slots import busy

    request, _ = create(make_garment())
    fake.submit_effects = [busy()]
    services.submit(request.pk)  # refused: waits for a slot
    request.refresh_from_db()
    assert request.error_code == "rate_limited"

    class WorkerKilled(BaseException):
        """The worker process dies in the middle of the create call."""

    fake.submit_effects = [WorkerKilled()]
    TryOnRequest.objects.filter(pk=request.pk).update(next_check_at=None)
    with pytest.raises(WorkerKilled):
        services.submit(request.pk)
    request.refresh_from_db()
    assert request.status == Status.SUBMITTING
    # The reaper finds the submission stuck; the provider has not registered the create
    # yet, so the request goes back to pending...
    age(request, updated_at=timezone.now() - timedelta(hours=1))
    maintenance.resolve_stuck_submission(request, enqueue=False)
    request.refresh_from_db()
    assert request.status == Status.PENDING
    # ...and then the create the dead worker sent does land at the provider.
    fake.by_external[str(request.pk)] = "landed-late"
    fake.tasks["landed-late"] = ProviderTask(
        "fake", "landed-late", TaskState.QUEUED, "queued", external_id=str(request.pk)
    )
    age(request, created_at=timezone.now() - timedelta(hours=1))
    services.reap(enqueue=False)
    request.refresh_from_db()
    assert request.error_code != "deadline"
    assert request.provider_task_id == "landed-late" and request.status == Status.SUBMITTED
