from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TryOnConfig(AppConfig):
    name = "django_tryon"
    label = "django_tryon"
    verbose_name = _("Virtual try-on")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks, files  # noqa: F401  (checks registers the system checks)

        files.connect()
