"""Garments, house model photos, and try-on requests with their results."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.signals import setting_changed
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import LazyObject, empty
from django.utils.translation import gettext_lazy as _

from .status import ACTIVE, Status


class _TryOnStorage(LazyObject):
    """The storage named by TRYON['STORAGE'], looked up on first use, not at import."""

    def _setup(self):
        from django.core.files.storage import storages

        from .conf import get_setting

        self._wrapped = storages[get_setting("STORAGE")]


_storage = _TryOnStorage()


def _reset_storage(*, setting, **kwargs):
    if setting in ("TRYON", "STORAGES"):
        _storage._wrapped = empty


setting_changed.connect(_reset_storage)


def tryon_storage():
    """Storage callable for every file field of the app (kept stable for migrations)."""
    return _storage


def _random_name(folder: str, filename: str) -> str:
    # Names are unguessable and carry nothing of the uploaded file name.
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    if ext not in {"jpg", "jpeg", "png", "webp"}:
        ext = "jpg"
    return f"tryon/{folder}/{secrets.token_urlsafe(24)}.{ext}"


def garment_upload_to(instance, filename):
    return _random_name("garments", filename)


def model_photo_upload_to(instance, filename):
    return _random_name("models", filename)


def person_upload_to(instance, filename):
    return _random_name("persons", filename)


def result_upload_to(instance, filename):
    return _random_name(f"results/{timezone.now():%Y/%m}", filename)


def result_name(request, key: str, ext: str) -> str:
    """A result's storage name from a key the caller makes unguessable, in the folder of
    the month its request was created: the same name every time for the same key."""
    return f"tryon/results/{request.created_at:%Y/%m}/{key}.{ext}"


class Category(models.TextChoices):
    """What a garment is. Clothing goes to every provider; accessories only to those that
    declare them (``Provider.garment_categories``: FASHN with its ``tryon-max`` model)."""

    UPPER = "upper", _("Upper body")
    LOWER = "lower", _("Lower body")
    DRESS = "dress", _("Dress / full body")
    SHOES = "shoes", _("Shoes")
    BAG = "bag", _("Bag")
    HAT = "hat", _("Hat")
    JEWELLERY = "jewellery", _("Jewellery")


#: The clothing categories (every provider's), and the accessories (some providers').
CLOTHING = frozenset({Category.UPPER, Category.LOWER, Category.DRESS})
ACCESSORIES = frozenset({Category.SHOES, Category.BAG, Category.HAT, Category.JEWELLERY})


class Source(models.TextChoices):
    WIDGET = "widget", _("Product-page widget")
    API = "api", _("API")
    ADMIN = "admin", _("Admin")
    CLI = "cli", _("Terminal command")


class Garment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=200)
    sku = models.CharField(_("SKU"), max_length=100, blank=True, db_index=True)
    category = models.CharField(_("category"), max_length=10, choices=Category.choices)
    image = models.ImageField(
        _("image"), upload_to=garment_upload_to, storage=tryon_storage, max_length=255
    )
    image_digest = models.CharField(max_length=64, blank=True, editable=False)
    product_type = models.ForeignKey(
        ContentType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    product_id = models.CharField(max_length=64, blank=True)
    product = GenericForeignKey("product_type", "product_id")
    active = models.BooleanField(_("available for try-on"), default=True)
    # Made by the terminal command for an image it was given, not a product of the shop:
    # the admin's garment list leaves these out unless asked.
    from_terminal = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["product_type", "product_id"])]
        verbose_name = _("garment")
        verbose_name_plural = _("garments")

    def __str__(self) -> str:
        return self.name


class ModelPhoto(models.Model):
    """A house model the shop may dress for its catalogue (and offer to shoppers)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=200)
    image = models.ImageField(
        _("image"), upload_to=model_photo_upload_to, storage=tryon_storage, max_length=255
    )
    image_digest = models.CharField(max_length=64, blank=True, editable=False)
    active = models.BooleanField(_("active"), default=True)
    offer_to_shoppers = models.BooleanField(
        _("offer to shoppers"),
        default=False,
        help_text=_("Shoppers may try garments on this model instead of their own photo."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("house model")
        verbose_name_plural = _("house models")

    def __str__(self) -> str:
        return self.name


class TryOnBatch(models.Model):
    """One bulk try-on run from the admin."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The provider, or the providers ("fashn, kling") a routed batch went to.
    provider = models.CharField(max_length=100)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("run_bulk_tryon", "Can run bulk try-ons from the admin")]
        verbose_name = _("try-on batch")
        verbose_name_plural = _("try-on batches")

    def __str__(self) -> str:
        from django.utils.formats import date_format

        started = date_format(timezone.localtime(self.created_at), "SHORT_DATETIME_FORMAT")
        return f"Batch of {started} ({self.provider})"


class TryOnRequestQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=ACTIVE)

    def owned_by(self, owner_key: str):
        return self.filter(owner_key=owner_key)


class TryOnRequest(models.Model):
    """One try-on: inputs, where it is at the provider, and what it cost."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    provider = models.CharField(max_length=32)
    provider_model = models.CharField(max_length=64, blank=True)
    batch = models.ForeignKey(
        TryOnBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="requests"
    )
    retry_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="retried_by"
    )

    # Inputs. A person photo (shopper upload) or a house model, never both.
    person_image = models.FileField(
        upload_to=person_upload_to, storage=tryon_storage, blank=True, max_length=255
    )
    # True once the upload was replaced by its normalised, metadata-free re-encoding.
    person_prepared = models.BooleanField(default=False, editable=False)
    person_purged_at = models.DateTimeField(null=True, blank=True)
    model_photo = models.ForeignKey(
        ModelPhoto, on_delete=models.PROTECT, null=True, blank=True, related_name="requests"
    )
    garment = models.ForeignKey(Garment, on_delete=models.PROTECT, related_name="requests")
    lower_garment = models.ForeignKey(
        Garment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    batch_size = models.PositiveSmallIntegerField(default=1)
    input_digest = models.CharField(max_length=64, db_index=True)

    # Who asked. owner_key is "user:<pk>", "session:<key>" or "" (staff and terminal runs).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    owner_key = models.CharField(max_length=80, blank=True, db_index=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    consent_version = models.CharField(max_length=32, blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)

    # At the provider.
    provider_task_id = models.CharField(max_length=128, blank=True)
    provider_status = models.CharField(max_length=32, blank=True)
    callback_salt = models.CharField(max_length=32, blank=True, editable=False)
    callback_token_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    #: Result downloads that failed in a way that may pass (timeouts, 5xx); past
    #: MAX_RETRIES the try-on fails as result_unavailable, recoverable for free.
    download_failures = models.PositiveSmallIntegerField(default=0)

    # Outcome.
    error_code = models.CharField(max_length=40, blank=True)
    error_detail = models.TextField(blank=True)
    cost = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    cost_currency = models.CharField(max_length=8, blank=True)
    # What create_tryon counted against the budgets: given back or settled as counted.
    reserved_amount = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    reserved_currency = models.CharField(max_length=8, blank=True)
    # What one unit of cost_currency cost the shop in shop_currency when the request was
    # made (the provider's UNIT_PRICE; 1 when it bills in the shop's currency; null when
    # unknown): the cost in the shop's money is cost * unit_price, at the price of the day.
    unit_price = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    shop_currency = models.CharField(max_length=8, blank=True)
    # An anonymous shopper's client address, as a hash (quotas.client_key): counted
    # against ANONYMOUS_DAILY_GENERATION_LIMIT_PER_CLIENT, and given back with the rest.
    client_key = models.CharField(max_length=40, blank=True, editable=False)
    # Whether the shop's funnel counts (TRYON["FUNNEL"]) already have this try-on's result
    # shown and its add to cart: each counts once, however often the widget reports it.
    counted_result_shown = models.BooleanField(default=False, editable=False)
    # Routing (django_tryon.routing): whether the route chose the provider (a request
    # that named its provider never moves), the providers it left before reaching any,
    # and why it is not at the first provider of its route.
    routed = models.BooleanField(default=False, editable=False)
    providers_left = models.CharField(max_length=200, blank=True, editable=False)
    routing_note = models.CharField(max_length=500, blank=True)
    counted_added_to_cart = models.BooleanField(default=False, editable=False)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    # When the reaper should next fetch the task from the provider (callbacks may be lost).
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    persist_claimed_at = models.DateTimeField(null=True, blank=True)

    objects = TryOnRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("try-on request")
        verbose_name_plural = _("try-on requests")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_task_id"],
                condition=~Q(provider_task_id=""),
                name="tryon_unique_provider_task",
            ),
            models.UniqueConstraint(
                fields=["owner_key", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="tryon_unique_idempotency_key",
            ),
            # Identical creates sent at once (a double click, a retrying client): the
            # database lets one in flight per owner and inputs, so only one is ever paid.
            models.UniqueConstraint(
                fields=["owner_key", "input_digest"],
                condition=Q(status__in=sorted(ACTIVE)),
                name="tryon_unique_in_flight",
            ),
            models.CheckConstraint(
                condition=Q(batch_size__gte=1) & Q(batch_size__lte=4),
                name="tryon_batch_size_range",
            ),
        ]
        indexes = [models.Index(fields=["status", "updated_at"])]

    def __str__(self) -> str:
        return f"Try-on {self.pk} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status not in ACTIVE

    @property
    def outfit(self) -> bool:
        return self.lower_garment_id is not None

    @property
    def error_message(self) -> str:
        """What a shopper is told about this failure, in the active language: only the
        code is stored, the words are ``messages.shopper_message``'s (one table)."""
        from .messages import shopper_message

        return shopper_message(self.error_code) if self.error_code else ""


class TryOnResult(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(TryOnRequest, on_delete=models.CASCADE, related_name="results")
    index = models.PositiveSmallIntegerField()
    # A FileField: width and height are recorded by the pipeline, so no model load
    # ever opens the file from (possibly remote) storage.
    image = models.FileField(upload_to=result_upload_to, storage=tryon_storage, max_length=255)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    # Review and publish: approved catalogue results may be shown on product pages.
    approved = models.BooleanField(_("approved for the catalogue"), default=False, db_index=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["request", "index"]
        permissions = [("publish_tryonresult", "Can approve try-on results for the catalogue")]
        verbose_name = _("try-on result")
        verbose_name_plural = _("try-on results")
        constraints = [
            models.UniqueConstraint(fields=["request", "index"], name="tryon_unique_result_index")
        ]

    def __str__(self) -> str:
        return f"Result {self.index} of {self.request_id}"


# What the app counts and remembers about its work lives in records.py (kept importable
# from here, where Django and the shop's code look for the app's models).
from .records import (  # noqa: E402
    CallbackReceipt,
    FunnelDay,
    ProviderHealth,
    UsageCounter,
    WorkerHeartbeat,
)

__all__ = [
    "CallbackReceipt",
    "Category",
    "FunnelDay",
    "Garment",
    "ModelPhoto",
    "ProviderHealth",
    "Source",
    "TryOnBatch",
    "TryOnRequest",
    "TryOnResult",
    "UsageCounter",
    "WorkerHeartbeat",
]
