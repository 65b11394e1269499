"""The one ``TRYON`` settings dict: defaults, and the helper that reads it lazily.

Settings are read on every call (never at import time) so ``override_settings`` works.
Every key here is documented in ``docs/settings.md``; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULTS: dict[str, Any] = {
    # Which provider a request uses when none is named.
    # None: the first entry of PROVIDERS.
    "DEFAULT_PROVIDER": None,
    # Per-provider options; see docs/providers.md for each provider's keys.
    "PROVIDERS": {},
    # Providers to try, in order, per entry point: {"default": ["kling", "fashn"],
    # "admin": ["fashn"]} (keys: widget, api, admin, cli, default). A new try-on goes to
    # the first that is not switched off, out of credit or tripped by its circuit
    # breaker (django_tryon.routing). None: always DEFAULT_PROVIDER.
    "ROUTING": None,
    # The circuit breaker: this many creates in a row that failed with no answer or a
    # 5xx open it for BREAKER_OPEN_SECONDS, then one try-on probes the provider.
    # The shop's product model as garments (django_tryon.products, docs/shops.md):
    # PRODUCT_MODEL, IMAGE, NAME, SKU, CATEGORIES, CATEGORY_MAP. None: garments are made
    # in the admin only.
    "CATALOGUE": None,
    # A try-on still waiting for a worker after this long, with no worker seen since
    # it was made, says so: the API's waiting_for_worker, the widget, the admin banner.
    "WORKER_SILENT_SECONDS": 120,
    "BREAKER_FAILURES": 5,
    "BREAKER_OPEN_SECONDS": 60,
    # After an out-of-credit answer, the provider is left out of routing this long.
    "OUT_OF_CREDIT_RETRY_SECONDS": 600,
    # Absolute origin the providers reach the shop at (callbacks, PiAPI input URLs).
    # None: no callbacks, the reaper polls instead; PiAPI cannot be used.
    "PUBLIC_BASE_URL": None,
    # Storage alias (settings.STORAGES) for person photos, garments and results.
    "STORAGE": "default",
    # Largest upload accepted, in bytes; larger ones are refused with a clear message.
    "UPLOAD_MAX_BYTES": 20 * 1024 * 1024,
    # Largest image accepted, in pixels (width x height); larger is refused as a bomb.
    "MAX_IMAGE_PIXELS": 64_000_000,
    # Smallest side accepted, in pixels (the providers refuse less than 300).
    "MIN_IMAGE_SIDE": 300,
    # Longest side sent to a provider; larger images are scaled down first.
    "MAX_PROVIDER_SIDE": 2048,
    # Largest image sent to a provider, in bytes (the providers refuse more than 10 MB).
    "MAX_PROVIDER_BYTES": 10 * 1024 * 1024,
    # Hours a shopper's person photo is kept after its request ends.
    "PERSON_PHOTO_RETENTION_HOURS": 24,
    # Days result images of shopper requests are kept (None: forever).
    "RESULT_RETENTION_DAYS": 30,
    # Seconds a shopper's try-on (widget, API) may wait to reach its provider before the
    # reaper fails it. Only unsent work expires on our clock: nothing was paid for it. A
    # request at the provider is followed until the provider's own retention.
    "DEADLINE_SECONDS": 900,
    # The same for catalogue work (admin batches, terminal command): a big batch waits
    # for free provider slots for a long time, and nobody is watching a spinner.
    "CATALOGUE_DEADLINE_SECONDS": 6 * 3600,
    # Seconds after submission before the first poll of the provider when callbacks are
    # configured (callbacks usually make polls unnecessary); without callbacks the first
    # poll comes after POLL_INTERVAL_SECONDS.
    "POLL_FIRST_AFTER_SECONDS": 15,
    # Seconds between polls of a task at the provider once polling has started.
    "POLL_INTERVAL_SECONDS": 3,
    # Longest pause between polls: a task that runs long is polled less and less often
    # (a tenth of its age), never less often than this.
    "POLL_MAX_INTERVAL_SECONDS": 300,
    # Seconds between reaper runs in the shipped Celery beat schedule.
    "REAP_INTERVAL_SECONDS": 2,
    # Seconds between purge runs in the shipped Celery beat schedule.
    "PURGE_INTERVAL_SECONDS": 3600,
    # First retry delay for a retryable provider error; doubles each time, with jitter.
    "RETRY_BASE_SECONDS": 2.0,
    # Longest retry delay.
    "RETRY_MAX_SECONDS": 300.0,
    # Seconds a pending request may wait before the reaper re-enqueues it.
    "REQUEUE_PENDING_AFTER_SECONDS": 60,
    # Seconds a request may sit in "submitting" before the reaper resolves it.
    "SUBMITTING_STUCK_AFTER_SECONDS": 120,
    # Seconds a create with no answer (timeout, gateway 5xx) at a provider that cannot look
    # tasks up by our id (PiAPI) waits for the provider's webhook to name its task before
    # it fails as "submit_unknown". It is never sent again: that could pay twice.
    "UNCONFIRMED_SUBMIT_WAIT_SECONDS": 3600,
    # Seconds one worker may hold the right to download a request's results; a worker
    # killed mid-download delays the results by at most this. Keep it above the refresh
    # task's hard time limit (REFRESH_TIME_LIMIT_SECONDS).
    "PERSIST_LEASE_SECONDS": 90,
    # Hard time limit of one refresh task run (it downloads results), in seconds; its soft
    # limit is four fifths of it. A run stores what fits and hands the rest on.
    "REFRESH_TIME_LIMIT_SECONDS": 75,
    # How many times a retryable provider error is retried before the request fails.
    "MAX_RETRIES": 8,
    # Seconds a signed input-image URL (served to PiAPI) stays valid.
    "INPUT_URL_MAX_AGE_SECONDS": 3600,
    # Seconds a Standard Webhooks timestamp may be off before a Kling callback is refused.
    "CALLBACK_TOLERANCE_SECONDS": 300,
    # Days a callback receipt (one row per delivery, shown in the admin) is kept.
    "CALLBACK_RECEIPT_RETENTION_DAYS": 14,
    # Largest callback body accepted, in bytes.
    "CALLBACK_MAX_BYTES": 256 * 1024,
    # Largest result image downloaded, in bytes.
    "DOWNLOAD_MAX_BYTES": 30 * 1024 * 1024,
    # Seconds a whole result download (one image) may take, wall clock.
    "DOWNLOAD_TIMEOUT_SECONDS": 20,
    # Allow http:// result URLs (only for the sandbox or a staging proxy).
    "ALLOW_HTTP_DOWNLOADS": False,
    # Allow result URLs that resolve to loopback/private addresses (only for the sandbox).
    "ALLOW_PRIVATE_DOWNLOADS": False,
    # Celery queue the try-on tasks are sent to (None: Celery's default queue).
    "CELERY_QUEUE": None,
    # Celery queue for refreshes (polls and result downloads), if not CELERY_QUEUE: a
    # worker of its own there means slow result hosts never hold up new submissions.
    "REFRESH_QUEUE": None,
    # Kill switch: False refuses every new try-on and stops submitting queued ones.
    "ENABLED": True,
    # Let anonymous shoppers (bound to their session) use the REST API.
    "API_ALLOW_ANONYMOUS": True,
    # Output images one shopper (user or session) may generate per day (None: no limit).
    "SHOPPER_DAILY_GENERATION_LIMIT": 10,
    # Output images anonymous shoppers from one client address may generate per day, all
    # their sessions together (None: no limit). See TRUSTED_PROXY_COUNT.
    "ANONYMOUS_DAILY_GENERATION_LIMIT_PER_CLIENT": 20,
    # Proxies in front of the shop that append to X-Forwarded-For (0: use REMOTE_ADDR).
    # The client address is the one the last trusted proxy saw; a header the client
    # wrote itself is never trusted.
    "TRUSTED_PROXY_COUNT": 0,
    # Output images the whole shop may generate per day (None: no limit). On by default
    # so that spend is bounded out of the box; raise it (or set None) for a busy shop.
    "SHOP_DAILY_GENERATION_LIMIT": 500,
    # Output images the whole shop may generate per calendar month (None: no limit).
    "SHOP_MONTHLY_GENERATION_LIMIT": None,
    # The shop's own currency. Costs are recorded as each provider bills them (Kling in
    # resource-pack "units", PiAPI in "USD"); a provider's UNIT_PRICE converts its units
    # into this currency, so totals and budgets can be read in one currency.
    "CURRENCY": "USD",
    # Estimated spend allowed per day, per currency: {"USD": "20.00", "units": 200}. A
    # budget in CURRENCY counts every provider whose cost converts into it.
    "SHOP_DAILY_BUDGET": None,
    # Estimated spend allowed per calendar month, per currency, as SHOP_DAILY_BUDGET.
    "SHOP_MONTHLY_BUDGET": None,
    # Count, per garment per day, how shoppers go through the widget (opened, photo given,
    # result shown, added to cart after a try-on), for the cost page's "does try-on pay
    # for itself". Opt-in; counts only, nothing about who (docs/funnel.md).
    "FUNNEL": False,
    # Offer house model photos (those marked "offer to shoppers") to shoppers in the API.
    "HOUSE_MODELS_FOR_SHOPPERS": False,
    # Version of the consent text shoppers accept; recorded with each uploaded photo.
    "CONSENT_VERSION": "1",
    # Seconds a result image URL handed out by the API stays valid.
    "RESULT_URL_MAX_AGE_SECONDS": 3600,
    # Burst limit on API creates per user (or per IP when anonymous), as DRF rate "N/period".
    "API_CREATE_RATE": "10/minute",
    # Burst limit on API reads per user (or per IP when anonymous), as DRF rate "N/period".
    # A poll answered "not modified" from the cache is counted on its own, at this rate
    # per browser (django_tryon.polling).
    "API_READ_RATE": "300/minute",
    # The cache that keeps each try-on's status version for cheap polls (304 without a
    # database query). None: the default cache, unless it lives in one process only
    # (local memory, dummy); an alias: that cache, which web and workers must share;
    # False: every poll reads the database.
    "STATUS_CACHE": None,
    # Show shoppers' own photos (and the results made from them) to staff in the admin.
    "ADMIN_SHOW_SHOPPER_PHOTOS": False,
    # The shop's privacy notice, linked next to the widget's consent box (URL or URL name).
    "PRIVACY_URL": None,
}


@dataclass(frozen=True)
class RefreshLimits:
    """What one refresh task run may take, in seconds, from REFRESH_TIME_LIMIT_SECONDS."""

    hard: float
    #: Celery's soft limit: the run is interrupted (and gives its lease back) here.
    soft: float
    #: No download is started after this: the one under way still fits the soft limit.
    download_budget: float

    @property
    def download_room(self) -> float:
        """The longest a download started just inside the budget may take."""
        return round(self.soft - self.download_budget, 1)


def refresh_limits(hard: float) -> RefreshLimits:
    """The refresh task's limits: the soft one at four fifths, the download budget at
    two fifths of the hard limit (the tasks, the pipeline and check W006 use these)."""
    hard = float(hard)
    return RefreshLimits(hard=hard, soft=hard * 0.8, download_budget=hard * 0.4)


def tryon_settings() -> dict[str, Any]:
    """Return the TRYON settings merged over the defaults."""
    user = getattr(settings, "TRYON", None) or {}
    if not isinstance(user, dict):
        raise ImproperlyConfigured("settings.TRYON must be a dict")
    merged = dict(DEFAULTS)
    merged.update(user)
    if "CURRENCY" not in user and getattr(settings, "OSCAR_DEFAULT_CURRENCY", None):
        # A django-oscar shop prices in its own currency unless TRYON names another.
        merged["CURRENCY"] = settings.OSCAR_DEFAULT_CURRENCY
    return merged


def get_setting(name: str) -> Any:
    """Return one TRYON setting, naming it exactly when it is unknown."""
    values = tryon_settings()
    if name not in DEFAULTS:
        raise ImproperlyConfigured(f"TRYON['{name}'] is not a django-tryon setting")
    return values[name]


def provider_options(name: str) -> dict[str, Any]:
    """Return TRYON['PROVIDERS'][name], or raise naming the missing entry."""
    providers = get_setting("PROVIDERS") or {}
    if name not in providers:
        raise ImproperlyConfigured(f"TRYON['PROVIDERS'] has no entry for provider '{name}'")
    return dict(providers[name] or {})
