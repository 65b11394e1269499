"""The Model Studio (DashScope) adapter against the in-process sandbox over real HTTP.

Model Studio fetches its inputs by URL, so a small local HTTP server serves the images.
Each fault switch the sandbox offers for it must become the right exception or state.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from django_tryon.providers import base
from django_tryon.providers.dashscope import DashScopeProvider
from django_tryon.sandbox import Sandbox
from kit import imagegen
from tests.adapters import tryon_input
from tests.contract.common import connected, creates, download_png, poll
from tests.localhost import LocalHost

API_KEY = "contract-dashscope-key"
SANDBOX_KEYS = {"dashscope_key": API_KEY}

# Textured, so each file is above the service's 5 KB floor.
PERSON = imagegen.make_person(600, 800)
TOP = imagegen.encode(imagegen.textured_image(600, 600, seed=2), "JPEG")
BOTTOM = imagegen.encode(imagegen.textured_image(500, 600, seed=3), "JPEG")


def connect(sandbox: Sandbox, **options: Any) -> DashScopeProvider:
    return connected(DashScopeProvider, sandbox, {"API_KEY": API_KEY}, options)


def job(local: LocalHost, **overrides: Any) -> base.TryOnInput:
    person = base.InputImage(PERSON, url=local.add("/in/person.jpg", PERSON))
    garment = base.InputImage(TOP, url=local.add("/in/top.jpg", TOP))
    return tryon_input(person, garment, "upper", overrides)


def bottom(local: LocalHost) -> base.InputImage:
    return base.InputImage(BOTTOM, url=local.add("/in/bottom.jpg", BOTTOM))


# -- happy paths ---------------------------------------------------------------------


def test_submit_poll_download(sandbox, adapter, local):
    created = adapter.submit(job(local))
    assert created.state is base.TaskState.QUEUED and created.raw_status == "PENDING"
    assert set(local.fetched) == {"/in/person.jpg", "/in/top.jpg"}

    done = poll(adapter, created.task_id)
    assert done.state is base.TaskState.SUCCEEDED and done.raw_status == "SUCCEEDED"
    assert (done.cost, done.cost_currency) == (Decimal(1), "images")
    assert len(done.image_urls) == 1
    assert download_png(done.image_urls[0]).size == (600, 800)  # resolution -1: the input's

    request = creates(sandbox)[0]
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["x-dashscope-async"] == "enable"
    assert request.json == {
        "model": "aitryon-plus",
        "input": {
            "person_image_url": local.url + "/in/person.jpg",
            "top_garment_url": local.url + "/in/top.jpg",
        },
        "parameters": {"resolution": -1, "restore_face": True},
    }


def test_an_outfit_is_one_task_with_a_top_and_a_bottom(sandbox, adapter, local):
    done = poll(adapter, adapter.submit(job(local, lower_garment=bottom(local))).task_id)
    assert done.state is base.TaskState.SUCCEEDED
    assert len(creates(sandbox)) == 1
    assert creates(sandbox)[0].json["input"] == {
        "person_image_url": local.url + "/in/person.jpg",
        "top_garment_url": local.url + "/in/top.jpg",
        "bottom_garment_url": local.url + "/in/bottom.jpg",
    }


@pytest.mark.parametrize(
    ("category", "field"), [("dress", "top_garment_url"), ("lower", "bottom_garment_url")]
)
def test_a_dress_goes_as_a_top_and_trousers_as_a_bottom(sandbox, adapter, local, category, field):
    adapter.submit(job(local, garment_category=category))
    sent = creates(sandbox)[0].json["input"]
    assert set(sent) == {"person_image_url", field}


def test_the_output_size_and_a_new_face_are_the_shops_choice(sandbox, local):
    adapter = connect(sandbox, RESOLUTION=1280, RESTORE_FACE=False)
    done = poll(adapter, adapter.submit(job(local)).task_id)
    assert creates(sandbox)[0].json["parameters"] == {"resolution": 1280, "restore_face": False}
    assert download_png(done.image_urls[0]).size == (720, 1280)
    adapter.close()


# -- refused before paying -------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        imagegen.make_png(120, 400),  # a side under 150 px
        b"\xff\xd8\xff" + b"\0" * 100,  # under 5 KB
    ],
    ids=["narrow", "tiny"],
)
def test_what_the_service_would_refuse_is_refused_before_a_call(sandbox, adapter, local, image):
    with pytest.raises(base.InvalidInput):
        adapter.submit(job(local, garment=base.InputImage(image, url=local.add("/in/bad", image))))
    assert creates(sandbox) == []


def test_two_images_per_task_are_refused_before_a_call(sandbox, adapter, local):
    with pytest.raises(base.InvalidInput, match="one image per task"):
        adapter.submit(job(local, batch_size=2))
    assert creates(sandbox) == []


# -- refusals at create ------------------------------------------------------------------


def test_a_wrong_key_is_an_auth_error(sandbox, local):
    adapter = connect(sandbox, API_KEY="not-the-key")
    with pytest.raises(base.ProviderAuthError) as caught:
        adapter.submit(job(local))
    assert caught.value.code == "InvalidApiKey" and caught.value.http_status == 401
    adapter.close()


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        ("dashscope_throttling", base.RateLimited, "Throttling.RateQuota"),
        ("dashscope_arrearage", base.ProviderAccountError, "Arrearage"),
        ("dashscope_data_inspection", base.ContentRefused, "DataInspectionFailed"),
        ("dashscope_internal", base.ProviderUnavailable, "InternalError"),
    ],
)
def test_each_refusal_at_create_is_its_error(sandbox, adapter, local, fault, error, code):
    sandbox.set_faults(**{fault: 1})
    with pytest.raises(error) as caught:
        adapter.submit(job(local))
    assert caught.value.code == code
    assert sandbox.task_count == 0


def test_any_error_the_shop_scripts_is_mapped_by_its_status(sandbox, adapter, local):
    sandbox.set_faults(dashscope_error={"http": 403, "code": 0, "message": "no model access"})
    with pytest.raises(base.ProviderAccountError):
        adapter.submit(job(local))
    sandbox.set_faults(dashscope_error={"http": 400, "message": "bad"})
    with pytest.raises(base.InvalidInput):
        adapter.submit(job(local))


def test_past_five_running_tasks_a_create_is_busy_and_makes_nothing(sandbox, adapter, local):
    sandbox.configure(generation_seconds=30)
    for _ in range(5):
        adapter.submit(job(local))
    with pytest.raises(base.RateLimited) as caught:
        adapter.submit(job(local))
    assert caught.value.code == "Throttling" and caught.value.http_status == 429
    assert sandbox.task_count == 5


# -- failures of the task --------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "code"), [("content_refused", "content_refused"), ("task_fail", "provider_failed")]
)
def test_a_failed_task_carries_its_code(sandbox, adapter, local, fault, code):
    sandbox.set_faults(**{fault: 1})
    done = poll(adapter, adapter.submit(job(local)).task_id)
    assert done.state is base.TaskState.FAILED and done.raw_status == "FAILED"
    assert done.error_code == code and done.image_urls == [] and done.cost is None


def test_an_image_the_service_cannot_fetch_fails_the_task(sandbox, adapter, local):
    gone = base.InputImage(TOP, url=local.url + "/in/missing.jpg")
    done = poll(adapter, adapter.submit(job(local, garment=gone)).task_id)
    assert done.state is base.TaskState.FAILED
    assert done.error_code == "invalid_input" and "InvalidURL" in done.message


def test_a_task_it_does_not_have_or_no_longer_keeps_is_not_found(sandbox, adapter, local):
    with pytest.raises(base.TaskNotFound):
        adapter.fetch("no-such-task")
    done = poll(adapter, adapter.submit(job(local)).task_id)
    assert adapter.fetch(done.task_id).state is base.TaskState.SUCCEEDED
    sandbox.configure(dashscope_retention_seconds=0)  # as the service 24 hours on
    with pytest.raises(base.TaskNotFound, match="24 hours"):
        adapter.fetch(done.task_id)


def test_no_callback_is_read_so_tasks_are_polled(adapter):
    assert adapter.sends_callbacks is False
    with pytest.raises(ValueError):
        adapter.parse_callback(b'{"output": {"task_id": "x"}}', {})


def test_a_call_without_the_async_header_is_refused(sandbox, local):
    """What the service says to a synchronous call (the adapter always sends the header)."""
    body = {"model": "aitryon-plus", "input": {"person_image_url": "https://x.test/p.jpg"}}
    answer = httpx.post(
        sandbox.url + "/api/v1/services/aigc/image2image/image-synthesis",
        json=body,
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert answer.status_code == 403 and answer.json()["code"] == "AccessDenied"
    assert sandbox.task_count == 0
