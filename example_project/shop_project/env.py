"""Read the example shop's configuration from the environment."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_from_url(url: str, base_dir: Path) -> dict:
    """DATABASES['default'] from ``sqlite:///path`` or ``postgres://user:pass@host:port/name``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path[1:]) if parts.path.startswith("/") else parts.path
        name = path if os.path.isabs(path) else str(base_dir / path)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            # Web server and worker share the file: wait for locks, take them early.
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
            "TEST": {"NAME": str(Path(name).with_name("test_" + Path(name).name))},
        }
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        options = dict(parse_qsl(parts.query))
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 0,
        }
    raise ValueError(f"DATABASE_URL scheme {parts.scheme!r} is not supported (sqlite or postgres)")


def broker_url(url: str) -> str:
    """The broker URL to use: ``filesystem://`` gets kombu's transport with atomic writes."""
    if url.startswith("filesystem://"):
        from .broker import SCHEME, register

        register()
        return SCHEME + url[len("filesystem") :]
    return url


def broker_options(url: str, var_dir: Path) -> dict:
    """Celery transport options: folders for the filesystem broker, timeouts for Redis."""
    if url.startswith(("filesystem://", "tryonfs://")):
        folder = var_dir / "broker"
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
            # kombu looks for new messages once a second by default, and a prefork worker
            # with prefetch 1 takes one per look: 40 tasks took 20 s, so the demo's reaper
            # and deadlines lagged minutes behind. Every 0.1 s: 40 in 2.4 s, 200 in 10 s.
            "polling_interval": 0.1,
        }
    if url.startswith(("redis://", "rediss://")):
        # Above the longest retry countdown (TRYON RETRY_MAX_SECONDS), see SAFETY rule 4.
        return {"visibility_timeout": 3600}
    return {}


def status_cache(broker: str, var_dir: Path) -> dict:
    """A CACHES entry the web server and the worker share: the broker's Redis, else files."""
    if broker.startswith(("redis://", "rediss://")):
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": broker,
            "KEY_PREFIX": "shop",
            # A Redis that is down makes polls full reads at once, never hangs a request.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    return {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(var_dir / "cache"),
        "OPTIONS": {"MAX_ENTRIES": 10000},
    }
