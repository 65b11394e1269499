"""The django-oscar integration's app: Oscar's defaults for ``TRYON["CATALOGUE"]``, the
dashboard link, orders counted after a try-on, and a check that it comes before Oscar."""

from __future__ import annotations

from django.apps import AppConfig, apps
from django.core import checks

#: What ``TRYON["CATALOGUE"]`` is for an Oscar shop unless the shop names its own.
OSCAR_CATALOGUE = {
    "PRODUCT_MODEL": "catalogue.Product",
    "IMAGE": "django_tryon.contrib.oscar.catalogue.primary_image",
    "NAME": "get_title",
    "SKU": "upc",
    "CATEGORIES": "django_tryon.contrib.oscar.catalogue.category_names",
    "CATEGORY_MAP": {},
}


class TryOnOscarConfig(AppConfig):
    name = "django_tryon.contrib.oscar"
    label = "django_tryon_oscar"
    verbose_name = "Virtual try-on for django-oscar"
    tryon_catalogue = OSCAR_CATALOGUE

    def ready(self):
        from . import catalogue, dashboard, orders

        dashboard.add_navigation()
        orders.connect()
        catalogue.connect()
        checks.register(check_order, checks.Tags.templates)


def check_order(app_configs=None, **kwargs):
    """E020: this app must come before Oscar's catalogue app, so that its product page
    (which extends Oscar's) is the one Django finds first."""
    names = [config.name for config in apps.get_app_configs()]
    ours = names.index(TryOnOscarConfig.name)
    oscar = [i for i, name in enumerate(names) if name.startswith("oscar")]
    if oscar and min(oscar) < ours:
        return [
            checks.Error(
                "'django_tryon.contrib.oscar' comes after Oscar's apps in INSTALLED_APPS: "
                "Oscar's product page is found first and shows no try-on.",
                hint="Move 'django_tryon.contrib.oscar' above 'oscar.config.Shop'.",
                id="django_tryon.E020",
            )
        ]
    return []
