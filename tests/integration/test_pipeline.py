"""End to end: a real Celery worker, the sandbox over real HTTP, a real database and storage."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from PIL import Image

from django_tryon import services, tasks
from django_tryon.callers import Caller
from django_tryon.errors import TryOnValidationError
from django_tryon.messages import shopper_message
from django_tryon.models import TryOnRequest, tryon_storage
from django_tryon.status import TERMINAL, Status
from kit import imagegen
from tests.integration.conftest import wait_for_status
from tests.pipeline import wait_until_quiet

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def creates(sandbox, provider):
    return [r for r in sandbox.requests if r.provider == provider and r.kind == "create"]


def provider_tasks(sandbox, provider):
    return [t for t in sandbox.tasks if t.get("provider") == provider]


def start(make_garment, provider="kling", **kwargs):
    kwargs.setdefault("person_image", imagegen.make_person())
    request, created = services.create_tryon(
        garment=kwargs.pop("garment", None) or make_garment("upper"),
        provider=provider,
        caller=Caller(source="api", consented=True),
        **kwargs,
    )
    assert created
    return request


def ended_under(pipeline, make_garment, provider, **faults):
    """A try-on at ``provider`` with the sandbox's ``faults`` armed, once it has ended."""
    pipeline["sandbox"].set_faults(**faults)
    request = start(make_garment, provider)
    wait_for_status(request, TERMINAL, timeout=60, worker=pipeline["worker"])
    return request


def assert_results_stored(request, count=1):
    results = list(request.results.order_by("index"))
    assert [r.index for r in results] == list(range(count))
    for result in results:
        with tryon_storage().open(result.image.name, "rb") as fh:
            image = Image.open(io.BytesIO(fh.read()))
            image.load()
        assert (image.width, image.height) == (result.width, result.height)
        assert result.image.name.startswith("tryon/results/")


@pytest.mark.parametrize("provider", ["kling", "piapi", "fashn", "dashscope"])
def test_happy_path(pipeline, make_garment, provider):
    sandbox, worker = pipeline["sandbox"], pipeline["worker"]
    request = start(make_garment, provider, batch_size=2 if provider in ("piapi", "fashn") else 1)
    wait_for_status(request, Status.SUCCEEDED, worker=worker)
    assert_results_stored(request, count=request.batch_size)
    assert len(creates(sandbox, provider)) == 1
    assert request.provider_task_id and request.completed_at and request.submitted_at
    assert request.person_prepared
    if provider == "kling":
        body = creates(sandbox, "kling")[0].json
        assert body["external_task_id"] == str(request.pk)
        assert not body["human_image"].startswith(("data:", "http"))  # raw base64
        assert body["callback_url"].startswith(
            pipeline["live_server"].url + "/tryon/callbacks/kling/"
        )
        assert request.cost_currency == "units"
    elif provider == "fashn":
        run = creates(sandbox, "fashn")[0]
        # Inline, with the data: prefix FASHN wants; the webhook goes as a query parameter.
        assert run.json["inputs"]["model_image"].startswith("data:image/jpeg;base64,")
        assert run.json["inputs"]["num_samples"] == 2
        assert run.query["webhook_url"].startswith(
            pipeline["live_server"].url + "/tryon/callbacks/fashn/"
        )
        assert str(request.cost) == "2.0000" and request.cost_currency == "credits"
        assert (request.unit_price, request.shop_currency) == (Decimal("0.075"), "USD")
    elif provider == "dashscope":
        body = creates(sandbox, "dashscope")[0].json
        # Model Studio fetched our inputs from signed URLs; it sends no callbacks.
        assert body["input"]["person_image_url"].startswith(
            pipeline["live_server"].url + "/tryon/inputs/"
        )
        assert str(request.cost) == "1.0000" and request.cost_currency == "images"
        assert (request.unit_price, request.shop_currency) == (Decimal("0.072"), "USD")
        return
    else:
        body = creates(sandbox, "piapi")[0].json
        # PiAPI fetched our inputs from signed URLs on the live server.
        assert body["input"]["model_input"].startswith(
            pipeline["live_server"].url + "/tryon/inputs/"
        )
        assert body["config"]["webhook_config"]["endpoint"].startswith(
            pipeline["live_server"].url + "/tryon/callbacks/piapi/"
        )
        assert str(request.cost) == "0.1400" and request.cost_currency == "USD"
    # Callbacks reached the app through its real URL.
    assert any(c.status == 200 for c in sandbox.callbacks_sent)


