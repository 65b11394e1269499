"""The example shop's URLs plus the benchmarks' baseline views."""

from django.contrib.staticfiles.views import serve
from django.urls import path, re_path
from shop_project.urls import urlpatterns as shop_urlpatterns

from . import views

urlpatterns = [
    path("bench/upload/", views.baseline_upload, name="bench-upload"),
    path("bench/decode/", views.baseline_decode, name="bench-decode"),
    # The widget's scripts for the browser benchmark (bench/shown.py), with DEBUG off.
    re_path(r"^static/(?P<path>.*)$", serve, {"insecure": True}),
    *shop_urlpatterns,
]
