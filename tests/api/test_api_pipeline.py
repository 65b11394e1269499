"""End to end through the API: a shopper's browser session creates a try-on over HTTP,
polls it while a real Celery worker and the sandbox do the work, then loads the image."""

from __future__ import annotations

import io
import time

import httpx
import pytest
from PIL import Image

from kit import imagegen
from tests.api.conftest import API

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.mark.parametrize(("provider", "batch_size"), [("kling", 1), ("piapi", 2)])
def test_create_poll_and_fetch_the_result(
    pipeline, worker_pool, make_garment, provider, batch_size
):
    base = pipeline["live_server"].url
    garment = make_garment("upper")
    with httpx.Client(base_url=base, trust_env=False, timeout=30) as browser:
        quota = browser.get(API + "quota/")
        assert quota.status_code == 200 and quota.json()["available"] is True

        def create() -> httpx.Response:
            """The widget's create, with the same idempotency key each time."""
            return browser.post(
                API + "requests/",
                data={
                    "garment": str(garment.pk),
                    "consent": "true",
                    "provider": provider,
                    "batch_size": str(batch_size),
                },
                files={"person_image": ("me.jpg", imagegen.make_person(), "image/jpeg")},
                headers={"X-CSRFToken": browser.cookies["csrftoken"], "Idempotency-Key": "e2e-1"},
            )

        started = time.monotonic()
        created = create()
        create_seconds = time.monotonic() - started
        assert created.status_code == 202, created.text
        location = created.headers["Location"]
        assert location == f"{base}{API}requests/{created.json()['id']}/"

        body = created.json()
        deadline = time.monotonic() + 60
        while body["status"] not in ("succeeded", "failed", "cancelled"):
            assert time.monotonic() < deadline, (
                f"still {body['status']}:\n{worker_pool.current.log()}"
            )
            # kombu's filesystem broker can kill a worker that is just starting (it may read
            # an exchange file while another thread writes it); a new one finishes the job,
            # as one would in production. Redis (CI) has no such race.
            worker_pool.ensure()
            time.sleep(0.3)
            body = browser.get(location).json()
        assert body["status"] == "succeeded", (body, worker_pool.current.log())
        assert body["error"] is None and body["completed_at"]
        assert len(body["results"]) == batch_size

        for result in body["results"]:
            image = browser.get(result["url"])  # the shopper's browser loads it
            assert image.status_code == 200
            assert image.content.startswith(b"\x89PNG")
            decoded = Image.open(io.BytesIO(image.content))
            assert decoded.size == (result["width"], result["height"])
            # A link that does not depend on the session: it can go in an <img src>.
            with httpx.Client(trust_env=False, timeout=30) as stranger:
                assert stranger.get(result["url"]).status_code == 200

        # The same key again (a double submit) answers the same request.
        replay = create()
        assert replay.status_code == 200 and replay.json()["id"] == body["id"]
        assert browser.get(API + "quota/").json()["shopper"]["used"] == batch_size
    # The create call only checks headers and stores the upload.
    assert create_seconds < 2.0
