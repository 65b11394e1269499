"""System checks: bad or risky TRYON settings fail at startup with a clear message.

Ids are stable and never reused; docs/settings.md lists them.
"""

from __future__ import annotations

import ipaddress
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .conf import DEFAULTS, refresh_limits

#: Numeric settings that may also be None ("no limit", "forever").
OPTIONAL_NUMERIC_KEYS = frozenset(
    {
        "RESULT_RETENTION_DAYS",
        "SHOPPER_DAILY_GENERATION_LIMIT",
        "SHOP_DAILY_GENERATION_LIMIT",
        "SHOP_MONTHLY_GENERATION_LIMIT",
        "ANONYMOUS_DAILY_GENERATION_LIMIT_PER_CLIENT",
    }
)
#: Numeric settings for which 0 is a meaningful value.
ZERO_ALLOWED_KEYS = frozenset({"TRUSTED_PROXY_COUNT"})
NUMERIC_KEYS = [
    key
    for key, value in DEFAULTS.items()
    if (isinstance(value, int | float) and not isinstance(value, bool))
    or key in OPTIONAL_NUMERIC_KEYS
]
BUDGET_KEYS = ("SHOP_DAILY_BUDGET", "SHOP_MONTHLY_BUDGET")
RATE_KEYS = ("API_CREATE_RATE", "API_READ_RATE")


@register(Tags.compatibility)
def check_tryon_settings(app_configs=None, **kwargs):
    user = getattr(settings, "TRYON", None)
    if user is None:
        user = {}  # an installed app with no settings must still say what it lacks
    if not isinstance(user, dict):
        return [Error("settings.TRYON must be a dict.", id="django_tryon.E001")]
    errors = []
    for key in sorted(set(user) - set(DEFAULTS)):
        errors.append(
            Error(
                f"TRYON['{key}'] is not a django-tryon setting.",
                hint="See docs/settings.md for every key; check the spelling.",
                id="django_tryon.E002",
            )
        )
    values = {**DEFAULTS, **user}
    errors += _check_providers(values)
    errors += _check_public_url(values)
    errors += _check_numbers(values)
    errors += _check_storage(values)
    errors += _check_insecure(values)
    errors += _check_limits(values)
    errors += _check_api(values)
    return errors


def _check_providers(values) -> list:
    from .providers import PROVIDER_CLASSES, provider_class
    from .providers.base import ProviderConfigurationError

    errors = []
    providers = values["PROVIDERS"]
    if not isinstance(providers, dict):
        return [Error("TRYON['PROVIDERS'] must be a dict.", id="django_tryon.E003")]
    default = values["DEFAULT_PROVIDER"]
    if not providers:
        errors.append(
            Error(
                "TRYON['PROVIDERS'] is empty: no try-on can be sent anywhere.",
                hint="Add a provider, e.g. TRYON['PROVIDERS']['kling'] = {...} (docs/providers.md).",
                id="django_tryon.E003",
            )
        )
    elif default and default not in providers:
        errors.append(
            Error(
                f"TRYON['DEFAULT_PROVIDER'] is '{default}', which has no entry in TRYON['PROVIDERS'].",
                hint=f"Add TRYON['PROVIDERS']['{default}'] = {{...}} or change DEFAULT_PROVIDER.",
                id="django_tryon.E003",
            )
        )
    for name, options in providers.items():
        if name not in PROVIDER_CLASSES and not (options or {}).get("CLASS"):
            errors.append(
                Error(
                    f"TRYON['PROVIDERS'] names an unknown provider '{name}'.",
                    hint=f"Known providers: {', '.join(sorted(PROVIDER_CLASSES))}; a shop's "
                    "own adapter is named by its dotted path in a 'CLASS' option.",
                    id="django_tryon.E004",
                )
            )
            continue
        try:
            adapter = provider_class(name)(options or {})
        except ProviderConfigurationError as exc:
            errors.append(Error(str(exc), id="django_tryon.E005"))
            continue
        except (TypeError, ValueError) as exc:  # e.g. TIMEOUT_SECONDS="ten": report, not crash
            errors.append(
                Error(
                    f"TRYON['PROVIDERS']['{name}'] has an invalid value: {exc}",
                    id="django_tryon.E005",
                )
            )
            continue
        timeout = float((options or {}).get("TIMEOUT_SECONDS", 30))
        if values["SUBMITTING_STUCK_AFTER_SECONDS"] <= timeout:
            errors.append(
                Error(
                    f"TRYON['SUBMITTING_STUCK_AFTER_SECONDS'] must be longer than provider "
                    f"'{name}' TIMEOUT_SECONDS ({timeout:g}), or the reaper could act on a "
                    "create call that is still in flight.",
                    id="django_tryon.E012",
                )
            )
        try:
            if adapter.needs_input_urls and not values["PUBLIC_BASE_URL"]:
                errors.append(
                    Error(
                        f"Provider '{name}' fetches input images by URL, but "
                        "TRYON['PUBLIC_BASE_URL'] is not set.",
                        hint="Set PUBLIC_BASE_URL to the address the provider can reach the shop at.",
                        id="django_tryon.E006",
                    )
                )
        finally:
            adapter.close()
    return errors


