"""Does try-on pay for itself, end to end: a shopper clicks through the real widget in
Chromium against the example shop, a real worker and the sandbox, adds the garment to the
cart with the page's own button, and the merchandiser reads the counts, the money and the
chart on the admin's cost page."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from django_tryon import funnel
from django_tryon.models import FunnelDay, Source, TryOnRequest
from django_tryon.status import Status
from kit.waiting import wait_until
from tests.browser.test_widget import DIALOG, OPEN, open_product, start_with_photo, wait_for_result

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_the_cost_page_shows_money_a_chart_and_the_funnel(page, shop, photos, settings, screenshot):
    settings.TRYON = {**settings.TRYON, "FUNNEL": True}
    garment = shop["garment"]
    open_product(page, shop)
    start_with_photo(page, photos["person"])
    wait_for_result(page, shop)
    page.keyboard.press("Escape")
    expect(page.locator(DIALOG)).to_be_hidden()
    page.click(OPEN)  # opened again on the same page: still one "opened"
    expect(page.locator(DIALOG)).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator(DIALOG)).to_be_hidden()

    # The page's own "Add to cart" (a form that leaves the page) after the try-on.
    with page.expect_navigation():
        page.click("form.add-to-cart-form [type=submit]")
    expect(page.locator(".in-cart")).to_have_text("1 in your cart")

    def day():
        return FunnelDay.objects.filter(garment=garment).first()

    wait_until(lambda: day() and day().added_to_cart, timeout=10, what="the add to cart counted")
    request = TryOnRequest.objects.get()
    assert request.status == Status.SUCCEEDED and request.source == Source.WIDGET
    assert {step: getattr(day(), step) for step in funnel.STEPS} == {
        "opened": 1,
        "photo_given": 1,
        "result_shown": 1,
        "added_to_cart": 1,
    }
    assert request.counted_result_shown and request.counted_added_to_cart
    # The sandbox bills Kling units, priced in dollars by the example settings.
    assert request.cost_currency == "units" and request.shop_currency == "USD"
    money = f"${request.cost * request.unit_price:.2f}"

    get_user_model().objects.create_superuser("owner", password="pw")
    page.goto(f"{shop['live']}/admin/login/?next=/admin/django_tryon/tryonrequest/cost/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "pw")
    page.click('#login-form [type="submit"]')
    page.wait_for_url(re.compile(r"/tryonrequest/cost/$"))
    screenshot(page, "cost-page")

    expect(page.locator("#tryon-month + .tryon-total-amount")).to_have_text(money)
    expect(page.locator(".tryon-billed").first).to_contain_text("unit")
    charts = page.locator("svg.tryon-chart")
    expect(charts).to_have_count(2)  # try-ons per day, spend per day in dollars
    expect(page.locator("figcaption", has_text="Spend per day (USD)")).to_be_visible()
    row = page.locator("section[aria-labelledby=tryon-funnel] tbody tr")
    expect(row).to_have_count(1)
    expect(page.locator("section[aria-labelledby=tryon-by-source] tbody th")).to_have_text(
        "Product-page widget"
    )
    cells = [c.strip() for c in row.locator("th, td").all_inner_texts()]
    # Opened, photo, result shown, added to cart, ordered after a try-on (no order: the
    # example shop reports none), the shoppers' try-ons.
    assert cells[:7] == [garment.name, "1", "1", "1", "1", "0", "1"], cells
    assert cells[8] == money, cells  # one add to cart: it cost the one try-on
    section = page.locator("section[aria-labelledby=tryon-funnel]")
    section.scroll_into_view_if_needed()
    screenshot(page, "cost-page-funnel")
    assert page.tryon_errors == []
