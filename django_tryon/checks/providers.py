"""Checks of TRYON['PROVIDERS']: each entry names a provider the app can build, with
options its adapter accepts, and fits the settings around it."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.checks import Error, Warning


def check_providers(values) -> list:
    from ..providers import PROVIDER_CLASSES, provider_class
    from ..providers.base import ProviderConfigurationError

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
            errors += _refused_downloads(name, adapter)
        finally:
            adapter.close()
    return errors


def _refused_downloads(name: str, adapter) -> list:
    """W009: results come from BASE_URL's host (the sandbox, a staging stand-in), but the
    safe downloader would refuse that host's scheme or address, so every try-on would
    fail after the provider made it. Names the exact setting that lets it through."""
    from ..addresses import host_allowed, is_local_host

    parts = urlsplit(adapter.base_url)
    host = parts.hostname or ""
    if not host or not host_allowed(host, adapter.result_hosts):
        return []  # results come from elsewhere (RESULT_HOSTS says so)
    trust = adapter.download_trust
    refused = []
    if parts.scheme == "http" and not trust["allow_http"]:
        refused.append(("plain http", "ALLOW_HTTP_DOWNLOADS"))
    if is_local_host(host) and not trust["allow_private"]:
        refused.append(("a loopback or private address", "ALLOW_PRIVATE_DOWNLOADS"))
    if not refused:
        return []
    settings_named = " and ".join(f"TRYON['PROVIDERS']['{name}']['{key}']" for _, key in refused)
    return [
        Warning(
            f"Provider '{name}' is at {adapter.base_url} ({', '.join(w for w, _ in refused)}), "
            "and its results come from there, but the app refuses to download from it: every "
            "try-on would fail after the provider made it ('The finished image could not be "
            "retrieved').",
            hint=f"For the sandbox or a staging stand-in, set {settings_named} to True "
            "(django_tryon.sandbox.provider_settings(url, trust_downloads=True) does).",
            id="django_tryon.W009",
        )
    ]


def provider_currencies(values) -> set[str]:
    """The currencies spend is counted in: those the configured providers (built-in or
    plugged in) bill in, and the shop's own when any of them has a price in it."""
    return {
        currency
        for billed, price in _billing(values).values()
        for currency in (billed, values["CURRENCY"] if price is not None else "")
        if currency
    }


def check_routing(values) -> list:
    """E018: TRYON['ROUTING'] names entry points and configured providers, in order."""
    routing = values["ROUTING"]
    if routing is None:
        return []
    from ..models import Category
    from ..routing import CHEAPEST, OUTFIT, SOURCES

    configured = values["PROVIDERS"] if isinstance(values["PROVIDERS"], dict) else {}
    keys = (*SOURCES, "default", *Category.values, OUTFIT)
    problems = []
    if not isinstance(routing, dict) or not routing:
        problems.append(f"must be None or a dict of entry point -> providers, not {routing!r}")
    else:
        for key, names in routing.items():
            if key not in keys:
                problems.append(f"has {key!r}, which is not one of {', '.join(keys)}")
            elif not isinstance(names, list | tuple) or not names:
                problems.append(f"[{key!r}] must be a non-empty list of provider names")
            else:
                unknown = [n for n in names if n not in configured and n != CHEAPEST]
                if unknown:
                    problems.append(
                        f"[{key!r}] names {', '.join(map(repr, unknown))}, not in TRYON['PROVIDERS']"
                    )
    return [
        Error(
            f"TRYON['ROUTING'] {problem}.",
            hint='For example {"default": ["kling", "fashn"], "admin": ["fashn"], '
            '"shoes": ["fashn"], "api": ["cheapest"]} '
            "(docs/providers.md#routing-and-fallback).",
            id="django_tryon.E018",
        )
        for problem in problems
    ]


def check_prices(values) -> list:
    """W010: a provider bills in something other than the shop's currency and has no
    UNIT_PRICE, so its spend cannot be read, or budgeted, in the shop's money."""
    shop_currency = values["CURRENCY"]
    if not isinstance(shop_currency, str) or not shop_currency.strip() or len(shop_currency) > 8:
        return [
            Error(
                f"TRYON['CURRENCY'] must be a currency code of at most 8 characters, not "
                f"{shop_currency!r}.",
                hint='For example "USD" or "EUR": the currency the cost page reads in.',
                id="django_tryon.E017",
            )
        ]
    return [
        Warning(
            f"TRYON['PROVIDERS']['{name}'] bills in '{billed}' and has no UNIT_PRICE: its "
            f"spend cannot be shown or budgeted in {shop_currency}.",
            hint=f"Set TRYON['PROVIDERS']['{name}']['UNIT_PRICE'] to what one '{billed}' "
            f"costs you in {shop_currency} (for Kling: your resource pack's price divided by "
            "its units).",
            id="django_tryon.W010",
        )
        for name, (billed, price) in sorted(_billing(values).items())
        if billed and price is None
    ]


def _billing(values) -> dict[str, tuple[str, object]]:
    """Each buildable provider: the currency it bills in, and its price in the shop's."""
    from ..providers import provider_class

    billing = {}
    providers = values["PROVIDERS"] if isinstance(values["PROVIDERS"], dict) else {}
    shop_currency = values["CURRENCY"] if isinstance(values["CURRENCY"], str) else ""
    for name, options in providers.items():
        try:
            adapter = provider_class(name)(options or {})
        except Exception:  # reported by check_providers  # noqa: S112
            continue
        try:
            billed = adapter.estimate_cost(1)[1]
            billing[name] = (billed, adapter.price_in(billed, shop_currency))
        finally:
            adapter.close()
    return billing
