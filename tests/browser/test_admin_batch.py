"""A merchandiser's bulk try-on in headless Chromium, end to end.

Log in to the admin on the live server, select three garments, run "Try on house
models…" on two house models, watch the batch page's progress bar reach 100 % without a
reload (a real Celery worker and the sandbox do the work), approve two results and find
them in the product page's gallery.
"""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.contenttypes.models import ContentType
from shop.models import Product

from django_tryon.models import TryOnBatch, TryOnResult
from django_tryon.status import Status
from tests.admin.conftest import MERCHANDISER_PERMISSIONS, garment, make_staff, model_photo

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture
def shop(django_user_model):
    """Four garments, each on its own product page, and two house models."""
    product_type = ContentType.objects.get_for_model(Product)
    garments = []
    for i, (name, category) in enumerate(
        [
            ("Striped shirt", "upper"),
            ("Blue jeans", "lower"),
            ("Summer dress", "dress"),
            ("Red T-shirt", "upper"),
        ]
    ):
        product = Product.objects.create(name=name, slug=f"product-{i}", price=30 + i)
        item = garment(name, category, size=640 + i)
        item.product_type, item.product_id = product_type, str(product.pk)
        item.save()
        garments.append(item)
    models = [model_photo("Alex", width=600), model_photo("Sam", width=601)]
    make_staff(django_user_model, "merch", MERCHANDISER_PERMISSIONS)
    return {"garments": garments, "models": models}


def progress_value(page) -> int:
    return int(page.get_attribute('[data-part="bar"]', "aria-valuenow"))


def test_bulk_tryon_from_the_admin(pipeline, shop, page, screenshot):
    live = pipeline["live_server"].url
    # Slow enough to watch the bar move, fast enough for a test.
    pipeline["sandbox"].configure(queue_seconds=0.5, generation_seconds=2.0)
    chosen = shop["garments"][:3]

    # Log in and select three garments.
    page.goto(f"{live}/admin/login/?next=/admin/django_tryon/garment/")
    page.fill("#id_username", "merch")
    page.fill("#id_password", "pw")
    page.click('#login-form [type="submit"]')
    page.wait_for_url(re.compile(r"/admin/django_tryon/garment/$"))
    for item in chosen:
        page.check(f'input[name="_selected_action"][value="{item.pk}"]')
    page.select_option('select[name="action"]', "try_on_house_models")
    page.click('button[name="index"]')

    # The intermediate page: pick two house models, see six try-ons and their cost.
    page.wait_for_selector("#tryon-bulk-form")
    for photo in shop["models"]:
        page.check(f'input[name="model_photos"][value="{photo.pk}"]')
    assert page.inner_text('[data-summary="count"]') == "6"
    # The live estimate, in the shop's dollars with the units billed beside them.
    assert page.inner_text('[data-summary="total"]') == "$0.84 (6 units)"
    assert page.get_attribute('[data-summary="confirm"]', "value") == "Start 6 try-ons"
    screenshot(page, "bulk-tryon-page", full_page=True)
    page.click('input[name="confirm"]')

    # The batch page follows the batch without reloading.
    page.wait_for_url(re.compile(r"/admin/django_tryon/tryonbatch/[0-9a-f-]+/change/$"))
    batch = TryOnBatch.objects.get()
    assert batch.requests.count() == 6
    page.evaluate("window.tryonSamePage = true")
    seen = [progress_value(page)]
    deadline = time.monotonic() + 120
    while seen[-1] < 100 and time.monotonic() < deadline:
        time.sleep(0.25)
        seen.append(progress_value(page))
    statuses = list(batch.requests.values_list("status", flat=True))
    assert seen[-1] == 100, (
        f"progress stuck at {seen[-1]} %; requests: {statuses}\n{pipeline['worker'].log()}"
    )
    assert page.evaluate("window.tryonSamePage") is True  # never reloaded
    assert len(set(seen)) >= 2  # the bar moved while we watched
    page.wait_for_function(
        "document.querySelectorAll('[data-part=\"grid\"] .tryon-grid-item').length === 6"
    )
    assert page.inner_text('[data-count="succeeded"]') == "6"
    assert page.inner_text('[data-part="eta"]') == "Finished"
    assert set(statuses) == {Status.SUCCEEDED}
    page.wait_for_function(
        "[...document.querySelectorAll('[data-part=\"grid\"] img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    screenshot(page, "batch-page", full_page=True)

    # Approve the shirt on both house models.
    shirt = chosen[0]
    cards = page.locator(".tryon-grid-item", has_text=shirt.name)
    assert cards.count() == 2
    for i in range(2):
        cards.nth(i).locator('input[name="result"]').check()
    page.click('button[name="do"][value="approve"]')
    page.wait_for_selector("text=2 results approved for product pages.")
    approved = TryOnResult.objects.filter(approved=True)
    assert approved.count() == 2
    assert {r.request.garment_id for r in approved} == {shirt.pk}
    screenshot(page, "batch-page-approved", full_page=True)

    # Both appear in the gallery of the shirt's product page.
    product = Product.objects.get(pk=shirt.product_id)
    page.goto(f"{live}{product.get_absolute_url()}")
    gallery = page.locator(".tryon-gallery img")
    assert gallery.count() == 2
    page.wait_for_function(
        "[...document.querySelectorAll('.tryon-gallery img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    assert {gallery.nth(i).get_attribute("alt") for i in range(2)} == {
        "Striped shirt worn by Alex",
        "Striped shirt worn by Sam",
    }
    screenshot(page, "product-page-gallery", full_page=True)
    assert page.tryon_errors == []
