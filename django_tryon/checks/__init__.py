"""System checks: bad or risky TRYON settings fail at startup with a clear message.

Ids are stable and never reused; docs/settings.md lists them. This module checks the
settings themselves and their numbers; ``providers`` the providers' entries,
``deployment`` the public URL, storage and what is unsafe in production, ``limits`` the
budgets, API rates and anonymous access.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from ..conf import DEFAULTS, refresh_limits
from .deployment import (
    check_api_docs,
    check_insecure,
    check_public_url,
    check_sqlite,
    check_status_cache,
    check_storage,
)
from .limits import check_api, check_limits
from .providers import check_prices, check_providers, check_routing
from .worker import check_celery

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
    errors += check_providers(values)
    errors += check_prices(values)
    errors += check_routing(values)
    errors += check_public_url(values)
    errors += _check_numbers(values)
    errors += check_storage(values)
    errors += check_status_cache(values)
    errors += check_api_docs(values)
    errors += check_sqlite(values)
    errors += check_celery(values)
    errors += check_insecure(values)
    errors += check_limits(values)
    errors += check_api(values)
    return errors


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
