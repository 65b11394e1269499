"""System checks: every id fires for its one bad setting, and the shipped settings are clean."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.checks import Error, Warning, run_checks

from django_tryon.checks import NUMERIC_KEYS, ZERO_ALLOWED_KEYS
from tests.fakes import FakeProvider

SANDBOX_WARNINGS = [
    # Test settings run with DEBUG off against the local sandbox over http.
    "django_tryon.W001",  # PUBLIC_BASE_URL is http://127.0.0.1:<port>
    "django_tryon.W002",  # ALLOW_HTTP_DOWNLOADS
    "django_tryon.W002",  # ALLOW_PRIVATE_DOWNLOADS
    "django_tryon.W003",  # kling BASE_URL is the sandbox
    "django_tryon.W003",  # piapi BASE_URL is the sandbox
    "django_tryon.W003",  # fashn BASE_URL is the sandbox
    "django_tryon.W003",  # dashscope BASE_URL is the sandbox
    "django_tryon.W003",  # vertex BASE_URL is the sandbox
    # REFRESH_TIME_LIMIT_SECONDS is cut to 10 so a test can watch a refresh hit its soft
    # limit in a real worker; the 20 s download timeout no longer fits inside it.
    "django_tryon.W006",
]


def messages():
    return [m for m in run_checks() if m.id and m.id.startswith("django_tryon.")]


def ids():
    return sorted(m.id for m in messages())


def errors():
    return sorted(m.id for m in messages() if m.is_serious())


def only(code):
    return [m for m in messages() if m.id == code]


@pytest.fixture
def tryon(settings):
    """Change TRYON keys for one test: ``tryon(KEY=value)``, or a provider's options."""

    def change(providers=None, **values):
        merged = {**settings.TRYON, **values}
        if providers is not None:
            merged["PROVIDERS"] = providers
        settings.TRYON = merged

    return change


def provider(settings, name, **options):
    """That provider's test options with some changed (None removes a key)."""
    merged = {**settings.TRYON["PROVIDERS"][name], **options}
    return {k: v for k, v in merged.items() if v is not None}


@pytest.fixture
def production(settings, tryon):
    """A shop set up the way production should be: https, real providers, no escape hatches."""
    tryon(
        providers={
            "kling": provider(settings, "kling", BASE_URL="https://api-singapore.klingai.com"),
            "piapi": provider(settings, "piapi", BASE_URL="https://api.piapi.ai"),
        },
        PUBLIC_BASE_URL="https://shop.example",
        ALLOW_HTTP_DOWNLOADS=False,
        ALLOW_PRIVATE_DOWNLOADS=False,
        REFRESH_TIME_LIMIT_SECONDS=75,
        PERSIST_LEASE_SECONDS=90,
    )


# -- the shipped configurations ------------------------------------------------------------


def test_test_settings_have_no_errors_and_only_the_sandbox_warnings(settings):
    assert settings.DEBUG is False
    assert errors() == []
    assert ids() == SANDBOX_WARNINGS
    assert all(isinstance(m, Warning) for m in messages())


def test_production_configuration_is_clean(production):
    assert ids() == []


def test_debug_on_silences_the_sandbox_warnings(settings, tryon):
    settings.DEBUG = True
    tryon(REFRESH_TIME_LIMIT_SECONDS=75, PERSIST_LEASE_SECONDS=90)  # W006 is not a sandbox one
    assert ids() == []


def test_no_tryon_setting_at_all_says_what_is_missing(settings):
    del settings.TRYON
    # With no STATUS_CACHE the default cache is used, and the example's is in memory.
    assert ids() == ["django_tryon.E003", "django_tryon.I001"]


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["kling", ["PROVIDERS"], 3])
def test_e001_tryon_not_a_dict(settings, value):
    settings.TRYON = value
    assert ids() == ["django_tryon.E001"]


def test_e002_unknown_key(tryon, production):
    tryon(CALLBACK_MAX_BYTE=1024)
    assert ids() == ["django_tryon.E002"]
    assert "CALLBACK_MAX_BYTE" in only("django_tryon.E002")[0].msg


def test_e002_once_per_unknown_key(tryon, production):
    tryon(TYPO_ONE=1, TYPO_TWO=2)
    assert ids() == ["django_tryon.E002", "django_tryon.E002"]