def test_outfit_is_composed_for_kling(pipeline, make_garment):
    request = start(
        make_garment, "kling", garment=make_garment("upper"), lower_garment=make_garment("lower")
    )
    wait_for_status(request, Status.SUCCEEDED, worker=pipeline["worker"])
    assert len(creates(pipeline["sandbox"], "kling")) == 1


def test_lost_callbacks_are_recovered_by_the_reaper(pipeline, make_garment):
    sandbox = pipeline["sandbox"]
    request = ended_under(pipeline, make_garment, "kling", callbacks_drop=True)
    assert request.status == Status.SUCCEEDED, request.error_code
    assert_results_stored(request)
    assert sandbox.callbacks_sent == [] and sandbox.callbacks_dropped


def test_duplicated_and_reordered_callbacks_store_once(pipeline, make_garment):
    sandbox = pipeline["sandbox"]
    sandbox.set_faults(callbacks_duplicate=True, callbacks_reorder=True)
    request = start(make_garment, "kling")
    wait_for_status(request, Status.SUCCEEDED, worker=pipeline["worker"])
    wait_until_quiet(sandbox)  # every duplicate and stale callback has been handled
    request.refresh_from_db()
    assert request.status == Status.SUCCEEDED
    assert request.results.count() == 1
    assert len(provider_tasks(sandbox, "kling")) == 1


def test_worker_killed_between_create_and_save(pipeline, make_garment, worker_pool):
    """Exactly one provider task: the new worker finds it by external_task_id."""
    sandbox, worker = pipeline["sandbox"], pipeline["worker"]
    # Callbacks dropped, so only the reaper can notice the orphaned submission.
    sandbox.set_faults(hang={"count": 1, "on": "create"}, hang_seconds=20, callbacks_drop=True)
    request = start(make_garment, "kling")
    deadline = time.monotonic() + 30
    while not provider_tasks(sandbox, "kling") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert provider_tasks(sandbox, "kling"), worker.log()
    worker.kill()
    request.refresh_from_db()
    assert request.status == Status.SUBMITTING and not request.provider_task_id
    from django_tryon import heartbeat

    killed_at = timezone.now()
    new_worker = worker_pool.ensure()
    # The new worker says it is there as it starts (what waiting_for_worker reads).
    assert heartbeat.last_seen() >= killed_at, new_worker.log()
    wait_for_status(request, Status.SUCCEEDED, timeout=60, worker=new_worker)
    assert len(provider_tasks(sandbox, "kling")) == 1
    assert request.provider_task_id == provider_tasks(sandbox, "kling")[0]["task_id"]


def test_early_callback_during_slow_create_adopts_the_task(pipeline, make_garment):
    """Kling's first callback can beat the create answer: the app finds the task by our id."""
    sandbox = pipeline["sandbox"]
    sandbox.set_faults(hang={"count": 1, "on": "create"}, hang_seconds=8)
    request = start(make_garment, "kling")
    wait_for_status(request, Status.SUCCEEDED, timeout=7, worker=pipeline["worker"])
    assert len(provider_tasks(sandbox, "kling")) == 1


def test_create_timeout_is_looked_up_not_recreated(pipeline, make_garment):
    sandbox = pipeline["sandbox"]
    # The create is processed but its answer comes after the adapter's 5 s timeout; with
    # callbacks dropped, the reaper or the retry must find the task by external_task_id.
    sandbox.set_faults(hang={"count": 1, "on": "create"}, hang_seconds=7, callbacks_drop=True)
    request = start(make_garment, "kling")
    wait_for_status(request, Status.SUCCEEDED, timeout=60, worker=pipeline["worker"])
    assert len(provider_tasks(sandbox, "kling")) == 1


