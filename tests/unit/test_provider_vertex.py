"""The Vertex AI adapter against scripted HTTP: the predict call, the images in its
answer, safety filtering, every error, the settings and the token."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import httpx
import pytest

from django_tryon.providers import base
from django_tryon.providers.vertex import VertexProvider
from tests.adapters import raised_exactly, tryon_input
from tests.unit.scripted import Scripted

TOKEN = "ya29.test-token"
REQUEST_ID = "6F1C2A34-0000-4000-8000-000000000001"
PNG = b"\x89PNG\r\n\x1a\n" + b"made" * 10
PREDICT = (
    "https://europe-west4-aiplatform.googleapis.com/v1/projects/shop-1/locations/"
    "europe-west4/publishers/google/models/virtual-try-on-001:predict"
)


def adapter(*responses: httpx.Response, **options) -> tuple[VertexProvider, Scripted]:
    service = Scripted(*responses)
    settings = {"PROJECT": "shop-1", "LOCATION": "europe-west4", "ACCESS_TOKEN": TOKEN}
    return VertexProvider({**settings, **options}, client=service.client()), service


def job(**overrides) -> base.TryOnInput:
    person = base.InputImage(b"person-jpeg", "image/jpeg")
    garment = base.InputImage(b"garment-png", "image/png")
    return tryon_input(person, garment, "upper", {"request_id": REQUEST_ID, **overrides})


def answered(*predictions: dict) -> httpx.Response:
    return httpx.Response(200, json={"predictions": list(predictions)})


def image(data: bytes = PNG) -> dict:
    return {"mimeType": "image/png", "bytesBase64Encoded": base64.b64encode(data).decode()}


def refused(http: int, status: str, message: str = "words") -> httpx.Response:
    return httpx.Response(
        http, json={"error": {"code": http, "message": message, "status": status}}
    )


def test_one_predict_call_with_both_images_inline():
    provider, service = adapter(answered(image(), image(b"\x89PNG second")))
    task = provider.submit(job(batch_size=2))
    [sent] = service.requests
    assert str(sent.url) == PREDICT
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    body = json.loads(sent.content)
    assert body["instances"] == [
        {
            "personImage": {
                "image": {
                    "bytesBase64Encoded": base64.b64encode(b"person-jpeg").decode(),
                    "mimeType": "image/jpeg",
                }
            },
            "productImages": [
                {
                    "image": {
                        "bytesBase64Encoded": base64.b64encode(b"garment-png").decode(),
                        "mimeType": "image/png",
                    }
                }
            ],
        }
    ]
    assert body["parameters"] == {
        "sampleCount": 2,
        "addWatermark": True,
        "safetySetting": "block_medium_and_above",
        "personGeneration": "allow_adult",
        "outputOptions": {"mimeType": "image/png"},
    }
    # The try-on's id, lower-cased as labels must be, in the shop's billing reports.
    assert body["labels"] == {"django-tryon-request": "6f1c2a34-0000-4000-8000-000000000001"}
    # The answer is the result: the images themselves, nothing to download.
    assert task.state is base.TaskState.SUCCEEDED
    assert task.images == [PNG, b"\x89PNG second"] and task.image_urls == []
    assert task.task_id == "predict:6F1C2A34-0000-4000-8000-000000000001"
    assert (task.cost, task.cost_currency) == (Decimal(2), "images")


def test_images_the_safety_filter_kept_back_are_not_paid_results():
    provider, _ = adapter(answered(image(), {"raiFilteredReason": "filtered"}))
    task = provider.submit(job(batch_size=2))
    assert task.state is base.TaskState.SUCCEEDED and task.images == [PNG]
    assert task.cost == Decimal(1)


def test_every_image_filtered_is_a_content_refusal():
    provider, _ = adapter(answered({"raiFilteredReason": "unsafe"}))
    task = provider.submit(job())
    assert task.state is base.TaskState.FAILED and task.error_code == "content_refused"
    assert task.message == "unsafe" and task.cost is None


def test_an_answer_without_predictions_is_unknown():
    provider, _ = adapter(httpx.Response(200, json={"something": "else"}))
    with pytest.raises(base.ProviderUnavailable):
        provider.submit(job())


def test_an_answer_with_no_usable_image_is_a_failure():
    provider, _ = adapter(answered({"bytesBase64Encoded": "%%not base64%%"}))
    task = provider.submit(job())
    assert task.state is base.TaskState.FAILED and task.error_code == "provider_failed"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"lower_garment": base.InputImage(b"x", "image/png")}, "not an outfit"),
        ({"batch_size": 5}, "1 to 4"),
        ({"garment_category": "shoes"}, "does not take 'shoes'"),
        ({"person": base.InputImage(b"x", "image/webp")}, "JPEG or PNG"),
        ({"garment": base.InputImage(b"x" * (10 * 1024 * 1024 + 1), "image/png")}, "10 MB"),
    ],
)
def test_what_vertex_would_refuse_is_refused_without_a_call(change, fragment):
    provider, service = adapter()
    with pytest.raises(base.InvalidInput, match=fragment):
        provider.submit(job(**change))
    assert service.requests == []


@pytest.mark.parametrize(
    ("http", "status", "error"),
    [
        (400, "INVALID_ARGUMENT", base.InvalidInput),
        (401, "UNAUTHENTICATED", base.ProviderAuthError),
        (403, "PERMISSION_DENIED", base.ProviderAccountError),
        (404, "NOT_FOUND", base.PermanentProviderError),
        (429, "RESOURCE_EXHAUSTED", base.RateLimited),
        (500, "INTERNAL", base.ProviderUnavailable),
        (503, "UNAVAILABLE", base.ProviderUnavailable),
        (504, "DEADLINE_EXCEEDED", base.ProviderUnavailable),
    ],
)
def test_every_google_rpc_error_maps_to_its_error(http, status, error):
    provider, _ = adapter(refused(http, status))
    caught = raised_exactly(error, lambda: provider.submit(job()))
    assert (caught.code, caught.http_status) == (status, http)


def test_a_body_that_is_not_googles_json_is_unknown():
    provider, _ = adapter(httpx.Response(502, text="<html>bad gateway</html>"))
    with pytest.raises(base.ProviderUnavailable):
        provider.submit(job())


def test_nothing_can_be_fetched_again_and_no_callback_is_read():
    provider, _ = adapter()
    with pytest.raises(base.TaskNotFound, match="keeps no task"):
        provider.fetch("predict:x")
    with pytest.raises(ValueError):
        provider.parse_callback(b"{}", {})
    assert provider.sends_callbacks is False and provider.supports_find is False


def test_a_content_refusal_under_400_is_told_apart_from_bad_input():
    """Vertex answers a blocked input with 400 too: it is still bad input, never paid."""
    provider, _ = adapter(refused(400, "INVALID_ARGUMENT", "The input image is blocked"))
    with pytest.raises(base.InvalidInput) as caught:
        provider.submit(job())
    assert not isinstance(caught.value, base.ContentRefused)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"MODEL": "virtual-try-on-002"}, "MODEL"),
        ({"SAFETY_SETTING": "block_all"}, "SAFETY_SETTING"),
        ({"ADD_WATERMARK": "no"}, "ADD_WATERMARK"),
        ({"SEED": 7}, "ADD_WATERMARK = False"),
        ({"SEED": -1, "ADD_WATERMARK": False}, "SEED"),
        ({"BASE_STEPS": 0}, "BASE_STEPS"),
        ({"TIMEOUT_SECONDS": 110}, "TIMEOUT_SECONDS"),
    ],
)
def test_the_settings_are_checked(options, fragment):
    settings = {"PROJECT": "p", "ACCESS_TOKEN": TOKEN, **options}
    with pytest.raises(base.ProviderConfigurationError, match=fragment):
        VertexProvider(settings)


def test_the_region_names_the_endpoint_unless_base_url_is_set():
    provider = VertexProvider({"PROJECT": "p", "LOCATION": "asia-northeast1", "ACCESS_TOKEN": "t"})
    assert provider.base_url == "https://asia-northeast1-aiplatform.googleapis.com"
    provider = VertexProvider({"PROJECT": "p", "ACCESS_TOKEN": "t", "BASE_URL": "http://x:1"})
    assert provider.base_url == "http://x:1"


def test_a_seed_and_no_watermark_are_sent_and_dedupe():
    provider, service = adapter(answered(image()), SEED=42, ADD_WATERMARK=False, BASE_STEPS=40)
    provider.submit(job())
    parameters = json.loads(service.requests[0].content)["parameters"]
    assert (parameters["seed"], parameters["addWatermark"], parameters["baseSteps"]) == (
        42,
        False,
        40,
    )
    assert provider.model_name == "virtual-try-on-001:clean:block_medium_and_above"
