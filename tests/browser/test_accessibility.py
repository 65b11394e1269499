"""Accessibility proved by a real checker: axe-core in Chromium over the product page and
the widget in each state a shopper meets, with no serious or critical violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.axe import serious_violations
from tests.browser.test_widget import (
    CHOOSE,
    CONSENT,
    DIALOG,
    ERROR,
    OPEN,
    W,
    open_product,
    wait_for_result,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def choose(page, path):
    with page.expect_file_chooser() as chooser:
        page.click(CHOOSE)
    chooser.value.set_files(str(path))


def test_no_serious_violation_in_any_state_of_the_widget(page, shop, photos, screenshot):
    found = {}
    open_product(page, shop)
    found["closed"] = serious_violations(page)

    page.click(OPEN)
    expect(page.locator(DIALOG)).to_be_visible()
    found["consent"] = serious_violations(page)

    page.check(CONSENT)
    choose(page, photos["small"])  # refused in the browser: the error state
    expect(page.locator(ERROR)).to_be_visible()
    found["error"] = serious_violations(page)

    shop["sandbox"].configure(queue_seconds=1, generation_seconds=4)  # time to look
    choose(page, photos["person"])
    expect(page.locator(f"{W} [data-tryon-step=progress]")).to_be_visible()
    found["progress"] = serious_violations(page)
    screenshot(page, "progress")

    wait_for_result(page, shop)
    found["result"] = serious_violations(page)
    screenshot(page, "result")

    page.click(f"{W} [data-tryon-part=again]")
    page.click(f"{W} [data-tryon-part=history-open]")
    expect(page.locator(f"{W} [data-tryon-part=history-list] img")).to_have_count(1)
    page.click(f"{W} [data-tryon-part=erase]")
    found["my try-ons, asking to erase"] = serious_violations(page)

    assert {state: problems for state, problems in found.items() if problems} == {}


def test_the_checker_does_see_a_violation(page, shop):
    """So that "no violation" above means axe looked: a button with no name is found."""
    open_product(page, shop)
    page.evaluate("document.querySelector('main, body').append(document.createElement('button'))")
    problems = serious_violations(page)
    assert any("button-name" in line for line in problems), problems
