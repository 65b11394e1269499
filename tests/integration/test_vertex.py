"""Google Vertex AI end to end: a synchronous provider in the asynchronous pipeline. A
real prefork worker makes the one call, stores the images from its answer (no download),
and never makes a second call for a try-on whose answer was lost."""

from __future__ import annotations

import pytest

from django_tryon.messages import shopper_message
from django_tryon.status import Status
from tests.integration.conftest import wait_for_status
from tests.integration.test_pipeline import (
    assert_results_stored,
    ended_under,
    provider_tasks,
    start,
)
from tests.pipeline import wait_until_quiet

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def calls(sandbox):
    return [r for r in sandbox.requests if r.provider == "vertex" and r.kind == "predict"]


def test_the_answer_is_stored_without_a_download(pipeline, make_garment):
    sandbox = pipeline["sandbox"]
    request = start(make_garment, "vertex", batch_size=2)
    wait_for_status(request, Status.SUCCEEDED, worker=pipeline["worker"])
    assert_results_stored(request, count=2)
    assert len(calls(sandbox)) == 1
    [task] = provider_tasks(sandbox, "vertex")
    assert task["external_task_id"] == str(request.pk)  # the billing label
    assert task["result_downloads"] == 0  # nothing fetched: the images were in the answer
    assert request.provider_task_id == f"predict:{request.pk}"
    assert str(request.cost) == "2.0000" and request.cost_currency == "images"


def test_a_safety_refusal_is_told_in_the_shops_words(pipeline, make_garment):
    pipeline["sandbox"].set_faults(content_refused=1)
    request = start(make_garment, "vertex")
    wait_for_status(request, Status.FAILED, worker=pipeline["worker"])
    assert request.error_code == "content_refused"
    assert request.error_message == shopper_message("content_refused")
    assert request.results.count() == 0


def test_a_lost_answer_is_never_sent_again(pipeline, make_garment):
    """The call was made (the sandbox counts it) but its answer never came back in time:
    the images may be paid and cannot be fetched, so the try-on fails as unknown and no
    second call is made."""
    sandbox = pipeline["sandbox"]
    sandbox.set_faults(hang={"count": 1, "on": "predict"}, hang_seconds=7)
    request = start(make_garment, "vertex")
    wait_for_status(request, Status.FAILED, timeout=60, worker=pipeline["worker"])
    assert request.error_code == "submit_unknown"
    wait_until_quiet(sandbox)
    assert len(calls(sandbox)) == 1
    assert len(provider_tasks(sandbox, "vertex")) == 1


def test_the_quota_of_the_minute_waits_and_pays_once(pipeline, make_garment):
    sandbox = pipeline["sandbox"]
    request = ended_under(pipeline, make_garment, "vertex", vertex_quota=1)
    assert request.status == Status.SUCCEEDED, request.error_code
    assert len(calls(sandbox)) == 2
    assert len(provider_tasks(sandbox, "vertex")) == 1


def test_an_outfit_is_refused_before_anything_is_paid(pipeline, make_garment):
    from django_tryon.errors import TryOnValidationError

    with pytest.raises(TryOnValidationError):
        start(make_garment, "vertex", lower_garment=make_garment("lower"))
    assert calls(pipeline["sandbox"]) == []
