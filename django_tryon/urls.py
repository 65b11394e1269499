"""Mount with ``path("tryon/", include("django_tryon.urls"))``."""

from django.urls import path

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
]
