"""The worker's log stays readable: each django_tryon line once, idle reaper runs left out."""

from __future__ import annotations

import copy
import io
import logging
import logging.config

import pytest
from shop_project import settings as shop_settings

from django_tryon.logs import QuietPeriodicTasks


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def worker_logging(settings):
    """The example shop's LOGGING, plus the handler a Celery worker puts on the root logger;
    the shop's console handler writes to ``.console`` instead of stderr."""
    logging.config.dictConfig(copy.deepcopy(shop_settings.LOGGING))
    console = io.StringIO()
    for handler in logging.getLogger("django_tryon").handlers:
        handler.setStream(console)
    root = logging.getLogger()
    celery_handler = Collect()
    celery_handler.console = console
    root.addHandler(celery_handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    yield celery_handler
    root.removeHandler(celery_handler)
    root.setLevel(old_level)
    logging.config.dictConfig(settings.LOGGING)


def test_a_django_tryon_line_is_printed_once(worker_logging):
    logging.getLogger("django_tryon.pipeline.results").info("stored 1 result")
    assert worker_logging.console.getvalue().count("stored 1 result") == 1
    assert worker_logging.lines == []  # not again through the worker's root handler


@pytest.mark.parametrize(
    ("logger", "level", "message", "kept"),
    [
        (
            "celery.beat",
            logging.INFO,
            "Scheduler: Sending due task django-tryon-reap (django_tryon.reap)",
            False,
        ),
        ("celery.worker.strategy", logging.INFO, "Task django_tryon.reap[1a] received", False),
        (
            "celery.app.trace",
            logging.INFO,
            "Task django_tryon.reap[1a] succeeded in 0.01s: {'requeued': 0, 'refreshed': 0, 'errors': 0}",
            False,
        ),
        (
            "celery.app.trace",
            logging.INFO,
            "Task django_tryon.reap[1b] succeeded in 0.2s: {'requeued': 0, 'refreshed': 2, 'errors': 0}",
            True,
        ),
        ("celery.worker.strategy", logging.INFO, "Task django_tryon.submit[2a] received", True),
        (
            "celery.app.trace",
            logging.ERROR,
            "Task django_tryon.reap[3a] raised unexpected: boom",
            True,
        ),
        ("celery.beat", logging.WARNING, "beat: django_tryon.purge is late", True),
    ],
)
def test_idle_periodic_runs_stay_out_of_the_worker_log(
    worker_logging, logger, level, message, kept
):
    logging.getLogger(logger).log(level, message)
    assert (message in worker_logging.lines) is kept


def test_the_filter_keeps_other_records():
    record = logging.LogRecord(
        "celery.beat", logging.INFO, __file__, 1, "beat: Starting...", (), None
    )
    assert QuietPeriodicTasks().filter(record)