def _check_public_url(values) -> list:
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


def _check_numbers(values) -> list:
    errors = []
    for key in NUMERIC_KEYS:
        value = values[key]
        if value is None and key in OPTIONAL_NUMERIC_KEYS:
            continue
        least = 0 if key in ZERO_ALLOWED_KEYS else 1e-9
        if not isinstance(value, int | float) or isinstance(value, bool) or value < least:
            errors.append(
                Error(
                    f"TRYON['{key}'] must be a {'non-negative' if least == 0 else 'positive'} "
                    f"number, not {value!r}.",
                    id="django_tryon.E008",
                )
            )
    if not errors and values["MIN_IMAGE_SIDE"] > values["MAX_PROVIDER_SIDE"]:
        errors.append(
            Error(
                "TRYON['MIN_IMAGE_SIDE'] is larger than TRYON['MAX_PROVIDER_SIDE']: no image fits.",
                id="django_tryon.E009",
            )
        )
    if not errors:
        errors += _check_time_limits(values)
    if not errors and values["MAX_PROVIDER_BYTES"] > 10 * 1024 * 1024:
        errors.append(
            Error(
                "TRYON['MAX_PROVIDER_BYTES'] is above the providers' 10 MB limit.",
                id="django_tryon.E010",
            )
        )
    return errors


def _check_time_limits(values) -> list:
    errors = []
    hard = values["REFRESH_TIME_LIMIT_SECONDS"]
    if values["PERSIST_LEASE_SECONDS"] <= hard:
        errors.append(
            Error(
                f"TRYON['PERSIST_LEASE_SECONDS'] ({values['PERSIST_LEASE_SECONDS']!r}) must be "
                f"above TRYON['REFRESH_TIME_LIMIT_SECONDS'] ({hard!r}): two workers could "
                "download the same results at once.",
                id="django_tryon.E016",
            )
        )
    room = refresh_limits(hard).download_room
    if values["DOWNLOAD_TIMEOUT_SECONDS"] > room:
        errors.append(
            Warning(
                f"TRYON['DOWNLOAD_TIMEOUT_SECONDS'] is above {room} s: a slow result host "
                "can hit the refresh task's time limit in the middle of a download.",
                hint="The run is then retried, so nothing is lost, but results arrive later.",
                id="django_tryon.W006",
            )
        )
    return errors


def _check_storage(values) -> list:
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

    from .files import storage_signs_urls, url_takes_expire

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


def _check_insecure(values) -> list:
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
        if host and _is_local(host):
            warnings.append(
                Warning(
                    f"Provider '{name}' points at {base} (a local address, such as the sandbox) "
                    "with DEBUG off.",
                    hint="Production shops set the real provider's BASE_URL.",
                    id="django_tryon.W003",
                )
            )
    return warnings


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False


