"""The admin's lists as a merchandiser sees them in Chromium: they fit the window."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from django_tryon.models import Source, TryOnBatch, TryOnRequest
from django_tryon.status import Status
from tests.admin.conftest import MERCHANDISER_PERMISSIONS, garment, make_staff, model_photo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def requests_list(django_user_model):
    """A page of try-ons in every state, with long garment names and a batch."""
    staff = make_staff(django_user_model, "merch", MERCHANDISER_PERMISSIONS)
    shirt = garment("Organic cotton relaxed-fit striped oxford shirt", "upper")
    jeans = garment("High-rise wide-leg stretch denim jeans, washed blue", "lower")
    alex = model_photo("Alexandra (tall, size M)")
    batch = TryOnBatch.objects.create(created_by=staff, provider="piapi", note="spring lookbook")
    now = timezone.now()
    for i, status in enumerate([s for s in Status] * 2):
        TryOnRequest.objects.create(
            garment=shirt if i % 2 else jeans,
            lower_garment=jeans if i % 3 == 0 and i % 2 else None,
            model_photo=alex,
            batch=batch if i % 2 else None,
            source=Source.ADMIN,
            provider="piapi" if i % 2 else "kling",
            status=status,
            input_digest=uuid.uuid4().hex,
            submitted_at=now,
            completed_at=now if status in (Status.SUCCEEDED, Status.FAILED) else None,
            provider_task_id=f"0f2c9a6e-{i:04d}-4b1e-9d7a-{i:012d}",
            cost=Decimal("0.07"),
            cost_currency="USD",
            error_code="content_refused" if status == Status.FAILED else "",
        )
    return staff


@pytest.mark.parametrize("width", [1400, 1600])
def test_the_request_list_fits_the_window(live_server, new_page, requests_list, screenshot, width):
    """At 1400 px the list ran past its column (a horizontal scroll on the page)."""
    page = new_page(viewport={"width": width, "height": 900})
    page.goto(f"{live_server.url}/admin/login/?next=/admin/django_tryon/tryonrequest/")
    page.fill("#id_username", "merch")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_selector("#result_list")
    screenshot(page, f"requests-list-{width}", full_page=True)
    sizes = page.evaluate(
        """() => {
            const content = document.querySelector("#content-main") || document.querySelector("#content");
            const table = document.querySelector("#result_list");
            const results = table.closest(".results");
            return {
                page: document.documentElement.scrollWidth,
                window: document.documentElement.clientWidth,
                table: Math.round(table.getBoundingClientRect().right),
                column: Math.round(content.getBoundingClientRect().right),
                scroll: results.scrollWidth - results.clientWidth,
                widths: Array.from(table.querySelectorAll("thead th")).map(
                    (th) => th.className + ":" + Math.round(th.getBoundingClientRect().width)
                ),
            };
        }"""
    )
    assert sizes["page"] <= sizes["window"], sizes
    assert sizes["table"] <= sizes["column"] + 1, sizes
    assert sizes["scroll"] <= 0, sizes  # no sideways scrolling inside the list either
    assert page.tryon_errors == []
