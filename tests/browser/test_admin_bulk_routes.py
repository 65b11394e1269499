"""The bulk page in headless Chromium when garments go to different providers: the page's
script shows where each garment goes and what it all costs as the provider changes, and
a batch by route is made by a real worker at both providers."""

from __future__ import annotations

import re
import time

import pytest

from django_tryon.models import TryOnBatch
from django_tryon.status import Status
from tests.admin.conftest import MERCHANDISER_PERMISSIONS, garment, make_staff, model_photo

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture
def shop(django_user_model, settings):
    settings.TRYON = {**settings.TRYON, "ROUTING": {"default": ["kling"], "shoes": ["fashn"]}}
    shirt = garment("Striped shirt", "upper", size=640)
    trainers = garment("Canvas trainers", "upper", size=650)
    trainers.category = "shoes"
    trainers.save()
    make_staff(django_user_model, "merch", MERCHANDISER_PERMISSIONS)
    return {"garments": [trainers, shirt], "model": model_photo("Alex", width=600)}


def note(page, item) -> str:
    return page.inner_text(f'[data-plan="{item.pk}"]')


def summary(page) -> tuple[str, str]:
    """The total, and whether Start may be pressed (the per-provider note never shows here:
    each garment's card names its provider)."""
    assert page.is_hidden('[data-summary="each-note"]')
    startable = page.is_enabled('[data-summary="confirm"]')
    return page.inner_text('[data-summary="total"]'), "startable" if startable else "refused"


def test_each_garment_goes_where_its_route_sends_it(pipeline, shop, page, screenshot):
    live = pipeline["live_server"].url
    trainers, shirt = shop["garments"]
    page.goto(f"{live}/admin/login/?next=/admin/django_tryon/garment/")
    page.fill("#id_username", "merch")
    page.fill("#id_password", "pw")
    page.click('#login-form [type="submit"]')
    page.wait_for_url(re.compile(r"/admin/django_tryon/garment/$"))
    for item in (trainers, shirt):
        page.check(f'input[name="_selected_action"][value="{item.pk}"]')
    page.select_option('select[name="action"]', "try_on_house_models")
    page.click('button[name="index"]')
    page.wait_for_selector("#tryon-bulk-form")
    page.check(f'input[name="model_photos"][value="{shop["model"].pk}"]')

    # By route (offered first): the shoes to FASHN's tryon-max, the shirt to Kling.
    assert page.input_value('select[name="provider"]') == "route"
    assert note(page, trainers) == "→ FASHN · $0.30 (4 credits)"
    assert note(page, shirt) == "→ Kling · $0.14 (1 unit)"
    assert summary(page) == ("$0.44 (4 credits + 1 unit)", "startable")
    screenshot(page, "bulk-tryon-by-route", full_page=True)

    # Kling takes no shoes: said on the card, and nothing is totalled.
    page.select_option('select[name="provider"]', "kling")
    assert note(page, trainers) == "Kling cannot try it on"
    assert summary(page) == ("—", "refused")
    screenshot(page, "bulk-tryon-refused", full_page=True)

    # FASHN takes both, at its two prices.
    page.select_option('select[name="provider"]', "fashn")
    assert note(page, shirt) == "→ FASHN · $0.08 (1 credit)"
    assert summary(page) == ("$0.38 (5 credits)", "startable")

    # The server says the same on "Update the estimate", then the batch runs.
    page.select_option('select[name="provider"]', "route")
    page.click('input[name="preview"]')
    page.wait_for_selector("#tryon-bulk-form")
    assert page.inner_text('[data-summary="total"]') == "$0.44 (4 credits + 1 unit)"
    page.click('input[name="confirm"]')
    page.wait_for_url(re.compile(r"/admin/django_tryon/tryonbatch/[0-9a-f-]+/change/$"))
    batch = TryOnBatch.objects.get()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        statuses = dict(batch.requests.values_list("provider", "status"))
        if set(statuses.values()) <= {Status.SUCCEEDED, Status.FAILED}:
            break
        time.sleep(0.25)
    assert statuses == {"fashn": Status.SUCCEEDED, "kling": Status.SUCCEEDED}, pipeline[
        "worker"
    ].log()
    assert batch.provider == "fashn, kling"
    page.wait_for_selector("text=FASHN, Kling")
    assert page.tryon_errors == []
