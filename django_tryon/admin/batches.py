"""Try-on batches: the list, and the batch page with its live progress, results and buttons."""

from __future__ import annotations

import uuid

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from .. import catalogue, links
from ..messages import explain_error
from ..models import TryOnBatch, TryOnRequest, TryOnResult
from ..status import TERMINAL, Status
from . import operations
from .catalogue import RUN_BULK_PERMISSION
from .common import (
    PUBLISH_PERMISSION,
    ProviderFilter,
    ViewOnly,
    report_publish,
    report_withdrawn,
    say_count,
)
from .display import batch_label, batch_providers_label, garments_label

#: How the batch page groups statuses (in this order), with the statuses of each group.
GROUPS = [
    ("waiting", _("Waiting"), (Status.PENDING, Status.SUBMITTING)),
    ("running", _("At the provider"), (Status.SUBMITTED, Status.PROCESSING)),
    ("succeeded", _("Succeeded"), (Status.SUCCEEDED,)),
    ("failed", _("Failed"), (Status.FAILED,)),
    ("cancelled", _("Cancelled"), (Status.CANCELLED,)),
]
#: Failed try-ons listed on the batch page (the rest are one click away).
FAILURES_SHOWN = 20
#: Seconds between two progress polls of the batch page.
POLL_SECONDS = 2


@admin.register(TryOnBatch)
class TryOnBatchAdmin(ViewOnly, admin.ModelAdmin):
    list_display = [
        "batch_name",
        "created_by",
        "provider_name",
        "note",
        "progress_cell",
        "succeeded_count",
        "failed_count",
    ]
    list_filter = [ProviderFilter, ("created_at", admin.DateFieldListFilter)]
    search_fields = ["note"]
    list_select_related = ["created_by"]

    class Media:
        css = {"all": ["django_tryon/admin/tryon-admin.css"]}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                total=_count(),
                done=_count(*TERMINAL),
                succeeded=_count(Status.SUCCEEDED),
                failed=_count(Status.FAILED, Status.CANCELLED),
            )
        )

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/progress/",
                view(self.progress_view),
                name=f"{prefix}_progress",
            ),
            path(
                "<path:object_id>/retry-failed/",
                view(require_POST(self.retry_failed_view)),
                name=f"{prefix}_retry_failed",
            ),
            path(
                "<path:object_id>/publish/",
                view(require_POST(self.publish_view)),
                name=f"{prefix}_publish",
            ),
            *super().get_urls(),
        ]

    # -- permissions: batches are made by the bulk action, never by hand ---------------

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or request.user.has_perm(
            RUN_BULK_PERMISSION
        )

    # -- list columns -------------------------------------------------------------------

    @admin.display(description=_("batch"), ordering="created_at")
    def batch_name(self, obj):
        return date_format(timezone.localtime(obj.created_at), "SHORT_DATETIME_FORMAT")

    @admin.display(description=_("provider"), ordering="provider")
    def provider_name(self, obj):
        return batch_providers_label(obj.provider)

    @admin.display(description=_("progress"))
    def progress_cell(self, obj):
        percent = _percent(obj.done, obj.total)
        return format_html(
            '<span class="tryon-nowrap"><span class="tryon-progress tryon-progress-mini" '
            'role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{}">'
            '<span class="tryon-progress-bar" style="width: {}%"></span></span> {} / {}</span>',
            percent,
            percent,
            obj.done,
            obj.total,
        )

    @admin.display(description=_("succeeded"), ordering="succeeded")
    def succeeded_count(self, obj):
        return obj.succeeded

    @admin.display(description=_("failed"), ordering="failed")
    def failed_count(self, obj):
        return obj.failed

    # -- the batch page ------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        batch = self._viewable(request, object_id)
        progress = batch_progress(batch, current_app=self.admin_site.name)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Try-on batch · {batch_label(batch)}",
            "subtitle": None,
            "opts": self.opts,
            "original": batch,
            "batch": batch,
            "provider_label": batch_providers_label(batch.provider),
            "progress": progress,
            "groups": zip(GROUPS, progress["groups"], strict=True),
            "poll_seconds": POLL_SECONDS,
            "can_publish": request.user.has_perm(PUBLISH_PERMISSION),
            "can_retry": request.user.has_perm(RUN_BULK_PERMISSION),
            "requests_url": reverse(
                "admin:django_tryon_tryonrequest_changelist", current_app=self.admin_site.name
            ),
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/django_tryon/tryonbatch/batch.html", context)

    def progress_view(self, request, object_id):
        """JSON for the batch page's progress bar, counts, ETA and new results."""
        batch = self._viewable(request, object_id)
        try:
            results_from = max(0, int(request.GET.get("results_from", 0)))
        except ValueError:
            results_from = 0
        data = batch_progress(batch, results_from=results_from, current_app=self.admin_site.name)
        return JsonResponse(data)  # admin_view adds never_cache

    def retry_failed_view(self, request, object_id):
        batch = self._viewable(request, object_id)
        if not request.user.has_perm(RUN_BULK_PERMISSION):
            raise PermissionDenied
        outcome = operations.retry_failed(batch)
        if outcome.done:
            say_count(
                self,
                request,
                outcome.done,
                "Retrying %(n)d failed try-on.",
                "Retrying %(n)d failed try-ons.",
            )
        else:
            self.message_user(request, "Nothing to retry in this batch.", messages.WARNING)
        for problem in dict.fromkeys(outcome.problems):
            self.message_user(request, problem, messages.ERROR)
        return redirect(_batch_url(batch, self.admin_site.name))

    def publish_view(self, request, object_id):
        """Approve (or withdraw) results picked in the batch page's grid."""
        batch = self._viewable(request, object_id)
        if not request.user.has_perm(PUBLISH_PERMISSION):
            raise PermissionDenied
        ids = [_uuid(v) for v in request.POST.getlist("result")]
        picked = TryOnResult.objects.filter(request__batch=batch, pk__in=[i for i in ids if i])
        if not picked.exists():
            self.message_user(request, "Select one or more results first.", messages.WARNING)
        elif request.POST.get("do") == "withdraw":
            count = catalogue.unpublish(picked)
            report_withdrawn(self, request, count)
        else:
            approved, refused = catalogue.publish(picked, request.user)
            report_publish(self, request, approved, refused)
        return redirect(_batch_url(batch, self.admin_site.name))

    def _viewable(self, request, object_id) -> TryOnBatch:
        batch = self.get_object(request, unquote(object_id))
        if batch is None:
            raise Http404("No such batch.")
        if not self.has_view_permission(request, batch):
            raise PermissionDenied
        return batch


