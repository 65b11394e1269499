"""The API docs page in Chromium: Swagger UI drawn from the shop's own static files, and
not one request to another host."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_works_offline_from_the_shops_own_files(page, live_server, screenshot):
    hosts = []
    page.on("request", lambda request: hosts.append(urlsplit(request.url).netloc))
    page.goto(f"{live_server.url}/tryon/api/docs/")
    # The operations are listed: the bundle ran and read the schema.
    expect(
        page.locator(".opblock-summary-path", has_text="/tryon/api/requests/").first
    ).to_be_visible(timeout=15_000)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("django-tryon")
    screenshot(page, "api-docs")
    assert set(hosts) == {urlsplit(live_server.url).netloc}, hosts
    assert page.tryon_errors == []