def _check_limits(values) -> list:
    errors = []
    budgets = {}
    for key in BUDGET_KEYS:
        budget = values[key]
        if budget is None:
            continue
        if not isinstance(budget, dict) or not all(
            isinstance(currency, str) and currency and _positive_amount(amount)
            for currency, amount in budget.items()
        ):
            errors.append(
                Error(
                    f"TRYON['{key}'] must be None or a dict of currency -> positive amount, "
                    f"not {budget!r}.",
                    hint='For example {"USD": "20.00", "units": 200}: Kling bills '
                    'resource-pack "units", PiAPI bills "USD".',
                    id="django_tryon.E013",
                )
            )
            continue
        budgets[key] = budget
    if budgets:
        billed = _provider_currencies(values)
        for key, budget in budgets.items():
            for currency in sorted(set(budget) - billed):
                errors.append(
                    Warning(
                        f"TRYON['{key}'] sets a budget in '{currency}', which no configured "
                        "provider bills in: it never applies.",
                        hint=f"The configured providers bill in: {', '.join(sorted(billed)) or 'nothing'}.",
                        id="django_tryon.W004",
                    )
                )
    return errors


def _positive_amount(value) -> bool:
    if isinstance(value, bool):
        return False
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return False
    return amount.is_finite() and amount > 0


def _provider_currencies(values) -> set[str]:
    from .providers import PROVIDER_CLASSES, provider_class

    currencies = set()
    providers = values["PROVIDERS"] if isinstance(values["PROVIDERS"], dict) else {}
    for name, options in providers.items():
        if name not in PROVIDER_CLASSES:
            continue
        try:
            adapter = provider_class(name)(options or {})
        except Exception:  # reported by _check_providers  # noqa: S112
            continue
        try:
            currencies.add(adapter.estimate_cost(1)[1])
        finally:
            adapter.close()
    currencies.discard("")
    return currencies


def _check_api(values) -> list:
    from rest_framework.throttling import SimpleRateThrottle

    errors = []
    for key in RATE_KEYS:
        rate = values[key]
        if rate is None:
            continue
        try:
            count, _ = SimpleRateThrottle.parse_rate(None, rate)
            valid = isinstance(rate, str) and count > 0
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):
            valid = False
        if not valid:
            errors.append(
                Error(
                    f"TRYON['{key}'] must be None or a rate like \"10/minute\", not {rate!r}.",
                    hint="N/second, N/minute, N/hour or N/day.",
                    id="django_tryon.E014",
                )
            )
    consent = values["CONSENT_VERSION"]
    if not isinstance(consent, str) or not consent.strip() or len(consent) > 32:
        errors.append(
            Error(
                f"TRYON['CONSENT_VERSION'] must be a non-empty string of at most 32 "
                f"characters, not {consent!r}.",
                id="django_tryon.E015",
            )
        )
    if values["API_ALLOW_ANONYMOUS"] and not any(
        values[key] for key in ("SHOP_DAILY_GENERATION_LIMIT", "SHOP_DAILY_BUDGET")
    ):
        errors.append(
            Warning(
                "TRYON['API_ALLOW_ANONYMOUS'] is on with no shop-wide daily limit: anonymous "
                "shoppers' spend has no ceiling.",
                hint="Set SHOP_DAILY_GENERATION_LIMIT or SHOP_DAILY_BUDGET (or turn "
                "API_ALLOW_ANONYMOUS off).",
                id="django_tryon.W007",
            )
        )
    if values["API_ALLOW_ANONYMOUS"] and not any(
        m.endswith("SessionMiddleware") for m in getattr(settings, "MIDDLEWARE", [])
    ):
        errors.append(
            Warning(
                "TRYON['API_ALLOW_ANONYMOUS'] is on, but no SessionMiddleware is installed: "
                "anonymous shoppers cannot be bound to a session, so the API refuses them.",
                hint="Add django.contrib.sessions.middleware.SessionMiddleware, or set "
                "API_ALLOW_ANONYMOUS to False.",
                id="django_tryon.W005",
            )
        )
    return errors
