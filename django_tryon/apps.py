from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TryOnConfig(AppConfig):
    name = "django_tryon"
    label = "django_tryon"
    verbose_name = _("Virtual try-on")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from . import checks, files, heartbeat, polling  # noqa: F401  (checks: system checks)
        from .pipeline.identity import adopt_anonymous_tryons

        files.connect()
        # An anonymous shopper who signs in keeps their try-ons (and their quota count).
        user_logged_in.connect(adopt_anonymous_tryons, dispatch_uid="django_tryon.adopt")
        polling.connect()
        heartbeat.connect()
