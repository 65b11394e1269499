"""Following a task and storing its results (pipeline/results.py)."""

from __future__ import annotations

import pytest

from django_tryon import links, services
from django_tryon.messages import shopper_message
from django_tryon.models import TryOnRequest, TryOnResult, tryon_storage
from django_tryon.pipeline import results as results_module
from django_tryon.providers import get_provider
from django_tryon.providers.base import TaskState
from django_tryon.signals import tryon_succeeded
from django_tryon.status import Status
from kit import imagegen
from tests.unit.helpers import create, submitted

pytestmark = pytest.mark.django_db


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
    assert request.error_message == shopper_message("provider_failed")


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
    response = client.get(links.result_url(result))
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"


def test_a_result_host_that_keeps_timing_out_ends_the_wait(fake, make_garment, sent, monkeypatch):
    """Not retried without end (issue 22): after MAX_RETRIES timed-out downloads the try-on
    fails as result_unavailable, which recover_results fetches again for free."""
    from django_tryon.conf import get_setting
    from django_tryon.fetch import DownloadError

    most = get_setting("MAX_RETRIES")
    tries = []

    def dripping(url, **kwargs):
        tries.append(url)
        raise DownloadError("read timed out", retryable=True)

    monkeypatch.setattr(results_module, "download", dripping)
    request = submitted(fake, make_garment)
    fake.finish(request.provider_task_id, ["https://fake.example/a.png"])
    for _ in range(most):
        with pytest.raises(DownloadError):
            services.refresh(request.pk)
    services.refresh(request.pk)  # one timeout more than MAX_RETRIES: no more waiting
    request.refresh_from_db()
    assert (request.status, request.error_code) == (Status.FAILED, "result_unavailable")
    assert len(tries) == most + 1 == request.download_failures
    assert {request.error_code} <= results_module.RECOVERABLE_CODES
    services.refresh(request.pk)  # a late poll changes nothing and downloads nothing
    assert len(tries) == most + 1


@pytest.mark.parametrize(("sends_callbacks", "first_poll"), [(True, 15), (False, 3)])
def test_a_provider_that_sends_no_callbacks_is_polled_from_the_start(
    fake, make_garment, settings, monkeypatch, sends_callbacks, first_poll
):
    """Model Studio sends no callback the app reads: waiting POLL_FIRST_AFTER_SECONDS for
    one would only delay its shoppers."""
    settings.TRYON = {
        **settings.TRYON,
        "PUBLIC_BASE_URL": "https://shop.test",
        "POLL_FIRST_AFTER_SECONDS": 15,
        "POLL_INTERVAL_SECONDS": 3,
    }
    monkeypatch.setattr(type(fake), "sends_callbacks", sends_callbacks)
    request = submitted(fake, make_garment)
    wait = (request.next_check_at - request.submitted_at).total_seconds()
    assert first_poll <= wait < first_poll + 1
