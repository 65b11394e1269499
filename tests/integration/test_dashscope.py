"""Alibaba Model Studio (DashScope) end to end: a real prefork worker, the sandbox over
real HTTP, inputs fetched from the app's signed URLs, tasks polled (no callbacks)."""

from __future__ import annotations

import pytest

from django_tryon.messages import shopper_message
from django_tryon.status import Status
from tests.integration.conftest import wait_for_status
from tests.integration.test_pipeline import creates, ended_under, provider_tasks, start
from tests.pipeline import wait_until_quiet

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def test_an_outfit_is_one_task_with_a_top_and_a_bottom(pipeline, make_garment):
    sandbox = pipeline["sandbox"]
    request = start(
        make_garment,
        "dashscope",
        garment=make_garment("upper"),
        lower_garment=make_garment("lower"),
    )
    wait_for_status(request, Status.SUCCEEDED, worker=pipeline["worker"])
    [create] = creates(sandbox, "dashscope")
    sent = create.json["input"]
    assert set(sent) == {"person_image_url", "top_garment_url", "bottom_garment_url"}
    assert sent["top_garment_url"] != sent["bottom_garment_url"]
    assert len(provider_tasks(sandbox, "dashscope")) == 1
    assert request.results.count() == 1
    assert not any(c.provider == "dashscope" for c in sandbox.callbacks_sent)


def test_a_refusal_for_content_is_told_in_the_shops_words(pipeline, make_garment):
    sandbox = pipeline["sandbox"]
    request = ended_under(pipeline, make_garment, "dashscope", dashscope_data_inspection=1)
    assert request.status == Status.FAILED, request.error_code
    assert request.error_code == "content_refused"
    assert request.error_message == shopper_message("content_refused")
    assert provider_tasks(sandbox, "dashscope") == []  # refused at create: nothing paid


def test_a_lost_create_answer_is_never_sent_again(pipeline, make_garment):
    """The service cannot be asked for a task by our id and sends no callback: a create
    whose answer was lost may have made a paid task, so it is failed as unknown, never
    sent a second time."""
    sandbox = pipeline["sandbox"]
    sandbox.set_faults(hang={"count": 1, "on": "create", "provider": "dashscope"}, hang_seconds=7)
    request = start(make_garment, "dashscope")
    wait_for_status(request, Status.FAILED, timeout=60, worker=pipeline["worker"])
    assert request.error_code == "submit_unknown"
    wait_until_quiet(sandbox)  # the held create has answered and its task has ended
    assert len(creates(sandbox, "dashscope")) == 1
    assert len(provider_tasks(sandbox, "dashscope")) == 1  # one paid task, never two


def test_an_internal_error_on_create_is_never_sent_again(pipeline, make_garment):
    """A 500 may come from a gateway after the task was made: the same rule."""
    sandbox = pipeline["sandbox"]
    request = ended_under(pipeline, make_garment, "dashscope", dashscope_internal=1)
    assert request.status == Status.FAILED, request.error_code
    assert request.error_code == "submit_unknown"
    assert len(creates(sandbox, "dashscope")) == 1


def test_a_busy_account_waits_for_a_slot_and_pays_once(pipeline, make_garment):
    """Past five running tasks the service refuses with 429: nothing was made, so the
    try-on waits for a free slot and is sent again once."""
    sandbox = pipeline["sandbox"]
    request = ended_under(pipeline, make_garment, "dashscope", dashscope_throttling=1)
    assert request.status == Status.SUCCEEDED, request.error_code
    assert len(creates(sandbox, "dashscope")) == 2
    assert len(provider_tasks(sandbox, "dashscope")) == 1
