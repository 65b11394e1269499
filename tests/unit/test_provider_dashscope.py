"""The Model Studio (DashScope) adapter against scripted HTTP: the request, every status,
every documented error, the settings."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from django_tryon.providers import base
from django_tryon.providers.dashscope import DashScopeProvider
from kit import imagegen
from tests.adapters import raised_exactly, tryon_input
from tests.unit.scripted import Scripted

API_KEY = "sk-test-0123456789"
TASK = "0385dc79-5ff8-4d82-bcb6-xxxxxx"
PHOTO = imagegen.encode(imagegen.textured_image(400, 600), "JPEG")


def adapter(*responses: httpx.Response, **options) -> tuple[DashScopeProvider, Scripted]:
    service = Scripted(*responses)
    return DashScopeProvider({"API_KEY": API_KEY, **options}, client=service.client()), service


def job(**overrides) -> base.TryOnInput:
    person = base.InputImage(PHOTO, url="https://shop.test/p.jpg")
    garment = base.InputImage(PHOTO, url="https://shop.test/g.jpg")
    return tryon_input(person, garment, "upper", {"request_id": "r-1", **overrides})


def created() -> httpx.Response:
    return httpx.Response(
        200, json={"output": {"task_status": "PENDING", "task_id": TASK}, "request_id": "q"}
    )


def status(word: str, **output) -> httpx.Response:
    body = {"request_id": "q", "output": {"task_id": TASK, "task_status": word, **output}}
    if word == "SUCCEEDED":
        body["usage"] = {"image_count": 1}
    return httpx.Response(200, json=body)


def refused(http: int, code: str, message: str = "words") -> httpx.Response:
    return httpx.Response(http, json={"code": code, "message": message, "request_id": "q"})


def test_a_task_is_one_async_post_with_its_image_urls():
    provider, service = adapter(created())
    task = provider.submit(job(callback_url="https://shop.test/cb/"))
    assert (task.task_id, task.state, task.raw_status) == (TASK, base.TaskState.QUEUED, "PENDING")
    [sent] = service.requests
    assert sent.method == "POST"
    assert sent.url == (
        "https://dashscope.aliyuncs.com/api/v1/services/aigc/image2image/image-synthesis"
    )
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["x-dashscope-async"] == "enable"
    assert service.json() == {
        "model": "aitryon-plus",
        "input": {
            "person_image_url": "https://shop.test/p.jpg",
            "top_garment_url": "https://shop.test/g.jpg",
        },
        "parameters": {"resolution": -1, "restore_face": True},
    }


def test_an_outfit_is_a_top_and_a_bottom_in_one_call():
    provider, service = adapter(created())
    lower = base.InputImage(PHOTO, url="https://shop.test/l.jpg")
    provider.submit(job(lower_garment=lower))
    assert service.json()["input"] == {
        "person_image_url": "https://shop.test/p.jpg",
        "top_garment_url": "https://shop.test/g.jpg",
        "bottom_garment_url": "https://shop.test/l.jpg",
    }


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"batch_size": 2}, "one image per task"),
        ({"garment": base.InputImage(PHOTO)}, "no URL"),
        ({"garment": base.InputImage(b"x" * 100, url="https://shop.test/g")}, "5 KB to 5 MB"),
        ({"garment": base.InputImage(b"x" * (5 * 1024 * 1024 + 1), url="https://s/g")}, "5 MB"),
        ({"garment": base.InputImage(b"not an image" * 1000, url="https://s/g")}, "cannot be read"),
        (
            {
                "garment": base.InputImage(
                    imagegen.encode(imagegen.textured_image(120, 900), "JPEG"), url="https://s/g"
                )
            },
            "150 to 4096",
        ),
        ({"garment_category": "shoes"}, "does not take 'shoes'"),
    ],
)
def test_what_the_service_would_refuse_is_refused_without_a_call(change, fragment):
    provider, service = adapter()
    with pytest.raises(base.InvalidInput, match=fragment):
        provider.submit(job(**change))
    assert service.requests == []


def test_an_accepted_create_without_a_task_id_is_unknown():
    provider, _ = adapter(httpx.Response(200, json={"output": {}, "request_id": "q"}))
    with pytest.raises(base.ProviderUnavailable, match="no task_id"):
        provider.submit(job())


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("PENDING", base.TaskState.QUEUED),
        ("PRE-PROCESSING", base.TaskState.RUNNING),
        ("RUNNING", base.TaskState.RUNNING),
        ("POST-PROCESSING", base.TaskState.RUNNING),
        ("SOMETHING-NEW", base.TaskState.RUNNING),
    ],
)
def test_every_running_status(word, state):
    provider, service = adapter(status(word))
    assert provider.fetch(TASK).state is state
    assert service.requests[0].url.path == f"/api/v1/tasks/{TASK}"


def test_a_success_has_its_image_and_its_cost():
    url = "https://dashscope-result-hz.oss-cn-hangzhou.aliyuncs.com/t.jpg?Expires=1&Signature=s"
    provider, _ = adapter(status("SUCCEEDED", image_url=url))
    task = provider.fetch(TASK)
    assert task.state is base.TaskState.SUCCEEDED
    assert task.image_urls == [url]
    assert (task.cost, task.cost_currency) == (Decimal(1), "images")


def test_an_http_result_link_on_alibabas_storage_is_fetched_over_https():
    """The documented example link is http://; its signature does not cover the scheme."""
    url = "http://dashscope-result-hz.oss-cn-hangzhou.aliyuncs.com/tryon.jpg?Expires=1"
    provider, _ = adapter(status("SUCCEEDED", image_url=url))
    assert provider.fetch(TASK).image_urls == [url.replace("http://", "https://")]
    other = "http://127.0.0.1:8765/_sandbox/results/x/0.png"
    provider, _ = adapter(status("SUCCEEDED", image_url=other))
    assert provider.fetch(TASK).image_urls == [other]


