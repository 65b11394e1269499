"""Provider callback views: check, hint, enqueue a refresh, answer 2xx fast.

A callback is only ever a hint. The body's status and URLs are never acted on: the
worker fetches the task from the provider with the shop's own key.
"""

from __future__ import annotations

import logging

from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from . import services
from .conf import get_setting
from .providers import get_provider
from .providers.base import CallbackHint
from .status import AT_PROVIDER, Status

log = logging.getLogger("django_tryon")


class CallbackRejected(SuspiciousOperation):
    """A callback that failed its checks: Django answers 400 and logs it as suspicious."""


@method_decorator(csrf_exempt, name="dispatch")
class ProviderCallbackView(View):
    """Callback endpoint of every provider: ``/callbacks/<provider>/<token>/``.

    Validate, parse, dispatch, answer 2xx; the provider module only translates.
    """

    http_method_names = ["post", "head"]

    def head(self, request, provider, token):
        return HttpResponse(status=200)

    def post(self, request, provider, token):
        tryon = services.request_for_callback_token(token)
        if tryon is None or tryon.provider != provider:
            # The same answer for an unknown request and a bad token: no oracle.
            raise Http404("unknown callback")
        body = self._read_body(request)
        adapter = get_provider(provider)
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not adapter.verify_callback(
            body, headers, request_secret=services.callback_secret(tryon)
        ):
            raise CallbackRejected(f"{provider} callback failed verification")
        try:
            hint = adapter.parse_callback(body, headers)
        except ValueError as exc:
            raise CallbackRejected(f"unreadable {provider} callback") from exc
        if self._worth_a_fetch(tryon, hint, adapter):
            services.enqueue_refresh(tryon.pk)
        return JsonResponse({"received": True})

    def _read_body(self, request) -> bytes:
        limit = get_setting("CALLBACK_MAX_BYTES")
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > limit:
            raise CallbackRejected("callback body too large")
        return request.body

    def _worth_a_fetch(self, tryon, hint: CallbackHint, adapter) -> bool:
        """Fetch only when the hint may mean the task ended (a wrong hint costs one GET)."""
        if tryon.status not in AT_PROVIDER and tryon.status != Status.SUBMITTING:
            return False
        if (
            tryon.provider_task_id
            and hint.task_id
            and hint.task_id != tryon.provider_task_id
            and hint.external_id != str(tryon.pk)
        ):
            return False  # about some other task
        state = adapter.normalise_status(hint.raw_status) if hint.raw_status else None
        return state is None or state.is_terminal or tryon.status == Status.SUBMITTING
