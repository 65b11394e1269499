"""docs/shops.md's django-oscar recipe, followed word for word in a shop built with
Oscar's own guide (a fresh ``startproject`` in a temporary folder), then a shopper's way
through it: Oscar's products become garments, Oscar's product page shows the try-on with
no template of the shop's, "Add to cart" lands in Oscar's basket (a sold-out product is
refused in Oscar's words), an order of a tried-on product is counted, and the dashboard
links to the try-on pages. Needs django-oscar (installed with the test extra on Python
3.11, where Django is 5.2; Oscar 4.x does not support Django 6)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys

import django
import pytest

from tests.integration.recipes import code_blocks, run
from tests.pipeline import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

try:
    import oscar
except ImportError:
    oscar = None

if django.VERSION[:2] != (5, 2):
    pytest.skip(
        f"django-oscar 4.x supports Django 5.2; this is Django {django.get_version()}",
        allow_module_level=True,
    )
if oscar is None:
    pytest.skip(
        "django-oscar is not installed (the test extra, on Python 3.11)", allow_module_level=True
    )

#: What Oscar's own guide ("Building your own shop") has a new project add to settings.py.
OSCAR_GUIDE = """
from oscar.defaults import *

INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
    "django.contrib.sites", "django.contrib.flatpages",
    "oscar.config.Shop",
    "oscar.apps.analytics.apps.AnalyticsConfig", "oscar.apps.checkout.apps.CheckoutConfig",
    "oscar.apps.address.apps.AddressConfig", "oscar.apps.shipping.apps.ShippingConfig",
    "oscar.apps.catalogue.apps.CatalogueConfig",
    "oscar.apps.catalogue.reviews.apps.CatalogueReviewsConfig",
    "oscar.apps.communication.apps.CommunicationConfig",
    "oscar.apps.partner.apps.PartnerConfig", "oscar.apps.basket.apps.BasketConfig",
    "oscar.apps.payment.apps.PaymentConfig", "oscar.apps.offer.apps.OfferConfig",
    "oscar.apps.order.apps.OrderConfig", "oscar.apps.customer.apps.CustomerConfig",
    "oscar.apps.search.apps.SearchConfig", "oscar.apps.voucher.apps.VoucherConfig",
    "oscar.apps.wishlists.apps.WishlistsConfig", "oscar.apps.dashboard.apps.DashboardConfig",
    "oscar.apps.dashboard.reports.apps.ReportsDashboardConfig",
    "oscar.apps.dashboard.users.apps.UsersDashboardConfig",
    "oscar.apps.dashboard.orders.apps.OrdersDashboardConfig",
    "oscar.apps.dashboard.catalogue.apps.CatalogueDashboardConfig",
    "oscar.apps.dashboard.offers.apps.OffersDashboardConfig",
    "oscar.apps.dashboard.partners.apps.PartnersDashboardConfig",
    "oscar.apps.dashboard.pages.apps.PagesDashboardConfig",
    "oscar.apps.dashboard.ranges.apps.RangesDashboardConfig",
    "oscar.apps.dashboard.reviews.apps.ReviewsDashboardConfig",
    "oscar.apps.dashboard.vouchers.apps.VouchersDashboardConfig",
    "oscar.apps.dashboard.communications.apps.CommunicationsDashboardConfig",
    "oscar.apps.dashboard.shipping.apps.ShippingDashboardConfig",
    "widget_tweaks", "haystack", "treebeard", "sorl.thumbnail", "django_tables2",
]
SITE_ID = 1
MIDDLEWARE += [
    "oscar.apps.basket.middleware.BasketMiddleware",
    "django.contrib.flatpages.middleware.FlatpageFallbackMiddleware",
]
TEMPLATES[0]["OPTIONS"]["context_processors"] += [
    "oscar.apps.search.context_processors.search_form",
    "oscar.apps.checkout.context_processors.checkout",
    "oscar.apps.communication.notifications.context_processors.notifications",
    "oscar.core.context_processors.metadata",
]
AUTHENTICATION_BACKENDS = [
    "oscar.apps.customer.auth_backends.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
]
HAYSTACK_CONNECTIONS = {"default": {"ENGINE": "haystack.backends.simple_backend.SimpleEngine"}}
OSCAR_DEFAULT_CURRENCY = "GBP"
MEDIA_ROOT = BASE_DIR / "media"
MEDIA_URL = "/media/"
ALLOWED_HOSTS = ["testserver"]
"""
OSCAR_GUIDE_URLS = """
from django.apps import apps
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include(apps.get_app_config("oscar").urls[0])),
]
"""


def test_the_oscar_recipe_puts_tryon_on_oscars_pages_basket_and_orders(tmp_path):
    blocks = code_blocks("docs/shops.md", "## django-oscar")
    settings_part, urls_part = blocks["python"][0].split("# urls.py", 1)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TRYON_", "SHOP_", "DJANGO_", "DATABASE_", "CELERY_"))
    }
    run([sys.executable, "-m", "django", "startproject", "oscarshop"], tmp_path, env)
    project = tmp_path / "oscarshop"
    settings_py = project / "oscarshop" / "settings.py"
    sandbox = (
        "\nfrom django_tryon.sandbox import provider_settings\n"
        'TRYON["PROVIDERS"] = provider_settings("http://127.0.0.1:8765", trust_downloads=True)\n'
        'TRYON["PUBLIC_BASE_URL"] = "http://127.0.0.1:8000"\n'
    )
    settings_py.write_text(settings_py.read_text() + OSCAR_GUIDE + settings_part + sandbox)
    urls_py = project / "oscarshop" / "urls.py"
    urls_py.write_text(OSCAR_GUIDE_URLS + urls_part)
    shutil.copy(ROOT / "tests" / "integration" / "oscar_flow.py", project / "oscar_flow.py")

    manage = [sys.executable, "manage.py"]
    run([*manage, "migrate", "--noinput", "-v0"], project, env, timeout=240)  # Oscar's many
    check = run([*manage, "check"], project, env)
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
    assert seen["add"] == [200, {"added": True, "quantity": 1, "basket_count": 1}]
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
