"""The API's views: try-on requests, garments, house models and what is left of the quota.

Every view pins its own renderer, parser, permission, throttle, pagination and error
handling, so the schema and behaviour do not change with the shop's REST_FRAMEWORK
settings; only the authentication classes are the shop's (DEFAULT_AUTHENTICATION_CLASSES).
"""

from __future__ import annotations

from django.db.models import Q
from django.middleware.csrf import get_token
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import funnel, polling, services
from ..callers import SHOPPER_SOURCES, Caller, is_staff
from ..conf import get_setting
from ..models import Garment, ModelPhoto, Source, TryOnRequest
from ..status import Status
from . import schema as docs
from .authentication import enforce_csrf, needs_csrf
from .errors import Conflict, exception_handler, refuse_oversized_body
from .owners import creating_owner, owner_key, started_session
from .pagination import Pagination
from .permissions import ShopperAccess
from .serializers import (
    EraseSerializer,
    FunnelStepSerializer,
    GarmentFilterSerializer,
    GarmentSerializer,
    ModelPhotoSerializer,
    QuotaSerializer,
    RequestFilterSerializer,
    TryOnCreateSerializer,
    TryOnRequestSerializer,
)
from .throttles import CreateThrottle, FunnelThrottle, PollThrottle, ReadThrottle


class TryOnAPIMixin:
    """What every API view shares: JSON only, CSRF for cookie calls, throttles, errors."""

    renderer_classes = [JSONRenderer]
    parser_classes = [MultiPartParser]
    permission_classes = [ShopperAccess]
    pagination_class = Pagination
    versioning_class = None
    schema = docs.TryOnSchema()

    def initial(self, request, *args, **kwargs):
        # Before authentication: the CSRF check reads a POST body, and an oversized one
        # is refused without reading a byte of it.
        if request.method not in SAFE_METHODS:
            refuse_oversized_body(request)
        super().initial(request, *args, **kwargs)

    def get_authenticate_header(self, request):
        # DRF asks only the first authentication class for a WWW-Authenticate header;
        # with SessionAuthentication first that is none, and a bad token answered 403.
        # Any class that names a scheme makes it the 401 it is.
        for authenticator in self.get_authenticators():
            header = authenticator.authenticate_header(request)
            if header:
                return header
        return None

    def perform_authentication(self, request):
        super().perform_authentication(request)
        if needs_csrf(request):
            enforce_csrf(request)

    def get_throttles(self):
        if self.request.method in SAFE_METHODS:
            return [ReadThrottle()]
        return [CreateThrottle()]

    def get_exception_handler(self):
        return exception_handler


# -- try-on requests ------------------------------------------------------------------------


