"""Fixtures for the sandbox tests: a fast sandbox, image makers, an image host, a receiver.

Helpers reach the test modules as fixtures (``make_image``, ``wait_until``), never by
importing this file, so it cannot clash with another directory's conftest.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from django_tryon.sandbox import Sandbox
from kit import waiting
from tests.localhost import LocalHost, served

KLING_PATH = "/v1/images/kolors-virtual-try-on"
PIAPI_PATH = "/api/v1/task"


def _make_image(
    width: int = 400, height: int = 600, fmt: str = "PNG", color=(180, 60, 60)
) -> bytes:
    """A plain image of the given size and format, with a stripe so it is not flat."""
    img = Image.new("RGB", (width, height), color)
    img.paste((20, 20, 20), (0, height // 3, width, height // 3 + 10))
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def make_image() -> Callable[..., bytes]:
    """make_image(width=400, height=600, fmt="PNG", color=(r, g, b)) -> bytes."""
    return _make_image


@pytest.fixture
def wait_until() -> Callable[..., Any]:
    """wait_until(predicate, timeout=5.0) -> the predicate's truthy value."""
    return waiting.wait_until


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A started sandbox on a free port whose tasks finish at once."""
    with Sandbox(
        port=0,
        queue_seconds=0,
        generation_seconds=0,
        fetch_timeout_seconds=2,
        callback_timeout_seconds=2,
    ) as sb:
        yield sb


@pytest.fixture
def kling(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An HTTP client for the sandbox's Kling API with a valid JWT."""
    headers = {"Authorization": f"Bearer {sandbox.api('kling').token()}"}
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def piapi(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An HTTP client for the sandbox's PiAPI API with the right key."""
    headers = {"x-api-key": sandbox.config["piapi_key"]}
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def kling_body() -> dict[str, Any]:
    """A valid Kling create body with raw base64 images."""
    return {
        "model_name": "kolors-virtual-try-on-v1-5",
        "human_image": b64(_make_image(400, 600)),
        "cloth_image": b64(_make_image(300, 300, color=(30, 30, 200))),
    }


file_host = pytest.fixture(served, name="file_host")
receiver = pytest.fixture(served, name="receiver")


@pytest.fixture
def piapi_body(file_host: LocalHost) -> dict[str, Any]:
    """A valid PiAPI create body whose input URLs the file host serves."""
    return {
        "model": "kling",
        "task_type": "ai_try_on",
        "input": {
            "model_input": file_host.add("/person.png", _make_image(400, 600)),
            "dress_input": file_host.add("/dress.jpg", _make_image(320, 480, "JPEG")),
            "batch_size": 1,
        },
    }
