"""Against the real providers, with real money: skipped unless the shop's keys are set.

    KLING_ACCESS_KEY=... KLING_SECRET_KEY=... pytest tests/live -m live
    PIAPI_API_KEY=... TRYON_LIVE_PUBLIC_IMAGE_BASE=https://... pytest tests/live -m live
    FASHN_API_KEY=... pytest tests/live -m live
    DASHSCOPE_API_KEY=... TRYON_LIVE_PUBLIC_IMAGE_BASE=https://... pytest tests/live -m live
    VERTEX_PROJECT=... [VERTEX_ACCESS_TOKEN=... | Application Default Credentials] pytest ...

Each test creates one real task (one paid image) and waits for it to finish.
"""

from __future__ import annotations

import os
import time
import uuid

import pytest

from django_tryon.providers.base import InputImage, TaskState, TryOnInput
from django_tryon.providers.dashscope import DashScopeProvider
from django_tryon.providers.fashn import FashnProvider
from django_tryon.providers.kling import KlingProvider
from django_tryon.providers.piapi import PiAPIProvider
from django_tryon.providers.vertex import VertexProvider
from kit import imagegen

pytestmark = pytest.mark.live

KLING_KEYS = os.environ.get("KLING_ACCESS_KEY") and os.environ.get("KLING_SECRET_KEY")
PIAPI_KEY = os.environ.get("PIAPI_API_KEY")
FASHN_KEY = os.environ.get("FASHN_API_KEY")
DASHSCOPE_KEY = os.environ.get("DASHSCOPE_API_KEY")
VERTEX_PROJECT = os.environ.get("VERTEX_PROJECT")
# PiAPI and Model Studio fetch inputs by URL: a public folder holding person.jpg and garment.png.
PUBLIC_IMAGES = os.environ.get("TRYON_LIVE_PUBLIC_IMAGE_BASE")


