"""What the API reads and writes. Field names are the shop's words: garment, model photo."""

from __future__ import annotations

import re

from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import estimates, funnel, heartbeat, links
from ..callers import is_staff
from ..conf import get_setting
from ..messages import shopper_message
from ..models import Category, Garment, ModelPhoto, TryOnRequest
from ..status import Status

#: A UUID as the schema writes it (DRF would also take hex, URN and braced forms).
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class UUIDField(serializers.UUIDField):
    """A UUID in its canonical, hyphenated form only: what the schema promises."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or not _UUID.fullmatch(data.strip()):
            self.fail("invalid", value=data)
        return super().to_internal_value(data.strip())


# -- reading -------------------------------------------------------------------------------


class RequestErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable reason, e.g. `too_small`.")
    message = serializers.CharField(help_text="What went wrong, in words a shopper can act on.")


class ResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(min_value=0)
    url = serializers.SerializerMethodField(
        help_text="Short-lived URL of the image (valid RESULT_URL_MAX_AGE_SECONDS)."
    )
    width = serializers.IntegerField(min_value=0)
    height = serializers.IntegerField(min_value=0)

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, result) -> str:
        return links.result_url(result, self.context.get("request"))


class TryOnRequestSerializer(serializers.ModelSerializer):
    error = serializers.SerializerMethodField()
    results = serializers.SerializerMethodField()
    usual_seconds = serializers.SerializerMethodField(
        help_text="While it runs: how long a try-on at its provider usually takes at this "
        "shop (the median of the last successes, upload to stored result), for the "
        "shopper's estimate; null when finished or not known yet."
    )

    waiting_for_worker = serializers.SerializerMethodField(
        help_text="True when the try-on is still pending after WORKER_SILENT_SECONDS and no "
        "worker of the shop has taken the app's tasks since it was made: the shop's "
        "try-on service is not running, so waiting longer will not help."
    )

    class Meta:
        model = TryOnRequest
        fields = [
            "id",
            "status",
            "waiting_for_worker",
            "error",
            "results",
            "garment",
            "lower_garment",
            "model_photo",
            "provider",
            "routing_note",
            "usual_seconds",
            "batch_size",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "routing_note": {
                "help_text": "Why the request is not at the first provider of the shop's "
                "route (TRYON['ROUTING']): empty when it is."
            }
        }

    def get_waiting_for_worker(self, request: TryOnRequest) -> bool:
        return heartbeat.waiting_for_worker(request)

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_usual_seconds(self, request: TryOnRequest) -> int | None:
        if request.status in (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED):
            return None
        return estimates.usual_seconds(request.provider)

    @extend_schema_field(RequestErrorSerializer(allow_null=True))
    def get_error(self, request: TryOnRequest) -> dict | None:
        # Only a finished request has an error; an active one may carry a note about a
        # retry in progress, which is not the shopper's concern.
        if request.status not in (Status.FAILED, Status.CANCELLED):
            return None
        code = request.error_code or (
            "cancelled" if request.status == Status.CANCELLED else "failed"
        )
        # The shopper's words for the code, in their language: what the widget shows.
        return {"code": code, "message": shopper_message(code)}

    @extend_schema_field(ResultSerializer(many=True))
    def get_results(self, request: TryOnRequest) -> list[dict]:
        if request.status != Status.SUCCEEDED:
            return []
        return ResultSerializer(
            sorted(request.results.all(), key=lambda r: r.index), many=True, context=self.context
        ).data


class GarmentSerializer(serializers.ModelSerializer):
    image = serializers.SerializerMethodField()

    class Meta:
        model = Garment
        fields = ["id", "name", "sku", "category", "image"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_image(self, obj) -> str:
        return _absolute(self.context.get("request"), obj.image.url)


class ModelPhotoSerializer(serializers.ModelSerializer):
    image = serializers.SerializerMethodField()

    class Meta:
        model = ModelPhoto
        fields = ["id", "name", "image"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_image(self, obj) -> str:
        return _absolute(self.context.get("request"), obj.image.url)


class ShopperAllowanceSerializer(serializers.Serializer):
    limit = serializers.IntegerField(
        allow_null=True, help_text="Images this shopper may generate per day (null: no limit)."
    )
    used = serializers.IntegerField(help_text="Images generated today.")
    remaining = serializers.IntegerField(allow_null=True, help_text="null: no limit.")
    resets_at = serializers.DateTimeField(help_text="When the shopper's day ends.")


class QuotaSerializer(serializers.Serializer):
    available = serializers.BooleanField(
        help_text="False: a new try-on would be refused now; the widget hides its button."
    )
    reason = serializers.CharField(
        allow_null=True,
        help_text="Which limit blocks: shopper_daily, shop_daily, shop_monthly, "
        "shop_daily_budget, shop_monthly_budget or disabled.",
    )
    message = serializers.CharField(allow_null=True, help_text="Why, for the shopper.")
    retry_after_seconds = serializers.IntegerField(allow_null=True)
    shopper = ShopperAllowanceSerializer()


# -- writing -------------------------------------------------------------------------------


class TryOnCreateSerializer(serializers.Serializer):
    """A new try-on: a person photo (with consent) or a house model, and a garment."""

    person_image = serializers.FileField(
        required=False,
        help_text="The shopper's photo: JPEG, PNG, WebP or AVIF (HEIC with the heic extra), "
        "at least 300 px a side, at most "
        "UPLOAD_MAX_BYTES. Needs consent=true. Give this or model_photo.",
    )
    model_photo = UUIDField(
        required=False, help_text="A house model (see /model-photos/) instead of a photo."
    )
    garment = UUIDField(
        error_messages={"required": "Choose a garment.", "null": "Choose a garment."},
        help_text="The garment to try on (clothing: upper, lower or dress; or an accessory: "
        "shoes, bag, hat or jewellery, where a provider takes it).",
    )
    lower_garment = UUIDField(
        required=False, help_text="A lower-body garment to wear with an upper one (an outfit)."
    )
    batch_size = serializers.IntegerField(
        min_value=1,
        max_value=4,
        default=1,
        help_text="Images to generate, up to the provider's maximum. Each counts against quotas.",
    )
    provider = serializers.CharField(
        required=False,
        max_length=32,
        help_text="Provider name, a key of TRYON['PROVIDERS']; default: the shop's default "
        "provider (DEFAULT_PROVIDER, else the first configured).",
    )
    consent = serializers.BooleanField(
        default=False,
        help_text="The shopper agreed to the consent text (CONSENT_VERSION); required "
        "with person_image.",
    )

    def validate_garment(self, value):
        return self._garment(value)

    def validate_lower_garment(self, value):
        return self._garment(value)

    def validate_model_photo(self, value):
        photo = ModelPhoto.objects.filter(pk=value).first()
        user = getattr(self.context.get("request"), "user", None)
        if is_staff(user):  # staff may use any house model, offered to shoppers or not
            if photo is None:
                raise serializers.ValidationError("There is no house model with this id.")
            return photo
        if not get_setting("HOUSE_MODELS_FOR_SHOPPERS"):
            raise serializers.ValidationError("House models are not offered in this shop.")
        if photo is None or not photo.offer_to_shoppers or not photo.active:
            raise serializers.ValidationError("There is no house model with this id.")
        return photo

    @staticmethod
    def _garment(value) -> Garment:
        garment = Garment.objects.filter(pk=value).first()
        if garment is None:
            raise serializers.ValidationError("There is no garment with this id.")
        return garment


@extend_schema_field({"type": "boolean", "enum": [True]})
class ConfirmField(serializers.BooleanField):
    """A box that must be ticked: the schema says only true is accepted."""


class EraseSerializer(serializers.Serializer):
    """The shopper's "erase my photos and results"."""

    confirm = ConfirmField(
        help_text="Must be true: every finished try-on of the caller, with its photo and "
        "results, is deleted for good."
    )

    def validate_confirm(self, value):
        if value is not True:
            raise serializers.ValidationError("Confirm to erase your photos and results.")
        return value


