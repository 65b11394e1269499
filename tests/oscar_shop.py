"""A django-oscar shop built in a temporary folder the way Oscar's own guide ("Building
your own shop") says, then docs/shops.md's recipe followed word for word on top of it.
Shared by the client-level test (tests/integration/test_oscar_shop.py) and the browser
test (tests/browser/test_oscar_shop.py).

django-oscar 4.x supports Django 5.2 only; it is installed with the test extra on Python
3.11. ``skip_without_oscar()`` skips a module, with its reason, everywhere else.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import django
import pytest

from tests.integration.recipes import code_blocks, run
from tests.pipeline import ROOT


def skip_without_oscar() -> None:
    """Skip the calling module where Oscar cannot run, saying why."""
    if django.VERSION[:2] != (5, 2):
        pytest.skip(
            f"django-oscar 4.x supports Django 5.2; this is Django {django.get_version()}",
            allow_module_level=True,
        )
    try:
        import oscar  # noqa: F401
    except ImportError:
        pytest.skip(
            "django-oscar is not installed (the test extra, on Python 3.11)",
            allow_module_level=True,
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


def shop_environment() -> dict[str, str]:
    """The shell a shop's developer has: none of the suite's settings or services."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TRYON_", "SHOP_", "DJANGO_", "DATABASE_", "CELERY_"))
    }


def build_shop(folder: Path, settings_tail: str = "", urls_tail: str = "") -> Path:
    """``startproject oscarshop`` in ``folder``, Oscar's guide, then docs/shops.md's Oscar
    recipe, then ``settings_tail`` and ``urls_tail`` (the test's own: the sandbox, ports),
    migrated. Returns the project folder (where manage.py is); oscar_flow.py is copied in."""
    blocks = code_blocks("docs/shops.md", "## django-oscar")
    settings_part, urls_part = blocks["python"][0].split("# urls.py", 1)
    env = shop_environment()
    run([sys.executable, "-m", "django", "startproject", "oscarshop"], folder, env)
    project = folder / "oscarshop"
    settings_py = project / "oscarshop" / "settings.py"
    settings_py.write_text(settings_py.read_text() + OSCAR_GUIDE + settings_part + settings_tail)
    urls_py = project / "oscarshop" / "urls.py"
    urls_py.write_text(OSCAR_GUIDE_URLS + urls_part + urls_tail)
    shutil.copy(ROOT / "tests" / "integration" / "oscar_flow.py", project / "oscar_flow.py")
    run([*manage(), "migrate", "--noinput", "-v0"], project, env, timeout=240)  # Oscar's many
    return project


def manage() -> list[str]:
    return [sys.executable, "manage.py"]
