"""The widget's cheap polls for real: Chromium, the live server, a worker in another process
sharing the status cache, the sandbox. While the try-on runs, polls are answered 304; the
moment it is stored, the next poll brings the result."""

from __future__ import annotations

import re

import pytest

from django_tryon.status import Status
from tests.browser.test_widget import only_request, open_product, start_with_photo, wait_for_result

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]
POLL = re.compile(r"/tryon/api/requests/[0-9a-f-]{36}/$")


def test_polls_are_304_until_the_result_comes(page, shop, photos, screenshot):
    shop["sandbox"].configure(generation_seconds=3)
    answers = []
    page.on(
        "response",
        lambda r: POLL.search(r.url) and answers.append((r.status, r.request.headers, r.headers)),
    )
    open_product(page, shop)
    start_with_photo(page, photos["person"])
    wait_for_result(page, shop)
    screenshot(page, "result")

    request = only_request()
    assert request.status == Status.SUCCEEDED
    statuses = [status for status, _, _ in answers]
    # A poll every 300 ms over a 3 s generation: most of them were "no change".
    assert statuses.count(304) >= 5, statuses
    assert statuses[-1] == 200  # the one that brought the result
    conditional = [sent for status, sent, _ in answers if status == 304]
    assert all("if-none-match" in sent for sent in conditional)
    # The first poll already carried the create's tag: no full read to learn it.
    assert "if-none-match" in answers[0][1]
    assert page.tryon_errors == []
