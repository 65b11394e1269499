"""Logging helpers for a shop's LOGGING setting.

``QuietPeriodicTasks`` keeps a worker's log readable: the reaper runs every few seconds,
and Celery logs three INFO lines for each run (beat sends it, the worker receives it, it
succeeds). The filter drops those lines when the run found nothing to do, and keeps
every line of a run that did something, and everything at WARNING and above::

    LOGGING = {
        ...,
        "filters": {"quiet_periodic": {"()": "django_tryon.logs.QuietPeriodicTasks"}},
        "loggers": {
            name: {"filters": ["quiet_periodic"]}
            for name in ("celery.beat", "celery.worker.strategy", "celery.app.trace")
        },
    }
"""

from __future__ import annotations

import logging
import re

#: The app's periodic tasks (tasks.py): idle runs of these are not news.
PERIODIC_TASKS = ("django_tryon.reap", "django_tryon.purge")

_COUNT = re.compile(r"'\w+': (\d+)")


class QuietPeriodicTasks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        message = record.getMessage()
        if not any(task in message for task in PERIODIC_TASKS):
            return True
        if " succeeded in " in message:
            # The task's report, e.g. {'requeued': 0, 'refreshed': 2, ...}: keep real work.
            return any(int(count) for count in _COUNT.findall(message.split(": ", 1)[-1]))
        return False  # "Sending due task ..." and "... received"
