"""The OpenAPI 3 schema of the API (drf-spectacular), served at ``api/schema/``.

The schema views carry their own drf-spectacular settings, so the shop needs neither
``drf_spectacular`` in INSTALLED_APPS nor a DEFAULT_SCHEMA_CLASS: the document describes
this app's endpoints only, at the path the shop mounted them under.
"""

from __future__ import annotations

from django.views.generic import TemplateView
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView

from .. import __version__
from ..conf import get_setting
from ..models import Category
from ..status import Status
from .serializers import (
    EraseAnswerSerializer,
    EraseSerializer,
    FunnelStepSerializer,
    GarmentSerializer,
    ModelPhotoSerializer,
    QuotaSerializer,
    TryOnCreateSerializer,
    TryOnRequestSerializer,
)

DESCRIPTION = """\
Virtual try-on for this shop: upload a photo (or pick a house model) and a garment, poll
the request until it has succeeded, then load the result images.

* Anonymous shoppers are bound to their session (when the shop allows them); signed-in
  users and API tokens see only their own requests. Anything else is 404.
* Calls authenticated by cookies (session or anonymous) need the CSRF token in
  `X-CSRFToken`; `GET /quota/` sets the `csrftoken` cookie.
* Errors: `{"detail", "code"}`, or for bad input `{field: [messages]}` (400).
"""


class TryOnSchema(AutoSchema):
    """The views' own inspector (``schema = TryOnSchema()``), whatever DEFAULT_SCHEMA_CLASS says."""

    def get_auth(self):
        auths = super().get_auth()
        # Anonymous callers are welcome wherever the permission lets them in.
        if {} not in auths and _allows_anonymous(self.view):
            auths.append({})
        return auths


def _allows_anonymous(view) -> bool:
    from rest_framework.permissions import AllowAny

    from .permissions import ShopperAccess

    kinds = {type(p) for p in view.get_permissions()}
    return AllowAny in kinds or (ShopperAccess in kinds and get_setting("API_ALLOW_ANONYMOUS"))


def only_tryon_endpoints(endpoints):
    """Preprocessing hook: keep the API's own endpoints, whatever else the shop serves."""
    return [
        (path, regex, method, callback)
        for path, regex, method, callback in endpoints
        if getattr(getattr(callback, "cls", None), "__module__", "") == "django_tryon.api.views"
    ]


class SchemaView(SpectacularAPIView):
    """The schema as YAML (``?format=json`` for JSON)."""

    custom_settings = {
        "TITLE": "django-tryon API",
        "DESCRIPTION": DESCRIPTION,
        "VERSION": __version__,
        "PREPROCESSING_HOOKS": ["django_tryon.api.schema.only_tryon_endpoints"],
        "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums"],
        "COMPONENT_SPLIT_REQUEST": True,
        "ENUM_NAME_OVERRIDES": {
            "TryOnStatus": "django_tryon.status.Status",
            "GarmentCategory": "django_tryon.models.Category",
        },
    }
    serve_public = True
    permission_classes = []
    throttle_classes = []


class DocsView(TemplateView):
    """A browsable page (Swagger UI) over the schema, served from the shop's own static
    files (drf-spectacular-sidecar): no script or style from a third-party host."""

    template_name = "django_tryon/api_docs.html"

    def get_context_data(self, **kwargs):
        from django.apps import apps

        return {**super().get_context_data(**kwargs), "swagger": apps.is_installed(SIDECAR)}


#: The app that ships Swagger UI's files (a dependency; the shop lists it in INSTALLED_APPS).
SIDECAR = "drf_spectacular_sidecar"


# -- documentation of each operation ----------------------------------------------------------

