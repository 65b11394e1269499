"""Settings for the test suite: the example shop's settings, pointed at test-only places.

DATABASE_URL and CELERY_BROKER_URL select PostgreSQL and Redis (CI); without them the
suite uses SQLite files and the filesystem broker, so a bare machine runs everything.
The worker processes started by integration tests import these same settings, and find
the same database, broker folder and media through environment variables set here.
"""

import os
import socket
import tempfile


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# One scratch folder and one pair of ports per test run, chosen here (the first time these
# settings load) and inherited through the environment by the worker subprocesses.
os.environ.setdefault("SHOP_VAR_DIR", tempfile.mkdtemp(prefix="tryon-tests-"))
os.environ.setdefault("TRYON_SANDBOX_URL", f"http://127.0.0.1:{_free_port()}")
if "DJANGO_LIVE_TEST_SERVER_ADDRESS" not in os.environ:
    os.environ["DJANGO_LIVE_TEST_SERVER_ADDRESS"] = f"127.0.0.1:{_free_port()}"
os.environ.setdefault(
    "TRYON_PUBLIC_BASE_URL", f"http://{os.environ['DJANGO_LIVE_TEST_SERVER_ADDRESS']}"
)

from shop_project.settings import *  # noqa: E402,F403
from shop_project.settings import DATABASES, TRYON  # noqa: E402

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A worker started by the integration tests must open the *test* database.
if os.environ.get("TRYON_TEST_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["TRYON_TEST_DB_NAME"]
    DATABASES["default"].pop("TEST", None)

SANDBOX_URL = os.environ["TRYON_SANDBOX_URL"]
TRYON = {
    **TRYON,
    # The suite always talks to its own sandbox, whatever keys the machine has set.
    "PROVIDERS": {
        "kling": {
            "ACCESS_KEY": "sandbox-access-key",
            "SECRET_KEY": "sandbox-secret-key",
            "BASE_URL": SANDBOX_URL,
            "MODEL": "kolors-virtual-try-on-v1-5",
            "TIMEOUT_SECONDS": 5,
        },
        "piapi": {
            "API_KEY": "sandbox-piapi-key",
            "BASE_URL": SANDBOX_URL,
            "SERVICE_MODE": "public",
            "TIMEOUT_SECONDS": 5,
        },
    },
    "PUBLIC_BASE_URL": os.environ["TRYON_PUBLIC_BASE_URL"],
    "RETRY_BASE_SECONDS": 0.2,
    "RETRY_MAX_SECONDS": 2.0,
    "POLL_FIRST_AFTER_SECONDS": 1,
    "POLL_INTERVAL_SECONDS": 1,
    "REAP_INTERVAL_SECONDS": 1,
    "SUBMITTING_STUCK_AFTER_SECONDS": 6,
    "REQUEUE_PENDING_AFTER_SECONDS": 5,
    "ALLOW_HTTP_DOWNLOADS": True,
    "ALLOW_PRIVATE_DOWNLOADS": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_tryon": {"handlers": ["console"], "level": "WARNING"}},
}