def test_e003_providers_not_a_dict(tryon, production):
    tryon(providers=["kling"])
    assert ids() == ["django_tryon.E003"]


def test_e003_default_provider_not_configured(settings, tryon, production):
    tryon(providers={"kling": settings.TRYON["PROVIDERS"]["kling"]}, DEFAULT_PROVIDER="piapi")
    assert ids() == ["django_tryon.E003"]
    assert "'piapi'" in only("django_tryon.E003")[0].msg


def test_a_plugged_in_provider_class_is_not_unknown(settings, tryon, production):
    """A shop's own adapter (CLASS) was E004, an error that stops runserver and migrate."""
    tryon(
        providers={
            **settings.TRYON["PROVIDERS"],
            "fake": {"CLASS": "tests.fakes.FakeProvider", "TIMEOUT_SECONDS": 5},
        }
    )
    assert ids() == []
    tryon(providers={**settings.TRYON["PROVIDERS"], "fake": {"CLASS": "tests.fakes.Nothing"}})
    assert ids() == ["django_tryon.E005"]
    assert "cannot be imported" in only("django_tryon.E005")[0].msg


class CreditsProvider(FakeProvider):
    def estimate_cost(self, batch_size):
        return Decimal(batch_size), "credits"


def test_a_plugged_in_providers_currency_takes_a_budget(settings, tryon, production):
    """W004 only knew the built-ins' currencies: a budget in a plug-in's was 'never applies'."""
    plugged = {"CLASS": f"{__name__}.CreditsProvider", "TIMEOUT_SECONDS": 5, "UNIT_PRICE": "0.01"}
    tryon(
        providers={**settings.TRYON["PROVIDERS"], "mine": plugged},
        SHOP_DAILY_BUDGET={"credits": 10},
    )
    assert ids() == []
    tryon(SHOP_DAILY_BUDGET={"points": 10})
    assert ids() == ["django_tryon.W004"]


def test_e003_no_provider_at_all(tryon, production):
    tryon(providers={})
    assert ids() == ["django_tryon.E003"]
    assert "empty" in only("django_tryon.E003")[0].msg


def test_no_default_provider_means_the_first_configured(settings, tryon, production):
    kling = provider(settings, "kling", BASE_URL="https://api-singapore.klingai.com")
    tryon(providers={"kling": kling}, DEFAULT_PROVIDER=None)
    assert ids() == []


def test_e004_unknown_provider(settings, tryon, production):
    tryon(providers={**settings.TRYON["PROVIDERS"], "replicate": {"API_KEY": "x"}})
    assert ids() == ["django_tryon.E004"]
    assert "replicate" in only("django_tryon.E004")[0].msg


@pytest.mark.parametrize(
    ("name", "options", "fragment"),
    [
        ("kling", {"ACESS_KEY": "typo"}, "ACESS_KEY"),
        ("kling", {"ACCESS_KEY": None, "SECRET_KEY": None}, "ACCESS_KEY"),
        ("kling", {"MODEL": "kolors-v9"}, "MODEL"),
        ("kling", {"WEBHOOK_SECRET": "whsec_not base64!"}, "WEBHOOK_SECRET"),
        ("kling", {"IMAGE_TRANSPORT": "ftp"}, "IMAGE_TRANSPORT"),
        ("piapi", {"API_KEY": None}, "API_KEY"),
        ("piapi", {"SERVICE_MODE": "turbo"}, "SERVICE_MODE"),
    ],
    ids=["unknown-option", "no-keys", "model", "webhook-secret", "transport", "no-key", "mode"],
)
def test_e005_bad_provider_options(settings, tryon, production, name, options, fragment):
    providers = dict(settings.TRYON["PROVIDERS"])
    providers[name] = provider(settings, name, **options)
    tryon(providers=providers)
    assert ids() == ["django_tryon.E005"]
    assert fragment in only("django_tryon.E005")[0].msg


def test_e005_wrongly_typed_option_is_reported_not_a_crash(settings, tryon, production):
    providers = dict(settings.TRYON["PROVIDERS"])
    providers["kling"] = provider(settings, "kling", TIMEOUT_SECONDS="ten")
    tryon(providers=providers)
    assert ids() == ["django_tryon.E005"]
    assert "TRYON['PROVIDERS']['kling']" in only("django_tryon.E005")[0].msg