ERROR = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, readable."},
        "code": {"type": "string", "description": "Stable machine-readable reason."},
    },
    "required": ["detail", "code"],
}
LIMIT_ERROR = {
    "type": "object",
    "properties": {
        **ERROR["properties"],
        "retry_after_seconds": {
            "type": "integer",
            "nullable": True,
            "description": "When to try again (also the Retry-After header); null: unknown.",
        },
    },
    "required": ["detail", "code", "retry_after_seconds"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": "Field name (or `non_field_errors`) -> readable messages.",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
FUNNEL_ANSWER = {
    "type": "object",
    "properties": {
        "counted": {
            "type": "boolean",
            "description": "False: this try-on's step had been counted already.",
        }
    },
    "required": ["counted"],
}

BAD_INPUT = OpenApiResponse(FIELD_ERRORS, description="Bad input: field-level messages.")
FORBIDDEN = OpenApiResponse(
    ERROR, description="Not signed in (when anonymous use is off), bad token, or CSRF failure."
)
UNAUTHENTICATED = OpenApiResponse(ERROR, description="Invalid credentials.")
NOT_FOUND = OpenApiResponse(ERROR, description="No such request, or not the caller's.")
THROTTLED = OpenApiResponse(
    LIMIT_ERROR, description="Too many calls, or a quota or budget is used up."
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    description="Seconds until the limit resets.",
    response=[429],
)
LOCATION = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    OpenApiParameter.HEADER,
    description="URL of the request resource.",
    response=[200, 202],
    required=True,
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Any unique string (1-255 printable ASCII): the same key from the same "
    "caller returns the same request instead of creating (and paying for) a second one.",
    pattern=r"^[!-~]([ -~]{0,253}[!-~])?$",
)
CLIENT = OpenApiParameter(
    "X-Tryon-Client",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="`widget` from the product-page widget: the request is then recorded as "
    "the widget's (the cost page's sources) and follows the widget's route "
    "(TRYON['ROUTING']); anything else, or none, is the API's.",
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The ETag of the last answer about this request: 304 with no body while "
    "it has not changed, without a database query (docs/api.md#polling).",
)
ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="This answer's tag, bound to the caller's credentials: send it back in "
    "If-None-Match.",
    response=[200, 202, 304],
)
#: Text a database can store: no NUL characters.
NO_NUL = "^[^\\u0000]*$"
COMMON = {401: UNAUTHENTICATED, 403: FORBIDDEN, 429: THROTTLED}


def _reads(serializer, *, many=False):
    """200 with ``serializer`` (paginated for a list), and the errors any read may answer."""
    responses = {200: serializer, **COMMON, 404: NOT_FOUND}
    if many:
        responses[400] = BAD_INPUT  # a bad filter value; 404 is a page past the end
    return responses


def document(**kwargs):
    """``extend_schema`` built on TryOnSchema rather than the shop's DEFAULT_SCHEMA_CLASS.

    drf-spectacular bases a method's schema on the function's own ``schema`` attribute
    when it has one; without it, a shop on DRF's default schema class would get an
    inspector that cannot describe these views. Put it above ``@action``.
    """

    def decorator(func):
        func.schema = TryOnSchema
        return extend_schema(**kwargs)(func)

    return decorator


