"""The FASHN adapter against the in-process sandbox over real HTTP.

What FASHN refuses at /run the sandbox refuses the same way (nothing is created); what it
finds only while running ends the prediction failed with the documented error name. Each
fault switch must become the right exception or state.
"""

from __future__ import annotations

import base64
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from django_tryon.providers import base
from django_tryon.providers.fashn import FashnProvider
from django_tryon.sandbox import Sandbox
from tests.adapters import raised_exactly, tryon_input
from tests.contract.common import PERSON, UPPER, connected, download_png, poll

API_KEY = "contract-fashn-key"
SANDBOX_KEYS = {"fashn_key": API_KEY}


def connect(sandbox: Sandbox, **options: Any) -> FashnProvider:
    return connected(FashnProvider, sandbox, {"API_KEY": API_KEY}, options)


def job(**overrides: Any) -> base.TryOnInput:
    person, garment = base.InputImage(PERSON, "image/png"), base.InputImage(UPPER, "image/jpeg")
    return tryon_input(person, garment, "upper", overrides)


def runs(sandbox: Sandbox) -> list:
    return [r for r in sandbox.requests if r.kind == "create"]


def raw_run(sandbox: Sandbox, body: Any, key: str = API_KEY) -> httpx.Response:
    return httpx.post(
        sandbox.url + "/v1/run", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=5
    )


# -- happy paths ---------------------------------------------------------------------


def test_run_poll_download_with_base64_and_its_prefix(sandbox):
    # Clothing only: with accessories at tryon-max beside it, a status says no cost.
    adapter = connect(sandbox, ACCESSORIES=False)
    created = adapter.submit(job(batch_size=2))
    assert created.state is base.TaskState.QUEUED and created.task_id
    done = poll(adapter, created.task_id)
    assert (done.state, done.raw_status) == (base.TaskState.SUCCEEDED, "completed")
    assert (done.cost, done.cost_currency) == (Decimal("2"), "credits")
    assert len(done.image_urls) == 2
    images = [download_png(url) for url in done.image_urls]
    assert images[0].tobytes() != images[1].tobytes()

    request = runs(sandbox)[0]
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    inputs = request.json["inputs"]
    assert request.json["model_name"] == "tryon-v1.6"
    # FASHN wants the data: prefix that Kling forbids.
    assert inputs["model_image"] == "data:image/png;base64," + base64.b64encode(PERSON).decode()
    assert inputs["garment_image"].startswith("data:image/jpeg;base64,")
    assert {k: inputs[k] for k in ("category", "mode", "num_samples", "moderation_level")} == {
        "category": "tops",
        "mode": "balanced",
        "num_samples": 2,
        "moderation_level": "conservative",
    }
    adapter.close()


def test_inputs_by_url(sandbox, local):
    adapter = connect(sandbox, IMAGE_TRANSPORT="url", MODEL="tryon-max", SEED=42, MODE="quality")
    tryon = job(
        person=base.InputImage(PERSON, "image/png", url=local.add("/in/p.png", PERSON)),
        garment=base.InputImage(UPPER, "image/jpeg", url=local.add("/in/g.jpg", UPPER)),
        garment_category="dress",
    )
    done = poll(adapter, adapter.submit(tryon).task_id)
    assert done.state is base.TaskState.SUCCEEDED
    assert (done.cost, done.cost_currency) == (Decimal("4"), "credits")  # tryon-max
    assert set(local.fetched) == {"/in/p.png", "/in/g.jpg"}
    body = runs(sandbox)[0].json
    assert body["model_name"] == "tryon-max"
    # tryon-max takes the garment as a product image, with no category.
    assert body["inputs"] == {
        "model_image": local.url + "/in/p.png",
        "product_image": local.url + "/in/g.jpg",
    }
    assert adapter.needs_input_urls and adapter.model_name == "tryon-max:quality"
    adapter.close()


def test_a_shoe_goes_to_tryon_max_as_a_product(sandbox, adapter):
    done = poll(adapter, adapter.submit(job(garment_category="shoes")).task_id)
    assert done.state is base.TaskState.SUCCEEDED and len(done.image_urls) == 1
    body = runs(sandbox)[0].json
    assert body["model_name"] == "tryon-max"
    assert set(body["inputs"]) == {"model_image", "product_image"}


def test_an_outfit_is_refused_before_anything_is_sent(sandbox, adapter):
    with pytest.raises(base.InvalidInput, match="one garment per run"):
        adapter.submit(job(lower_garment=base.InputImage(UPPER, "image/jpeg")))
    assert runs(sandbox) == []


# -- what FASHN refuses at /run -------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"model_name": "tryon-v9"}, "model_name"),
        ({"inputs": {"garment_image": "https://x.test/g.jpg"}}, "inputs.model_image"),
        ({"category": "hats"}, "inputs.category"),
        ({"num_samples": 5}, "inputs.num_samples"),
        ({"num_samples": 0}, "inputs.num_samples"),
        ({"seed": -1}, "inputs.seed"),
        ({"mode": "fast"}, "inputs.mode"),
    ],
)
def test_bad_runs_are_400_and_create_nothing(sandbox, change, words):
    body: dict[str, Any] = {
        "model_name": "tryon-v1.6",
        "inputs": {"model_image": "https://x.test/p.jpg", "garment_image": "https://x.test/g.jpg"},
    }
    for key, value in change.items():
        if key in ("model_name", "inputs"):
            body[key] = value
        else:
            body["inputs"][key] = value
    response = raw_run(sandbox, body)
    assert response.status_code == 400
    assert response.json()["error"] == "BadRequest" and words in response.json()["message"]
    assert sandbox.tasks == []  # nothing was created


