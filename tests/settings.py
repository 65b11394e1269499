"""Settings for the test suite: the example shop's settings, pointed at test-only places.

DATABASE_URL and CELERY_BROKER_URL select PostgreSQL and Redis (CI); without them the
suite uses SQLite files and the filesystem broker, so a bare machine runs everything.
The worker processes started by integration tests import these same settings, and find
the same database, broker folder and media through environment variables set here.
"""

import os
import tempfile

from kit.processes import free_port

# One scratch folder and one pair of ports per test run, chosen here (the first time these
# settings load) and inherited through the environment by the worker subprocesses.
os.environ.setdefault("SHOP_VAR_DIR", tempfile.mkdtemp(prefix="tryon-tests-"))
os.environ.setdefault("TRYON_SANDBOX_URL", f"http://127.0.0.1:{free_port()}")
if "DJANGO_LIVE_TEST_SERVER_ADDRESS" not in os.environ:
    os.environ["DJANGO_LIVE_TEST_SERVER_ADDRESS"] = f"127.0.0.1:{free_port()}"
os.environ.setdefault(
    "TRYON_PUBLIC_BASE_URL", f"http://{os.environ['DJANGO_LIVE_TEST_SERVER_ADDRESS']}"
)

from shop_project.settings import *  # noqa: F403
from shop_project.settings import DATABASES, TRYON

from django_tryon.sandbox import provider_settings

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A worker started by the integration tests must open the *test* database.
if os.environ.get("TRYON_TEST_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["TRYON_TEST_DB_NAME"]
    DATABASES["default"].pop("TEST", None)

SANDBOX_URL = os.environ["TRYON_SANDBOX_URL"]
_PROVIDERS = provider_settings(SANDBOX_URL, TIMEOUT_SECONDS=5)
_PROVIDERS["kling"]["MODEL"] = "kolors-virtual-try-on-v1-5"  # outfits are composed for v1-5
_PROVIDERS["piapi"]["SERVICE_MODE"] = "public"
TRYON = {
    **TRYON,
    # The suite always talks to its own sandbox, whatever keys the machine has set.
    "PROVIDERS": _PROVIDERS,
    "PUBLIC_BASE_URL": os.environ["TRYON_PUBLIC_BASE_URL"],
    "RETRY_BASE_SECONDS": 0.2,
    "RETRY_MAX_SECONDS": 2.0,
    "POLL_FIRST_AFTER_SECONDS": 1,
    "POLL_INTERVAL_SECONDS": 1,
    "REAP_INTERVAL_SECONDS": 1,
    "SUBMITTING_STUCK_AFTER_SECONDS": 6,
    "REQUEUE_PENDING_AFTER_SECONDS": 5,
    "UNCONFIRMED_SUBMIT_WAIT_SECONDS": 8,
    # Short enough that a test can watch a refresh hit its soft time limit in a real
    # prefork worker, and the next run finish the job.
    "REFRESH_TIME_LIMIT_SECONDS": 10,
    "PERSIST_LEASE_SECONDS": 12,
    "ALLOW_HTTP_DOWNLOADS": True,
    "ALLOW_PRIVATE_DOWNLOADS": True,
    # Off, as the app ships (the example shop turns it on): a test opts in.
    "FUNNEL": False,
}

#: Routing for a worker started with TRYON_TEST_ROUTING="kling,fashn" (the routing tests
#: start their own): the same values the test process sets for itself.
ROUTING_TEST_TIMINGS = {
    "BREAKER_FAILURES": 3,
    "BREAKER_OPEN_SECONDS": 3,
    "OUT_OF_CREDIT_RETRY_SECONDS": 3,
}
if os.environ.get("TRYON_TEST_ROUTING"):
    TRYON["ROUTING"] = {"default": os.environ["TRYON_TEST_ROUTING"].split(",")}
    TRYON.update(ROUTING_TEST_TIMINGS)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_tryon": {"handlers": ["console"], "level": "WARNING"}},
}


# -- Optional S3 storage (tests/integration/test_storage_s3.py) ----------------------------
# Off unless TRYON_TEST_S3_ENDPOINT is set: then an alias "tryon_s3" points at the local
# moto server the S3 tests start, and TRYON_TEST_STORAGE may make it the try-on storage.
# Environment variables, because the worker subprocess must see the same configuration.
def s3_test_storage(endpoint: str, bucket: str) -> dict:
    """The STORAGES entry of the moto-backed alias; only a loopback endpoint is accepted."""
    from urllib.parse import urlsplit

    from django.core.exceptions import ImproperlyConfigured

    if urlsplit(endpoint).hostname != "127.0.0.1":
        raise ImproperlyConfigured(f"the test S3 endpoint must be on 127.0.0.1, not {endpoint}")
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "endpoint_url": endpoint,
            "bucket_name": bucket,
            "access_key": "testing",
            "secret_key": "testing",
            "region_name": "us-east-1",
            "addressing_style": "path",
            "signature_version": "s3v4",
            "querystring_auth": True,
            "querystring_expire": 600,
            "file_overwrite": False,
        },
    }


if os.environ.get("TRYON_TEST_S3_ENDPOINT"):
    STORAGES = {
        **STORAGES,  # noqa: F405
        "tryon_s3": s3_test_storage(
            os.environ["TRYON_TEST_S3_ENDPOINT"], os.environ["TRYON_TEST_S3_BUCKET"]
        ),
    }
if os.environ.get("TRYON_TEST_STORAGE"):
    TRYON["STORAGE"] = os.environ["TRYON_TEST_STORAGE"]
