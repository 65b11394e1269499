"""The provider APIs the sandbox serves: the one list that names them.

Each is a subclass of ``base.ProviderApi``: where its tasks live, which methods mean what,
and its own answers (authentication, endpoints, task data, callbacks, error envelope). A
new provider is one module and one line here.
"""

from __future__ import annotations

from typing import Any

from .kling import KlingApi
from .piapi import PiApi

PROVIDER_APIS = (KlingApi, PiApi)


def provider_settings(
    url: str, *, trust_downloads: bool = False, config: Any = None, **options: Any
) -> dict[str, dict[str, Any]]:
    """``TRYON["PROVIDERS"]`` for every provider API a sandbox at ``url`` serves, with the
    keys it accepts (``config``: a running sandbox's ``config_snapshot()``; default: the
    documented sandbox keys) and ``options`` added to each provider's entry.

    ``trust_downloads`` lets the app download results from the sandbox's plain-http
    loopback address for these providers only (``ALLOW_HTTP_DOWNLOADS`` and
    ``ALLOW_PRIVATE_DOWNLOADS`` per provider): what a shop trying the sandbox needs.
    """
    from .options import SandboxConfig

    config = config or SandboxConfig()
    trust = {"ALLOW_HTTP_DOWNLOADS": True, "ALLOW_PRIVATE_DOWNLOADS": True}
    return {
        api.name: {
            **api.app_settings(config),
            "BASE_URL": url.rstrip("/"),
            **(trust if trust_downloads else {}),
            **options,
        }
        for api in PROVIDER_APIS
    }
