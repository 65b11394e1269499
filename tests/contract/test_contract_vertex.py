"""The Vertex AI adapter against the in-process sandbox over real HTTP: one synchronous
call answered with its images, safety filtering, refusals, and a service-account key
whose token comes from the sandbox's token endpoint."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image

from django_tryon.providers import base
from django_tryon.providers.vertex import VertexProvider
from django_tryon.sandbox import Sandbox
from tests.adapters import tryon_input
from tests.contract.common import PERSON, UPPER, connected

TOKEN = "contract-vertex-token"
PROJECT = "contract-project"
SANDBOX_KEYS = {"vertex_access_token": TOKEN, "vertex_project": PROJECT}


def connect(sandbox: Sandbox, **options: Any) -> VertexProvider:
    return connected(VertexProvider, sandbox, {"PROJECT": PROJECT, "ACCESS_TOKEN": TOKEN}, options)


def job(**overrides: Any) -> base.TryOnInput:
    person, garment = base.InputImage(PERSON, "image/png"), base.InputImage(UPPER, "image/jpeg")
    return tryon_input(person, garment, "upper", overrides)


def calls(sandbox: Sandbox) -> list:
    return [r for r in sandbox.requests if r.kind == "predict"]


def test_one_call_answered_with_the_images(sandbox, adapter):
    try_on = job(batch_size=3)
    task = adapter.submit(try_on)
    assert task.state is base.TaskState.SUCCEEDED and task.image_urls == []
    assert len(task.images) == 3
    for data in task.images:
        with Image.open(io.BytesIO(data)) as made:
            assert made.format == "PNG" and made.size == (400, 600)
    assert len(calls(sandbox)) == 1
    [recorded] = sandbox.tasks
    # The call is named by the try-on it was for (the billing label).
    assert recorded["external_task_id"] == try_on.request_id
    assert recorded["state"] == "succeeded" and recorded["batch_size"] == 3


def test_a_safety_refusal_is_content_refused(sandbox, adapter):
    sandbox.set_faults(content_refused=1)
    task = adapter.submit(job())
    assert task.state is base.TaskState.FAILED and task.error_code == "content_refused"
    assert "safety filter" in task.message


def test_a_wrong_token_is_an_auth_error(sandbox):
    adapter = connect(sandbox, ACCESS_TOKEN="ya29.wrong")
    with pytest.raises(base.ProviderAuthError) as caught:
        adapter.submit(job())
    assert caught.value.code == "UNAUTHENTICATED"
    assert sandbox.task_count == 0
    adapter.close()


def test_another_project_is_refused_as_the_account(sandbox):
    adapter = connect(sandbox, PROJECT="not-ours")
    with pytest.raises(base.ProviderAccountError):
        adapter.submit(job())
    adapter.close()


@pytest.mark.parametrize(
    ("fault", "error", "status"),
    [
        ("vertex_quota", base.RateLimited, "RESOURCE_EXHAUSTED"),
        ("vertex_unavailable", base.ProviderUnavailable, "UNAVAILABLE"),
    ],
)
def test_refusals_make_nothing(sandbox, adapter, fault, error, status):
    sandbox.set_faults(**{fault: 1})
    with pytest.raises(error) as caught:
        adapter.submit(job())
    assert caught.value.code == status
    assert sandbox.task_count == 0


def test_a_failure_after_the_call_began_is_unknown(sandbox, adapter):
    """A 500 once the images were being made: the call may have been paid."""
    sandbox.set_faults(task_fail=1)
    with pytest.raises(base.ProviderUnavailable) as caught:
        adapter.submit(job())
    assert caught.value.http_status == 500
    assert sandbox.task_count == 1


def test_a_lost_answer_is_unknown(sandbox):
    adapter = connect(sandbox, TIMEOUT_SECONDS=1)
    sandbox.set_faults(hang={"count": 1, "on": "predict"}, hang_seconds=3)
    with pytest.raises(base.ProviderUnavailable) as caught:
        adapter.submit(job())
    assert caught.value.http_status is None
    adapter.close()


def test_an_input_vertex_refuses_is_a_400(sandbox, adapter):
    small = base.InputImage(b"\x89PNG\r\n\x1a\n not really", "image/png")
    with pytest.raises(base.InvalidInput) as caught:
        adapter.submit(job(garment=small))
    assert caught.value.code == "INVALID_ARGUMENT"


def test_a_service_account_key_gets_its_token_from_the_token_endpoint(sandbox, tmp_path):
    pytest.importorskip("google.auth", reason="google-auth is the vertex extra")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = tmp_path / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": PROJECT,
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": "tryon@contract-project.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": sandbox.url + "/vertex/oauth2/token",
            }
        )
    )
    adapter = connect(sandbox, ACCESS_TOKEN=None, CREDENTIALS_FILE=str(path))
    assert adapter.submit(job()).state is base.TaskState.SUCCEEDED
    assert adapter.submit(job()).state is base.TaskState.SUCCEEDED
    tokens = [r for r in sandbox.requests if r.kind == "token"]
    assert len(tokens) == 1  # reused until it is near its expiry
    assert calls(sandbox)[0].headers["authorization"].startswith("Bearer ya29.sandbox-")
    adapter.close()
