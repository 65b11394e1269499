"""Settings for the benchmarks: the example shop's, pointed at the benchmark's own places.

The runner (``python -m bench``) sets the environment before anything loads: a scratch
``SHOP_VAR_DIR``, ``DATABASE_URL`` and ``CELERY_BROKER_URL`` when PostgreSQL and Redis
run, ``TRYON_SANDBOX_URL`` (its own sandbox port) and ``TRYON_PUBLIC_BASE_URL`` (its
live server). The web server and worker subprocesses inherit the same environment.
The TRYON timing settings (polls, reaper, retries) stay at the shipped defaults: that
is what the benchmarks measure.
"""

import json
import os
import tempfile

if not os.environ.get("SHOP_VAR_DIR"):  # (setdefault would make a folder every time)
    os.environ["SHOP_VAR_DIR"] = tempfile.mkdtemp(prefix="tryon-bench-")
os.environ.setdefault("TRYON_SANDBOX_URL", "http://127.0.0.1:8766")
os.environ.setdefault("TRYON_PUBLIC_BASE_URL", "http://127.0.0.1:8001")

from shop_project.settings import *  # noqa: F403
from shop_project.settings import MIDDLEWARE, TRYON

from django_tryon.sandbox import provider_settings

DEBUG = False
if CELERY_BROKER_URL.startswith(("filesystem://", "tryonfs://")):  # noqa: F405
    # kombu's filesystem broker looks for new messages once a second by default: every hop
    # through the queue would wait half a second on average. Production uses Redis.
    CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "polling_interval": 0.05}  # noqa: F405
ROOT_URLCONF = "bench.urls"
# Counts queries and CPU per HTTP request when BENCH_LOG_DIR is set (bench/middleware.py).
MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

SANDBOX_URL = os.environ["TRYON_SANDBOX_URL"]
_PROVIDERS = provider_settings(SANDBOX_URL)
_PROVIDERS["kling"]["MODEL"] = "kolors-virtual-try-on-v1-5"
_PROVIDERS["piapi"]["SERVICE_MODE"] = "public"
TRYON = {
    **TRYON,
    # Always the benchmark's own sandbox on loopback, whatever keys the machine has set.
    "PROVIDERS": _PROVIDERS,
    "DEFAULT_PROVIDER": "kling",
    "PUBLIC_BASE_URL": os.environ["TRYON_PUBLIC_BASE_URL"],
    "ALLOW_HTTP_DOWNLOADS": True,
    "ALLOW_PRIVATE_DOWNLOADS": True,
    # A benchmark creates hundreds of try-ons for one client: the API's burst throttles
    # and the per-shopper daily limit would refuse them. Quotas are still counted.
    "API_CREATE_RATE": None,
    "API_READ_RATE": None,
    "SHOPPER_DAILY_GENERATION_LIMIT": None,
    "ANONYMOUS_DAILY_GENERATION_LIMIT_PER_CLIENT": None,  # bench 8's shoppers share 127.0.0.1
    # Benchmark 7 alone makes 1,000 try-ons: the shop's default daily limit would stop it.
    "SHOP_DAILY_GENERATION_LIMIT": None,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django_tryon": {"handlers": ["console"], "level": "WARNING"},
        "django.server": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "celery": {"handlers": ["console"], "level": "WARNING"},
    },
}
# Production keeps database connections open (CONN_MAX_AGE or a pooler); the example
# shop's 0 would add a new PostgreSQL connection to every request and every task, which
# is deployment, not the app. BENCH_CONN_MAX_AGE=0 measures it that way.
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("BENCH_CONN_MAX_AGE", "60"))  # noqa: F405

# The chaos run (bench/chaos.py) tightens the pipeline's clocks, shortens the providers'
# timeouts and rotates SECRET_KEY (keeping the old one as a fallback) mid-run.
if os.environ.get("BENCH_TRYON"):
    TRYON.update(json.loads(os.environ["BENCH_TRYON"]))
if os.environ.get("BENCH_PROVIDER_TIMEOUT"):
    for options in TRYON["PROVIDERS"].values():
        options["TIMEOUT_SECONDS"] = float(os.environ["BENCH_PROVIDER_TIMEOUT"])
if os.environ.get("BENCH_SECRET_KEY"):
    SECRET_KEY = os.environ["BENCH_SECRET_KEY"]
    SECRET_KEY_FALLBACKS = [
        k for k in os.environ.get("BENCH_SECRET_KEY_FALLBACKS", "").split(",") if k
    ]