def test_a_success_without_an_image_is_a_failure():
    provider, _ = adapter(status("SUCCEEDED"))
    task = provider.fetch(TASK)
    assert task.state is base.TaskState.FAILED and task.error_code == "no_result"


@pytest.mark.parametrize(
    ("code", "error_code"),
    [
        ("DataInspectionFailed", "content_refused"),
        ("InvalidPerson", "invalid_input"),
        ("InvalidGarment", "invalid_input"),
        ("InvalidURL", "invalid_input"),
        ("InvalidInputLength", "invalid_input"),
        ("InvalidParameter", "invalid_input"),
        ("InternalError.Algo", "provider_failed"),
    ],
)
def test_a_failed_task_says_why(code, error_code):
    provider, _ = adapter(status("FAILED", code=code, message="the service's words"))
    task = provider.fetch(TASK)
    assert task.state is base.TaskState.FAILED and task.error_code == error_code
    assert task.message == f"{code}: the service's words" and task.cost is None


def test_a_canceled_task_failed():
    provider, _ = adapter(status("CANCELED"))
    task = provider.fetch(TASK)
    assert task.state is base.TaskState.FAILED and "canceled" in task.message


def test_an_unknown_task_is_not_found():
    provider, _ = adapter(status("UNKNOWN"))
    with pytest.raises(base.TaskNotFound, match="24 hours"):
        provider.fetch(TASK)


@pytest.mark.parametrize(
    ("http", "code", "message", "error"),
    [
        (400, "InvalidParameter", "words", base.InvalidInput),
        (400, "InvalidURL", "words", base.InvalidInput),
        (400, "DataInspectionFailed", "words", base.ContentRefused),
        (400, "Arrearage", "Access denied", base.ProviderAccountError),
        (401, "InvalidApiKey", "Invalid API-key provided.", base.ProviderAuthError),
        (403, "AccessDenied", "no sync calls", base.ProviderAccountError),
        (403, "AccessDenied.Unpurchased", "not bought", base.ProviderAccountError),
        (404, "ModelNotFound", "words", base.PermanentProviderError),
        (429, "Throttling", "Requests throttling triggered.", base.RateLimited),
        (429, "Throttling.RateQuota", "rate limit exceeded", base.RateLimited),
        (429, "Throttling.AllocationQuota", "Allocated quota exceeded", base.RateLimited),
        (
            429,
            "Throttling.AllocationQuota",
            "Free allocated quota exceeded.",
            base.ProviderAccountError,
        ),
        (500, "InternalError", "words", base.ProviderUnavailable),
        (503, "ModelServingError", "words", base.ProviderUnavailable),
    ],
)
def test_every_documented_refusal_maps_to_its_error(http, code, message, error):
    provider, _ = adapter(refused(http, code, message))
    caught = raised_exactly(error, lambda: provider.submit(job()))
    assert (caught.code, caught.http_status) == (code, http)


def test_a_body_that_is_not_the_services_json_is_unknown():
    provider, _ = adapter(httpx.Response(502, text="<html>bad gateway</html>"))
    with pytest.raises(base.ProviderUnavailable):
        provider.submit(job())


def test_a_404_while_fetching_is_a_task_not_found():
    provider, _ = adapter(refused(404, "NotFound"))
    with pytest.raises(base.TaskNotFound):
        provider.fetch(TASK)


def test_the_settings_are_checked():
    with pytest.raises(base.ProviderConfigurationError, match="RESOLUTION"):
        DashScopeProvider({"API_KEY": API_KEY, "RESOLUTION": 720})
    with pytest.raises(base.ProviderConfigurationError, match="RESTORE_FACE"):
        DashScopeProvider({"API_KEY": API_KEY, "RESTORE_FACE": "yes"})
    with pytest.raises(base.ProviderConfigurationError, match="MODEL"):
        DashScopeProvider({"API_KEY": API_KEY, "MODEL": "aitryon-max"})
    with pytest.raises(base.ProviderConfigurationError, match="API_KEY"):
        DashScopeProvider({})


def test_the_model_the_face_and_the_size_are_in_the_dedupe_key():
    plain, _ = adapter()
    other, _ = adapter(RESOLUTION=1280, RESTORE_FACE=False, MODEL="aitryon")
    assert plain.model_name == "aitryon-plus:-1:face"
    assert other.model_name == "aitryon:1280:newface"


def test_no_callback_is_read():
    provider, _ = adapter()
    assert provider.sends_callbacks is False
    with pytest.raises(ValueError):
        provider.parse_callback(b"{}", {})
    assert provider.verify_callback(b"{}", {}, request_secret="s") is False
