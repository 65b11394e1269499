"""Try-on results: review them and publish them to product pages."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import catalogue
from ..models import TryOnResult
from .common import (
    PUBLISH_PERMISSION,
    ReadOnlyAdmin,
    ResultProviderFilter,
    report_publish,
    report_withdrawn,
)
from .display import (
    admin_link,
    batch_label,
    garments_label,
    placeholder,
    shopper_photos_visible,
    shows_a_shopper,
    thumbnail,
)


class KindFilter(admin.SimpleListFilter):
    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("catalogue", _("Catalogue (house models)")), ("shopper", _("Shoppers"))]

    def queryset(self, request, queryset):
        if self.value() == "catalogue":
            return queryset.filter(request__model_photo__isnull=False)
        if self.value() == "shopper":
            return queryset.filter(request__model_photo__isnull=True)
        return queryset


@admin.register(TryOnResult)
class TryOnResultAdmin(ReadOnlyAdmin):
    list_display = [
        "image_thumb",
        "garment",
        "worn_by",
        "approval",
        "batch_link",
    ]
    list_display_links = ["image_thumb", "garment"]
    list_filter = [
        "approved",
        KindFilter,
        ResultProviderFilter,
        ("request__batch", admin.RelatedOnlyFieldListFilter),
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = [
        "request__garment__name",
        "request__garment__sku",
        "request__model_photo__name",
    ]
    list_select_related = [
        "request__garment",
        "request__lower_garment",
        "request__model_photo",
        "request__batch",
        "approved_by",
    ]
    actions = ["approve_selected", "withdraw_selected"]
    fieldsets = [
        (None, {"fields": ["image_large", "garment", "worn_by", "request_link", "batch_link"]}),
        (_("Catalogue"), {"fields": ["approved", "approved_at", "approved_by"]}),
        (_("File"), {"fields": ["stored_as", "width", "height", "index", "created_at"]}),
    ]

    def has_publish_permission(self, request):
        return request.user.has_perm(PUBLISH_PERMISSION)

    @admin.display(description=_("stored as"))
    def stored_as(self, obj):
        # The name only: Django's file display would link the file's permanent URL,
        # past the expiring link and the shopper-photo setting.
        return obj.image.name

    def _image(self, obj, size):
        if shows_a_shopper(obj.request) and not shopper_photos_visible():
            return placeholder("hidden (shows a shopper)")
        return thumbnail(obj.image, f"Result {obj.index + 1}", size=size, link=size == "large")

    @admin.display(description=_("image"))
    def image_thumb(self, obj):
        return self._image(obj, "small")

    @admin.display(description=_("image"))
    def image_large(self, obj):
        return self._image(obj, "large")

    @admin.display(description=_("on product pages"), ordering="approved")
    def approval(self, obj):
        if not obj.approved:
            return "—"
        when = date_format(timezone.localtime(obj.approved_at), "SHORT_DATETIME_FORMAT")
        return format_html(
            '<span class="tryon-badge tryon-badge-ok">{}</span> <span class="tryon-caption">{}</span>',
            _("approved"),
            f"{obj.approved_by or ''} {when}".strip() if obj.approved_at else obj.approved_by or "",
        )

    @admin.display(description=_("garment"), ordering="request__garment__name")
    def garment(self, obj):
        return garments_label(obj.request)

    @admin.display(description=_("worn by"))
    def worn_by(self, obj):
        if obj.request.model_photo_id:
            return obj.request.model_photo.name
        return _("a shopper")

    @admin.display(description=_("try-on"))
    def request_link(self, obj):
        return admin_link(obj.request, str(obj.request_id)[:8])

    @admin.display(description=_("batch"))
    def batch_link(self, obj):
        return (
            admin_link(obj.request.batch, batch_label(obj.request.batch))
            if obj.request.batch_id
            else "—"
        )

    @admin.action(description=_("Approve for product pages"), permissions=["publish"])
    def approve_selected(self, request, queryset):
        approved, refused = catalogue.publish(queryset, request.user)
        report_publish(self, request, approved, refused)

    @admin.action(description=_("Withdraw from product pages"), permissions=["publish"])
    def withdraw_selected(self, request, queryset):
        count = catalogue.unpublish(queryset)
        report_withdrawn(self, request, count)
