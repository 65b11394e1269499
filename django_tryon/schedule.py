"""The Celery beat entries a shop adds to its Celery app.

Kept apart from ``tasks`` so a shop's ``celery.py`` can import it before Django is set up::

    from django_tryon.schedule import beat_schedule
    app.conf.beat_schedule = {**app.conf.beat_schedule, **beat_schedule()}
"""

from __future__ import annotations


def beat_schedule() -> dict:
    """Reaper and purge entries, at the intervals TRYON sets."""
    from .conf import get_setting

    return {
        "django-tryon-reap": {
            "task": "django_tryon.reap",
            "schedule": float(get_setting("REAP_INTERVAL_SECONDS")),
            "options": {"expires": float(get_setting("REAP_INTERVAL_SECONDS")) * 5},
        },
        "django-tryon-purge": {
            "task": "django_tryon.purge",
            "schedule": float(get_setting("PURGE_INTERVAL_SECONDS")),
        },
    }