def test_e005_provider_entry_not_a_dict(settings, tryon, production):
    tryon(providers={**settings.TRYON["PROVIDERS"], "piapi": "sk-123"})
    assert ids() == ["django_tryon.E005"]


def test_e006_url_fetching_provider_without_public_base_url(tryon, production):
    tryon(PUBLIC_BASE_URL=None)
    assert ids() == ["django_tryon.E006"]
    assert "'piapi'" in only("django_tryon.E006")[0].msg


def test_e006_kling_with_url_transport_needs_public_base_url(settings, tryon, production):
    kling = provider(settings, "kling", IMAGE_TRANSPORT="url")
    tryon(providers={"kling": kling}, PUBLIC_BASE_URL=None)
    assert ids() == ["django_tryon.E006"]


def test_kling_alone_needs_no_public_base_url(settings, tryon, production):
    tryon(providers={"kling": settings.TRYON["PROVIDERS"]["kling"]}, PUBLIC_BASE_URL=None)
    assert ids() == []


@pytest.mark.parametrize("url", ["shop.example", "ftp://shop.example", "https://", "/tryon/"])
def test_e007_public_base_url_not_absolute_http(tryon, production, url):
    tryon(PUBLIC_BASE_URL=url)
    assert ids() == ["django_tryon.E007"]


@pytest.mark.parametrize("key", [k for k in NUMERIC_KEYS if k not in ZERO_ALLOWED_KEYS])
def test_e008_every_numeric_setting_must_be_positive(tryon, production, key):
    tryon(**{key: 0})
    assert "django_tryon.E008" in ids()
    assert [m.msg for m in only("django_tryon.E008")] == [
        f"TRYON['{key}'] must be a positive number, not 0."
    ]


@pytest.mark.parametrize("value", [-1, "60", True, None, 0.0])
def test_e008_not_a_positive_number(tryon, production, value):
    tryon(DEADLINE_SECONDS=value)
    assert ids() == ["django_tryon.E008"]


def test_result_retention_may_be_none(tryon, production):
    tryon(RESULT_RETENTION_DAYS=None)
    assert ids() == []


def test_e009_min_side_above_max_side(tryon, production):
    tryon(MIN_IMAGE_SIDE=3000, MAX_PROVIDER_SIDE=2048)
    assert ids() == ["django_tryon.E009"]


def test_e010_provider_bytes_above_ten_megabytes(tryon, production):
    tryon(MAX_PROVIDER_BYTES=10 * 1024 * 1024)
    assert ids() == []
    tryon(MAX_PROVIDER_BYTES=10 * 1024 * 1024 + 1)
    assert ids() == ["django_tryon.E010"]


def test_e011_storage_alias_unknown(tryon, production):
    tryon(STORAGE="tryon-s3")
    assert ids() == ["django_tryon.E011"]
    assert "tryon-s3" in only("django_tryon.E011")[0].msg


def test_e012_submitting_stuck_not_longer_than_provider_timeout(settings, tryon, production):
    kling = provider(settings, "kling", TIMEOUT_SECONDS=20)
    tryon(providers={**settings.TRYON["PROVIDERS"], "kling": kling})
    tryon(SUBMITTING_STUCK_AFTER_SECONDS=20)
    assert ids() == ["django_tryon.E012"]
    assert "'kling'" in only("django_tryon.E012")[0].msg
    tryon(SUBMITTING_STUCK_AFTER_SECONDS=21)
    assert ids() == []


# -- warnings (DEBUG off) -------------------------------------------------------------------


def test_w001_http_public_base_url(settings, tryon, production):
    tryon(PUBLIC_BASE_URL="http://shop.example")
    assert ids() == ["django_tryon.W001"]
    assert isinstance(only("django_tryon.W001")[0], Warning)
    settings.DEBUG = True
    assert ids() == []


@pytest.mark.parametrize("key", ["ALLOW_HTTP_DOWNLOADS", "ALLOW_PRIVATE_DOWNLOADS"])
def test_w002_download_escape_hatches(settings, tryon, production, key):
    tryon(**{key: True})
    assert ids() == ["django_tryon.W002"]
    assert key in only("django_tryon.W002")[0].msg
    settings.DEBUG = True
    assert ids() == []


