"""The Kling adapter against the in-process sandbox over real HTTP.

Each fault switch the sandbox offers for Kling is tried, and the adapter must turn it
into the right exception class or task state.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import jwt
import pytest

from django_tryon.providers import base
from django_tryon.providers.kling import KlingProvider
from django_tryon.sandbox import Sandbox
from tests.adapters import raised_exactly, tryon_input
from tests.contract.common import (
    PERSON,
    UPPER,
    connected,
    creates,
    download_png,
    make_image,
    poll,
)

ACCESS_KEY = "contract-access-key"
# 32+ bytes: pyjwt warns about shorter HMAC keys.
SECRET_KEY = "contract-secret-key-long-enough-for-hs256"
WEBHOOK_SECRET = "whsec_dGVzdHNlY3JldHRlc3RzZWNyZXR0ZXN0c2VjcmV0MTI="
PATH = "/v1/images/kolors-virtual-try-on"


GARMENT = UPPER
SANDBOX_KEYS = {"kling_access_key": ACCESS_KEY, "kling_secret_key": SECRET_KEY}


def connect(sandbox: Sandbox, **options: Any) -> KlingProvider:
    return connected(
        KlingProvider, sandbox, {"ACCESS_KEY": ACCESS_KEY, "SECRET_KEY": SECRET_KEY}, options
    )


def job(**overrides: Any) -> base.TryOnInput:
    person, garment = base.InputImage(PERSON, "image/png"), base.InputImage(GARMENT, "image/jpeg")
    return tryon_input(person, garment, "upper", overrides)


# -- happy paths ---------------------------------------------------------------------


def test_submit_poll_download(sandbox, adapter):
    tryon = job()
    created = adapter.submit(tryon)
    assert created.state is base.TaskState.QUEUED
    assert created.raw_status == "submitted"
    assert created.external_id == tryon.request_id

    done = poll(adapter, created.task_id)
    assert done.state is base.TaskState.SUCCEEDED
    assert done.raw_status == "succeed"
    assert done.task_id == created.task_id
    assert done.external_id == tryon.request_id
    assert done.cost == Decimal("1")
    assert done.cost_currency == "units"
    assert len(done.image_urls) == 1
    assert download_png(done.image_urls[0]).size == (400, 600)

    request = creates(sandbox)[0]
    assert request.status == 200
    assert request.json["external_task_id"] == tryon.request_id
    assert request.json["model_name"] == "kolors-virtual-try-on-v1"
    assert "callback_url" not in request.json
    token = request.headers["authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, SECRET_KEY, algorithms=["HS256"])
    assert claims["iss"] == ACCESS_KEY


def test_token_is_reused_across_calls(sandbox, adapter):
    created = adapter.submit(job())
    poll(adapter, created.task_id)
    tokens = {r.headers["authorization"] for r in sandbox.requests}
    assert len(sandbox.requests) >= 2
    assert len(tokens) == 1


def test_url_transport_and_v1_5_model(sandbox, local):
    adapter = connect(sandbox, IMAGE_TRANSPORT="url", MODEL="kolors-virtual-try-on-v1-5")
    person_url = local.add("/person.png", PERSON)
    garment_url = local.add("/outfit.jpg", GARMENT)
    tryon = job(
        person=base.InputImage(PERSON, "image/png", url=person_url),
        garment=base.InputImage(GARMENT, "image/jpeg", url=garment_url),
    )
    done = poll(adapter, adapter.submit(tryon).task_id)
    assert done.state is base.TaskState.SUCCEEDED
    body = creates(sandbox)[0].json
    assert (body["human_image"], body["cloth_image"]) == (person_url, garment_url)
    assert body["model_name"] == "kolors-virtual-try-on-v1-5"
    download_png(done.image_urls[0])
    adapter.close()


def test_plain_api_key_mode():
    with Sandbox(
        port=0, kling_api_key="contract-api-key", queue_seconds=0, generation_seconds=0
    ) as sb:
        adapter = KlingProvider({"API_KEY": "contract-api-key", "BASE_URL": sb.url})
        done = poll(adapter, adapter.submit(job()).task_id)
        assert done.state is base.TaskState.SUCCEEDED
        assert sb.requests[0].headers["authorization"] == "Bearer contract-api-key"
        adapter.close()


def test_input_the_sandbox_refuses_is_invalid_input(sandbox, adapter):
    tiny = make_image(100, 100, "PNG", (0, 0, 0))
    with pytest.raises(base.InvalidInput) as caught:
        adapter.submit(job(person=base.InputImage(tiny, "image/png")))
    assert caught.value.code == "1201"
    assert "300" in caught.value.message


# -- authentication ------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"SECRET_KEY": "wrong-secret-key-long-enough-for-hs256"},
        {"ACCESS_KEY": "wrong-access-key"},
        {"API_KEY": "wrong-api-key"},
    ],
)
def test_wrong_keys_are_an_auth_error(sandbox, options):
    adapter = connect(sandbox, **options)
    with pytest.raises(base.ProviderAuthError) as caught:
        adapter.submit(job())
    assert caught.value.http_status == 401
    assert caught.value.code == "1002"
    assert len(sandbox.requests) == 1  # 1002 is not worth a new token
    assert sandbox.tasks == []
    adapter.close()


@pytest.mark.parametrize("code", [1003, 1004])
def test_token_refused_once_is_retried_with_a_new_token(sandbox, adapter, code):
    sandbox.set_faults(kling_error={"code": code, "count": 1})
    created = adapter.submit(job())
    assert len(creates(sandbox)) == 2
    assert [r.status for r in creates(sandbox)] == [401, 200]
    assert len(sandbox.tasks) == 1
    assert poll(adapter, created.task_id).state is base.TaskState.SUCCEEDED


@pytest.mark.parametrize("code", [1003, 1004])
def test_token_refused_twice_is_an_auth_error(sandbox, adapter, code):
    sandbox.set_faults(kling_error={"code": code, "count": 2})
    with pytest.raises(base.ProviderAuthError) as caught:
        adapter.submit(job())
    assert caught.value.code == str(code)
    assert len(creates(sandbox)) == 2
    assert sandbox.tasks == []


# -- request faults ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error", "status", "code"),
    [
        ("kling_rate_limit", base.RateLimited, 429, "1302"),
        ("kling_concurrency", base.RateLimited, 429, "1303"),
        ("kling_internal", base.ProviderUnavailable, 500, "5000"),
        ("kling_maintenance", base.ProviderUnavailable, 503, "5001"),
        ("kling_timeout_code", base.ProviderUnavailable, 504, "5002"),
        ("kling_content_refused_on_create", base.ContentRefused, 400, "1301"),
    ],
)
def test_create_faults(sandbox, adapter, fault, error, status, code):
    sandbox.set_faults(**{fault: 1})
    with pytest.raises(error) as caught:
        adapter.submit(job())
    exc = caught.value
    assert type(exc) is error
    assert (exc.provider, exc.http_status, exc.code) == ("kling", status, code)
    assert exc.message  # the sandbox's words
    # The switch fired once: the next create goes through.
    assert adapter.submit(job()).state is base.TaskState.QUEUED


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("kling_rate_limit", base.RateLimited),
        ("kling_internal", base.ProviderUnavailable),
        ("kling_maintenance", base.ProviderUnavailable),
        ("kling_timeout_code", base.ProviderUnavailable),
    ],
)
def test_query_faults(sandbox, adapter, fault, error):
    created = adapter.submit(job())
    sandbox.set_faults(**{fault: {"on": "query", "count": 1}})
    with pytest.raises(error):
        adapter.fetch(created.task_id)
    assert poll(adapter, created.task_id).state is base.TaskState.SUCCEEDED


def test_create_timeout_code_leaves_a_task_that_find_recovers(sandbox, adapter):
    tryon = job()
    sandbox.set_faults(kling_timeout_code=1)
    with pytest.raises(base.ProviderUnavailable):
        adapter.submit(tryon)
    found = adapter.find(tryon.request_id)
    assert found is not None
    assert found.external_id == tryon.request_id
    assert poll(adapter, found.task_id).state is base.TaskState.SUCCEEDED
    assert len(sandbox.tasks) == 1


KLING_TABLE = [
    (1000, base.ProviderAuthError),
    (1001, base.ProviderAuthError),
    (1002, base.ProviderAuthError),
    (1100, base.ProviderAccountError),
    (1101, base.ProviderAccountError),
    (1102, base.ProviderAccountError),
    (1103, base.ProviderAccountError),
    (1200, base.InvalidInput),
    (1201, base.InvalidInput),
    (1202, base.ProviderAccountError),
    (1203, base.ProviderAccountError),
    (1300, base.ContentRefused),
    (1301, base.ContentRefused),
    (1302, base.RateLimited),
    (1303, base.RateLimited),
    (1304, base.ProviderAccountError),
    (5000, base.ProviderUnavailable),
    (5001, base.ProviderUnavailable),
    (5002, base.ProviderUnavailable),
]


@pytest.mark.parametrize(("code", "error"), KLING_TABLE)
def test_every_documented_code_on_create(sandbox, adapter, code, error):
    sandbox.set_faults(kling_error={"code": code, "message": f"sandbox says {code}", "count": 1})
    caught = raised_exactly(error, lambda: adapter.submit(job()))
    assert caught.code == str(code)
    assert caught.message == f"sandbox says {code}"
    assert ACCESS_KEY not in str(caught)
    assert SECRET_KEY not in str(caught)


@pytest.mark.parametrize("code", [1202, 1203])
def test_missing_resource_on_query_is_task_not_found(sandbox, adapter, code):
    created = adapter.submit(job())
    sandbox.set_faults(kling_error={"code": code, "on": "query", "count": 1})
    with pytest.raises(base.TaskNotFound):
        adapter.fetch(created.task_id)


def test_hang_is_unavailable_and_find_recovers_the_task(sandbox):
    adapter = connect(sandbox, TIMEOUT_SECONDS=0.5)
    sandbox.set_faults(hang=1, hang_seconds=3)
    tryon = job()
    with pytest.raises(base.ProviderUnavailable) as caught:
        adapter.submit(tryon)
    assert caught.value.retryable is True
    found = adapter.find(tryon.request_id)  # the hung create did create the task
    assert found is not None
    assert poll(adapter, found.task_id).state is base.TaskState.SUCCEEDED
    adapter.close()


def test_slow_answers_beyond_the_timeout_are_unavailable(sandbox):
    adapter = connect(sandbox, TIMEOUT_SECONDS=0.3)
    sandbox.set_faults(slow_seconds=1)
    with pytest.raises(base.ProviderUnavailable):
        adapter.fetch("1")
    sandbox.set_faults(slow_seconds=0)
    adapter.close()


# -- task faults ---------------------------------------------------------------------


def test_content_refused_task(sandbox, adapter):
    sandbox.set_faults(content_refused=1)
    done = poll(adapter, adapter.submit(job()).task_id)
    assert done.state is base.TaskState.FAILED
    assert done.error_code == "content_refused"
    assert "risk control" in done.message
    assert done.image_urls == []


def test_failed_task(sandbox, adapter):
    sandbox.set_faults(task_fail=1)
    done = poll(adapter, adapter.submit(job()).task_id)
    assert done.state is base.TaskState.FAILED
    assert done.error_code == "provider_failed"
    assert done.message == "Image generation failed, please try again later"
    assert done.cost == Decimal("0")


def test_failed_task_with_custom_message(sandbox, adapter):
    sandbox.set_faults(task_fail={"message": "Image pixel is invalid", "count": 1})
    done = poll(adapter, adapter.submit(job()).task_id)
    assert (done.state, done.message) == (base.TaskState.FAILED, "Image pixel is invalid")


# -- find and unknown tasks ----------------------------------------------------------


def test_find_by_request_id(sandbox, adapter):
    tryon = job()
    created = adapter.submit(tryon)
    found = adapter.find(tryon.request_id)
    assert found is not None
    assert found.task_id == created.task_id


@pytest.mark.parametrize("unknown_task", ["failed", "not_found"])
def test_find_unknown_request_is_none(sandbox, adapter, unknown_task):
    sandbox.configure(kling_unknown_task=unknown_task)
    assert adapter.find(str(uuid.uuid4())) is None


def test_fetch_unknown_task(sandbox, adapter):
    failed = adapter.fetch("123456789")
    assert failed.state is base.TaskState.FAILED
    assert failed.message == "task not found"
    sandbox.configure(kling_unknown_task="not_found")
    with pytest.raises(base.TaskNotFound):
        adapter.fetch("123456789")


# -- callbacks -----------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["legacy", "new"])
def test_signed_callbacks_verify_and_parse(sandbox, local, shape, settings):
    settings.TRYON = {**settings.TRYON, "CALLBACK_TOLERANCE_SECONDS": 300}
    sandbox.configure(kling_webhook_secret=WEBHOOK_SECRET, kling_callback_shape=shape)
    adapter = connect(sandbox, WEBHOOK_SECRET=WEBHOOK_SECRET)
    tryon = job(callback_url=local.url + "/cb/kling/token")
    created = adapter.submit(tryon)
    poll(adapter, created.task_id)
    sandbox.wait_idle()
    posts = local.wait_for_posts(3)  # submitted, processing, succeeded
    statuses = []
    for post in posts:
        assert adapter.verify_callback(post["body"], post["headers"], request_secret="") is True
        hint = adapter.parse_callback(post["body"], post["headers"])
        assert hint.task_id == created.task_id
        statuses.append(hint.raw_status)
    assert statuses[-1] == ("succeed" if shape == "legacy" else "succeeded")
    if shape == "legacy":
        assert hint.external_id == tryon.request_id
    tampered = posts[-1]["body"].replace(b"succeed", b"failed")
    assert adapter.verify_callback(tampered, posts[-1]["headers"], request_secret="") is False
    other = connect(sandbox, WEBHOOK_SECRET="whsec_b3RoZXJzZWNyZXRvdGhlcnNlY3JldG90aGVy")
    assert other.verify_callback(posts[-1]["body"], posts[-1]["headers"], request_secret="") is (
        False
    )
    adapter.close()
    other.close()


def test_duplicated_callbacks_verify_alike(sandbox, local):
    sandbox.configure(kling_webhook_secret=WEBHOOK_SECRET)
    sandbox.set_faults(callbacks_duplicate=True)
    adapter = connect(sandbox, WEBHOOK_SECRET=WEBHOOK_SECRET)
    created = adapter.submit(job(callback_url=local.url + "/cb"))
    poll(adapter, created.task_id)
    sandbox.wait_idle()
    posts = local.wait_for_posts(6)
    ids = [p["headers"]["webhook-id"] for p in posts]
    assert len(set(ids)) == 3  # every message twice, under the same id
    for post in posts:
        assert adapter.verify_callback(post["body"], post["headers"], request_secret="") is True
        assert adapter.parse_callback(post["body"], post["headers"]).task_id == created.task_id
    adapter.close()


def test_reordered_callbacks_still_parse(sandbox, local, adapter):
    sandbox.set_faults(callbacks_reorder=1)
    created = adapter.submit(job(callback_url=local.url + "/cb"))
    poll(adapter, created.task_id)
    sandbox.wait_idle()
    posts = local.wait_for_posts(3)
    statuses = [adapter.parse_callback(p["body"], p["headers"]).raw_status for p in posts]
    assert statuses == ["succeed", "processing", "submitted"]
    # The body is only a hint: fetching gives the truth whatever order hints came in.
    assert adapter.fetch(created.task_id).state is base.TaskState.SUCCEEDED


def test_dropped_callbacks_do_not_hide_the_result(sandbox, local, adapter):
    sandbox.set_faults(callbacks_drop=True)
    created = adapter.submit(job(callback_url=local.url + "/cb"))
    done = poll(adapter, created.task_id)
    sandbox.wait_idle()
    assert local.posts == []
    assert done.state is base.TaskState.SUCCEEDED
    assert json.loads(sandbox.callbacks_dropped[-1].body)["task_status"] == "succeed"
