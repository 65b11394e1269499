"""Mount with ``path("tryon/", include("django_tryon.urls"))``."""

from django.apps import apps
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from . import callbacks, views

app_name = "django_tryon"

urlpatterns = [
    # /callbacks/kling/<token>/ and /callbacks/piapi/<token>/ (and any added provider).
    path(
        "callbacks/<slug:provider>/<str:token>/",
        callbacks.ProviderCallbackView.as_view(),
        name="callback",
    ),
    path("inputs/<str:signed>/", views.input_image, name="input-image"),
    path("results/<str:signed>/", views.result_image, name="result-image"),
    # The REST API (docs/api.md): api/requests/, api/garments/, api/schema/ ...
    path("api/", include("django_tryon.api.urls")),
    # The widget's translations (Django's JavaScript catalog of this app only).
    path(
        "jsi18n/",
        JavaScriptCatalog.as_view(packages=["django_tryon"]),
        name="jsi18n",
    ),
]

if apps.is_installed("django_tryon.contrib.oscar"):
    # Oscar's basket, answering the widget in JSON (docs/shops.md).
    urlpatterns.append(path("oscar/", include("django_tryon.contrib.oscar.urls")))
