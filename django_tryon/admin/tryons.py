"""Try-on requests: the list, each request's details, and (request_actions) what staff can do."""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from .. import heartbeat
from ..callers import SHOPPER_SOURCES
from ..conf import get_setting
from ..messages import explain_error, shopper_message
from ..models import TryOnRequest
from .common import ProviderFilter, ReadOnlyAdmin
from .display import (
    admin_link,
    batch_label,
    garments_label,
    placeholder,
    request_cost,
    shopper_photos_visible,
    short_provider_label,
    shows_a_shopper,
    status_badge,
    thumbnail,
)
from .request_actions import RequestActions


@admin.register(TryOnRequest)
class TryOnRequestAdmin(RequestActions, ReadOnlyAdmin):
    list_display = [
        "short_id",
        "status_badge",
        "garment_cell",
        "person_cell",
        "result_cell",
        "provider_cell",
        "origin_cell",
        "cost_cell",
        "age",
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
                    "routing_note",
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

    def changelist_view(self, request, extra_context=None):
        waiting = heartbeat.stalled()
        if waiting:
            # Nothing else would say it: the try-ons were accepted and simply wait.
            minutes = get_setting("WORKER_SILENT_SECONDS") // 60 or 1
            self.message_user(
                request,
                ngettext(
                    "%(count)d try-on has waited more than %(minutes)d minutes and no Celery "
                    "worker has taken the app's tasks since: start one (celery -A yourproject "
                    "worker --beat) and it goes on.",
                    "%(count)d try-ons have waited more than %(minutes)d minutes and no Celery "
                    "worker has taken the app's tasks since: start one (celery -A yourproject "
                    "worker --beat) and they go on.",
                    waiting,
                )
                % {"count": waiting, "minutes": minutes},
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)

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

    @admin.display(description=_("ID"), ordering="created_at")
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
        return short_provider_label(obj.provider)

    @admin.display(description=_("cost"), ordering="cost")
    def cost_cell(self, obj):
        return request_cost(obj)

    @admin.display(description=_("age"), ordering="-created_at")
    def age(self, obj):
        return _("%(time)s ago") % {"time": timesince(obj.created_at, timezone.now(), depth=1)}

    @admin.display(description=_("from"), ordering="source")
    def origin_cell(self, obj):
        """Where it came from, and its batch under it: one column, so the list fits."""
        if not obj.batch_id:
            return obj.get_source_display()
        return format_html(
            '{}<br><span class="tryon-subline">{}</span>',
            obj.get_source_display(),
            admin_link(obj.batch, batch_label(obj.batch)),
        )

    @admin.display(description=_("batch"), ordering="batch__created_at")
    def batch_link(self, obj):
        if not obj.batch_id:
            return "—"
        return admin_link(obj.batch, batch_label(obj.batch))

    # -- detail fields --------------------------------------------------------------

    @admin.display(description=_("what went wrong"))
    def what_went_wrong(self, obj):
        if not obj.error_code:
            return "—"
        told = ""
        if obj.source in SHOPPER_SOURCES and obj.is_terminal:
            # What the API answered and the widget showed: the one table of messages.
            told = _("The shopper saw: “%(message)s”") % {
                "message": shopper_message(obj.error_code)
            }
        return format_html("<strong>{}</strong><br>{}", explain_error(obj.error_code), told)

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
        return _garment_card(obj.garment)

    @admin.display(description=_("worn with"))
    def lower_garment_detail(self, obj):
        return _garment_card(obj.lower_garment) if obj.lower_garment_id else "—"

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
            hidden = ngettext(
                "%(n)d image, hidden: it shows a shopper (TRYON['ADMIN_SHOW_SHOPPER_PHOTOS'])",
                "%(n)d images, hidden: they show a shopper (TRYON['ADMIN_SHOW_SHOPPER_PHOTOS'])",
                len(results),
            )
            return placeholder(hidden % {"n": len(results)})
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


def _garment_card(garment):
    """A garment's large thumbnail beside the link to its page."""
    return format_html(
        "{} {}", thumbnail(garment.image, garment.name, size="large"), admin_link(garment)
    )
