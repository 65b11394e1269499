import posixpath

from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.static import serve

urlpatterns = [
    # Browsers ask for /favicon.ico on every page, the admin's included.
    path("favicon.ico", RedirectView.as_view(url=static("shop/favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    path("tryon/", include("django_tryon.urls")),
    path("", include("shop.urls")),
]

# Media folders the demo may serve. Shoppers' own photos (tryon/persons/) and the copies
# prepared for the providers (tryon/prepared/) are never served publicly.
PUBLIC_MEDIA_PREFIXES = ("tryon/results/", "tryon/garments/", "tryon/models/", "shop/")


def serve_public_media(request, path):
    """django.views.static.serve, limited to PUBLIC_MEDIA_PREFIXES."""
    name = posixpath.normpath(path).lstrip("/")
    if "\\" in path or "\x00" in path or not name.startswith(PUBLIC_MEDIA_PREFIXES):
        raise Http404("Not found")
    return serve(request, name, document_root=settings.MEDIA_ROOT)


if settings.SERVE_MEDIA:
    # Demo only: a real shop serves media from its web server or S3.
    urlpatterns += [
        path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve_public_media),
    ]
