"""Burst protection on top of the quotas: DRF throttles with rates from the TRYON settings.

Throttles are not security (their counts live in the cache and are approximate); the
daily quotas and budgets in ``quotas`` are the real limits.
"""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

from .. import polling
from ..callers import client_address
from ..conf import get_setting


class _TryOnThrottle(SimpleRateThrottle):
    setting = ""

    def __init__(self):
        # The rate is read per request (settings are never read at import or init time).
        pass

    def allow_request(self, request, view) -> bool:
        self.rate = get_setting(self.setting)
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_ident(self, request) -> str:
        return client_address(request)

    def get_cache_key(self, request, view) -> str:
        user = request.user
        ident = f"user:{user.pk}" if user and user.is_authenticated else self.get_ident(request)
        return f"django_tryon:throttle:{self.scope}:{ident}"


class CreateThrottle(_TryOnThrottle):
    """Creates and cancels, per user (per IP address when anonymous)."""

    scope = "write"
    setting = "API_CREATE_RATE"


class ReadThrottle(_TryOnThrottle):
    """Reads, polling included, per user (per IP address when anonymous)."""

    scope = "read"
    setting = "API_READ_RATE"


class FunnelThrottle(_TryOnThrottle):
    """Funnel steps, per user (per IP address when anonymous), at the read rate."""

    scope = "funnel"
    setting = "API_READ_RATE"


class PollThrottle(_TryOnThrottle):
    """Polls answered "not modified" from the cache (``django_tryon.polling``), per
    browser: counted without reading the session, at the read rate."""

    scope = "poll"
    setting = "API_READ_RATE"

    def get_cache_key(self, request, view) -> str:
        return f"django_tryon:throttle:{self.scope}:{polling.credentials(request)}"
