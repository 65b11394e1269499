"""The sandbox's PiAPI task API refuses what PiAPI refuses and answers in PiAPI's shape."""

from __future__ import annotations

import io
import json
import re
import uuid

import httpx
import pytest
from PIL import Image

from django_tryon.sandbox import Sandbox

PATH = "/api/v1/task"
ZERO_TIME = "0001-01-01T00:00:00Z"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def assert_error(response: httpx.Response, status: int) -> str:
    body = response.json()
    assert response.status_code == status, body
    assert body["code"] == status
    assert isinstance(body["message"], str) and body["message"]
    return body["message"]


def test_create_answers_a_pending_task_in_the_documented_envelope(sandbox, piapi, piapi_body):
    sandbox.configure(queue_seconds=60)
    response = piapi.post(PATH, json=piapi_body)
    body = response.json()
    assert response.status_code == 200
    assert body["code"] == 200
    assert body["message"] == "success"
    data = body["data"]
    assert set(data) == {
        "task_id",
        "model",
        "task_type",
        "status",
        "config",
        "input",
        "output",
        "meta",
        "detail",
        "logs",
        "error",
    }
    assert uuid.UUID(data["task_id"])
    assert (data["model"], data["task_type"], data["status"]) == ("kling", "ai_try_on", "pending")
    assert data["input"] == {**piapi_body["input"], "batch_size": 1}
    assert data["output"] is None
    assert data["error"] == {"code": 0, "raw_message": "", "message": "", "detail": None}
    meta = data["meta"]
    assert RFC3339.match(meta["created_at"])
    assert meta["started_at"] == ZERO_TIME
    assert meta["ended_at"] == ZERO_TIME
    assert set(meta["usage"]) == {"type", "frozen", "consume"}
    assert meta["usage"]["consume"] == 0
    assert meta["is_using_private_pool"] is False


def test_task_completes_with_one_work_per_batch_image(sandbox, piapi, piapi_body):
    piapi_body["input"]["batch_size"] = 3
    task_id = piapi.post(PATH, json=piapi_body).json()["data"]["task_id"]
    data = piapi.get(f"{PATH}/{task_id}").json()["data"]
    assert data["status"] == "completed"
    assert RFC3339.match(data["meta"]["started_at"])
    assert RFC3339.match(data["meta"]["ended_at"])
    assert data["meta"]["usage"]["consume"] > 0
    works = data["output"]["works"]
    assert len(works) == 3
    clean_images = []
    for work in works:
        assert work["type"] == "mmu_img2img_aitryon"
        image = work["image"]
        assert (image["width"], image["height"]) == (400, 600)
        assert image["resource"] != image["resource_without_watermark"]
        for url in (image["resource"], image["resource_without_watermark"]):
            assert url.startswith(sandbox.url + "/")
            response = httpx.get(url)
            assert response.status_code == 200
            assert Image.open(io.BytesIO(response.content)).size == (400, 600)
        clean_images.append(httpx.get(image["resource_without_watermark"]).content)
        assert httpx.get(image["resource"]).content != clean_images[-1]
    assert len(set(clean_images)) == 3  # each image of a batch differs


def test_inputs_are_fetched_at_create(piapi, piapi_body, file_host):
    piapi.post(PATH, json=piapi_body)
    assert file_host.fetched == ["/person.png", "/dress.jpg"]


def test_upper_and_lower_make_an_outfit_and_either_may_come_alone(
    piapi, piapi_body, file_host, make_image
):
    del piapi_body["input"]["dress_input"]
    piapi_body["input"]["upper_input"] = file_host.add("/upper.png", make_image(300, 300))
    piapi_body["input"]["lower_input"] = file_host.add("/lower.png", make_image(300, 400))
    assert piapi.post(PATH, json=piapi_body).status_code == 200
    del piapi_body["input"]["lower_input"]
    assert piapi.post(PATH, json=piapi_body).status_code == 200
    del piapi_body["input"]["upper_input"]
    piapi_body["input"]["lower_input"] = file_host.url + "/lower.png"
    assert piapi.post(PATH, json=piapi_body).status_code == 200


def test_service_mode_and_webhook_config_are_echoed(piapi, piapi_body, receiver):
    piapi_body["config"] = {
        "service_mode": "private",
        "webhook_config": {"endpoint": receiver.url + "/piapi", "secret": "s3cret"},
    }
    data = piapi.post(PATH, json=piapi_body).json()["data"]
    assert data["config"] == piapi_body["config"]
    assert data["meta"]["is_using_private_pool"] is True


