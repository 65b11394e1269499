"""Settings of the example shop. Everything that differs between machines comes from the
environment; the defaults need no server at all (SQLite, local files, a filesystem broker,
and the sandbox as both providers)."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .env import broker_options, broker_url, database_from_url, env, env_bool, status_cache

# The sandbox's documented demo keys (docs/sandbox.md): used only when no real keys are set.
SANDBOX_KLING_AK = "sandbox-access-key"
SANDBOX_KLING_SK = "sandbox-secret-key-0123456789abcdef"
SANDBOX_FASHN_KEY = "sandbox-fashn-key"
SANDBOX_PIAPI_KEY = "sandbox-piapi-key"
SANDBOX_DASHSCOPE_KEY = "sandbox-dashscope-key"
SANDBOX_VERTEX_TOKEN = "sandbox-vertex-token"
SANDBOX_VERTEX_PROJECT = "sandbox-project"

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env("SHOP_VAR_DIR", str(BASE_DIR.parent / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEMO_SECRET_KEY = "demo-only-secret-key-change-me-in-production-0123456789"
SECRET_KEY = env("DJANGO_SECRET_KEY", DEMO_SECRET_KEY)
DEBUG = env_bool("DJANGO_DEBUG", True)
if SECRET_KEY == DEMO_SECRET_KEY and not DEBUG:
    # The demo key is public (it is in this file): with it, anyone can forge sessions,
    # callback tokens and signed links. check --deploy cannot tell: the key is long.
    raise ImproperlyConfigured(
        "DJANGO_DEBUG is off but DJANGO_SECRET_KEY is not set: the demo's public key "
        "would sign sessions and links. Set DJANGO_SECRET_KEY."
    )
ALLOWED_HOSTS = (env("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver") or "").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",  # API tokens for headless clients (docs/api.md)
    "drf_spectacular_sidecar",  # Swagger UI for /tryon/api/docs/, from the shop's own static
    "django_tryon",
    "shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "shop_project.urls"
WSGI_APPLICATION = "shop_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# The try-on API takes the shop's authentication classes: browser sessions, and tokens
# (`manage.py drf_create_token <user>`) for headless clients.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
}

DATABASES = {
    "default": database_from_url(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'shop.sqlite3'}"), BASE_DIR
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("SHOP_MEDIA_ROOT", str(VAR_DIR / "media")))
SERVE_MEDIA = env_bool("SHOP_SERVE_MEDIA", DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Celery: a filesystem broker by default (no server), Redis when CELERY_BROKER_URL says so.
CELERY_BROKER_URL = broker_url(env("CELERY_BROKER_URL", "filesystem://"))
CELERY_BROKER_TRANSPORT_OPTIONS = broker_options(CELERY_BROKER_URL, VAR_DIR)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# The widget's polls are answered "not modified" from a cache when nothing changed
# (TRYON["STATUS_CACHE"]): the worker writes there, the web server reads, so it must be a
# cache both see. Redis when the broker is Redis, else files in the shop's var folder.
# The default cache (throttles) stays in memory.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "tryon-status": status_cache(CELERY_BROKER_URL, VAR_DIR),
}

# django-tryon. With no keys in the environment, both providers are the local sandbox.
SANDBOX_URL = env("TRYON_SANDBOX_URL", "http://127.0.0.1:8765")
# A provider whose real key is set talks to the real provider unless told otherwise.
_kling_base = env("KLING_BASE_URL", "" if env("KLING_ACCESS_KEY", "") else SANDBOX_URL)
_piapi_base = env("PIAPI_BASE_URL", "" if env("PIAPI_API_KEY", "") else SANDBOX_URL)
_fashn_base = env("FASHN_BASE_URL", "" if env("FASHN_API_KEY", "") else SANDBOX_URL)
_dashscope_base = env("DASHSCOPE_BASE_URL", "" if env("DASHSCOPE_API_KEY", "") else SANDBOX_URL)
_vertex_base = env("VERTEX_BASE_URL", "" if env("VERTEX_PROJECT", "") else SANDBOX_URL)


def _sandbox_trust(base_url: str) -> dict:
    """The sandbox serves results from 127.0.0.1 over http: trust that for a provider
    whose own BASE_URL is the sandbox, never for a real provider beside it."""
    trusted = base_url == SANDBOX_URL
    return {"ALLOW_HTTP_DOWNLOADS": trusted, "ALLOW_PRIVATE_DOWNLOADS": trusted}


TRYON = {
    "DEFAULT_PROVIDER": env("TRYON_PROVIDER", "kling"),
    "STATUS_CACHE": "tryon-status",
    # "kling,fashn": try Kling, fall back to FASHN (docs/providers.md#routing-and-fallback).
    "ROUTING": {"default": [n.strip() for n in env("TRYON_ROUTING", "").split(",") if n.strip()]}
    if env("TRYON_ROUTING", "")
    else None,
    "PROVIDERS": {
        "kling": {
            "ACCESS_KEY": env("KLING_ACCESS_KEY", SANDBOX_KLING_AK),
            "SECRET_KEY": env("KLING_SECRET_KEY", SANDBOX_KLING_SK),
            "BASE_URL": _kling_base,
            "MODEL": env("KLING_MODEL", "kolors-virtual-try-on-v1-5"),
            # What one resource-pack unit costs the shop, in TRYON["CURRENCY"]: the demo
            # prices the sandbox's units; with real keys, set your pack's price.
            "UNIT_PRICE": env("KLING_UNIT_PRICE", "0.14" if _kling_base == SANDBOX_URL else ""),
            **_sandbox_trust(_kling_base),
        },
        "piapi": {
            "API_KEY": env("PIAPI_API_KEY", SANDBOX_PIAPI_KEY),
            "BASE_URL": _piapi_base,
            "SERVICE_MODE": env("PIAPI_SERVICE_MODE", "public"),
            **_sandbox_trust(_piapi_base),
        },
        "fashn": {
            "API_KEY": env("FASHN_API_KEY", SANDBOX_FASHN_KEY),
            "BASE_URL": _fashn_base,
            "MODEL": env("FASHN_MODEL", "tryon-v1.6"),
            # What one FASHN credit costs the shop: about $0.075 at FASHN's prices.
            "UNIT_PRICE": env("FASHN_UNIT_PRICE", "0.075"),
            **_sandbox_trust(_fashn_base),
        },
        "dashscope": {
            "API_KEY": env("DASHSCOPE_API_KEY", SANDBOX_DASHSCOPE_KEY),
            "BASE_URL": _dashscope_base,
            "MODEL": env("DASHSCOPE_MODEL", "aitryon-plus"),
            # What one image costs the shop: about $0.072 at Alibaba Cloud's listed price.
            "UNIT_PRICE": env("DASHSCOPE_UNIT_PRICE", "0.072"),
            **_sandbox_trust(_dashscope_base),
        },
        "vertex": {
            "PROJECT": env("VERTEX_PROJECT", SANDBOX_VERTEX_PROJECT),
            "LOCATION": env("VERTEX_LOCATION", "us-central1"),
            "MODEL": env("VERTEX_MODEL", "virtual-try-on-001"),
            # A token as given (the sandbox's), else google-auth's credentials: a key file
            # or Application Default Credentials (django-tryon[vertex]).
            "ACCESS_TOKEN": env(
                "VERTEX_ACCESS_TOKEN", SANDBOX_VERTEX_TOKEN if _vertex_base == SANDBOX_URL else ""
            ),
            "CREDENTIALS_FILE": env("VERTEX_CREDENTIALS_FILE", ""),
            "BASE_URL": _vertex_base,
            "UNIT_PRICE": env("VERTEX_UNIT_PRICE", "0.06" if _vertex_base == SANDBOX_URL else ""),
            **_sandbox_trust(_vertex_base),
        },
    },
    "PUBLIC_BASE_URL": env("TRYON_PUBLIC_BASE_URL", "http://127.0.0.1:8000"),
    "CURRENCY": env("TRYON_CURRENCY", "USD"),
    # The cost page's "does try-on pay for itself": counts per garment per day, no people.
    "FUNNEL": env("TRYON_FUNNEL", "on") != "off",
    # Linked from the try-on widget's consent box.
    "PRIVACY_URL": "shop:privacy",
    # The demo's house models may be chosen by shoppers instead of their own photo.
    "HOUSE_MODELS_FOR_SHOPPERS": True,
    # The shop's products are the garments (docs/shops.md): manage.py tryon_sync_garments,
    # the product admin's action, and a product's save keep one garment per product.
    "CATALOGUE": {
        "PRODUCT_MODEL": "shop.Product",
        "IMAGE": "image",
        "NAME": "name",
        "CATEGORIES": "category",
        "CATEGORY_MAP": {
            "T-shirts": "upper",
            "Shirts": "upper",
            "Jeans": "lower",
            "Shorts": "lower",
            "Dresses": "dress",
        },
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "filters": {"quiet_periodic": {"()": "django_tryon.logs.QuietPeriodicTasks"}},
    "loggers": {
        # Not propagated: a Celery worker puts its own handler on the root logger, and
        # every line would be printed twice.
        "django_tryon": {
            "handlers": ["console"],
            "level": env("TRYON_LOG_LEVEL", "INFO"),
            "propagate": False,
        },
        # The reaper runs every few seconds: its idle runs stay out of the worker's log.
        **{
            name: {"filters": ["quiet_periodic"]}
            for name in ("celery.beat", "celery.worker.strategy", "celery.app.trace")
        },
    },
}
