"""The PiAPI adapter against the in-process sandbox over real HTTP.

PiAPI fetches its inputs by URL, so a tiny local HTTP server serves the test images.
Each fault switch the sandbox offers for PiAPI must become the right exception or state.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from django_tryon.providers import base
from django_tryon.providers.piapi import PiAPIProvider
from django_tryon.sandbox import Sandbox
from tests.adapters import raised_exactly, tryon_input
from tests.contract.common import (
    LOWER,
    PERSON,
    UPPER,
    connected,
    creates,
    download_png,
    poll,
)
from tests.localhost import LocalHost

API_KEY = "contract-piapi-key"


SANDBOX_KEYS = {"piapi_key": API_KEY}


def connect(sandbox: Sandbox, **options: Any) -> PiAPIProvider:
    return connected(PiAPIProvider, sandbox, {"API_KEY": API_KEY}, options)


def job(local: LocalHost, **overrides: Any) -> base.TryOnInput:
    person = base.InputImage(PERSON, "image/png", url=local.add("/in/person.png", PERSON))
    garment = base.InputImage(UPPER, "image/jpeg", url=local.add("/in/dress.jpg", UPPER))
    return tryon_input(person, garment, "dress", overrides)


# -- happy paths ---------------------------------------------------------------------


def test_submit_poll_download(sandbox, adapter, local):
    created = adapter.submit(job(local))
    assert created.state is base.TaskState.QUEUED
    assert created.raw_status == "pending"
    assert set(local.fetched) == {"/in/person.png", "/in/dress.jpg"}

    done = poll(adapter, created.task_id)
    assert done.state is base.TaskState.SUCCEEDED
    assert done.raw_status == "completed"
    assert done.cost == Decimal("0.07")
    assert done.cost_currency == "USD"
    assert len(done.image_urls) == 1
    assert not done.image_urls[0].endswith("-watermarked.png")  # the clean one is preferred
    assert download_png(done.image_urls[0]).size == (400, 600)

    request = creates(sandbox)[0]
    assert request.headers["x-api-key"] == API_KEY
    assert request.json["input"] == {
        "model_input": local.url + "/in/person.png",
        "dress_input": local.url + "/in/dress.jpg",
        "batch_size": 1,
    }
    assert request.json["config"] == {"service_mode": "public"}


def test_outfit_with_a_batch(sandbox, adapter, local):
    tryon = job(
        local,
        garment=base.InputImage(UPPER, "image/jpeg", url=local.add("/in/upper.jpg", UPPER)),
        lower_garment=base.InputImage(LOWER, "image/jpeg", url=local.add("/in/lower.jpg", LOWER)),
        garment_category="upper",
        batch_size=2,
    )
    done = poll(adapter, adapter.submit(tryon).task_id)
    assert done.state is base.TaskState.SUCCEEDED
    assert len(done.image_urls) == 2
    assert done.cost == Decimal("0.14")
    images = [download_png(url) for url in done.image_urls]
    assert images[0].tobytes() != images[1].tobytes()
    body = creates(sandbox)[0].json["input"]
    assert body["upper_input"].endswith("/in/upper.jpg")
    assert body["lower_input"].endswith("/in/lower.jpg")
    assert "dress_input" not in body


@pytest.mark.parametrize(("mode", "sent"), [("private", {"service_mode": "private"}), ("", None)])
def test_service_modes(sandbox, local, mode, sent):
    adapter = connect(sandbox, SERVICE_MODE=mode)
    done = poll(adapter, adapter.submit(job(local)).task_id)
    assert done.state is base.TaskState.SUCCEEDED
    assert creates(sandbox)[0].json.get("config") == sent
    adapter.close()


def test_title_case_statuses_and_staged_tasks(sandbox, adapter, local):
    sandbox.configure(piapi_status_case="title", piapi_staged_seconds=0.3)
    created = adapter.submit(job(local))
    assert (created.state, created.raw_status) == (base.TaskState.QUEUED, "Staged")
    done = poll(adapter, created.task_id)
    assert (done.state, done.raw_status) == (base.TaskState.SUCCEEDED, "Completed")


def test_unreachable_input_is_invalid_input(sandbox, adapter, local):
    tryon = job(
        local, person=base.InputImage(PERSON, "image/png", url=local.url + "/in/missing.png")
    )
    with pytest.raises(base.InvalidInput) as caught:
        adapter.submit(tryon)
    assert caught.value.http_status == 400
    assert "download" in caught.value.message


# -- authentication and unknown tasks ------------------------------------------------


def test_wrong_key_is_an_auth_error(sandbox, local):
    adapter = connect(sandbox, API_KEY="wrong-key")
    with pytest.raises(base.ProviderAuthError) as caught:
        adapter.submit(job(local))
    assert caught.value.http_status == 401
    assert "wrong-key" not in str(caught.value)
    assert sandbox.tasks == []
    adapter.close()


def test_fetch_unknown_task_is_task_not_found(adapter):
    with pytest.raises(base.TaskNotFound):
        adapter.fetch(str(uuid.uuid4()))


# -- cancel --------------------------------------------------------------------------


def test_cancel_a_pending_task(sandbox, adapter, local):
    sandbox.configure(queue_seconds=30)
    created = adapter.submit(job(local))
    adapter.cancel(created.task_id)
    cancelled = adapter.fetch(created.task_id)
    assert cancelled.state is base.TaskState.FAILED
    assert cancelled.error_code == "provider_failed"
    assert cancelled.message == "task canceled by user"


def test_cancel_a_finished_task_is_not_supported(sandbox, adapter, local):
    created = adapter.submit(job(local))
    poll(adapter, created.task_id)
    with pytest.raises(base.CancelNotSupported) as caught:
        adapter.cancel(created.task_id)
    assert caught.value.http_status == 400
    assert "only pending tasks can be" in caught.value.message


def test_cancel_unknown_task_is_task_not_found(adapter):
    with pytest.raises(base.TaskNotFound):
        adapter.cancel(str(uuid.uuid4()))


# -- request faults ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error", "status"),
    [
        ("piapi_server_error", base.ProviderUnavailable, 500),
        ("piapi_rate_limit", base.RateLimited, 429),
    ],
)
@pytest.mark.parametrize("kind", ["create", "query", "cancel"])
def test_named_faults(sandbox, adapter, local, fault, error, status, kind):
    if kind == "create":
        sandbox.set_faults(**{fault: 1})

        def call() -> object:
            return adapter.submit(job(local))

    else:
        sandbox.configure(queue_seconds=30)  # keep the task pending so cancel could work
        task_id = adapter.submit(job(local)).task_id
        sandbox.set_faults(**{fault: {"on": kind, "count": 1}})
        method = adapter.fetch if kind == "query" else adapter.cancel

        def call() -> object:
            return method(task_id)

    caught = raised_exactly(error, lambda: call())
    assert (caught.provider, caught.http_status) == ("piapi", status)
    call()  # the switch fired once


@pytest.mark.parametrize(
    ("http", "on", "error"),
    [
        (400, "create", base.InvalidInput),
        (401, "create", base.ProviderAuthError),
        (402, "create", base.ProviderAccountError),
        (403, "create", base.ProviderAccountError),
        (404, "create", base.PermanentProviderError),
        (409, "create", base.PermanentProviderError),
        (429, "create", base.RateLimited),
        (500, "create", base.ProviderUnavailable),
        (502, "create", base.ProviderUnavailable),
        (503, "create", base.ProviderUnavailable),
        (401, "query", base.ProviderAuthError),
        (404, "query", base.TaskNotFound),
        (503, "query", base.ProviderUnavailable),
    ],
)
def test_custom_http_errors(sandbox, adapter, local, http, on, error):
    task_id = adapter.submit(job(local)).task_id if on == "query" else None
    sandbox.set_faults(piapi_error={"http": http, "on": on, "message": f"sandbox {http}"})
    with pytest.raises(error) as caught:
        if task_id:
            adapter.fetch(task_id)
        else:
            adapter.submit(job(local))
    assert type(caught.value) is error
    assert caught.value.http_status == http
    assert caught.value.message == f"sandbox {http}"
    assert API_KEY not in str(caught.value)


def test_hang_is_unavailable(sandbox, local):
    adapter = connect(sandbox, TIMEOUT_SECONDS=0.5)
    sandbox.set_faults(hang={"on": "query", "count": 1}, hang_seconds=3)
    created = adapter.submit(job(local))
    with pytest.raises(base.ProviderUnavailable) as caught:
        adapter.fetch(created.task_id)
    assert caught.value.retryable is True
    assert poll(adapter, created.task_id).state is base.TaskState.SUCCEEDED
    adapter.close()


def test_slow_answers_beyond_the_timeout_are_unavailable(sandbox):
    adapter = connect(sandbox, TIMEOUT_SECONDS=0.3)
    sandbox.set_faults(slow_seconds=1)
    with pytest.raises(base.ProviderUnavailable):
        adapter.fetch(str(uuid.uuid4()))
    sandbox.set_faults(slow_seconds=0)
    adapter.close()


# -- task faults ---------------------------------------------------------------------


def test_content_refused_task(sandbox, adapter, local):
    sandbox.set_faults(content_refused=1)
    done = poll(adapter, adapter.submit(job(local)).task_id)
    assert done.state is base.TaskState.FAILED
    assert done.error_code == "content_refused"
    assert done.message.startswith("content policy violation")
    assert done.image_urls == []
    assert done.cost is None


def test_failed_task(sandbox, adapter, local):
    sandbox.set_faults(task_fail={"message": "upstream generation failed", "count": 1})
    done = poll(adapter, adapter.submit(job(local)).task_id)
    assert done.state is base.TaskState.FAILED
    assert done.error_code == "provider_failed"
    assert done.message == "upstream generation failed"


# -- callbacks -----------------------------------------------------------------------


def test_webhooks_carry_the_secret_and_parse(sandbox, adapter, local):
    tryon = job(local, callback_url=local.url + "/cb/piapi/token", callback_secret="per-request")
    created = adapter.submit(tryon)
    poll(adapter, created.task_id)
    sandbox.wait_idle()
    posts = local.wait_for_posts(2)
    assert creates(sandbox)[0].json["config"]["webhook_config"] == {
        "endpoint": local.url + "/cb/piapi/token",
        "secret": "per-request",
    }
    for post in posts:
        assert post["path"] == "/cb/piapi/token"
        assert adapter.verify_callback(post["body"], post["headers"], request_secret="per-request")
        assert not adapter.verify_callback(post["body"], post["headers"], request_secret="other")
        assert adapter.parse_callback(post["body"], post["headers"]).task_id == created.task_id
    assert adapter.parse_callback(posts[-1]["body"], {}).raw_status == "completed"


def test_duplicated_and_reordered_webhooks_still_parse(sandbox, adapter, local):
    sandbox.set_faults(callbacks_duplicate=True, callbacks_reorder=1)
    tryon = job(local, callback_url=local.url + "/cb", callback_secret="s")
    created = adapter.submit(tryon)
    poll(adapter, created.task_id)
    sandbox.wait_idle()
    posts = local.wait_for_posts(2)
    hints = [adapter.parse_callback(p["body"], p["headers"]) for p in posts]
    assert {h.task_id for h in hints} == {created.task_id}
    assert hints[0].raw_status == "completed"  # newest first
    assert all(adapter.verify_callback(p["body"], p["headers"], request_secret="s") for p in posts)


def test_dropped_webhooks_do_not_hide_the_result(sandbox, adapter, local):
    sandbox.set_faults(callbacks_drop=True)
    created = adapter.submit(job(local, callback_url=local.url + "/cb", callback_secret="s"))
    done = poll(adapter, created.task_id)
    sandbox.wait_idle()
    assert local.posts == []
    assert done.state is base.TaskState.SUCCEEDED
