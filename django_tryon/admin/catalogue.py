"""Garments and house model photos, and the bulk action "Try on house models…"."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import services
from ..callers import Caller
from ..errors import NothingToRun, QuotaExceeded, TryOnValidationError
from ..locking import StillLocked, when_unlocked
from ..models import Garment, ModelPhoto
from .bulk import BulkTryOnForm
from .common import say_count
from .display import placeholder, thumbnail
from .forms import GarmentForm, ModelPhotoForm
from .operations import quota_message

RUN_BULK_PERMISSION = "django_tryon.run_bulk_tryon"
#: services' field names -> the bulk form's (the rest are shown above the form).
FIELD_NAMES = {"model_photo": "model_photos"}


@admin.action(description=_("Try on house models…"), permissions=["run_bulk_tryon"])
def try_on_house_models(modeladmin, request, queryset):
    """The intermediate page: pick house models, see the count and the cost, confirm."""
    garments = list(queryset.order_by("name"))
    submitted = "confirm" in request.POST or "preview" in request.POST
    form = BulkTryOnForm(request.POST if submitted else None, garments=garments)
    if submitted and form.is_valid() and "confirm" in request.POST:
        try:
            # All or nothing, so safe to run again while SQLite says "database is locked".
            data = form.cleaned_data
            batch, created, reused = when_unlocked(
                services.create_batch,
                Caller.for_admin(request.user),
                garments,
                data["model_photos"],
                provider=form.provider_name(),
                batch_size=data["batch_size"],
                lower_garment=data.get("lower_garment"),
                note=data.get("note", ""),
            )
        except StillLocked:
            form.add_error(
                None,
                "The database stayed busy (locked by another writer): nothing was started. "
                "Try again in a moment; on SQLite, set a busy timeout (check "
                "django_tryon.W013).",
            )
        except TryOnValidationError as exc:
            for name, errors in exc.errors.items():
                field = FIELD_NAMES.get(name, name)
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        except QuotaExceeded as exc:
            form.add_error(None, quota_message(exc))
        except NothingToRun:
            form.add_error(
                None,
                "Every selected garment already has a result on these house models, or one "
                "is being made: nothing new to run. Find them under Try-on requests.",
            )
        else:
            text = ngettext(
                "Started %(n)d try-on in one batch.", "Started %(n)d try-ons in one batch.", created
            ) % {"n": created}
            if reused:
                text += " " + ngettext(
                    "%(n)d pair was not run again: a result exists or is being made.",
                    "%(n)d pairs were not run again: a result exists or is being made.",
                    reused,
                ) % {"n": reused}
            modeladmin.message_user(request, text, messages.SUCCESS)
            return redirect(
                reverse(
                    "admin:django_tryon_tryonbatch_change",
                    args=[batch.pk],
                    current_app=modeladmin.admin_site.name,
                )
            )
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Try on house models"),
        "subtitle": None,
        "opts": opts,
        "form": form,
        "garments": garments,
        "estimate": form.estimate(),
        "providers_json": {name: c.as_json() for name, c in form.providers.items()},
        "made_json": form.made_by_photo,
        "routes_json": form.routes_json(),
        "garments_json": [{"pk": str(g.pk), "category": g.category} for g in garments],
        "action_name": "try_on_house_models",
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media + form.media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/django_tryon/garment/bulk_tryon.html", context)


class ImageColumns:
    """A garment's or house model's image as a list column and on its page (a mixin)."""

    @admin.display(description=_("image"))
    def image_thumb(self, obj):
        return thumbnail(obj.image, obj.name)

    @admin.display(description=_("current image"))
    def image_preview(self, obj):
        return thumbnail(obj.image, obj.name, size="large", link=True)


class GarmentOrigin(admin.SimpleListFilter):
    """The shop's garments by default; the terminal command's test images only when asked."""

    title = _("origin")
    parameter_name = "origin"

    def lookups(self, request, model_admin):
        return [("terminal", _("Terminal command")), ("all", _("All"))]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("Catalogue"),
        }
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        if self.value() == "all":
            return queryset
        return queryset.filter(from_terminal=self.value() == "terminal")


@admin.register(Garment)
class GarmentAdmin(ImageColumns, admin.ModelAdmin):
    form = GarmentForm
    list_display = ["image_thumb", "name", "sku", "category", "active", "product_link"]
    list_display_links = ["name"]
    list_editable = ["active"]
    list_filter = [GarmentOrigin, "category", "active"]
    search_fields = ["name", "sku"]
    actions = [try_on_house_models, "switch_on", "switch_off"]
    readonly_fields = ["image_preview", "product_link", "image_digest", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "sku", "category", "active"]}),
        (_("Image"), {"fields": ["image", "image_preview"]}),
        (_("Shop product"), {"fields": ["product_type", "product_id", "product_link"]}),
        (_("Record"), {"fields": ["image_digest", "created_at", "updated_at"]}),
    ]

    class Media:
        css = {"all": ["django_tryon/admin/tryon-admin.css"]}

    def get_queryset(self, request):
        # One query per kind of product, whatever the number of rows.
        return super().get_queryset(request).prefetch_related("product")

    def has_run_bulk_tryon_permission(self, request):
        return request.user.has_perm(RUN_BULK_PERMISSION)

    @admin.display(description=_("product"))
    def product_link(self, obj):
        return product_link(obj)

    @admin.action(description=_("Switch on for try-on"), permissions=["change"])
    def switch_on(self, request, queryset):
        count = queryset.update(active=True)
        say_count(
            self,
            request,
            count,
            "%(n)d garment switched on for try-on.",
            "%(n)d garments switched on for try-on.",
        )

    @admin.action(description=_("Switch off for try-on"), permissions=["change"])
    def switch_off(self, request, queryset):
        count = queryset.update(active=False)
        say_count(
            self,
            request,
            count,
            "%(n)d garment switched off for try-on.",
            "%(n)d garments switched off for try-on.",
        )


def product_link(garment: Garment):
    """The shop's product: its admin page, and the page shoppers see."""
    if not garment.product_type_id:
        return placeholder("not linked")
    product = garment.product
    if product is None:
        return placeholder(f"missing (id {garment.product_id})")
    opts = product._meta
    try:
        admin_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[product.pk])
    except NoReverseMatch:
        label = str(product)
    else:
        label = format_html('<a href="{}">{}</a>', admin_url, product)
    site_url = product.get_absolute_url() if hasattr(product, "get_absolute_url") else None
    if not site_url:
        return label
    return format_html(
        '{} <a class="tryon-site-link" href="{}" target="_blank" rel="noopener">view in shop ↗</a>',
        label,
        site_url,
    )


@admin.register(ModelPhoto)
class ModelPhotoAdmin(ImageColumns, admin.ModelAdmin):
    form = ModelPhotoForm
    list_display = ["image_thumb", "name", "active", "offer_to_shoppers", "created_at"]
    list_display_links = ["name"]
    list_editable = ["active", "offer_to_shoppers"]
    list_filter = ["active", "offer_to_shoppers"]
    search_fields = ["name"]
    readonly_fields = ["image_preview", "image_digest", "created_at"]
    fields = ["name", "image", "image_preview", "active", "offer_to_shoppers", "created_at"]

    class Media:
        css = {"all": ["django_tryon/admin/tryon-admin.css"]}