class EraseAnswerSerializer(serializers.Serializer):
    erased = serializers.IntegerField(help_text="Try-ons deleted, with their files.")
    still_running = serializers.IntegerField(
        help_text="Try-ons still being made, left until they end (erase again then)."
    )


class FunnelStepSerializer(serializers.Serializer):
    """One step of a shopper's way through the widget (``django_tryon.funnel``)."""

    step = serializers.ChoiceField(
        choices=funnel.STEPS,
        help_text="opened, photo_given, result_shown (a finished try-on's result was on "
        "screen) or added_to_cart (the garment went into the cart after its try-on).",
    )
    garment = UUIDField(help_text="The garment of the widget.")
    request = UUIDField(
        required=False,
        help_text="The caller's own succeeded try-on of the garment: required for "
        "result_shown and added_to_cart, which count once per try-on.",
    )

    def validate_garment(self, value):
        return TryOnCreateSerializer._garment(value)

    def validate(self, attrs):
        if attrs["step"] not in funnel.ONCE_PER_TRYON:
            attrs.pop("request", None)
            return attrs
        garment = attrs["garment"]
        tryon = (
            self.context["requests"]
            .filter(pk=attrs.get("request"), status=Status.SUCCEEDED)
            .filter(Q(garment=garment) | Q(lower_garment=garment))
            .first()
            if attrs.get("request")
            else None
        )
        if tryon is None:
            raise serializers.ValidationError(
                {"request": ["Give one of your own finished try-ons of this garment."]}
            )
        attrs["request"] = tryon
        return attrs


class QuerySerializer(serializers.Serializer):
    """Query parameters, each given at most once and never empty."""

    def to_internal_value(self, data):
        errors = {}
        for name in self.fields:
            values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
            if len(values) > 1:
                errors[name] = ["Give this parameter once."]
            elif values == [""]:  # DRF would read an empty form value as "not given"
                errors[name] = ["This parameter may not be empty."]
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class RequestFilterSerializer(QuerySerializer):
    """Query parameters of the request list."""

    status = serializers.ChoiceField(choices=Status.choices, required=False)
    garment = UUIDField(required=False)


class GarmentFilterSerializer(QuerySerializer):
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    sku = serializers.CharField(required=False, max_length=100)


def _absolute(request, url: str) -> str:
    return request.build_absolute_uri(url) if request is not None else url
