"""The Celery tasks run eagerly here: their retry policy and their tolerance of deletions."""

import uuid

import pytest
from celery.exceptions import Retry

from django_tryon import services, tasks
from django_tryon.callers import Caller
from django_tryon.pipeline import dispatch
from django_tryon.providers.base import ContentRefused, RateLimited
from django_tryon.status import Status

pytestmark = pytest.mark.django_db


def test_missing_request_is_skipped_not_an_error():
    tasks.submit_tryon.apply(args=[str(uuid.uuid4())]).get()
    tasks.refresh_tryon.apply(args=[str(uuid.uuid4())]).get()


class FakeTask:
    name = "django_tryon.submit"
    app = tasks.submit_tryon.app

    def __init__(self, retries):
        self.request = type("R", (), {"retries": retries})()
        self.countdowns = []

    def retry(self, countdown, exc):
        self.countdowns.append(countdown)
        return Retry(exc=exc, when=countdown)


def test_retry_backoff_grows_and_honours_retry_after(settings):
    settings.TRYON = {**settings.TRYON, "RETRY_BASE_SECONDS": 2.0, "RETRY_MAX_SECONDS": 300.0}
    busy = RateLimited("1303", provider="kling", http_status=429, code=1303)
    delays = []
    for attempt in range(5):
        task = FakeTask(attempt)
        with pytest.raises(Retry):
            tasks._retry_later(task, busy)
        delays.append(task.countdowns[0])
    # Full jitter within [base*2^n / 2, base*2^n]: each window is above the previous one's floor.
    for attempt, delay in enumerate(delays):
        assert 2.0 * 2**attempt / 2 <= delay <= 2.0 * 2**attempt
    task = FakeTask(0)
    with pytest.raises(Retry):
        tasks._retry_later(task, RateLimited("x", retry_after=40))
    assert task.countdowns == [40]


def test_retries_are_bounded(settings):
    settings.TRYON = {**settings.TRYON, "MAX_RETRIES": 3}
    assert tasks._retry_later(FakeTask(3), RateLimited("x")) is False


def test_retries_used_up_fail_the_request(monkeypatch, make_garment, settings):
    from kit import imagegen

    settings.TRYON = {**settings.TRYON, "MAX_RETRIES": 2, "RETRY_BASE_SECONDS": 0.01}
    request, _ = services.create_tryon(
        garment=make_garment(),
        person_image=imagegen.make_person(),
        provider="kling",
        enqueue=False,
        caller=Caller(source="api", consented=True),
    )

    calls = []

    def busy(request_id):
        calls.append(request_id)
        raise RateLimited("1302", provider="kling", http_status=429, code=1302)

    monkeypatch.setattr(services, "submit", busy)
    tasks.submit_tryon.apply(args=[str(request.pk)])
    assert len(calls) == 3  # the first try and two retries
    request.refresh_from_db()
    assert request.status == Status.FAILED and request.error_code == "rate_limited"
    assert "busy" in request.error_message


def test_permanent_errors_are_not_retried(monkeypatch):
    calls = []

    def refused(request_id, **kwargs):
        calls.append(request_id)
        raise ContentRefused("1301", provider="kling")

    monkeypatch.setattr(services, "refresh", refused)
    with pytest.raises(ContentRefused):
        tasks.refresh_tryon.apply(args=["x"]).get()
    assert calls == ["x"]


def test_retry_countdown_stays_below_the_brokers_visibility_timeout(settings):
    """A countdown past Redis' visibility timeout would deliver the message twice."""
    settings.TRYON = {**settings.TRYON, "RETRY_BASE_SECONDS": 2.0, "RETRY_MAX_SECONDS": 300.0}
    app = tasks.submit_tryon.app
    saved = app.conf.broker_transport_options
    app.conf.broker_transport_options = {"visibility_timeout": 120}
    try:
        task = FakeTask(0)
        with pytest.raises(Retry):
            tasks._retry_later(task, RateLimited("x", retry_after=900))
    finally:
        app.conf.broker_transport_options = saved
    assert task.countdowns == [60.0]


def test_refreshes_can_have_a_queue_of_their_own(settings, monkeypatch):
    """Downloads from a slow host must not hold the workers that submit new try-ons."""
    settings.TRYON = {**settings.TRYON, "CELERY_QUEUE": "tryon", "REFRESH_QUEUE": "tryon-refresh"}
    sent = []
    for task in (tasks.submit_tryon, tasks.refresh_tryon):
        monkeypatch.setattr(task, "apply_async", lambda args, **kw: sent.append(kw))
    dispatch.send(tasks.submit_tryon.name, "r1")
    dispatch.send(tasks.refresh_tryon.name, "r1")
    assert sent[0]["queue"] == "tryon"
    assert sent[1]["queue"] == "tryon-refresh"
    assert (sent[1]["time_limit"], sent[1]["soft_time_limit"]) == (10.0, 8.0)