def wait_until_done(adapter, task_id, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = adapter.fetch(task_id)
        if task.state.is_terminal:
            return task
        time.sleep(5)
    raise AssertionError(f"task {task_id} not finished after {timeout}s")


@pytest.mark.skipif(not KLING_KEYS, reason="live: KLING_ACCESS_KEY/KLING_SECRET_KEY not set")
def test_kling_live_round_trip():
    adapter = KlingProvider(
        {
            "ACCESS_KEY": os.environ["KLING_ACCESS_KEY"],
            "SECRET_KEY": os.environ["KLING_SECRET_KEY"],
            "BASE_URL": os.environ.get("KLING_BASE_URL", "https://api-singapore.klingai.com"),
            "MODEL": os.environ.get("KLING_MODEL", "kolors-virtual-try-on-v1-5"),
        }
    )
    request_id = str(uuid.uuid4())
    job = TryOnInput(
        request_id=request_id,
        person=InputImage(imagegen.make_person()),
        garment=InputImage(imagegen.make_garment("upper"), content_type="image/png"),
        garment_category="upper",
    )
    task = adapter.submit(job)
    assert task.task_id
    assert adapter.find(request_id).task_id == task.task_id
    done = wait_until_done(adapter, task.task_id)
    assert done.state in (TaskState.SUCCEEDED, TaskState.FAILED)
    if done.state == TaskState.SUCCEEDED:
        assert done.image_urls


@pytest.mark.skipif(
    not (PIAPI_KEY and PUBLIC_IMAGES),
    reason="live: PIAPI_API_KEY and TRYON_LIVE_PUBLIC_IMAGE_BASE not set",
)
def test_piapi_live_round_trip():
    adapter = PiAPIProvider(
        {
            "API_KEY": PIAPI_KEY,
            "BASE_URL": os.environ.get("PIAPI_BASE_URL", "https://api.piapi.ai"),
        }
    )
    base = PUBLIC_IMAGES.rstrip("/")
    job = TryOnInput(
        request_id=str(uuid.uuid4()),
        person=InputImage(b"", url=f"{base}/person.jpg"),
        garment=InputImage(b"", url=f"{base}/garment.png"),
        garment_category="upper",
    )
    task = adapter.submit(job)
    done = wait_until_done(adapter, task.task_id)
    assert done.state in (TaskState.SUCCEEDED, TaskState.FAILED)
    if done.state == TaskState.SUCCEEDED:
        assert done.image_urls and done.cost is not None


@pytest.mark.skipif(not FASHN_KEY, reason="live: FASHN_API_KEY not set")
def test_fashn_live_round_trip():
    adapter = FashnProvider(
        {
            "API_KEY": FASHN_KEY,
            "BASE_URL": os.environ.get("FASHN_BASE_URL", "https://api.fashn.ai"),
            "MODE": "performance",
        }
    )
    job = TryOnInput(
        request_id=str(uuid.uuid4()),
        person=InputImage(imagegen.make_person()),
        garment=InputImage(imagegen.make_garment("upper"), content_type="image/png"),
        garment_category="upper",
    )
    task = adapter.submit(job)  # base64 with its data: prefix
    done = wait_until_done(adapter, task.task_id)
    assert done.state in (TaskState.SUCCEEDED, TaskState.FAILED)
    if done.state == TaskState.SUCCEEDED:
        assert done.image_urls and done.cost_currency == "credits"


@pytest.mark.skipif(
    not (DASHSCOPE_KEY and PUBLIC_IMAGES),
    reason="live: DASHSCOPE_API_KEY and TRYON_LIVE_PUBLIC_IMAGE_BASE not set",
)
def test_dashscope_live_round_trip():
    import httpx

    adapter = DashScopeProvider(
        {
            "API_KEY": DASHSCOPE_KEY,
            "BASE_URL": os.environ.get("DASHSCOPE_BASE_URL", "https://dashscope.aliyuncs.com"),
            "MODEL": os.environ.get("DASHSCOPE_MODEL", "aitryon-plus"),
        }
    )
    base = PUBLIC_IMAGES.rstrip("/")
    # The adapter checks each image's size and sides before paying: it needs the bytes.
    person, garment = (
        httpx.get(f"{base}/{name}").content for name in ("person.jpg", "garment.png")
    )
    job = TryOnInput(
        request_id=str(uuid.uuid4()),
        person=InputImage(person, url=f"{base}/person.jpg"),
        garment=InputImage(garment, content_type="image/png", url=f"{base}/garment.png"),
        garment_category="upper",
    )
    task = adapter.submit(job)
    done = wait_until_done(adapter, task.task_id)
    assert done.state in (TaskState.SUCCEEDED, TaskState.FAILED)
    if done.state == TaskState.SUCCEEDED:
        assert done.image_urls and done.cost_currency == "images"


@pytest.mark.skipif(not VERTEX_PROJECT, reason="live: VERTEX_PROJECT not set")
def test_vertex_live_call():
    """One real call: the answer carries the images (or all of them were filtered)."""
    settings = {
        "PROJECT": VERTEX_PROJECT,
        "LOCATION": os.environ.get("VERTEX_LOCATION", "us-central1"),
        "MODEL": os.environ.get("VERTEX_MODEL", "virtual-try-on-001"),
        "ACCESS_TOKEN": os.environ.get("VERTEX_ACCESS_TOKEN"),
        "CREDENTIALS_FILE": os.environ.get("VERTEX_CREDENTIALS_FILE"),
        "TIMEOUT_SECONDS": 90,
    }
    adapter = VertexProvider({k: v for k, v in settings.items() if v})
    job = TryOnInput(
        request_id=str(uuid.uuid4()),
        person=InputImage(imagegen.make_person()),
        garment=InputImage(imagegen.make_garment("upper"), content_type="image/png"),
        garment_category="upper",
    )
    done = adapter.submit(job)
    assert done.state in (TaskState.SUCCEEDED, TaskState.FAILED)
    if done.state == TaskState.SUCCEEDED:
        assert done.images and done.cost_currency == "images"