class TryOnRequestViewSet(TryOnAPIMixin, viewsets.GenericViewSet):
    """A shopper's try-ons: create, poll, list, cancel. Others' requests are 404."""

    serializer_class = TryOnRequestSerializer
    queryset = TryOnRequest.objects.none()

    def initial(self, request, *args, **kwargs):
        self.not_modified = None
        if self.action == "retrieve":
            self.not_modified = polling.unchanged(kwargs.get("pk"), request)
        if self.not_modified is None:
            super().initial(request, *args, **kwargs)
            return
        # A poll whose tag is still current: answered from the cache alone, so no
        # session, user or row is read (django_tryon.polling says why that is safe).
        self.format_kwarg = self.get_format_suffix(**kwargs)
        request.accepted_renderer, request.accepted_media_type = self.perform_content_negotiation(
            request
        )
        throttle = PollThrottle()
        if not throttle.allow_request(request, self):
            self.throttled(request, throttle.wait())

    def get_queryset(self):
        requests = TryOnRequest.objects.prefetch_related("results").order_by("-created_at", "id")
        key = owner_key(self.request, bind=False)
        visible = Q(owner_key=key) if key else Q(pk__in=[])
        user = self.request.user
        if is_staff(user) and user.has_perm("django_tryon.view_tryonrequest"):
            # Staff see others' try-ons as the admin shows them: catalogue work always,
            # shoppers' (their photos, the results made from them) only when the shop
            # lets staff see shoppers' photos at all.
            visible |= ~Q(source__in=SHOPPER_SOURCES)
            if get_setting("ADMIN_SHOW_SHOPPER_PHOTOS"):
                visible |= Q(source__in=SHOPPER_SOURCES)
        return requests.filter(visible)

    @docs.REQUESTS_LIST
    def list(self, request):
        filters = RequestFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        requests = self.get_queryset()
        if "status" in filters.validated_data:
            requests = requests.filter(status=filters.validated_data["status"])
        if "garment" in filters.validated_data:
            garment = filters.validated_data["garment"]
            requests = requests.filter(Q(garment_id=garment) | Q(lower_garment_id=garment))
        page = self.paginate_queryset(requests)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @docs.REQUESTS_RETRIEVE
    def retrieve(self, request, pk=None):
        if self.not_modified:
            return polling.not_modified(self.not_modified)
        tryon = self.get_object()
        return self._tagged(Response(self.get_serializer(tryon).data), tryon)

    @docs.REQUESTS_CREATE
    def create(self, request):
        form = TryOnCreateSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        values = form.validated_data
        idempotency_key = _idempotency_key(request)
        caller = Caller.from_request(
            request,
            source=_source(request),
            owner_key=creating_owner(request),
            consented=values.get("consent", False),
        )
        person = values.get("person_image")
        tryon, created = services.create_tryon(
            garment=values["garment"],
            person_image=person,
            model_photo=values.get("model_photo"),
            lower_garment=values.get("lower_garment"),
            provider=values.get("provider"),
            batch_size=values["batch_size"],
            caller=caller,
            idempotency_key=idempotency_key,
        )
        response = Response(
            self.get_serializer(tryon).data,
            status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
            headers={"Location": self.reverse_action("detail", kwargs={"pk": tryon.pk})},
        )
        return self._tagged(response, tryon)

    @docs.REQUESTS_CANCEL
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        tryon = self.get_object()
        if tryon.owner_key != owner_key(request, bind=False) and not request.user.has_perm(
            "django_tryon.change_tryonrequest"
        ):
            raise exceptions.PermissionDenied("You may not cancel other people's try-ons.")
        if tryon.status != Status.CANCELLED and not services.cancel(tryon):
            tryon.refresh_from_db()
            if tryon.status != Status.CANCELLED:
                message = (
                    "This try-on has already finished."
                    if tryon.is_terminal
                    else "This try-on is being sent to the try-on service right now. "
                    "Please try again in a moment."
                )
                raise Conflict(message, code="not_cancellable")
        tryon.refresh_from_db()
        return self._tagged(Response(self.get_serializer(tryon).data), tryon)

    def _tagged(self, response, tryon):
        """A full answer about one try-on, with the ETag its next poll may send."""
        polling.tag_response(response, tryon, self.request)
        return response

    @docs.REQUESTS_ERASE
    @action(detail=False, methods=["post"])
    def erase(self, request):
        """The caller's own photos and results, gone: every finished try-on of theirs is
        deleted with its files. One still being made is left (and counted) until it ends."""
        form = EraseSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        key = owner_key(request, bind=False)
        if not key:
            return Response({"erased": 0, "still_running": 0})
        erased = services.erase_shopper(key, finished_only=True)
        running = TryOnRequest.objects.filter(owner_key=key).count()
        return Response({"erased": erased, "still_running": running})


# -- catalogue -----------------------------------------------------------------------------


class GarmentViewSet(TryOnAPIMixin, viewsets.GenericViewSet):
    """Garments available for try-on (active ones only)."""

    permission_classes = [AllowAny]
    serializer_class = GarmentSerializer
    queryset = Garment.objects.none()

    def get_queryset(self):
        return Garment.objects.filter(active=True).order_by("name", "id")

    @docs.GARMENTS_LIST
    def list(self, request):
        filters = GarmentFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        garments = self.get_queryset().filter(**filters.validated_data)
        page = self.paginate_queryset(garments)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @docs.GARMENTS_RETRIEVE
    def retrieve(self, request, pk=None):
        return Response(self.get_serializer(self.get_object()).data)