def batch_progress(batch: TryOnBatch, *, results_from: int = 0, current_app=None) -> dict:
    """Where a batch is: counts per status, percent done, seconds left, and its results.

    ``results`` holds the results from position ``results_from`` on (oldest first), so a
    page that already shows some asks only for the new ones. The estimate of the time left
    comes from how fast this batch's try-ons have been finishing since the oldest
    unfinished one was started.
    """
    now = timezone.now()
    rows = list(
        operations.current_requests(batch).values_list("status", "created_at", "completed_at")
    )
    by_status = {status: 0 for status in Status.values}
    for status, _created, _completed in rows:
        by_status[status] += 1
    total = len(rows)
    done = sum(by_status[s] for s in TERMINAL)
    failed_rows = (
        operations.current_requests(batch)
        .filter(status__in=operations.RETRYABLE)
        .select_related("garment", "lower_garment", "model_photo")
        .order_by("created_at")[:FAILURES_SHOWN]
    )
    results = (
        TryOnResult.objects.filter(request__batch=batch)
        .select_related("request__garment", "request__lower_garment", "request__model_photo")
        .order_by("created_at", "pk")[results_from:]
    )
    return {
        "total": total,
        "done": done,
        "percent": _percent(done, total),
        "finished": done == total,
        "eta_seconds": _eta_seconds(rows, now),
        "counts": by_status,
        "groups": [
            {"key": key, "count": sum(by_status[s] for s in statuses), "statuses": list(statuses)}
            for key, _label, statuses in GROUPS
        ],
        "failures": [_failure(r, current_app) for r in failed_rows],
        "failed_total": by_status[Status.FAILED] + by_status[Status.CANCELLED],
        "results_from": results_from,
        "results": [_result(r, current_app) for r in results],
    }


def _eta_seconds(rows, now) -> int | None:
    active = [created for status, created, _done in rows if status not in TERMINAL]
    if not active:
        return 0
    since = min(active)
    finished = [c for status, _c, c in rows if status in TERMINAL and c and c >= since]
    if not finished:
        return None  # nothing finished yet in this run: no pace to go by
    elapsed = max((now - since).total_seconds(), 1.0)
    return round(len(active) * elapsed / len(finished))


def _failure(request: TryOnRequest, current_app) -> dict:
    return {
        "garment": garments_label(request),
        "model": request.model_photo.name if request.model_photo_id else "",
        "status": request.status,
        "reason": explain_error(request.error_code or "provider_failed"),
        "url": reverse(
            "admin:django_tryon_tryonrequest_change", args=[request.pk], current_app=current_app
        ),
    }


def _result(result: TryOnResult, current_app) -> dict:
    request = result.request
    return {
        "id": str(result.pk),
        "url": links.result_url(result),
        "garment": garments_label(request),
        "model": request.model_photo.name if request.model_photo_id else "",
        "approved": result.approved,
        "publishable": catalogue.is_publishable(result),
        "admin_url": reverse(
            "admin:django_tryon_tryonresult_change", args=[result.pk], current_app=current_app
        ),
    }


def _count(*statuses) -> Coalesce:
    """A subquery counting a batch's current requests (in ``statuses``, if given)."""
    requests = TryOnRequest.objects.filter(batch=OuterRef("pk")).filter(operations.not_retried())
    if statuses:
        requests = requests.filter(status__in=statuses)
    counted = requests.order_by().values("batch").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted[:1], output_field=IntegerField()), Value(0))


def _percent(done: int, total: int) -> int:
    return 100 if not total else done * 100 // total


def _batch_url(batch: TryOnBatch, current_app) -> str:
    return reverse("admin:django_tryon_tryonbatch_change", args=[batch.pk], current_app=current_app)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
