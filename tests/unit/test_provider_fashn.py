"""FASHN adapter against mocked HTTP: every status, every documented error, the request."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from django_tryon.providers import base
from django_tryon.providers.fashn import FashnProvider
from tests.adapters import raised_exactly, tryon_input
from tests.unit.scripted import Scripted

API_KEY = "fashn-test-key-0123456789"
ID = "123a87r9-4129-4bb3-be18-9c9fb5bd7fc1-u1"


Fashn = Scripted


def adapter(*responses: httpx.Response, **options) -> tuple[FashnProvider, Fashn]:
    fashn = Fashn(*responses)
    client = httpx.Client(transport=httpx.MockTransport(fashn))
    return FashnProvider({"API_KEY": API_KEY, **options}, client=client), fashn


def job(**overrides) -> base.TryOnInput:
    person = base.InputImage(b"person-bytes", "image/jpeg", url="https://shop.test/p.jpg")
    garment = base.InputImage(b"garment-bytes", "image/png", url="https://shop.test/g.png")
    return tryon_input(person, garment, "lower", {"request_id": "r-1", **overrides})


def status(word: str, **extra) -> httpx.Response:
    return httpx.Response(
        200, json={"id": ID, "status": word, "output": None, "error": None, **extra}
    )


def test_a_run_is_one_post_with_its_inputs():
    fashn_, calls = adapter(httpx.Response(200, json={"id": ID, "error": None}))
    task = fashn_.submit(job(callback_url="https://shop.test/cb/fashn/t/", batch_size=3))
    assert (task.task_id, task.state) == (ID, base.TaskState.QUEUED)
    [request] = calls.requests
    assert request.method == "POST" and request.url.path == "/v1/run"
    assert request.url.params["webhook_url"] == "https://shop.test/cb/fashn/t/"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    body = json.loads(request.content)
    assert body["model_name"] == "tryon-v1.6"
    inputs = body["inputs"]
    assert inputs["model_image"] == "data:image/jpeg;base64,cGVyc29uLWJ5dGVz"
    assert inputs["garment_image"] == "data:image/png;base64,Z2FybWVudC1ieXRlcw=="
    assert (inputs["category"], inputs["num_samples"]) == ("bottoms", 3)
    assert "seed" not in inputs


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("starting", base.TaskState.QUEUED),
        ("in_queue", base.TaskState.QUEUED),
        ("processing", base.TaskState.RUNNING),
        ("IN_QUEUE", base.TaskState.QUEUED),
        ("something-new", base.TaskState.RUNNING),
    ],
)
def test_running_statuses(word, state):
    fashn_, _ = adapter(status(word))
    assert fashn_.fetch(ID).state is state


def test_completed_with_images_costs_credits():
    urls = ["https://cdn.fashn.ai/x/output_0.png", "https://cdn.fashn.ai/x/output_1.png"]
    fashn_, calls = adapter(status("completed", output=urls), ACCESSORIES=False)
    task = fashn_.fetch(ID)
    assert (task.state, task.image_urls) == (base.TaskState.SUCCEEDED, urls)
    assert (task.cost, task.cost_currency) == (Decimal(2), "credits")
    assert calls.requests[0].url.path == f"/v1/status/{ID}"


def test_completed_without_an_image_is_a_failure():
    fashn_, _ = adapter(status("completed", output=[]))
    task = fashn_.fetch(ID)
    assert (task.state, task.error_code) == (base.TaskState.FAILED, "no_result")


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("ContentModerationError", "content_refused"),
        ("ImageLoadError", "invalid_input"),
        ("PoseError", "provider_failed"),
        ("PipelineError", "provider_failed"),
        ("SomethingElse", "provider_failed"),
    ],
)
def test_runtime_errors(name, code):
    fashn_, _ = adapter(status("failed", error={"name": name, "message": "why"}))
    task = fashn_.fetch(ID)
    assert (task.state, task.error_code, task.message) == (
        base.TaskState.FAILED,
        code,
        f"{name}: why",
    )


@pytest.mark.parametrize("word", ["canceled", "time_out"])
def test_sdk_only_end_states_are_failures(word):
    fashn_, _ = adapter(status(word))
    task = fashn_.fetch(ID)
    assert task.state is base.TaskState.FAILED and word in task.message


@pytest.mark.parametrize(
    ("http", "name", "error"),
    [
        (400, "BadRequest", base.InvalidInput),
        (400, "ContentModerationError", base.ContentRefused),
        (401, "UnauthorizedAccess", base.ProviderAuthError),
        (403, "Forbidden", base.ProviderAccountError),
        (404, "NotFound", base.PermanentProviderError),  # on /run: not a missing task
        (429, "RateLimitExceeded", base.RateLimited),
        (429, "ConcurrencyLimitExceeded", base.RateLimited),
        (429, "OutOfCredits", base.ProviderAccountError),
        (500, "InternalServerError", base.ProviderUnavailable),
        (503, "ServiceUnavailable", base.ProviderUnavailable),
    ],
)
def test_request_errors(http, name, error):
    answer = httpx.Response(
        http, json={"error": name, "message": "said"}, headers={"Retry-After": "7"}
    )
    fashn_, _ = adapter(answer)
    caught = raised_exactly(error, lambda: fashn_.submit(job()))
    assert (caught.http_status, caught.code, caught.message) == (
        http,
        name,
        "said",
    )
    if error is base.RateLimited:
        assert caught.retry_after == 7
    assert API_KEY not in str(caught)


def test_unknown_prediction_is_task_not_found():
    fashn_, _ = adapter(httpx.Response(404, json={"error": "NotFound", "message": "no"}))
    with pytest.raises(base.TaskNotFound):
        fashn_.fetch(ID)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>proxy</html>"),
        httpx.Response(200, json={"id": None, "error": None}),
        httpx.Response(200, json={"id": None, "error": "PipelineError"}),
        httpx.Response(502, text="Bad gateway"),
    ],
)
def test_a_run_without_an_id_is_unknown_never_a_refusal(answer):
    """Nothing says the run was not made: the pipeline must treat it as maybe paid."""
    fashn_, calls = adapter(answer)
    with pytest.raises(base.ProviderUnavailable):
        fashn_.submit(job())
    assert len(calls.requests) == 1  # never retried here


def test_what_fashn_would_refuse_is_refused_before_paying():
    fashn_, calls = adapter()
    with pytest.raises(base.InvalidInput):
        fashn_.submit(job(lower_garment=base.InputImage(b"x")))
    with pytest.raises(base.InvalidInput):
        fashn_.submit(job(batch_size=5))
    with pytest.raises(base.InvalidInput):
        fashn_.submit(job(garment_category="scarf"))
    with pytest.raises(base.InvalidInput, match="one image a run"):
        fashn_.submit(job(garment_category="shoes", batch_size=2))
    with pytest.raises(base.InvalidInput, match="one product per run"):
        fashn_.submit(job(garment_category="hat", lower_garment=base.InputImage(b"x")))
    url_mode, _ = adapter(IMAGE_TRANSPORT="url")
    with pytest.raises(base.InvalidInput):
        url_mode.submit(job(person=base.InputImage(b"p")))
    assert calls.requests == []


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("MODEL", "tryon-v2"),
        ("MODE", "fast"),
        ("GARMENT_PHOTO_TYPE", "photo"),
        ("MODERATION_LEVEL", "strict"),
        ("IMAGE_TRANSPORT", "ftp"),
        ("SEED", -1),
        ("SEED", 2**32),
        ("SEED", "7"),
    ],
)
def test_bad_options_name_the_setting(option, value):
    with pytest.raises(base.ProviderConfigurationError, match=rf"\['fashn'\]\['{option}'\]"):
        FashnProvider({"API_KEY": API_KEY, option: value})


def test_options_reach_the_run_and_the_dedupe_key():
    answer = httpx.Response(200, json={"id": ID, "error": None})
    options = {"MODE": "quality", "SEED": 9, "MODERATION_LEVEL": "none"}
    fashn_, calls = adapter(answer, **options)
    fashn_.submit(job(garment_category="dress"))
    inputs = json.loads(calls.requests[0].content)["inputs"]
    assert (inputs["seed"], inputs["mode"], inputs["moderation_level"]) == (9, "quality", "none")
    assert inputs["category"] == "one-pieces"
    assert fashn_.model_name == "tryon-v1.6:quality"
    maximal, _ = adapter(MODEL="tryon-max")
    assert maximal.estimate_cost(2) == (Decimal(8), "credits")


@pytest.mark.parametrize("category", ["shoes", "bag", "hat", "jewellery"])
def test_an_accessory_goes_to_tryon_max_as_a_product(category):
    """tryon-max takes "shoes, hats, jewelry, bags": a product image and the person,
    nothing else documented, 4 credits an image, whatever MODEL says for clothing."""
    fashn_, calls = adapter(httpx.Response(200, json={"id": ID, "error": None}))
    assert category in fashn_.garment_categories
    fashn_.submit(job(garment_category=category))
    sent = json.loads(calls.requests[0].content)
    assert sent["model_name"] == "tryon-max"
    assert set(sent["inputs"]) == {"model_image", "product_image"}
    assert sent["inputs"]["product_image"].startswith("data:image/png;base64,")
    assert fashn_.estimate_cost_of(1, category) == (Decimal(4), "credits")
    assert fashn_.estimate_cost_of(1, "upper") == (Decimal(1), "credits")


def test_a_shop_may_keep_fashn_to_clothing():
    fashn_, _ = adapter(ACCESSORIES=False)
    assert fashn_.garment_categories == {"upper", "lower", "dress"}
    with pytest.raises(base.ProviderConfigurationError, match="ACCESSORIES"):
        FashnProvider({"API_KEY": API_KEY, "ACCESSORIES": "yes"})


def test_with_accessories_beside_clothing_a_status_leaves_the_estimate_standing():
    """A status answer does not say which model ran it (tryon-max costs 4 credits an
    image, tryon-v1.6 one): the estimate made for the garment's category stands."""
    urls = ["https://cdn.fashn.ai/x/output_0.png"]
    fashn_, _ = adapter(status("completed", output=urls))
    assert fashn_.fetch(ID).cost is None


def test_webhook_is_a_hint_by_its_id():
    fashn_, _ = adapter()
    body = json.dumps({"id": ID, "status": "completed", "output": ["u"], "error": None}).encode()
    hint = fashn_.parse_callback(body, {})
    assert (hint.task_id, hint.raw_status) == (ID, "completed")
    for bad in (b"[]", b'{"status": "completed"}', b'{"id": 5}'):
        with pytest.raises(ValueError):
            fashn_.parse_callback(bad, {})
