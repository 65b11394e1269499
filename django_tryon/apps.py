from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TryOnConfig(AppConfig):
    name = "django_tryon"
    label = "django_tryon"
    verbose_name = _("Virtual try-on")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_save

        from . import checks, files, heartbeat, polling, products  # noqa: F401  (checks)
        from .callers import adopt_anonymous_tryons

        files.connect()
        # An anonymous shopper who signs in keeps their try-ons (and their quota count).
        user_logged_in.connect(adopt_anonymous_tryons, dispatch_uid="django_tryon.adopt")
        polling.connect()
        heartbeat.connect()
        # A product whose picture, name or category changes updates its garment.
        post_save.connect(products.product_saved, dispatch_uid="django_tryon.products")