@pytest.mark.parametrize("key", [None, "", "wrong-key"])
def test_missing_or_wrong_api_key_is_401(sandbox, piapi_body, key):
    headers = {} if key is None else {"x-api-key": key}
    response = httpx.post(sandbox.url + PATH, json=piapi_body, headers=headers)
    assert_error(response, 401)
    assert_error(httpx.get(sandbox.url + f"{PATH}/{uuid.uuid4()}", headers=headers), 401)
    assert sandbox.tasks == []


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda b, u: b.update(model="kling-v2"), "model"),
        (lambda b, u: b.pop("model"), "model"),
        (lambda b, u: b.update(task_type="video_generation"), "task_type"),
        (lambda b, u: b.pop("input"), "input"),
        (lambda b, u: b["input"].pop("model_input"), "model_input"),
        (lambda b, u: b["input"].update(upper_input=u), "dress_input"),
        (lambda b, u: b["input"].update(lower_input=u), "dress_input"),
        (lambda b, u: b["input"].pop("dress_input"), "dress_input"),
        (lambda b, u: b["input"].update(batch_size=0), "batch_size"),
        (lambda b, u: b["input"].update(batch_size=5), "batch_size"),
        (lambda b, u: b["input"].update(batch_size="2"), "batch_size"),
        (lambda b, u: b["input"].update(batch_size=1.5), "batch_size"),
        (lambda b, u: b["input"].update(batch_size=True), "batch_size"),
        (lambda b, u: b.update(config={"service_mode": "fast"}), "service_mode"),
        (lambda b, u: b.update(config={"webhook_config": {"endpoint": "ftp://x/y"}}), "endpoint"),
        (lambda b, u: b.update(config={"webhook_config": {"endpoint": "shop/hook"}}), "endpoint"),
        (lambda b, u: b.update(config="public"), "config"),
        (lambda b, u: b["input"].update(model_input="data:image/png;base64,iVBO"), "model_input"),
    ],
    ids=[
        "wrong-model",
        "no-model",
        "wrong-task-type",
        "no-input",
        "no-model-input",
        "dress-and-upper",
        "dress-and-lower",
        "no-garment",
        "batch-0",
        "batch-5",
        "batch-string",
        "batch-float",
        "batch-bool",
        "bad-service-mode",
        "ftp-webhook",
        "relative-webhook",
        "config-not-object",
        "data-uri-input",
    ],
)
def test_create_refuses_invalid_requests_with_400(
    sandbox, piapi, piapi_body, file_host, make_image, change, needle
):
    change(piapi_body, file_host.add("/garment.png", make_image(300, 300)))
    message = assert_error(piapi.post(PATH, json=piapi_body), 400)
    assert needle in message
    assert sandbox.tasks == []


def test_body_that_is_not_json_is_400(piapi):
    assert_error(piapi.post(PATH, content=b"model=kling"), 400)


@pytest.mark.parametrize(
    ("field", "path", "needle"),
    [
        ("model_input", "/missing.png", "download"),
        ("dress_input", "/missing.png", "download"),
        ("model_input", "/redirect", "download"),
        ("model_input", "/small.png", "300"),
        ("dress_input", "/small.png", "300"),
        ("model_input", "/anim.gif", "JPG/JPEG/PNG"),
    ],
)
def test_inputs_that_cannot_be_used_are_400(
    sandbox, piapi, piapi_body, file_host, make_image, field, path, needle
):
    file_host.add("/small.png", make_image(400, 299))
    file_host.add("/anim.gif", make_image(400, 600, "GIF"))
    file_host.redirects["/redirect"] = file_host.url + "/person.png"  # redirects are not followed
    piapi_body["input"][field] = file_host.url + path
    message = assert_error(piapi.post(PATH, json=piapi_body), 400)
    assert field in message
    assert needle in message
    assert sandbox.tasks == []


def test_unreachable_input_host_is_400(piapi, piapi_body):
    piapi_body["input"]["model_input"] = "http://127.0.0.1:9/person.png"
    message = assert_error(piapi.post(PATH, json=piapi_body), 400)
    assert "model_input" in message
    assert "download" in message


def test_unknown_task_is_404(piapi):
    assert_error(piapi.get(f"{PATH}/{uuid.uuid4()}"), 404)
    assert_error(piapi.delete(f"{PATH}/{uuid.uuid4()}"), 404)