@pytest.mark.parametrize("key", ["ALLOW_HTTP_DOWNLOADS", "ALLOW_PRIVATE_DOWNLOADS"])
def test_w002_one_providers_download_escape_hatch(settings, tryon, production, key):
    providers = dict(settings.TRYON["PROVIDERS"])
    providers["piapi"] = {**providers["piapi"], key: True}
    tryon(providers=providers)
    assert ids() == ["django_tryon.W002"]
    assert "'piapi'" in only("django_tryon.W002")[0].msg and key in only("django_tryon.W002")[0].msg
    settings.DEBUG = True
    assert ids() == []


@pytest.mark.parametrize(
    "base_url",
    ["http://127.0.0.1:8765", "http://localhost:8765", "http://10.0.0.5", "http://[::1]:8765"],
)
def test_w003_provider_at_a_local_address(settings, tryon, production, base_url):
    providers = dict(settings.TRYON["PROVIDERS"])
    providers["piapi"] = provider(settings, "piapi", BASE_URL=base_url)
    tryon(providers=providers)
    # (and W009: with downloads from there refused, every try-on would fail)
    assert ids() == ["django_tryon.W003", "django_tryon.W009"]
    assert "'piapi'" in only("django_tryon.W003")[0].msg
    settings.DEBUG = True
    assert ids() == ["django_tryon.W009"]


def test_w009_names_the_settings_a_newcomer_with_the_sandbox_needs(settings, tryon, production):
    """The README's sandbox steps failed with "The finished image could not be retrieved",
    and `manage.py check` said nothing."""
    settings.DEBUG = True
    providers = dict(settings.TRYON["PROVIDERS"])
    providers["kling"] = provider(settings, "kling", BASE_URL="http://127.0.0.1:8765")
    tryon(providers=providers)
    assert ids() == ["django_tryon.W009"]
    message = only("django_tryon.W009")[0]
    assert "'kling'" in message.msg and "plain http" in message.msg and "loopback" in message.msg
    assert "TRYON['PROVIDERS']['kling']['ALLOW_HTTP_DOWNLOADS']" in message.hint
    assert "TRYON['PROVIDERS']['kling']['ALLOW_PRIVATE_DOWNLOADS']" in message.hint


@pytest.mark.parametrize(
    ("change", "left"),
    [
        ({"ALLOW_HTTP_DOWNLOADS": True, "ALLOW_PRIVATE_DOWNLOADS": True}, []),
        ({"ALLOW_HTTP_DOWNLOADS": True}, ["ALLOW_PRIVATE_DOWNLOADS"]),
        ({"BASE_URL": "https://127.0.0.1:8765"}, ["ALLOW_PRIVATE_DOWNLOADS"]),
        ({"BASE_URL": "http://kling.staging.example"}, ["ALLOW_HTTP_DOWNLOADS"]),
        ({"RESULT_HOSTS": ["h1.inkwai.com"]}, []),  # results come from elsewhere
    ],
)
def test_w009_goes_once_downloads_from_there_are_allowed(settings, tryon, production, change, left):
    settings.DEBUG = True
    providers = dict(settings.TRYON["PROVIDERS"])
    providers["kling"] = provider(
        settings, "kling", **{"BASE_URL": "http://127.0.0.1:8765", **change}
    )
    tryon(providers=providers)
    warnings = only("django_tryon.W009")
    assert [
        key
        for key in ("ALLOW_HTTP_DOWNLOADS", "ALLOW_PRIVATE_DOWNLOADS")
        if warnings and key in warnings[0].hint
    ] == left


def test_w009_follows_the_global_download_settings(settings, tryon, production):
    settings.DEBUG = True
    providers = dict(settings.TRYON["PROVIDERS"])
    providers["kling"] = provider(settings, "kling", BASE_URL="http://127.0.0.1:8765")
    tryon(providers=providers, ALLOW_HTTP_DOWNLOADS=True, ALLOW_PRIVATE_DOWNLOADS=True)
    assert only("django_tryon.W009") == []


def test_errors_are_errors_and_warnings_are_warnings(settings, tryon, production):
    tryon(STORAGE="nope", ALLOW_HTTP_DOWNLOADS=True)
    kinds = {m.id: type(m) for m in messages()}
    assert kinds == {"django_tryon.E011": Error, "django_tryon.W002": Warning}


def test_e016_the_persist_lease_must_outlast_the_refresh_time_limit(production, tryon):
    tryon(REFRESH_TIME_LIMIT_SECONDS=100, PERSIST_LEASE_SECONDS=90)
    assert errors() == ["django_tryon.E016"]


