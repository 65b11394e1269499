"""Provider callback views: check, parse, record, answer 2xx fast.

A callback is only ever a hint; what it is worth (a fetch, "generating", nothing) is
decided by the pipeline (``services.act_on_hint``). The body's status and URLs are never
acted on: the worker fetches the task from the provider with the shop's own key.
"""

from __future__ import annotations

import logging

from django.core.exceptions import SuspiciousOperation
from django.db import DatabaseError
from django.db.models import F
from django.http import Http404, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from . import links, services
from .conf import get_setting
from .locking import StillLocked, when_unlocked
from .models import CallbackReceipt
from .providers import get_provider, provider_names

log = logging.getLogger("django_tryon")

UNKNOWN_CALLBACK = "no try-on has this callback token"


def _declared_length(request) -> int | None:
    """The body's declared length, or None when it is not a sane one (not a number, or
    over CALLBACK_MAX_BYTES: ``10**20`` is refused, never stored or read)."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not (length.isascii() and length.isdigit()) or len(length) > 12:
        return None
    return int(length) if int(length) <= get_setting("CALLBACK_MAX_BYTES") else None


class CallbackRejected(SuspiciousOperation):
    """A callback that failed its checks: answered 400."""


@method_decorator(csrf_exempt, name="dispatch")
class ProviderCallbackView(View):
    """Callback endpoint of every provider: ``/callbacks/<provider>/<token>/``.

    Validate, parse, dispatch, answer 2xx; the provider module only translates.
    """

    http_method_names = ["post", "head"]

    def dispatch(self, request, *args, **kwargs):
        # The path is the caller's text: only a provider name the app knows is kept.
        named = str(kwargs.get("provider", ""))
        provider = named if named in provider_names() else ""
        length = _declared_length(request)
        self.receipt = CallbackReceipt(
            provider=provider, body_bytes=length or 0, outcome=CallbackReceipt.Outcome.IGNORED
        )
        if request.method == "POST" and length is None:
            # Refused before the token is even looked at: such a caller has proved nothing.
            self._count_unproven(CallbackReceipt.Outcome.REFUSED, "callback body too large")
            return self._refuse(provider, 400, "callback body too large")
        try:
            # Safe to run again: every write it makes is a compare-and-set or a refresh.
            response = when_unlocked(super().dispatch, request, *args, **kwargs)
        except StillLocked:
            # Never a 500: the provider delivers again later, and the reaper follows the
            # try-on meanwhile whatever happens to this delivery.
            log.warning("%s callback deferred: the database stayed locked", provider or "unknown")
            response = JsonResponse({"error": "busy, deliver again"}, status=503)
            response["Retry-After"] = "5"
            response._has_been_logged = True  # see _refuse
            return response
        except Http404:
            self._count_unproven(CallbackReceipt.Outcome.UNKNOWN, UNKNOWN_CALLBACK)
            return self._refuse(provider, 404, "unknown callback")
        except CallbackRejected as exc:
            self._record(CallbackReceipt.Outcome.REFUSED, str(exc))
            return self._refuse(provider, 400, str(exc))
        if request.method == "POST":
            self._record(self.receipt.outcome, self.receipt.reason)
        return response

    def _record(self, outcome: str, reason: str) -> None:
        """Store this delivery's receipt (its caller knew a live callback token); a failure
        to store it never fails the callback."""
        self.receipt.outcome, self.receipt.reason = outcome, reason[:200]
        self.receipt.processed_at = timezone.now()
        try:
            self.receipt.save()
        except DatabaseError:
            log.exception("could not store a %s callback receipt", self.receipt.provider)

    def _count_unproven(self, outcome: str, reason: str) -> None:
        """A delivery that proved nothing (no live token, an absurd length) costs no row
        of its own: it is counted on one receipt per provider, outcome and minute, so a
        flood of made-up callbacks shows as a number, not as thousands of rows."""
        now = timezone.now()
        minute = now.replace(second=0, microsecond=0)
        same = CallbackReceipt.objects.filter(
            request=None, provider=self.receipt.provider, outcome=outcome, received_at=minute
        )
        try:
            if not same.update(deliveries=F("deliveries") + 1, processed_at=now):
                CallbackReceipt.objects.create(
                    received_at=minute,
                    provider=self.receipt.provider,
                    outcome=outcome,
                    reason=reason,
                    processed_at=now,
                )
        except DatabaseError:
            log.exception("could not count a refused %s callback", self.receipt.provider)

    def http_method_not_allowed(self, request, *args, **kwargs):
        response = super().http_method_not_allowed(request, *args, **kwargs)
        response._has_been_logged = True  # see _refuse
        return response

    def _refuse(self, provider: str, status: int, reason: str):
        # Django's request logger would write the path, and the path holds the callback
        # token (SAFETY rule 10): log without it, and mark the response as logged.
        log.warning("%s callback refused with %s: %s", provider or "unknown", status, reason)
        response = JsonResponse(
            {"error": "not found" if status == 404 else "rejected"}, status=status
        )
        response._has_been_logged = True
        return response

    def head(self, request, provider, token):
        return HttpResponse(status=200)

    def post(self, request, provider, token):
        tryon = links.request_for_callback_token(token)
        if tryon is None or tryon.provider != provider:
            # The same answer for an unknown request and a bad token: no oracle.
            raise Http404("unknown callback")
        self.receipt.request = tryon
        body = self._read_body(request)
        adapter = get_provider(provider)
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not any(
            adapter.verify_callback(body, headers, request_secret=secret)
            for secret in links.callback_secrets(tryon)
        ):
            raise CallbackRejected(f"{provider} callback failed verification")
        try:
            hint = adapter.parse_callback(body, headers)
        except (ValueError, RecursionError) as exc:  # a deeply nested body is not a hint
            raise CallbackRejected(f"unreadable {provider} callback") from exc
        self.receipt.task_id_hint = (hint.task_id or "")[:128]
        self.receipt.status_hint = (hint.raw_status or "")[:32]
        self.receipt.reason = f"the try-on is {tryon.status}"
        self.receipt.outcome = services.act_on_hint(tryon, hint, adapter)
        return JsonResponse({"received": True})

    def _read_body(self, request) -> bytes:
        # The declared length was checked in dispatch; a body longer than it declared is
        # cut there by the server (Django reads CONTENT_LENGTH bytes at most).
        return request.body