class ModelPhotoViewSet(TryOnAPIMixin, viewsets.GenericViewSet):
    """House models a shopper may choose instead of their own photo."""

    permission_classes = [AllowAny]
    serializer_class = ModelPhotoSerializer
    queryset = ModelPhoto.objects.none()

    def get_queryset(self):
        photos = ModelPhoto.objects.filter(active=True).order_by("name", "id")
        if is_staff(self.request.user):
            return photos
        if not get_setting("HOUSE_MODELS_FOR_SHOPPERS"):
            return photos.none()
        return photos.filter(offer_to_shoppers=True)

    @docs.MODEL_PHOTOS_LIST
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @docs.MODEL_PHOTOS_RETRIEVE
    def retrieve(self, request, pk=None):
        return Response(self.get_serializer(self.get_object()).data)


# -- quota ---------------------------------------------------------------------------------


class QuotaView(TryOnAPIMixin, APIView):
    """What is left for the caller today, so the widget can hide its button.

    Also sets the CSRF cookie: a page or client without one calls this first.
    """

    @docs.QUOTA
    def get(self, request):
        get_token(request)
        # An anonymous browser's first read starts its session and browser cookie, so its
        # try-ons, however many it sends at once, share one shopper quota.
        key = owner_key(request, bind=getattr(request, "session", None) is not None)
        caller = Caller.from_request(request, source=_source(request), owner_key=key)
        allowance = services.next_tryon_allowance(caller)
        data = {
            "available": allowance.available,
            "reason": allowance.reason,
            "message": allowance.message,
            "retry_after_seconds": allowance.retry_after_seconds,
            "shopper": {
                "limit": allowance.shopper_limit,
                "used": allowance.shopper_used,
                "remaining": allowance.shopper_remaining,
                "resets_at": allowance.resets_at,
            },
        }
        response = Response(QuotaSerializer(data).data)
        started_session(request, response)
        return response


class FunnelView(TryOnAPIMixin, APIView):
    """One step of the shopper's way through the widget, counted per garment per day
    (``django_tryon.funnel``). 404 unless the shop opted in with TRYON['FUNNEL']."""

    @docs.FUNNEL
    def post(self, request):
        if not funnel.enabled():
            raise exceptions.NotFound("Funnel counts are off in this shop.")
        key = owner_key(request, bind=False)
        own = TryOnRequest.objects.filter(owner_key=key) if key else TryOnRequest.objects.none()
        serializer = FunnelStepSerializer(data=request.data, context={"requests": own})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        counted = funnel.count(data["step"], data["garment"], data.get("request"))
        return Response({"counted": counted})

    def get_throttles(self):
        # Cheap and frequent, like a poll: the read rate, never the create rate.
        return [FunnelThrottle()]


class NotFoundView(APIView):
    """Every URL under api/ that is not an endpoint: a JSON 404, never the site's HTML page."""

    renderer_classes = [JSONRenderer]
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    schema = None

    def get_exception_handler(self):
        return exception_handler

    def _not_found(self, request, *args, **kwargs):
        raise exceptions.NotFound()

    get = post = put = patch = delete = head = options = _not_found


# -- helpers -------------------------------------------------------------------------------


def _source(request) -> str:
    """Where a shopper's call came from: the product-page widget says so in a header;
    any other client is the API. It labels try-ons on the cost page and picks the route
    (TRYON["ROUTING"]), so it needs no proof: any caller may use either entry point."""
    return Source.WIDGET if request.headers.get("X-Tryon-Client") == "widget" else Source.API


def _idempotency_key(request) -> str:
    value = request.headers.get("Idempotency-Key")
    if value is None:
        return ""
    value = value.strip()
    if not 1 <= len(value) <= 255 or not value.isascii() or not value.isprintable():
        raise exceptions.ValidationError(
            {"Idempotency-Key": ["Use 1 to 255 printable ASCII characters."]}
        )
    return value
