"""Provider registry: ``get_provider(name)`` builds the configured adapter."""

from __future__ import annotations

import threading

from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from ..conf import get_setting, provider_options
from .base import Provider, ProviderConfigurationError

#: Provider name -> dotted path of its adapter class.
PROVIDER_CLASSES: dict[str, str] = {
    "kling": "django_tryon.providers.kling.KlingProvider",
    "piapi": "django_tryon.providers.piapi.PiAPIProvider",
    "fashn": "django_tryon.providers.fashn.FashnProvider",
    "dashscope": "django_tryon.providers.dashscope.DashScopeProvider",
    "vertex": "django_tryon.providers.vertex.VertexProvider",
}

_cache: dict[str, Provider] = {}
_lock = threading.Lock()


def provider_names() -> list[str]:
    """Names of every provider the app knows: the built-ins, and each one a shop plugs in
    with ``TRYON["PROVIDERS"][name]["CLASS"]``."""
    configured = get_setting("PROVIDERS") or {}
    plugged = {
        name
        for name, options in configured.items()
        if isinstance(options, dict) and options.get("CLASS")
    }
    return sorted(set(PROVIDER_CLASSES) | plugged)


def provider_class(name: str) -> type[Provider]:
    """The adapter class of ``name``: its CLASS option (a dotted path), else the built-in."""
    options = (get_setting("PROVIDERS") or {}).get(name)
    path = options.get("CLASS") if isinstance(options, dict) else None
    path = path or PROVIDER_CLASSES.get(name)
    if not path:
        raise ProviderConfigurationError(
            f"Unknown try-on provider '{name}'. Known providers: {', '.join(provider_names())}"
        )
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise ProviderConfigurationError(
            f"TRYON['PROVIDERS']['{name}']['CLASS'] cannot be imported: {exc}"
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise ProviderConfigurationError(
            f"TRYON['PROVIDERS']['{name}']['CLASS'] ({path}) is not a Provider subclass"
        )
    return cls


def default_provider_name() -> str:
    """TRYON['DEFAULT_PROVIDER'], else the first provider in TRYON['PROVIDERS'] ("" if none)."""
    name = get_setting("DEFAULT_PROVIDER")
    if name:
        return str(name)
    providers = get_setting("PROVIDERS")
    return next(iter(providers), "") if isinstance(providers, dict) else ""


def configured_providers() -> list[str]:
    """The providers the shop has set up (``TRYON["PROVIDERS"]``), in its order."""
    providers = get_setting("PROVIDERS")
    return list(providers) if isinstance(providers, dict) else []


def get_provider(name: str | None = None) -> Provider:
    """Return the adapter for ``name`` (default: :func:`default_provider_name`), reusing its
    HTTP client."""
    name = name or default_provider_name()
    with _lock:
        adapter = _cache.get(name)
        if adapter is None:
            adapter = provider_class(name)(provider_options(name))
            _cache[name] = adapter
        return adapter


def reset_providers(**kwargs) -> None:
    """Drop cached adapters (settings changed, or tests)."""
    with _lock:
        for adapter in _cache.values():
            adapter.close()
        _cache.clear()


def _on_setting_changed(setting, **kwargs):
    if setting == "TRYON":
        reset_providers()


setting_changed.connect(_on_setting_changed)
