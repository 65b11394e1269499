"""What every adapter's contract test shares: the test images, a sandbox holding the
module's keys, an adapter connected to it, one try-on's input, polling a task to its end, creates counted, a result downloaded as PNG."""

from __future__ import annotations

import io
import time
from typing import Any

import httpx
import pytest
from PIL import Image

from django_tryon.providers.base import Provider, ProviderTask
from django_tryon.sandbox import Sandbox

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_image(width: int, height: int, fmt: str, color: tuple[int, int, int]) -> bytes:
    img = Image.new("RGB", (width, height), color)
    img.paste((20, 20, 20), (0, height // 3, width, height // 3 + 12))
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


PERSON = make_image(400, 600, "PNG", (180, 60, 60))
UPPER = make_image(320, 320, "JPEG", (30, 30, 200))
LOWER = make_image(320, 400, "JPEG", (30, 160, 30))


def fast_sandbox(**keys: Any) -> Sandbox:
    """A sandbox on a free port with no queue or generation time, holding ``keys``."""
    return Sandbox(
        port=0,
        queue_seconds=0,
        generation_seconds=0,
        fetch_timeout_seconds=2,
        callback_timeout_seconds=2,
        **keys,
    )


def connected(provider_class: type[Provider], sandbox: Sandbox, settings: dict, options: dict):
    """An adapter of ``provider_class`` on ``sandbox``: the module's ``settings``, a short
    timeout, then the test's ``options`` (``None`` leaves a setting out)."""
    values = {"BASE_URL": sandbox.url, "TIMEOUT_SECONDS": 5, **settings, **options}
    return provider_class({k: v for k, v in values.items() if v is not None})


def poll(adapter: Provider, task_id: str, timeout: float = 10.0) -> ProviderTask:
    deadline = time.monotonic() + timeout
    while True:
        task = adapter.fetch(task_id)
        if task.state.is_terminal:
            return task
        if time.monotonic() > deadline:
            pytest.fail(f"task {task_id} still {task.raw_status} after {timeout}s")
        time.sleep(0.02)


def creates(sandbox: Sandbox) -> list:
    return [r for r in sandbox.requests if r.kind == "create"]


def download_png(url: str) -> Image.Image:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(response.content), formats=["PNG"])
    image.load()
    return image
