"""Checks that try-ons can leave the web process at all: a Celery app the shop configured,
and a broker it can reach. Without them a try-on is accepted and waits forever."""

from __future__ import annotations

from django.core.checks import Warning

#: Seconds the broker check waits for a connection (it runs with every manage.py command).
CONNECT_TIMEOUT = 1.0


def check_celery(values) -> list:
    """W014: no Celery app; W015: its broker does not answer."""
    from celery import current_app

    app = current_app._get_current_object()
    # With no app of the shop's loaded, Celery makes a fallback one named "default".
    if app.main == "default":
        return [
            Warning(
                "No Celery app is configured: try-ons are accepted and then wait for a "
                "worker that can never receive them.",
                hint="Add a celery.py to your project and import its app in the project's "
                "__init__.py (docs/settings.md, 'A shop without a Celery app'), or run "
                "try-ons with manage.py tryon --inline only.",
                id="django_tryon.W014",
            )
        ]
    if app.conf.task_always_eager:
        return []
    url = app.conf.broker_url or "amqp://guest@localhost//"
    try:
        with app.connection_for_write(connect_timeout=CONNECT_TIMEOUT) as connection:
            connection.ensure_connection(max_retries=1, timeout=CONNECT_TIMEOUT)
    except Exception as exc:
        return [
            Warning(
                f"The Celery broker ({_redacted(url)}) cannot be reached "
                f"({type(exc).__name__}): try-ons are accepted but wait until it can.",
                hint="Start the broker (Redis for production) or set CELERY_BROKER_URL to "
                "one that runs.",
                id="django_tryon.W015",
            )
        ]
    return []


def _redacted(url: str) -> str:
    """The broker URL without its password."""
    from kombu.utils.url import maybe_sanitize_url

    return maybe_sanitize_url(url)
