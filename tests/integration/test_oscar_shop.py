"""docs/shops.md's django-oscar recipe, followed word for word in a shop built with
Oscar's own guide (a fresh ``startproject`` in a temporary folder), then a shopper's way
through it: Oscar's products become garments, Oscar's product page shows the try-on with
no template of the shop's, "Add to cart" lands in Oscar's basket (a sold-out product is
refused in Oscar's words), an order of a tried-on product is counted, and the dashboard
links to the try-on pages. Needs django-oscar (installed with the test extra on Python
3.11, where Django is 5.2; Oscar 4.x does not support Django 6)."""

from __future__ import annotations

import json
import re
import sys

import pytest

from tests.integration.recipes import run
from tests.oscar_shop import build_shop, manage, shop_environment, skip_without_oscar

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

skip_without_oscar()

#: No sandbox runs here: try-ons are made in the database; the sandbox is only named.
SANDBOX = """
from django_tryon.sandbox import provider_settings
TRYON["PROVIDERS"] = provider_settings("http://127.0.0.1:8765", trust_downloads=True)
TRYON["PUBLIC_BASE_URL"] = "http://127.0.0.1:8000"
"""


def test_the_oscar_recipe_puts_tryon_on_oscars_pages_basket_and_orders(tmp_path):
    project = build_shop(tmp_path, SANDBOX)
    env = shop_environment()
    check = run([*manage(), "check"], project, env)
    ours = sorted(set(re.findall(r"django_tryon\.[EWI]\d+", check.stdout + check.stderr)))
    # No Celery app yet (the recipe links to one), the default cache in one process.
    assert ours == ["django_tryon.I001", "django_tryon.W014"], check.stdout + check.stderr

    seen = json.loads(run([sys.executable, "oscar_flow.py"], project, env).stdout)
    code, out = seen["sync"]
    assert code == 1 and "skipped: Gift card" in out and "(its categories: Cards)" in out
    assert (
        seen["again"][0] == 1 and "0 created, 0 updated, 2 unchanged, 1 skipped" in seen["again"][1]
    )
    assert seen["garments"] == {"Red shirt": "upper", "Sold-out shirt": "upper"}
    assert seen["page"] == [200, True, True]  # Oscar's page, no template of the shop's
    added = {"added": True, "quantity": 1, "basket_count": 1, "basket_total": "£20.00"}
    assert seen["add"] == [200, added]
    assert seen["sold_out"] == [409, {"added": False, "message": "no stock available"}]
    assert seen["basket_has_red"]
    assert seen["signed_in_add"][1]["added"] is True
    assert seen["funnel"] == {"Red shirt": 1}  # ordered after a try-on
    assert seen["dashboard_link"]


def test_the_app_after_oscar_is_named_by_a_check(tmp_path):
    from django_tryon.contrib.oscar.apps import check_order

    class Config:
        def __init__(self, name):
            self.name = name

    order = ["oscar.config.Shop", "django_tryon.contrib.oscar"]
    from unittest import mock

    with mock.patch(
        "django_tryon.contrib.oscar.apps.apps.get_app_configs",
        return_value=[Config(n) for n in order],
    ):
        (error,) = check_order()
    assert error.id == "django_tryon.E020" and "comes after Oscar's apps" in error.msg
    with mock.patch(
        "django_tryon.contrib.oscar.apps.apps.get_app_configs",
        return_value=[Config(n) for n in reversed(order)],
    ):
        assert check_order() == []