def test_cancel_only_while_pending(sandbox, piapi, piapi_body):
    sandbox.configure(queue_seconds=60, generation_seconds=60)
    task_id = piapi.post(PATH, json=piapi_body).json()["data"]["task_id"]
    response = piapi.delete(f"{PATH}/{task_id}")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["status"] == "failed"
    assert data["error"]["message"] == "task canceled by user"
    assert data["output"] is None
    assert piapi.get(f"{PATH}/{task_id}").json()["data"]["status"] == "failed"
    assert_error(piapi.delete(f"{PATH}/{task_id}"), 400)  # already ended

    running = piapi.post(PATH, json=piapi_body).json()["data"]["task_id"]
    sandbox.fast_forward(60)
    assert piapi.get(f"{PATH}/{running}").json()["data"]["status"] == "processing"
    assert "processing" in assert_error(piapi.delete(f"{PATH}/{running}"), 400)


def test_title_case_statuses(sandbox, piapi, piapi_body):
    sandbox.configure(piapi_status_case="title", queue_seconds=60, generation_seconds=60)
    task_id = piapi.post(PATH, json=piapi_body).json()["data"]["task_id"]
    assert piapi.get(f"{PATH}/{task_id}").json()["data"]["status"] == "Pending"
    sandbox.fast_forward(60)
    assert piapi.get(f"{PATH}/{task_id}").json()["data"]["status"] == "Processing"
    sandbox.fast_forward(60)
    assert piapi.get(f"{PATH}/{task_id}").json()["data"]["status"] == "Completed"


def test_staged_comes_before_pending_and_cannot_be_cancelled(sandbox, piapi, piapi_body):
    sandbox.configure(piapi_staged_seconds=30, queue_seconds=30, generation_seconds=30)
    task_id = piapi.post(PATH, json=piapi_body).json()["data"]["task_id"]

    def status():
        return piapi.get(f"{PATH}/{task_id}").json()["data"]["status"]

    assert status() == "staged"
    assert_error(piapi.delete(f"{PATH}/{task_id}"), 400)
    sandbox.fast_forward(30)
    assert status() == "pending"
    sandbox.fast_forward(60)
    assert status() == "completed"


def test_webhooks_on_every_change_with_the_secret_header(piapi, piapi_body, receiver):
    piapi_body["config"] = {"webhook_config": {"endpoint": receiver.url + "/wh", "secret": "abc"}}
    task_id = piapi.post(PATH, json=piapi_body).json()["data"]["task_id"]
    received = receiver.wait_for_posts(3)
    bodies = [json.loads(r["body"]) for r in received]
    assert [b["data"]["status"] for b in bodies] == ["pending", "processing", "completed"]
    assert all(set(b) == {"timestamp", "data"} for b in bodies)
    assert all(isinstance(b["timestamp"], int) for b in bodies)
    assert all(b["data"]["task_id"] == task_id for b in bodies)
    assert all(r["headers"]["x-webhook-secret"] == "abc" for r in received)
    assert bodies[-1]["data"] == piapi.get(f"{PATH}/{task_id}").json()["data"]


def test_webhook_without_secret_has_no_secret_header(piapi, piapi_body, receiver):
    piapi_body["config"] = {"webhook_config": {"endpoint": receiver.url + "/wh"}}
    piapi.post(PATH, json=piapi_body)
    assert all("x-webhook-secret" not in r["headers"] for r in receiver.wait_for_posts(3))


def test_cancel_sends_a_failed_webhook(sandbox, piapi, piapi_body, receiver):
    sandbox.configure(queue_seconds=60)
    piapi_body["config"] = {"webhook_config": {"endpoint": receiver.url + "/wh"}}
    task_id = piapi.post(PATH, json=piapi_body).json()["data"]["task_id"]
    piapi.delete(f"{PATH}/{task_id}")
    bodies = [json.loads(r["body"]) for r in receiver.wait_for_posts(2)]
    assert [b["data"]["status"] for b in bodies] == ["pending", "failed"]


def test_piapi_requests_are_recorded(sandbox, piapi, piapi_body):
    task_id = piapi.post(PATH, json=piapi_body).json()["data"]["task_id"]
    piapi.get(f"{PATH}/{task_id}")
    create, query = sandbox.requests
    assert (create.provider, create.kind, create.status, create.json) == (
        "piapi",
        "create",
        200,
        piapi_body,
    )
    assert create.headers["x-api-key"] == "sandbox-piapi-key"
    assert (query.method, query.kind, query.path) == ("GET", "query", f"{PATH}/{task_id}")


def test_custom_piapi_key():
    with Sandbox(port=0, piapi_key="my-key") as sb:
        url = f"{sb.url}{PATH}/{uuid.uuid4()}"
        assert httpx.get(url, headers={"x-api-key": "my-key"}).status_code == 404
        assert httpx.get(url, headers={"x-api-key": "sandbox-piapi-key"}).status_code == 401
