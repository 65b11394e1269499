"""Checks of how the shop is deployed: the public URL, the storage, and what is unsafe
with DEBUG off (http or private downloads, a provider pointed at a local address)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Info, Warning

from ..addresses import is_local_host


def check_public_url(values) -> list:
    url = values["PUBLIC_BASE_URL"]
    if not url:
        return []
    parts = urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [
            Error(
                f"TRYON['PUBLIC_BASE_URL'] must be an absolute http(s) URL, not {url!r}.",
                id="django_tryon.E007",
            )
        ]
    if parts.scheme == "http" and not settings.DEBUG:
        return [
            Warning(
                "TRYON['PUBLIC_BASE_URL'] uses http: callback tokens and signed image URLs "
                "travel in clear text.",
                hint="Use https in production.",
                id="django_tryon.W001",
            )
        ]
    return []


def check_api_docs(values) -> list:
    """W011: Swagger UI comes from drf-spectacular-sidecar's static files, never a CDN."""
    from django.apps import apps

    from ..api.schema import SIDECAR

    if apps.is_installed(SIDECAR):
        return []
    return [
        Warning(
            f"'{SIDECAR}' is not in INSTALLED_APPS: /tryon/api/docs/ cannot show Swagger UI "
            "(it loads nothing from outside the shop, so it only links the schema).",
            hint=f'Add "{SIDECAR}" to INSTALLED_APPS (installed with django-tryon).',
            id="django_tryon.W011",
        )
    ]


def check_status_cache(values) -> list:
    """E019, W012, I001: where cheap polls find each try-on's status version."""
    from django.core.cache import DEFAULT_CACHE_ALIAS, caches

    from ..polling import PER_PROCESS_CACHES

    alias = values["STATUS_CACHE"]
    known = getattr(settings, "CACHES", {}) or {DEFAULT_CACHE_ALIAS: {}}
    if (
        alias is not None
        and alias is not False
        and (not isinstance(alias, str) or alias not in known)
    ):
        return [
            Error(
                f"TRYON['STATUS_CACHE'] is {alias!r}: use None, False or an alias in "
                "settings.CACHES.",
                id="django_tryon.E019",
            )
        ]
    if alias is False:
        return []
    if alias is None:
        if not isinstance(caches[DEFAULT_CACHE_ALIAS], PER_PROCESS_CACHES):
            return []
        return [
            Info(
                "The default cache lives in one process, so every poll of a waiting "
                "widget reads the database (no cheap 304 answers).",
                hint="Give the shop a shared cache (Redis, Memcached, file-based), or set "
                "TRYON['STATUS_CACHE'] to the alias of one.",
                id="django_tryon.I001",
            )
        ]
    if isinstance(caches[alias], PER_PROCESS_CACHES):
        return [
            Warning(
                f"TRYON['STATUS_CACHE'] is '{alias}', a cache that lives in one process: "
                "the workers' status changes do not reach the web processes, so a poll can "
                "be told 'not modified' for up to ten seconds after a try-on changed.",
                hint="Name a cache every web process and worker shares.",
                id="django_tryon.W012",
            )
        ]
    return []


def check_storage(values) -> list:
    alias = values["STORAGE"]
    storages = getattr(settings, "STORAGES", {}) or {}
    if alias not in storages:
        return [
            Error(
                f"TRYON['STORAGE'] is '{alias}', which is not in settings.STORAGES.",
                id="django_tryon.E011",
            )
        ]
    from django.core.files.storage import storages

    from ..files import storage_signs_urls, url_takes_expire

    storage = storages[alias]
    if url_takes_expire(storage) and not storage_signs_urls(storage):
        return [
            Warning(
                f"The try-on storage '{alias}' takes expire= but hands out permanent links "
                "(django-storages S3 with custom_domain and no CloudFront signer, or "
                "querystring_auth=False).",
                hint="Result images are then served through the app's own expiring view, "
                "by your web server. Set querystring_auth=True (and a cloudfront_key with "
                "custom_domain) to let the storage hand out expiring links itself.",
                id="django_tryon.W008",
            )
        ]
    return []


def check_insecure(values) -> list:
    if settings.DEBUG:
        return []
    warnings = []
    for key in ("ALLOW_HTTP_DOWNLOADS", "ALLOW_PRIVATE_DOWNLOADS"):
        if values[key]:
            warnings.append(
                Warning(
                    f"TRYON['{key}'] is on with DEBUG off: result downloads may reach "
                    "addresses a provider should never send the app to.",
                    hint="Keep it only for the sandbox or a staging site.",
                    id="django_tryon.W002",
                )
            )
    providers = values["PROVIDERS"] if isinstance(values["PROVIDERS"], dict) else {}
    for name, options in providers.items():
        for key in ("ALLOW_HTTP_DOWNLOADS", "ALLOW_PRIVATE_DOWNLOADS"):
            if isinstance(options, dict) and options.get(key):
                warnings.append(
                    Warning(
                        f"TRYON['PROVIDERS']['{name}']['{key}'] is on with DEBUG off: its "
                        "result downloads may reach addresses a provider should never send "
                        "the app to.",
                        hint="Keep it only for the sandbox or a staging site.",
                        id="django_tryon.W002",
                    )
                )
        base = (options.get("BASE_URL") if isinstance(options, dict) else "") or ""
        host = urlsplit(base).hostname or ""
        if host and is_local_host(host):
            warnings.append(
                Warning(
                    f"Provider '{name}' points at {base} (a local address, such as the sandbox) "
                    "with DEBUG off.",
                    hint="Production shops set the real provider's BASE_URL.",
                    id="django_tryon.W003",
                )
            )
    return warnings


#: What a SQLite database needs for a worker, the web process and provider callbacks to
#: write at once: wait for the lock instead of failing, and take it at the start of each
#: transaction (Django 5.1+), so no transaction fails half-way on "database is locked".
SQLITE_OPTIONS = '{"timeout": 20, "transaction_mode": "IMMEDIATE"}'


def check_sqlite(values, databases=None) -> list:
    """W013: a SQLite database without a busy timeout: "database is locked" under load."""
    found = []
    if databases is None:
        databases = getattr(settings, "DATABASES", {}) or {}
    for alias, database in databases.items():
        if "sqlite3" not in str(database.get("ENGINE", "")):
            continue
        options = database.get("OPTIONS") or {}
        timeout = options.get("timeout")
        if isinstance(timeout, int | float) and timeout >= 5:
            continue
        found.append(
            Warning(
                f"DATABASES['{alias}'] is SQLite without a busy timeout: while a worker "
                "writes, the web process and provider callbacks fail with 'database is "
                "locked'.",
                hint=f"Set DATABASES['{alias}']['OPTIONS'] = {SQLITE_OPTIONS} (or use PostgreSQL).",
                id="django_tryon.W013",
            )
        )
    return found
