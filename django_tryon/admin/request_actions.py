"""What staff can do to try-on requests from the admin: the list actions, each request's
buttons, the shopper-photo view and the cost page."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from .. import images
from ..models import TryOnRequest, tryon_storage
from . import operations
from .common import PERSON_PHOTO_SIDES, change_url, say_count
from .costs import cost_summary_view
from .display import shopper_photos_visible


class RequestActions:
    """The try-on request admin's actions and one-request buttons (retry, fetch results
    again, refresh, cancel), its shopper-photo view and the cost page."""

    # -- actions ----------------------------------------------------------------------

    @admin.action(description=_("Retry (failed or cancelled try-ons)"), permissions=["change"])
    def retry_selected(self, request, queryset):
        outcome = operations.retry(queryset)
        self._report(
            request,
            outcome,
            done=(
                "Retried %(n)d try-on: the copy is queued.",
                "Retried %(n)d try-ons: the copies are queued.",
            ),
            skipped="%(n)d left alone: only failed or cancelled try-ons are retried, once each.",
        )

    @admin.action(description=_("Fetch results again (no new charge)"), permissions=["change"])
    def recover_selected(self, request, queryset):
        outcome = operations.recover(queryset)
        self._report(
            request,
            outcome,
            done=(
                "Fetched the results of %(n)d try-on again, without a new charge.",
                "Fetched the results of %(n)d try-ons again, without a new charge.",
            ),
            skipped="%(n)d not fetched again: only try-ons whose finished images could not be "
            "stored can be (the others need Retry, which is charged again).",
        )

    @admin.action(description=_("Refresh from the provider"), permissions=["change"])
    def refresh_selected(self, request, queryset):
        outcome = operations.refresh(queryset)
        self._report(
            request,
            outcome,
            done=(
                "Asked the provider about %(n)d try-on; its status updates in a moment.",
                "Asked the provider about %(n)d try-ons; their status updates in a moment.",
            ),
            skipped="%(n)d left alone: only try-ons at the provider can be refreshed.",
        )

    @admin.action(description=_("Cancel"), permissions=["change"])
    def cancel_selected(self, request, queryset):
        outcome = operations.cancel(queryset)
        self._report(
            request,
            outcome,
            done=("Cancelled %(n)d try-on.", "Cancelled %(n)d try-ons."),
            skipped="%(n)d left alone: finished try-ons, and those being sent right now, "
            "cannot be cancelled.",
        )

    def _report(self, request, outcome, *, done, skipped):
        if outcome.done and done:
            # One text, or (singular, plural) for the list actions' counts.
            one, many = (done, done) if isinstance(done, str) else done
            say_count(self, request, outcome.done, one, many)
        if outcome.skipped:
            say_count(self, request, outcome.skipped, skipped, skipped, messages.WARNING)
        for problem in dict.fromkeys(outcome.problems):
            self.message_user(request, problem, messages.ERROR)

    # -- one request's buttons, and its photo -----------------------------------------

    def retry_view(self, request, object_id):
        obj = self._changeable(request, object_id)
        outcome = operations.retry([obj])
        if outcome.started:
            new = outcome.started[0]
            self.message_user(request, "Retry queued.", messages.SUCCESS)
            return redirect(change_url(new, self.admin_site.name))
        self._report(
            request,
            outcome,
            done="",
            skipped="Not retried: only a failed or cancelled try-on is retried, once.",
        )
        return redirect(change_url(obj, self.admin_site.name))

    def refresh_view(self, request, object_id):
        obj = self._changeable(request, object_id)
        self._report(
            request,
            operations.refresh([obj]),
            done="Asked the provider; the status updates in a moment.",
            skipped="Not refreshed: only a try-on at the provider can be refreshed.",
        )
        return redirect(change_url(obj, self.admin_site.name))

    def cancel_view(self, request, object_id):
        obj = self._changeable(request, object_id)
        self._report(
            request,
            operations.cancel([obj]),
            done="Cancelled.",
            skipped="Not cancelled: it has finished, or it is being sent right now.",
        )
        return redirect(change_url(obj, self.admin_site.name))

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
                stored = fh.read()
            # A JPEG decodes scaled down; anything else (a shopper's PNG, stored as sent
            # but for its metadata) is decoded in full, so in a capped child process.
            if stored.startswith(b"\xff\xd8"):
                data = images.thumbnail_bytes(stored, (side, side))
            else:
                data = images.thumbnail_isolated(stored, (side, side))
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
