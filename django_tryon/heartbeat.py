"""Whether a Celery worker is taking the app's tasks: a heartbeat the workers write.

A shop whose worker is not running (never started, crashed, a broker it cannot reach)
used to accept try-ons that then waited without a word. Each worker process now writes
``WorkerHeartbeat`` when it starts and as it runs the app's tasks (at most once a
minute a process, so a busy worker adds no query per try-on), and a try-on nobody has
picked up says so: the API's ``waiting_for_worker``, the widget's message, the admin's
banner.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import timedelta

from django.utils import timezone

from .conf import get_setting

#: A worker process writes at most once in this many seconds.
EVERY_SECONDS = 60

_last_written = 0.0


def beat(*, force: bool = False) -> None:
    """This worker process is alive and taking the app's tasks."""
    global _last_written
    now = time.monotonic()
    if not force and now - _last_written < EVERY_SECONDS:
        return
    from .models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(
        worker=f"{socket.gethostname()}:{os.getpid()}"[:200],
        defaults={"seen_at": timezone.now()},
    )
    _last_written = now


def last_seen():
    """When a worker was last seen taking the app's tasks, or None: never."""
    from .models import WorkerHeartbeat

    return WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()


def waiting_for_worker(tryon, *, now=None) -> bool:
    """Whether ``tryon`` has waited WORKER_SILENT_SECONDS for a worker that never came:
    still pending, never sent, and no worker seen since it was made."""
    from .status import Status

    if tryon.status != Status.PENDING or tryon.attempts:
        return False
    now = now or timezone.now()
    if now - tryon.created_at < timedelta(seconds=get_setting("WORKER_SILENT_SECONDS")):
        return False
    seen = last_seen()
    return seen is None or seen < tryon.created_at


def stalled(*, now=None) -> int:
    """How many try-ons wait for a worker that has not come (the admin's banner)."""
    from .models import TryOnRequest
    from .status import Status

    now = now or timezone.now()
    since = now - timedelta(seconds=get_setting("WORKER_SILENT_SECONDS"))
    seen = last_seen()
    if seen is not None and seen >= since:
        return 0
    waiting = TryOnRequest.objects.filter(status=Status.PENDING, attempts=0, created_at__lt=since)
    if seen is not None:
        waiting = waiting.filter(created_at__gt=seen)
    return waiting.count()


def connect() -> None:
    """Beat when a worker starts and, at most once a minute, as it runs the app's tasks."""
    from celery.signals import task_prerun, worker_process_init, worker_ready

    task_prerun.connect(_task_starting, weak=False, dispatch_uid="django_tryon.heartbeat")
    worker_ready.connect(_worker_ready, weak=False, dispatch_uid="django_tryon.heartbeat.ready")
    worker_process_init.connect(_forked, weak=False, dispatch_uid="django_tryon.heartbeat.fork")


def _task_starting(sender=None, **kwargs) -> None:
    if str(getattr(sender, "name", "")).startswith("django_tryon."):
        _quietly(beat)


def _worker_ready(**kwargs) -> None:
    from django.db import connections

    _quietly(beat, force=True)
    # The main process forks the pool after this: no database connection may be shared.
    connections.close_all()


def _forked(**kwargs) -> None:
    global _last_written
    _last_written = 0.0  # a new pool process: its first task writes


def _quietly(write, **kwargs) -> None:
    # A heartbeat must never fail a task: a database hiccup here is the task's to meet.
    import logging

    try:
        write(**kwargs)
    except Exception as exc:
        logging.getLogger("django_tryon").warning("could not write a worker heartbeat (%r)", exc)