@pytest.mark.parametrize(
    ("faults", "expected_creates"),
    [({"kling_concurrency": 2}, 3), ({"kling_rate_limit": 1}, 2), ({"kling_internal": 1}, 2)],
    ids=["1303-twice", "1302", "5000"],
)
def test_retryable_errors_then_success(pipeline, make_garment, faults, expected_creates):
    sandbox = pipeline["sandbox"]
    request = ended_under(pipeline, make_garment, "kling", **faults)
    assert request.status == Status.SUCCEEDED, request.error_code
    assert len(creates(sandbox, "kling")) == expected_creates
    assert len(provider_tasks(sandbox, "kling")) == 1


def test_piapi_500_on_create_is_never_sent_again(pipeline, make_garment):
    """PiAPI cannot be asked whether a create that answered 500 made a task: sending it
    again could pay twice. It waits for a webhook naming the task, then fails unpaid."""
    sandbox = pipeline["sandbox"]
    request = ended_under(pipeline, make_garment, "piapi", piapi_server_error=1)
    assert request.status == Status.FAILED, request.error_code
    assert request.error_code == "submit_unknown"
    assert len(creates(sandbox, "piapi")) == 1
    assert len(provider_tasks(sandbox, "piapi")) == 0


def test_piapi_504_after_the_task_was_created_is_paid_once_and_delivered(pipeline, make_garment):
    sandbox = pipeline["sandbox"]
    request = ended_under(pipeline, make_garment, "piapi", gateway_timeout_after_create=1)
    assert request.status == Status.SUCCEEDED, request.error_code
    # The task's own webhook named it: adopted, not created again.
    assert len(creates(sandbox, "piapi")) == 1
    assert len(provider_tasks(sandbox, "piapi")) == 1
    assert request.results.count() == 1


def test_a_refresh_cut_off_by_its_soft_time_limit_is_finished_by_the_next(pipeline, make_garment):
    """A result host that stalls past the refresh task's soft limit (a real prefork
    worker: the threads pool ignores time limits): the lease is given back, the next poll
    downloads the images, once."""
    sandbox, worker = pipeline["sandbox"], pipeline["worker"]
    sandbox.set_faults(result_stall=1, hang_seconds=15)
    request = start(make_garment, "kling")
    wait_for_status(request, Status.SUCCEEDED, timeout=60, worker=worker)
    assert "hit its time limit" in worker.log()
    [task] = provider_tasks(sandbox, "kling")
    assert task["result_downloads"] == 2
    assert_results_stored(request)


@pytest.mark.parametrize("provider", ["kling", "piapi", "fashn", "dashscope"])
def test_moderation_failure_is_readable(pipeline, make_garment, provider):
    pipeline["sandbox"].set_faults(content_refused=1)
    request = start(make_garment, provider)
    wait_for_status(request, Status.FAILED, worker=pipeline["worker"])
    assert request.error_code == "content_refused"
    assert request.error_message == shopper_message("content_refused")
    assert request.results.count() == 0
    if provider == "fashn":
        assert request.error_detail.startswith("ContentModerationError")


def test_past_the_deadline_a_request_at_the_provider_is_still_delivered(pipeline, make_garment):
    sandbox = pipeline["sandbox"]
    sandbox.configure(generation_seconds=4)
    request = start(make_garment, "kling")
    wait_for_status(request, [Status.SUBMITTED, Status.PROCESSING], worker=pipeline["worker"])
    TryOnRequest.objects.filter(pk=request.pk).update(created_at=timezone.now() - timedelta(days=1))
    wait_for_status(request, Status.SUCCEEDED, worker=pipeline["worker"])
    assert request.results.count() == 1


