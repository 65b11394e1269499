"""The example shop's URLs plus the benchmarks' baseline views."""

from django.urls import path
from shop_project.urls import urlpatterns as shop_urlpatterns

from . import views

urlpatterns = [
    path("bench/upload/", views.baseline_upload, name="bench-upload"),
    *shop_urlpatterns,
]