def test_a_bad_key_is_an_auth_error(sandbox):
    adapter = connect(sandbox, API_KEY="wrong")
    with pytest.raises(base.ProviderAuthError) as caught:
        adapter.submit(job())
    assert caught.value.http_status == 401 and caught.value.code == "UnauthorizedAccess"
    assert "wrong" not in str(caught.value)
    adapter.close()


def test_fetch_unknown_prediction_is_task_not_found(adapter):
    with pytest.raises(base.TaskNotFound):
        adapter.fetch(str(uuid.uuid4()))


# -- what FASHN finds only while running ------------------------------------------------


def test_base64_without_its_prefix_fails_the_prediction(sandbox):
    response = raw_run(
        sandbox,
        {
            "model_name": "tryon-v1.6",
            "inputs": {
                "model_image": base64.b64encode(PERSON).decode(),
                "garment_image": "data:image/jpeg;base64," + base64.b64encode(UPPER).decode(),
            },
        },
    )
    assert response.status_code == 200 and response.json()["error"] is None
    adapter = connect(sandbox)
    done = poll(adapter, response.json()["id"])
    assert done.state is base.TaskState.FAILED and done.error_code == "invalid_input"
    assert done.message.startswith("ImageLoadError")
    adapter.close()


def test_a_url_that_is_not_an_image_fails_the_prediction(sandbox, local):
    adapter = connect(sandbox, IMAGE_TRANSPORT="url")
    page = local.add("/in/page.html", b"<html>not an image</html>")
    tryon = job(
        person=base.InputImage(PERSON, "image/png", url=page),
        garment=base.InputImage(UPPER, "image/jpeg", url=local.add("/in/g.jpg", UPPER)),
    )
    done = poll(adapter, adapter.submit(tryon).task_id)
    assert (done.state, done.error_code) == (base.TaskState.FAILED, "invalid_input")
    assert "ImageLoadError" in done.message
    adapter.close()


def test_moderation_fails_the_prediction(sandbox, adapter):
    sandbox.set_faults(content_refused=1)
    done = poll(adapter, adapter.submit(job()).task_id)
    assert (done.state, done.error_code) == (base.TaskState.FAILED, "content_refused")
    assert done.message.startswith("ContentModerationError") and done.image_urls == []


def test_a_pipeline_failure(sandbox, adapter):
    sandbox.set_faults(task_fail={"message": "no person found", "count": 1})
    done = poll(adapter, adapter.submit(job()).task_id)
    assert (done.state, done.error_code) == (base.TaskState.FAILED, "provider_failed")
    assert done.message == "PipelineError: no person found"


# -- request faults ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error", "status", "name"),
    [
        ("fashn_rate_limit", base.RateLimited, 429, "RateLimitExceeded"),
        ("fashn_concurrency_limit", base.RateLimited, 429, "ConcurrencyLimitExceeded"),
        ("fashn_out_of_credits", base.ProviderAccountError, 429, "OutOfCredits"),
        ("fashn_server_error", base.ProviderUnavailable, 500, "InternalServerError"),
    ],
)
@pytest.mark.parametrize("kind", ["create", "query"])
def test_named_faults(sandbox, adapter, fault, error, status, name, kind):
    task_id = adapter.submit(job()).task_id if kind == "query" else None
    sandbox.set_faults(**{fault: {"on": kind, "count": 1}})
    call = (lambda: adapter.fetch(task_id)) if task_id else (lambda: adapter.submit(job()))
    caught = raised_exactly(error, lambda: call())
    assert (caught.http_status, caught.code) == (status, name)
    call()  # the switch fired once


@pytest.mark.parametrize(
    ("http", "error"),
    [
        (400, base.InvalidInput),
        (401, base.ProviderAuthError),
        (403, base.ProviderAccountError),
        (409, base.PermanentProviderError),
        (502, base.ProviderUnavailable),
    ],
)
def test_custom_http_errors(sandbox, adapter, http, error):
    sandbox.set_faults(fashn_error={"http": http, "message": f"sandbox {http}"})
    with pytest.raises(error) as caught:
        adapter.submit(job())
    assert caught.value.message == f"sandbox {http}"


def test_a_lost_run_answer_is_unavailable_and_the_prediction_exists(sandbox):
    """The run was made (and will be paid) but its answer never came: the adapter says
    "unknown", never tries again itself; the pipeline must not resubmit blindly."""
    adapter = connect(sandbox, TIMEOUT_SECONDS=0.5)
    sandbox.set_faults(hang={"on": "create", "count": 1}, hang_seconds=2)
    with pytest.raises(base.ProviderUnavailable):
        adapter.submit(job())
    assert len(runs(sandbox)) == 1  # one call, no retry of its own
    adapter.close()


# -- webhooks ------------------------------------------------------------------------


def test_one_unsigned_webhook_with_the_status_payload(sandbox, adapter, local):
    created = adapter.submit(job(callback_url=local.url + "/cb/fashn/token"))
    poll(adapter, created.task_id)
    sandbox.wait_idle()
    [post] = local.wait_for_posts(1)
    assert post["path"] == "/cb/fashn/token"
    assert runs(sandbox)[0].query["webhook_url"] == local.url + "/cb/fashn/token"
    hint = adapter.parse_callback(post["body"], post["headers"])
    assert (hint.task_id, hint.raw_status) == (created.task_id, "completed")
    with pytest.raises(ValueError):
        adapter.parse_callback(b'{"status": "completed"}', {})
