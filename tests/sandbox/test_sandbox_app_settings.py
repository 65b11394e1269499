"""sandbox.provider_settings(): the app's TRYON["PROVIDERS"] for a sandbox, from the keys
each provider API declares, so a shop (and the suite, and the benchmarks) never copy them."""

from __future__ import annotations

import pytest

from django_tryon.providers import provider_class
from django_tryon.providers.base import ProviderAuthError, TaskNotFound
from django_tryon.sandbox import Sandbox, provider_settings


@pytest.fixture
def sandbox():
    with Sandbox(
        port=0,
        kling_access_key="ak-1",
        kling_secret_key="sk-1-0123456789abcdef0123456789abcdef",
        piapi_key="pk-1",
    ) as sb:
        yield sb


def test_every_provider_api_gets_an_entry_the_sandbox_accepts(sandbox):
    providers = provider_settings(sandbox.url, config=sandbox.config_snapshot())
    assert set(providers) == set(sandbox.apis) == {"kling", "piapi", "fashn", "dashscope", "vertex"}
    for name, options in providers.items():
        adapter = provider_class(name)({**options, "TIMEOUT_SECONDS": 5})
        try:
            try:  # an unknown task: the sandbox took the keys and looked for it
                task = adapter.fetch("123456789012345678")
            except TaskNotFound:
                continue
            assert task.state.value == "failed" and "not found" in task.message
        finally:
            adapter.close()
    assert all(r.status != 401 for r in sandbox.requests)


def test_the_documented_keys_are_the_default(sandbox):
    providers = provider_settings(sandbox.url)  # not this sandbox's keys
    adapter = provider_class("piapi")({**providers["piapi"], "TIMEOUT_SECONDS": 5})
    with pytest.raises(ProviderAuthError):
        adapter.fetch("nope")
    adapter.close()
    assert providers["piapi"]["API_KEY"] == "sandbox-piapi-key"
    assert providers["kling"]["ACCESS_KEY"] == "sandbox-access-key"


def test_downloads_from_the_sandbox_are_trusted_only_when_asked(sandbox):
    plain = provider_settings(sandbox.url, MODEL_IGNORED=None)
    assert all("ALLOW_HTTP_DOWNLOADS" not in options for options in plain.values())
    assert all(options["MODEL_IGNORED"] is None for options in plain.values())
    trusted = provider_settings(sandbox.url + "/", trust_downloads=True)
    for name, options in trusted.items():
        assert options["BASE_URL"] == sandbox.url
        adapter = provider_class(name)(options)
        assert adapter.download_trust == {"allow_http": True, "allow_private": True}
        adapter.close()
