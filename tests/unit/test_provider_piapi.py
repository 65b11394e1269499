"""PiAPI adapter against mocked HTTP: request shape, envelope, statuses, cancel, callbacks."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from django_tryon.messages import shopper_message
from django_tryon.providers import base
from django_tryon.providers.piapi import PiAPIProvider
from tests.adapters import tryon_input
from tests.unit.scripted import Scripted

API_KEY = "piapi-test-key-0123456789"
TASK_ID = "3f1e0c52-9a8b-4f7e-9c1d-2b5a6e7f8a90"
PERSON_URL = "https://shop.test/tryon/in/person.jpg?sig=p"
GARMENT_URL = "https://shop.test/tryon/in/garment.jpg?sig=g"
LOWER_URL = "https://shop.test/tryon/in/lower.jpg?sig=l"
NO_ERROR = {"code": 0, "raw_message": "", "message": "", "detail": None}


PiAPI = Scripted


def task(status: str = "pending", *, works=None, error=None, **extra) -> dict:
    data = {
        "task_id": TASK_ID,
        "model": "kling",
        "task_type": "ai_try_on",
        "status": status,
        "config": {},
        "input": {},
        "output": {"works": works or []},
        "meta": {"created_at": "2026-01-01T00:00:00Z", "ended_at": "0001-01-01T00:00:00Z"},
        "detail": None,
        "logs": [],
        "error": error or dict(NO_ERROR),
    }
    data.update(extra)
    return data


def reply(data=None, *, code: int = 200, message: str = "success", status: int = 200, headers=None):
    return httpx.Response(
        status, json={"code": code, "message": message, "data": data}, headers=headers
    )


def work(clean: str = "", marked: str = "") -> dict:
    return {
        "type": "mmu_img2img_aitryon",
        "image": {"resource": marked, "resource_without_watermark": clean},
    }


def make(piapi, **options) -> PiAPIProvider:
    opts = {"API_KEY": API_KEY, **options}
    return PiAPIProvider(opts, client=httpx.Client(transport=httpx.MockTransport(piapi)))


def image(url: str | None) -> base.InputImage:
    return base.InputImage(b"jpeg-bytes", "image/jpeg", url=url)


def job(**overrides) -> base.TryOnInput:
    return tryon_input(
        image(PERSON_URL), image(GARMENT_URL), "dress", {"request_id": "req-uuid-1", **overrides}
    )


# -- configuration -------------------------------------------------------------------


def test_class_capabilities():
    assert PiAPIProvider.name == "piapi"
    assert PiAPIProvider.max_batch_size == 4
    assert PiAPIProvider.composes_outfits is False
    assert PiAPIProvider.needs_input_urls is True
    assert PiAPIProvider.supports_find is False
    assert PiAPIProvider.default_base_url == "https://api.piapi.ai"


def test_result_hosts_include_piapi_storage_and_kling_cdn():
    hosts = make(PiAPI()).result_hosts
    assert hosts[0] == "storage.theapi.app"
    assert "h1.inkwai.com" in hosts
    assert hosts[-1] == "api.piapi.ai"


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"API_KEY": ""}, "API_KEY"),
        ({"API_KEY": "k", "SERVICE_MODE": "hya"}, "SERVICE_MODE"),
        ({"API_KEY": "k", "MODEL": "kling"}, "MODEL"),
    ],
)
def test_bad_configuration_names_the_setting(options, needle):
    with pytest.raises(base.ProviderConfigurationError) as caught:
        PiAPIProvider(options, client=httpx.Client(transport=httpx.MockTransport(PiAPI())))
    assert needle in str(caught.value)


def test_find_is_not_supported():
    assert make(PiAPI()).find("req-uuid-1") is None


@pytest.mark.parametrize(("batch", "cost"), [(1, "0.07"), (3, "0.21"), (4, "0.28")])
def test_estimate_cost(batch, cost):
    assert make(PiAPI()).estimate_cost(batch) == (Decimal(cost), "USD")


# -- create --------------------------------------------------------------------------


def test_submit_dress_request_shape():
    piapi = PiAPI(reply(task("pending")))
    result = make(piapi).submit(job())
    request = piapi.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "https://api.piapi.ai/api/v1/task"
    assert request.headers["x-api-key"] == API_KEY
    assert piapi.json() == {
        "model": "kling",
        "task_type": "ai_try_on",
        "input": {"model_input": PERSON_URL, "dress_input": GARMENT_URL, "batch_size": 1},
        "config": {"service_mode": "public"},
    }
    assert result.task_id == TASK_ID
    assert result.state is base.TaskState.QUEUED
    assert result.provider == "piapi"


@pytest.mark.parametrize(("category", "key"), [("upper", "upper_input"), ("lower", "lower_input")])
def test_submit_single_garment_keys(category, key):
    piapi = PiAPI(reply(task()))
    make(piapi).submit(job(garment_category=category))
    assert piapi.json()["input"] == {"model_input": PERSON_URL, key: GARMENT_URL, "batch_size": 1}


def test_submit_outfit_sends_upper_and_lower():
    piapi = PiAPI(reply(task()))
    make(piapi).submit(job(garment_category="upper", lower_garment=image(LOWER_URL), batch_size=2))
    assert piapi.json()["input"] == {
        "model_input": PERSON_URL,
        "upper_input": GARMENT_URL,
        "lower_input": LOWER_URL,
        "batch_size": 2,
    }


@pytest.mark.parametrize("category", ["dress", "lower"])
def test_submit_outfit_needs_an_upper_garment(category):
    piapi = PiAPI()
    with pytest.raises(base.InvalidInput):
        make(piapi).submit(job(garment_category=category, lower_garment=image(LOWER_URL)))
    assert piapi.requests == []


def test_submit_unknown_category_is_invalid():
    with pytest.raises(base.InvalidInput):
        make(PiAPI()).submit(job(garment_category="shoes"))


@pytest.mark.parametrize(
    "overrides",
    [
        {"person": image(None)},
        {"garment": image(None)},
        {"garment_category": "upper", "lower_garment": image(None)},
        {"person": image("")},
    ],
)
def test_submit_needs_urls_for_every_image(overrides):
    piapi = PiAPI()
    with pytest.raises(base.InvalidInput) as caught:
        make(piapi).submit(job(**overrides))
    assert caught.value.provider == "piapi"
    assert piapi.requests == []


@pytest.mark.parametrize("batch_size", [0, -1, 5])
def test_submit_batch_size_bounds(batch_size):
    piapi = PiAPI()
    with pytest.raises(base.InvalidInput):
        make(piapi).submit(job(batch_size=batch_size))
    assert piapi.requests == []


@pytest.mark.parametrize("batch_size", [1, 4])
def test_submit_batch_size_limits_are_accepted(batch_size):
    piapi = PiAPI(reply(task()))
    make(piapi).submit(job(batch_size=batch_size))
    assert piapi.json()["input"]["batch_size"] == batch_size


def test_submit_private_service_mode():
    piapi = PiAPI(reply(task()))
    make(piapi, SERVICE_MODE="private").submit(job())
    assert piapi.json()["config"] == {"service_mode": "private"}


def test_submit_workspace_default_mode_omits_service_mode_and_empty_config():
    piapi = PiAPI(reply(task()), reply(task()))
    provider = make(piapi, SERVICE_MODE="")
    provider.submit(job())
    assert "config" not in piapi.json()
    provider.submit(job(callback_url="https://shop.test/cb", callback_secret="s3cret"))
    assert piapi.json()["config"] == {
        "webhook_config": {"endpoint": "https://shop.test/cb", "secret": "s3cret"}
    }


def test_submit_webhook_config():
    piapi = PiAPI(reply(task()))
    make(piapi).submit(
        job(callback_url="https://shop.test/tryon/cb/piapi/abc", callback_secret="per-request")
    )
    assert piapi.json()["config"] == {
        "service_mode": "public",
        "webhook_config": {
            "endpoint": "https://shop.test/tryon/cb/piapi/abc",
            "secret": "per-request",
        },
    }


def test_submit_without_task_id_is_unavailable():
    with pytest.raises(base.ProviderUnavailable):
        make(PiAPI(reply({"status": "pending"}))).submit(job())


# -- envelope and errors -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, base.InvalidInput),
        (401, base.ProviderAuthError),
        (402, base.ProviderAccountError),
        (403, base.ProviderAccountError),
        (404, base.PermanentProviderError),
        (409, base.PermanentProviderError),
        (429, base.RateLimited),
        (500, base.ProviderUnavailable),
        (502, base.ProviderUnavailable),
        (503, base.ProviderUnavailable),
    ],
)
def test_http_errors_on_create(status, error):
    body = {"code": status, "message": "failed to create task", "data": None}
    piapi = PiAPI(httpx.Response(status, json=body))
    with pytest.raises(error) as caught:
        make(piapi).submit(job())
    exc = caught.value
    assert type(exc) is error
    assert exc.provider == "piapi"
    assert exc.http_status == status
    assert exc.message == "failed to create task"
    assert API_KEY not in str(exc)
    assert API_KEY not in exc.user_message


def test_404_on_fetch_is_task_not_found():
    with pytest.raises(base.TaskNotFound):
        make(PiAPI(reply(code=404, message="task not found", status=404))).fetch(TASK_ID)


def test_http_200_is_not_success_without_code_200():
    with pytest.raises(base.ProviderUnavailable):
        make(PiAPI(reply(task(), code=500, message="internal"))).fetch(TASK_ID)
    with pytest.raises(base.InvalidInput):
        make(PiAPI(reply(None, code=400, message="bad input"))).submit(job())
    with pytest.raises(base.ProviderUnavailable):
        make(PiAPI(reply(task(), code=0))).fetch(TASK_ID)


def test_error_message_prefers_the_task_error():
    data = {"error": {"code": 10000, "message": "model_input is not reachable", "raw_message": ""}}
    with pytest.raises(base.InvalidInput) as caught:
        make(PiAPI(reply(data, code=400, message="failed", status=400))).submit(job())
    assert caught.value.message == "model_input is not reachable"
    data = {"error": {"code": 10000, "message": "", "raw_message": "raw words"}}
    with pytest.raises(base.InvalidInput) as caught:
        make(PiAPI(reply(data, code=400, message="failed", status=400))).submit(job())
    assert caught.value.message == "raw words"


def test_moderation_refusal_on_create_is_content_refused():
    piapi = PiAPI(reply(None, code=400, message="image failed content risk control", status=400))
    with pytest.raises(base.ContentRefused) as caught:
        make(piapi).submit(job())
    assert caught.value.user_message == shopper_message("content_refused")


def test_rate_limit_honours_retry_after():
    piapi = PiAPI(
        reply(None, code=429, message="too many", status=429, headers={"Retry-After": "12"})
    )
    with pytest.raises(base.RateLimited) as caught:
        make(piapi).submit(job())
    assert caught.value.retry_after == 12.0


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>maintenance</html>"),
        httpx.Response(502, text="bad gateway"),
        httpx.Response(200, json=[1, 2]),
        # Too deep for json.loads: RecursionError, not ValueError, escaped the adapter.
        httpx.Response(200, text='{"data": ' * 5000 + "1" + "}" * 5000),
    ],
)
def test_unparseable_body_is_unavailable(response):
    with pytest.raises(base.ProviderUnavailable):
        make(PiAPI(response)).fetch(TASK_ID)


@pytest.mark.parametrize("exc", [httpx.ConnectTimeout("slow"), httpx.ConnectError("refused")])
def test_transport_errors_are_unavailable(exc):
    def handler(request):
        raise exc

    with pytest.raises(base.ProviderUnavailable) as caught:
        make(handler).submit(job())
    assert caught.value.provider == "piapi"


# -- fetch ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("pending", base.TaskState.QUEUED),
        ("Pending", base.TaskState.QUEUED),
        ("staged", base.TaskState.QUEUED),
        ("STAGED", base.TaskState.QUEUED),
        ("processing", base.TaskState.RUNNING),
        ("Processing", base.TaskState.RUNNING),
        ("retrying", base.TaskState.RUNNING),
        ("", base.TaskState.RUNNING),
    ],
)
def test_fetch_in_progress_states(status, state):
    piapi = PiAPI(reply(task(status)))
    result = make(piapi).fetch(TASK_ID)
    assert piapi.requests[0].method == "GET"
    assert piapi.requests[0].url.path == f"/api/v1/task/{TASK_ID}"
    assert result.state is state
    assert result.raw_status == status
    assert result.message == ""
    assert result.cost is None


@pytest.mark.parametrize("status", ["completed", "Completed", "COMPLETED"])
def test_fetch_completed(status):
    works = [
        work(clean="https://storage.theapi.app/a.png", marked="https://h1.inkwai.com/a.png"),
        work(clean="https://storage.theapi.app/b.png", marked="https://h1.inkwai.com/b.png"),
    ]
    data = task(status, works=works)
    result = make(PiAPI(reply(data))).fetch(TASK_ID)
    assert result.state is base.TaskState.SUCCEEDED
    assert result.image_urls == [
        "https://storage.theapi.app/a.png",
        "https://storage.theapi.app/b.png",
    ]
    assert result.cost == Decimal("0.14")
    assert result.cost_currency == "USD"
    assert result.error_code == ""
    assert result.message == ""
    assert result.raw == data


def test_fetch_falls_back_to_the_watermarked_image():
    works = [
        work(clean="", marked="https://h1.inkwai.com/marked.png"),
        {"image": {"resource": "", "resource_without_watermark": ""}},
        {"image": None},
        "junk",
        work(clean="https://storage.theapi.app/clean.png"),
    ]
    result = make(PiAPI(reply(task("completed", works=works)))).fetch(TASK_ID)
    assert result.image_urls == [
        "https://h1.inkwai.com/marked.png",
        "https://storage.theapi.app/clean.png",
    ]
    assert result.cost == Decimal("0.14")


def test_fetch_tolerates_flat_output_urls():
    data = task("completed", output={"image_url": "https://storage.theapi.app/x.png"})
    assert make(PiAPI(reply(data))).fetch(TASK_ID).image_urls == [
        "https://storage.theapi.app/x.png"
    ]
    data = task("completed", output={"image_urls": ["https://storage.theapi.app/y.png", ""]})
    assert make(PiAPI(reply(data))).fetch(TASK_ID).image_urls == [
        "https://storage.theapi.app/y.png"
    ]


@pytest.mark.parametrize("output", [{"works": []}, None, {"works": [work()]}, "nothing"])
def test_fetch_completed_without_url_is_failed(output):
    result = make(PiAPI(reply(task("completed", output=output)))).fetch(TASK_ID)
    assert result.state is base.TaskState.FAILED
    assert result.message == "PiAPI reported success but returned no result image"
    assert result.error_code == "no_result"
    assert result.cost is None


@pytest.mark.parametrize(
    ("error", "detail", "message"),
    [
        (
            {"code": 10000, "message": "invalid person image", "raw_message": "x"},
            None,
            "invalid person image",
        ),
        (
            {"code": 10000, "message": "", "raw_message": "kling: Image pixel is invalid"},
            None,
            "kling: Image pixel is invalid",
        ),
        ({"code": 10000, "message": "", "raw_message": "", "detail": "timeout"}, None, "timeout"),
        (dict(NO_ERROR), "upstream gave up", "upstream gave up"),
        (dict(NO_ERROR), None, "PiAPI reported the task as failed without a reason"),
    ],
)
def test_fetch_failed_message(error, detail, message):
    result = make(PiAPI(reply(task("Failed", error=error, detail=detail)))).fetch(TASK_ID)
    assert result.state is base.TaskState.FAILED
    assert result.message == message
    assert result.error_code == "provider_failed"
    assert result.cost is None


def test_fetch_failed_by_moderation_is_content_refused():
    error = {"code": 10000, "message": "failure to pass the risk control system", "raw_message": ""}
    result = make(PiAPI(reply(task("failed", error=error)))).fetch(TASK_ID)
    assert result.error_code == "content_refused"
    assert result.message == "failure to pass the risk control system"


# -- cancel --------------------------------------------------------------------------


def test_cancel_sends_delete():
    piapi = PiAPI(reply(task("cancelled")))
    assert make(piapi).cancel(TASK_ID) is None
    request = piapi.requests[0]
    assert request.method == "DELETE"
    assert request.url.path == f"/api/v1/task/{TASK_ID}"
    assert request.headers["x-api-key"] == API_KEY


@pytest.mark.parametrize("status", [400, 409])
def test_cancel_of_a_started_task_is_not_supported(status):
    piapi = PiAPI(reply(None, code=status, message="task is not pending", status=status))
    with pytest.raises(base.CancelNotSupported) as caught:
        make(piapi).cancel(TASK_ID)
    assert caught.value.message == (
        "PiAPI would not cancel the task (only pending tasks can be): task is not pending"
    )
    assert caught.value.http_status == status
    assert caught.value.provider == "piapi"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, base.ProviderAuthError),
        (404, base.TaskNotFound),
        (429, base.RateLimited),
        (500, base.ProviderUnavailable),
    ],
)
def test_cancel_keeps_other_errors(status, error):
    with pytest.raises(error):
        make(PiAPI(reply(None, code=status, message="x", status=status))).cancel(TASK_ID)


# -- callbacks -----------------------------------------------------------------------


def test_parse_callback():
    body = json.dumps({"timestamp": 1781080794, "data": task("completed")}).encode()
    assert make(PiAPI()).parse_callback(body, {}) == base.CallbackHint(
        task_id=TASK_ID, raw_status="completed"
    )


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"timestamp": 1}',
        b'{"data": "x"}',
        b'{"data": {"status": "completed"}}',
        b'{"data": {"task_id": ""}}',
    ],
)
def test_parse_callback_rejects_non_callbacks(body):
    with pytest.raises(ValueError):
        make(PiAPI()).parse_callback(body, {})


@pytest.mark.parametrize(
    ("headers", "request_secret", "expected"),
    [
        ({"x-webhook-secret": "per-request"}, "per-request", True),
        ({"X-Webhook-Secret": "per-request"}, "per-request", True),
        ({"x-webhook-secret": "per-request "}, "per-request", True),  # header whitespace
        ({"x-webhook-secret": "wrong"}, "per-request", False),
        ({"x-webhook-secret": "per-request"}, "", False),
        ({"x-webhook-secret": ""}, "", False),
        ({}, "per-request", False),
        ({"x-webhook-secret": "pér"}, "per", False),
    ],
)
def test_verify_callback_checks_the_echoed_secret(headers, request_secret, expected):
    assert make(PiAPI()).verify_callback(b"{}", headers, request_secret=request_secret) is expected


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("pending", base.TaskState.QUEUED),
        ("Staged", base.TaskState.QUEUED),
        ("processing", base.TaskState.RUNNING),
        ("Completed", base.TaskState.SUCCEEDED),
        ("FAILED", base.TaskState.FAILED),
        ("retrying", base.TaskState.RUNNING),
    ],
)
def test_normalise_status_for_callback_hints(raw, state):
    """The callback view reads hints through normalise_status: terminal ones must show."""
    assert make(PiAPI()).normalise_status(raw) is state