def test_unsent_work_past_the_deadline_fails_unpaid(pipeline, make_garment):
    pipeline["worker"]  # the reaper runs in the worker's beat
    request = start(make_garment, "kling", enqueue=False)
    TryOnRequest.objects.filter(pk=request.pk).update(created_at=timezone.now() - timedelta(days=1))
    wait_for_status(request, Status.FAILED, worker=pipeline["worker"])
    assert request.error_code == "deadline"
    assert request.error_message == shopper_message("deadline")
    assert provider_tasks(pipeline["sandbox"], "kling") == []


def test_purge_task_removes_files(pipeline, make_garment):
    request = start(make_garment, "kling")
    wait_for_status(request, Status.SUCCEEDED, worker=pipeline["worker"])
    photo = request.person_image.name
    assert tryon_storage().exists(photo)
    TryOnRequest.objects.filter(pk=request.pk).update(
        completed_at=timezone.now() - timedelta(days=2)
    )
    tasks.purge_tryons.delay()
    deadline = time.monotonic() + 30
    while tryon_storage().exists(photo) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not tryon_storage().exists(photo)
    request.refresh_from_db()
    assert request.person_image.name == "" and request.person_purged_at


def test_runs_against_the_configured_services():
    """In CI the suite must really use PostgreSQL and Redis when they are configured."""
    import os

    from django.conf import settings

    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        assert connection.vendor == "postgresql"
    if os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        assert settings.CELERY_BROKER_URL.startswith("redis://")


def test_piapi_lost_create_answer_is_recovered_from_its_webhook(pipeline, make_garment):
    """PiAPI cannot look tasks up by our id; its authenticated webhook names the task."""
    sandbox = pipeline["sandbox"]
    sandbox.set_faults(hang={"count": 1, "on": "create", "provider": "piapi"}, hang_seconds=7)
    request = start(make_garment, "piapi")
    wait_for_status(request, Status.SUCCEEDED, timeout=30, worker=pipeline["worker"])
    assert len(provider_tasks(sandbox, "piapi")) == 1
    assert request.provider_task_id == provider_tasks(sandbox, "piapi")[0]["task_id"]


def test_piapi_lost_create_answer_without_webhook_fails_safely(pipeline, make_garment):
    """No lookup and no webhook: the request fails rather than paying for a second task."""
    sandbox = pipeline["sandbox"]
    sandbox.set_faults(
        hang={"count": 1, "on": "create", "provider": "piapi"}, hang_seconds=7, callbacks_drop=True
    )
    request = start(make_garment, "piapi")
    wait_for_status(request, Status.FAILED, timeout=30, worker=pipeline["worker"])
    assert request.error_code == "submit_unknown"
    wait_until_quiet(sandbox)  # the hung create has ended and its task with it
    assert len(provider_tasks(sandbox, "piapi")) == 1
    assert len(creates(sandbox, "piapi")) == 1


def test_fashn_lost_run_answer_is_recovered_from_its_webhook(pipeline, make_garment):
    """FASHN cannot be searched by our id: the run is never sent again; its webhook (to
    this request's own callback URL) names the prediction, which is adopted and delivered."""
    sandbox = pipeline["sandbox"]
    sandbox.set_faults(hang={"count": 1, "on": "create", "provider": "fashn"}, hang_seconds=7)
    request = start(make_garment, "fashn")
    wait_for_status(request, Status.SUCCEEDED, timeout=30, worker=pipeline["worker"])
    [task] = provider_tasks(sandbox, "fashn")
    assert request.provider_task_id == task["task_id"]
    assert len(creates(sandbox, "fashn")) == 1
    assert request.results.count() == 1


def test_fashn_outfit_is_refused_before_anything_is_paid(pipeline, make_garment):
    with pytest.raises(TryOnValidationError, match="one garment at a time"):
        services.create_tryon(
            garment=make_garment("upper"),
            lower_garment=make_garment("lower"),
            person_image=imagegen.make_person(),
            provider="fashn",
            caller=Caller(source="api", consented=True),
        )
    assert TryOnRequest.objects.count() == 0
    assert creates(pipeline["sandbox"], "fashn") == []