REQUESTS_LIST = document(
    operation_id="requests_list",
    summary="The caller's try-on requests, newest first",
    parameters=[
        OpenApiParameter("status", str, enum=[s.value for s in Status]),
        OpenApiParameter("garment", OpenApiTypes.UUID, description="As garment or lower garment."),
        RETRY_AFTER,
    ],
    responses=_reads(TryOnRequestSerializer, many=True),
    tags=["requests"],
)
REQUESTS_RETRIEVE = document(
    operation_id="requests_retrieve",
    summary="One try-on request: poll it until it is succeeded, failed or cancelled",
    parameters=[IF_NONE_MATCH, ETAG, RETRY_AFTER],
    responses={
        **_reads(TryOnRequestSerializer),
        304: OpenApiResponse(description="Not modified since the ETag sent (no body)."),
    },
    tags=["requests"],
)
REQUESTS_CREATE = document(
    operation_id="requests_create",
    summary="Start a try-on",
    description="Answers 202 with the new request, or 200 with the existing one (same "
    "Idempotency-Key, or the same inputs still in progress or done). 429 when a quota or "
    "budget is used up, 503 when the shop has switched try-on off. An anonymous caller "
    "reads GET quota/ first (it starts the session the try-on belongs to); without one the "
    "answer is 403 with code session_required.",
    request={"multipart/form-data": TryOnCreateSerializer},
    parameters=[IDEMPOTENCY_KEY, CLIENT, LOCATION, ETAG, RETRY_AFTER],
    responses={
        202: OpenApiResponse(TryOnRequestSerializer, description="Created."),
        200: OpenApiResponse(TryOnRequestSerializer, description="Already exists."),
        400: BAD_INPUT,
        **COMMON,
        409: OpenApiResponse(ERROR, description="Idempotency-Key used for other inputs."),
        503: OpenApiResponse(LIMIT_ERROR, description="Try-on is switched off."),
    },
    tags=["requests"],
)
REQUESTS_CANCEL = document(
    operation_id="requests_cancel",
    summary="Cancel a request that has not finished",
    request=None,
    parameters=[RETRY_AFTER],
    responses={
        200: TryOnRequestSerializer,
        **COMMON,
        404: NOT_FOUND,
        409: OpenApiResponse(ERROR, description="Already finished, or being sent."),
    },
    tags=["requests"],
)
REQUESTS_ERASE = document(
    operation_id="requests_erase",
    summary="Erase my photos and results",
    description="Deletes every finished try-on of the caller with its photo and result "
    "files. A try-on still being made is left until it ends, and counted.",
    request={"multipart/form-data": EraseSerializer},
    parameters=[RETRY_AFTER],
    responses={200: EraseAnswerSerializer, 400: BAD_INPUT, **COMMON},
    tags=["requests"],
)
GARMENTS_LIST = document(
    operation_id="garments_list",
    summary="Garments available for try-on",
    parameters=[
        OpenApiParameter("category", str, enum=[c.value for c in Category]),
        OpenApiParameter(
            "sku", {"type": "string", "minLength": 1, "maxLength": 100, "pattern": NO_NUL}
        ),
        RETRY_AFTER,
    ],
    responses=_reads(GarmentSerializer, many=True),
    tags=["catalogue"],
)
GARMENTS_RETRIEVE = document(
    operation_id="garments_retrieve",
    summary="One garment available for try-on",
    parameters=[RETRY_AFTER],
    responses=_reads(GarmentSerializer),
    tags=["catalogue"],
)
MODEL_PHOTOS_LIST = document(
    operation_id="model_photos_list",
    summary="House models offered to shoppers (empty unless the shop offers them)",
    parameters=[RETRY_AFTER],
    responses=_reads(ModelPhotoSerializer, many=True),
    tags=["catalogue"],
)
MODEL_PHOTOS_RETRIEVE = document(
    operation_id="model_photos_retrieve",
    summary="One house model",
    parameters=[RETRY_AFTER],
    responses=_reads(ModelPhotoSerializer),
    tags=["catalogue"],
)
QUOTA = document(
    operation_id="quota_retrieve",
    summary="What the caller may still generate today (and the CSRF cookie)",
    description="For an anonymous browser, also starts its session and the app's HttpOnly "
    "browser cookie, which its try-ons belong to: read this before the first create.",
    parameters=[CLIENT, RETRY_AFTER],
    responses={200: QuotaSerializer, **COMMON},
    tags=["quota"],
)
FUNNEL = document(
    operation_id="funnel_create",
    summary="Count one step of the shopper's way through the widget (TRYON['FUNNEL'])",
    description="Counts only, per garment per day, nothing about who. result_shown and "
    "added_to_cart name the caller's own succeeded try-on and count once per try-on "
    "(counted: false the next times). 404 when the shop has not opted in.",
    request={"multipart/form-data": FunnelStepSerializer},
    parameters=[RETRY_AFTER],
    responses={
        200: OpenApiResponse(FUNNEL_ANSWER, description="Counted, or already counted."),
        400: BAD_INPUT,
        **COMMON,
        404: OpenApiResponse(ERROR, description="Funnel counts are off in this shop."),
    },
    tags=["funnel"],
)
