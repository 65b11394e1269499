"""The sandbox's Model Studio (DashScope) API, spoken to directly over HTTP: what it
refuses at create, what fails the task once the images are fetched, the task's shape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from django_tryon.sandbox import Sandbox
from kit import imagegen
from tests.localhost import LocalHost

CREATE = "/api/v1/services/aigc/image2image/image-synthesis"
PERSON = imagegen.make_person(600, 800)
TOP = imagegen.encode(imagegen.textured_image(500, 500, seed=2), "JPEG")


@pytest.fixture
def dashscope(sandbox: Sandbox) -> Iterator[httpx.Client]:
    headers = {
        "Authorization": f"Bearer {sandbox.config['dashscope_key']}",
        "X-DashScope-Async": "enable",
    }
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=10) as client:
        yield client


def body(file_host: LocalHost, **changes: Any) -> dict[str, Any]:
    sent: dict[str, Any] = {
        "model": "aitryon-plus",
        "input": {
            "person_image_url": file_host.add("/person.jpg", PERSON),
            "top_garment_url": file_host.add("/top.jpg", TOP),
        },
        "parameters": {"resolution": -1, "restore_face": True},
    }
    for key, value in changes.items():
        if key in ("model",):
            sent[key] = value
        elif key in ("resolution", "restore_face"):
            sent["parameters"][key] = value
        else:
            sent["input"][key] = value
    return sent


def finished(sandbox: Sandbox, client: httpx.Client, task_id: str) -> dict[str, Any]:
    sandbox.wait_idle()
    return client.get(f"/api/v1/tasks/{task_id}").json()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"model": "aitryon-max"}, "InvalidParameter"),
        ({"top_garment_url": None}, "InvalidParameter"),
        ({"person_image_url": ""}, "InvalidParameter"),
        ({"top_garment_url": "ftp://x.test/top.jpg"}, "InvalidURL"),
        ({"resolution": 720}, "InvalidParameter"),
        ({"restore_face": "yes"}, "InvalidParameter"),
    ],
)
def test_a_bad_create_is_refused_and_makes_nothing(sandbox, dashscope, file_host, change, code):
    answer = dashscope.post(CREATE, json=body(file_host, **change))
    assert answer.status_code == 400
    assert answer.json()["code"] == code and answer.json()["request_id"]
    assert sandbox.task_count == 0


def test_a_wrong_key_is_401(sandbox, file_host):
    answer = httpx.post(
        sandbox.url + CREATE,
        json=body(file_host),
        headers={"Authorization": "Bearer nope", "X-DashScope-Async": "enable"},
    )
    assert answer.status_code == 401 and answer.json()["code"] == "InvalidApiKey"


def test_a_task_moves_to_succeeded_with_one_image(sandbox, dashscope, file_host):
    created = dashscope.post(CREATE, json=body(file_host)).json()
    assert created["output"]["task_status"] == "PENDING"
    task = finished(sandbox, dashscope, created["output"]["task_id"])
    assert task["output"]["task_status"] == "SUCCEEDED"
    assert task["usage"] == {"image_count": 1}
    assert task["output"]["submit_time"] and task["output"]["end_time"]
    image = httpx.get(task["output"]["image_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    ("image", "code"),
    [
        (imagegen.encode(imagegen.textured_image(100, 600), "JPEG"), "InvalidInputLength"),
        (b"\xff\xd8" + b"x" * 100, "InvalidInputLength"),
        (imagegen.make_gif(400, 400) * 3, "InvalidInputLength"),
    ],
    ids=["narrow", "tiny", "gif"],
)
def test_an_image_it_cannot_use_fails_the_task(sandbox, dashscope, file_host, image, code):
    sent = body(file_host, top_garment_url=file_host.add("/bad", image))
    created = dashscope.post(CREATE, json=sent).json()
    task = finished(sandbox, dashscope, created["output"]["task_id"])
    assert task["output"]["task_status"] == "FAILED"
    assert task["output"]["code"] == code and "image_url" not in task["output"]


def test_an_unknown_task_is_answered_unknown(dashscope):
    answer = dashscope.get("/api/v1/tasks/no-such-task")
    assert answer.status_code == 200
    assert answer.json()["output"] == {"task_id": "no-such-task", "task_status": "UNKNOWN"}