def test_w006_a_download_timeout_that_does_not_fit_the_refresh_budget(production, tryon):
    tryon(DOWNLOAD_TIMEOUT_SECONDS=45)
    assert ids() == ["django_tryon.W006"]


def test_w007_anonymous_try_ons_with_no_shop_wide_daily_limit(production, tryon):
    tryon(SHOP_DAILY_GENERATION_LIMIT=None, SHOP_DAILY_BUDGET=None)
    assert ids() == ["django_tryon.W007"]
    tryon(SHOP_DAILY_GENERATION_LIMIT=None, SHOP_DAILY_BUDGET={"USD": "20"})
    assert "django_tryon.W007" not in ids()
    tryon(SHOP_DAILY_GENERATION_LIMIT=None, API_ALLOW_ANONYMOUS=False)
    assert "django_tryon.W007" not in ids()


def test_trusted_proxy_count_may_be_zero_but_not_negative(production, tryon):
    tryon(TRUSTED_PROXY_COUNT=0)
    assert ids() == []
    tryon(TRUSTED_PROXY_COUNT=-1)
    assert errors() == ["django_tryon.E008"]


# -- the status cache (cheap polls) ------------------------------------------------------

LOCAL = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
FILES = {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": "/tmp/x"}


@pytest.mark.parametrize("value", ["nope", 3, True, ["tryon-status"]])
def test_e019_a_status_cache_that_is_not_an_alias(production, tryon, value):
    tryon(STATUS_CACHE=value)
    assert ids() == ["django_tryon.E019"]


def test_i001_the_default_cache_lives_in_one_process(production, tryon, settings):
    settings.CACHES = {"default": LOCAL}
    tryon(STATUS_CACHE=None)
    assert ids() == ["django_tryon.I001"]
    assert not only("django_tryon.I001")[0].is_serious()
    settings.CACHES = {"default": FILES}
    assert ids() == []
    tryon(STATUS_CACHE=False)  # the shop chose full reads: nothing to say
    settings.CACHES = {"default": LOCAL}
    assert ids() == []


def test_w012_a_named_status_cache_that_lives_in_one_process(production, tryon, settings):
    settings.CACHES = {"default": FILES, "status": LOCAL}
    tryon(STATUS_CACHE="status")
    assert ids() == ["django_tryon.W012"]
    settings.CACHES = {"default": LOCAL, "status": FILES}
    assert ids() == []


def test_w013_sqlite_without_a_busy_timeout():
    """Oscar's guide and startproject use SQLite with no timeout: "database is locked"
    while a worker writes (issue 23, item 7). The check names the OPTIONS to set."""
    from django_tryon.checks.deployment import check_sqlite

    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": "shop.sqlite3"}
    postgres = {"ENGINE": "django.db.backends.postgresql", "NAME": "shop"}
    (warning,) = check_sqlite({}, {"default": postgres, "shop": sqlite})
    assert warning.id == "django_tryon.W013" and "DATABASES['shop']" in warning.msg
    assert '{"timeout": 20, "transaction_mode": "IMMEDIATE"}' in warning.hint
    assert check_sqlite({}, {"shop": {**sqlite, "OPTIONS": {"timeout": 20}}}) == []


@pytest.fixture
def celery_app():
    """Make a Celery app of the test's the current one, then put the shop's back."""
    from celery import Celery, current_app

    shop = current_app._get_current_object()

    def make(name, **conf):
        app = Celery(name, set_as_current=False)
        app.conf.update(conf)
        app.set_current()
        return app

    yield make
    shop.set_current()


def test_w014_no_celery_app_and_w015_a_broker_that_does_not_answer(celery_app, monkeypatch):
    """A shop without a Celery app accepted try-ons that waited forever, and `check` was
    silent (issue 23, item 5)."""
    from django_tryon.checks.worker import check_celery

    # Celery reads CELERY_BROKER_URL from the environment before its own conf (CI sets it).
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)

    celery_app("default")  # what Celery falls back on when the shop loaded no app
    assert [m.id for m in check_celery({})] == ["django_tryon.W014"]
    celery_app("myshop", broker_url="redis://:secret@127.0.0.1:1/0")
    (warning,) = check_celery({})
    assert warning.id == "django_tryon.W015" and "secret" not in warning.msg
    celery_app("myshop", broker_url="memory://")
    assert check_celery({}) == []
