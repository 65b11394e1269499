"""Try-on requests and their results: lists, details, retry/refresh/cancel, review and publish."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from .. import catalogue, images
from ..models import TryOnRequest, TryOnResult, tryon_storage
from ..providers import provider_names
from . import operations
from .costs import cost_summary_view
from .display import (
    admin_link,
    batch_label,
    explain_error,
    garments_label,
    money,
    placeholder,
    provider_label,
    shopper_photos_visible,
    shows_a_shopper,
    status_badge,
    thumbnail,
)

PUBLISH_PERMISSION = "django_tryon.publish_tryonresult"
#: Longest side of a shopper photo served to staff (always re-encoded, never as uploaded).
PERSON_PHOTO_SIDES = {"small": 160, "large": 800}


class ProviderFilter(admin.SimpleListFilter):
    title = _("provider")
    parameter_name = "provider"

    def lookups(self, request, model_admin):
        return [(name, provider_label(name)) for name in provider_names()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.field_path: self.value()})
        return queryset

    field_path = "provider"


class ResultProviderFilter(ProviderFilter):
    field_path = "request__provider"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the pipeline writes: viewable, never added, edited or deleted by hand."""

    class Media:
        css = {"all": ["django_tryon/admin/tryon-admin.css"]}

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f for _name, opts in self.get_fieldsets(request, obj) for f in opts["fields"]]

    def save_model(self, request, obj, form, change):
        """Never save: a whole-row write could undo a status a worker set a moment ago."""

    def save_related(self, request, form, formsets, change):
        pass

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            "title": str(self.opts.verbose_name).capitalize(),
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(TryOnRequest)
class TryOnRequestAdmin(ReadOnlyAdmin):
    list_display = [
        "short_id",
        "status_badge",
        "garment_cell",
        "person_cell",
        "result_cell",
        "provider_cell",
        "source",
        "cost_cell",
        "age",
        "batch_link",
    ]
    list_display_links = ["short_id"]
    list_filter = [
        "status",
        ProviderFilter,
        "source",
        ("batch", admin.RelatedOnlyFieldListFilter),
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["garment__name", "garment__sku", "model_photo__name", "provider_task_id"]
    list_select_related = ["garment", "lower_garment", "model_photo", "batch"]
    actions = ["retry_selected", "recover_selected", "refresh_selected", "cancel_selected"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "status_badge",
                    "what_went_wrong",
                    "source",
                    "provider_cell",
                    "batch_link",
                    "retry_links",
                    "cost_cell",
                ]
            },
        ),
        (
            _("Images"),
            {
                "fields": [
                    "garment_detail",
                    "lower_garment_detail",
                    "person_detail",
                    "results_detail",
                ]
            },
        ),
        (
            _("Timeline"),
            {
                "fields": [
                    "created_at",
                    "submitted_at",
                    "completed_at",
                    "last_checked_at",
                    "next_check_at",
                    "attempts",
                ]
            },
        ),
        (
            _("At the provider (technical details)"),
            {
                "classes": ["collapse"],
                "fields": [
                    "provider_model",
                    "provider_task_id",
                    "provider_status",
                    "batch_size",
                    "error_code",
                    "error_detail",
                ],
            },
        ),
        (
            _("Who asked"),
            {"fields": ["asked_by", "consent_version", "consent_at", "person_purged_at"]},
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("results")

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("cost/", view(self.cost_view), name=f"{prefix}_cost"),
            path(
                "<path:object_id>/retry/",
                view(require_POST(self.retry_view)),
                name=f"{prefix}_retry",
            ),
            path(
                "<path:object_id>/refresh/",
                view(require_POST(self.refresh_view)),
                name=f"{prefix}_refresh",
            ),
            path(
                "<path:object_id>/cancel/",
                view(require_POST(self.cancel_view)),
                name=f"{prefix}_cancel",
            ),
            path(
                "<path:object_id>/person-photo/<str:size>/",
                view(self.person_photo_view),
                name=f"{prefix}_person_photo",
            ),
            *super().get_urls(),
        ]

    # -- list columns ---------------------------------------------------------------

    @admin.display(description=_("try-on"), ordering="created_at")
    def short_id(self, obj):
        return str(obj.pk)[:8]

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return status_badge(obj.status)

    @admin.display(description=_("garment"))
    def garment_cell(self, obj):
        cells = [thumbnail(obj.garment.image, obj.garment.name)]
        if obj.lower_garment_id:
            cells.append(thumbnail(obj.lower_garment.image, obj.lower_garment.name))
        return format_html(
            '<span class="tryon-thumbs">{}</span><span class="tryon-caption">{}</span>',
            format_html_join("", "{}", ((c,) for c in cells)),
            garments_label(obj),
        )

    @admin.display(description=_("person"))
    def person_cell(self, obj):
        return self._person(obj, "small")

    @admin.display(description=_("result"))
    def result_cell(self, obj):
        results = list(obj.results.all())
        if not results:
            return placeholder("—")
        if shows_a_shopper(obj) and not shopper_photos_visible():
            return placeholder("hidden (shows a shopper)")
        return format_html_join(
            "", "{}", ((thumbnail(r.image, f"Result {r.index + 1}"),) for r in results[:2])
        )

    @admin.display(description=_("provider"), ordering="provider")
    def provider_cell(self, obj):
        return provider_label(obj.provider)

    @admin.display(description=_("cost"), ordering="cost")
    def cost_cell(self, obj):
        return money(obj.cost, obj.cost_currency)

    @admin.display(description=_("age"), ordering="-created_at")
    def age(self, obj):
        ago = _("%(time)s ago") % {"time": timesince(obj.created_at, timezone.now(), depth=1)}
        return format_html('<span class="tryon-nowrap">{}</span>', ago)

    @admin.display(description=_("batch"), ordering="batch__created_at")
    def batch_link(self, obj):
        if not obj.batch_id:
            return "—"
        return format_html(
            '<span class="tryon-nowrap">{}</span>', admin_link(obj.batch, batch_label(obj.batch))
        )

    # -- detail fields --------------------------------------------------------------

    @admin.display(description=_("what went wrong"))
    def what_went_wrong(self, obj):
        if not obj.error_code and not obj.error_message:
            return "—"
        return format_html(
            "<strong>{}</strong><br>{}",
            explain_error(obj.error_code),
            _("The shopper was told: “%(message)s”") % {"message": obj.error_message}
            if obj.error_message
            else "",
        )

    @admin.display(description=_("retries"))
    def retry_links(self, obj):
        parts = []
        if obj.retry_of_id:
            parts.append(
                format_html("retry of {}", admin_link(obj.retry_of, str(obj.retry_of_id)[:8]))
            )
        for retry in obj.retried_by.all():
            parts.append(format_html("retried as {}", admin_link(retry, str(retry.pk)[:8])))
        return format_html_join(", ", "{}", ((p,) for p in parts)) if parts else "—"

    @admin.display(description=_("garment"))
    def garment_detail(self, obj):
        return format_html(
            "{} {}",
            thumbnail(obj.garment.image, obj.garment.name, size="large"),
            admin_link(obj.garment),
        )

    @admin.display(description=_("worn with"))
    def lower_garment_detail(self, obj):
        if not obj.lower_garment_id:
            return "—"
        return format_html(
            "{} {}",
            thumbnail(obj.lower_garment.image, obj.lower_garment.name, size="large"),
            admin_link(obj.lower_garment),
        )

    @admin.display(description=_("person"))
    def person_detail(self, obj):
        if obj.model_photo_id:
            return format_html(
                "{} {}",
                thumbnail(obj.model_photo.image, obj.model_photo.name, size="large"),
                admin_link(obj.model_photo),
            )
        return self._person(obj, "large")

    @admin.display(description=_("results"))
    def results_detail(self, obj):
        results = list(obj.results.all())
        if not results:
            return "—"
        if shows_a_shopper(obj) and not shopper_photos_visible():
            return placeholder(
                f"{len(results)} image(s), hidden: they show a shopper "
                "(TRYON['ADMIN_SHOW_SHOPPER_PHOTOS'])"
            )
        return format_html_join(
            "",
            '<span class="tryon-result">{} {}</span>',
            (
                (
                    thumbnail(r.image, f"Result {r.index + 1}", size="large", link=True),
                    admin_link(r, _("approved") if r.approved else _("not approved")),
                )
                for r in results
            ),
        )

    @admin.display(description=_("asked by"))
    def asked_by(self, obj):
        # The owner key of an anonymous shopper holds a session key: never shown.
        if obj.owner_key.startswith("user:"):
            return format_html("a signed-in shopper ({})", obj.owner or obj.owner_key[5:])
        if obj.owner_key.startswith("session:"):
            return _("an anonymous shopper (browser session)")
        return _("staff or the terminal command")

    def _person(self, obj, size):
        if obj.model_photo_id:
            return thumbnail(obj.model_photo.image, obj.model_photo.name)
        if not obj.person_image:
            return placeholder("deleted" if obj.person_purged_at else "—")
        if not shopper_photos_visible():
            return placeholder("shopper's photo (hidden)")
        url = reverse(
            "admin:django_tryon_tryonrequest_person_photo",
            args=[obj.pk, size],
            current_app=self.admin_site.name,
        )
        return format_html(
            '<img class="tryon-thumb tryon-thumb-{}" src="{}" alt="Shopper\'s photo" loading="lazy">',
            size,
            url,
        )

    # -- actions ----------------------------------------------------------------------

    @admin.action(description=_("Retry (failed or cancelled try-ons)"), permissions=["change"])
    def retry_selected(self, request, queryset):
        outcome = operations.retry(queryset)
        self._report(
            request,
            outcome,
            done="Retried {n} try-on(s): the copies are queued.",
            skipped="{n} left alone: only failed or cancelled try-ons are retried, once each.",
        )

    @admin.action(description=_("Fetch results again (no new charge)"), permissions=["change"])
    def recover_selected(self, request, queryset):
        outcome = operations.recover(queryset)
        self._report(
            request,
            outcome,
            done="Fetched the results of {n} try-on(s) again, without a new charge.",
            skipped="{n} not fetched again: only try-ons whose finished images could not be "
            "stored can be (the others need Retry, which is charged again).",
        )

    @admin.action(description=_("Refresh from the provider"), permissions=["change"])
    def refresh_selected(self, request, queryset):
        outcome = operations.refresh(queryset)
        self._report(
            request,
            outcome,
            done="Asked the provider about {n} try-on(s); their status updates in a moment.",
            skipped="{n} left alone: only try-ons at the provider can be refreshed.",
        )

    @admin.action(description=_("Cancel"), permissions=["change"])
    def cancel_selected(self, request, queryset):
        outcome = operations.cancel(queryset)
        self._report(
            request,
            outcome,
            done="Cancelled {n} try-on(s).",
            skipped="{n} left alone: finished try-ons, and those being sent right now, "
            "cannot be cancelled.",
        )

    def _report(self, request, outcome, *, done, skipped):
        if outcome.done:
            self.message_user(request, done.format(n=outcome.done), messages.SUCCESS)
        if outcome.skipped:
            self.message_user(request, skipped.format(n=outcome.skipped), messages.WARNING)
        for problem in dict.fromkeys(outcome.problems):
            self.message_user(request, problem, messages.ERROR)

    # -- one request's buttons, and its photo -----------------------------------------

    def retry_view(self, request, object_id):
        obj = self._changeable(request, object_id)
        outcome = operations.retry([obj])
        if outcome.started:
            new = outcome.started[0]
            self.message_user(request, "Retry queued.", messages.SUCCESS)
            return redirect(_change_url(new, self.admin_site.name))
        self._report(
            request,
            outcome,
            done="",
            skipped="Not retried: only a failed or cancelled try-on is retried, once.",
        )
        return redirect(_change_url(obj, self.admin_site.name))

    def refresh_view(self, request, object_id):
        obj = self._changeable(request, object_id)
        self._report(
            request,
            operations.refresh([obj]),
            done="Asked the provider; the status updates in a moment.",
            skipped="Not refreshed: only a try-on at the provider can be refreshed.",
        )
        return redirect(_change_url(obj, self.admin_site.name))

    def cancel_view(self, request, object_id):
        obj = self._changeable(request, object_id)
        self._report(
            request,
            operations.cancel([obj]),
            done="Cancelled.",
            skipped="Not cancelled: it has finished, or it is being sent right now.",
        )
        return redirect(_change_url(obj, self.admin_site.name))

    def _changeable(self, request, object_id) -> TryOnRequest:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404("No such try-on.")
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        return obj

    def person_photo_view(self, request, object_id, size):
        """A shopper's photo for staff, re-encoded; only when the setting allows it."""
        if not shopper_photos_visible() or size not in PERSON_PHOTO_SIDES:
            raise Http404("Not shown.")
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not obj.person_image:
            raise Http404("No photo.")
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        side = PERSON_PHOTO_SIDES[size]
        try:
            with tryon_storage().open(obj.person_image.name, "rb") as fh:
                data = images.thumbnail_bytes(fh.read(), (side, side))
        except (OSError, images.ImageError):
            raise Http404("Photo unavailable.") from None
        response = HttpResponse(data, content_type="image/jpeg")
        response["Cache-Control"] = "private, no-store"
        response["X-Robots-Tag"] = "noindex"
        return response

    def cost_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return cost_summary_view(self, request)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(
                can_retry=obj.status in operations.RETRYABLE,
                can_refresh=obj.status in operations.REFRESHABLE,
                can_cancel=obj.status in operations.CANCELLABLE,
                can_act=self.has_change_permission(request, obj),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)


def _change_url(obj, current_app) -> str:
    opts = obj._meta
    return reverse(
        f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk], current_app=current_app
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
        self.message_user(
            request, f"{count} result(s) withdrawn from product pages.", messages.SUCCESS
        )


def report_publish(modeladmin, request, approved: int, refused: int) -> None:
    """Tell the merchandiser what approving did (shared by the list and the batch page)."""
    modeladmin.message_user(
        request, f"{approved} result(s) approved for product pages.", messages.SUCCESS
    )
    if refused:
        modeladmin.message_user(
            request,
            f"{refused} result(s) cannot be approved: only finished catalogue try-ons on "
            "house models can appear on product pages, never a shopper's.",
            messages.WARNING,
        )
