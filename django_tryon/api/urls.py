"""The API's URLs, included by ``django_tryon.urls`` at ``api/`` (namespace ``django_tryon:api``)."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from .. import widget
from . import schema, views

app_name = "api"

router = SimpleRouter()
router.register("requests", views.TryOnRequestViewSet, basename="request")
router.register("garments", views.GarmentViewSet, basename="garment")
router.register("model-photos", views.ModelPhotoViewSet, basename="model-photo")

urlpatterns = [
    path("quota/", views.QuotaView.as_view(), name="quota"),
    path("funnel/", views.FunnelView.as_view(), name="funnel"),
    path("schema/", schema.SchemaView.as_view(), name="schema"),
    path("docs/", schema.DocsView.as_view(), name="docs"),
    # HTML, not JSON: the widget's markup for an empty <tryon-widget> (django_tryon/widget.py).
    path("widget/", widget.markup, name="widget"),
    *router.urls,
    # Anything else under api/ is a JSON 404 too, never the site's HTML error page.
    re_path(r"^", views.NotFoundView.as_view(), name="not-found"),
]
