"""Queueing the pipeline's Celery tasks and sending its signals, both once the change is
committed. Tasks are named here, so the pipeline never imports ``tasks`` at load time."""

from __future__ import annotations

import logging

from django.db import transaction

from ..conf import get_setting, refresh_limits
from ..models import TryOnRequest
from ..signals import tryon_failed, tryon_submitted

log = logging.getLogger("django_tryon")


#: The pipeline's Celery tasks, by the names ``tasks.py`` registers them under.
TASK_NAMES = {
    "submit": "django_tryon.submit",
    "refresh": "django_tryon.refresh",
    "cancel": "django_tryon.cancel",
}


def enqueue_on_commit(kind: str, request_id, **kwargs) -> None:
    """Queue the request's next step (``submit``, ``refresh`` or ``cancel``) once the
    transaction that made it due commits."""
    task_name = TASK_NAMES[kind]

    def queue_it():
        try:
            send(task_name, str(request_id), **kwargs)
        except Exception as exc:  # kombu's OperationalError, a refused connection, ...
            # The broker is down. The request is saved and its state tells what comes
            # next, so the reaper queues this step once the broker is back: answer the
            # shopper normally instead of a 500 for work that was already counted.
            log.warning(
                "could not queue %s of try-on %s (%s); the reaper will queue it",
                kind,
                request_id,
                type(exc).__name__,
            )

    transaction.on_commit(queue_it)


def enqueue_refresh(request_id, *, callback_task_id: str = "", early: bool = False) -> None:
    """Ask a worker to fetch the request's task from its provider (see ``refresh``)."""
    kwargs = {"callback_task_id": callback_task_id} if callback_task_id else {}
    if early:
        kwargs["early"] = True
    if kwargs:
        enqueue_on_commit("refresh", request_id, kwargs=kwargs)
    else:
        enqueue_on_commit("refresh", request_id)


def send(task_name: str, request_id: str, **options):
    """Queue one of the pipeline's tasks for a request, on the configured queue.

    The registered task is used when this process has it (so a shop's eager test
    settings still run it in-process); otherwise the message is sent by name."""
    from celery import current_app

    queue = get_setting("CELERY_QUEUE")
    if task_name == TASK_NAMES["refresh"]:
        queue = get_setting("REFRESH_QUEUE") or queue
        # It downloads results: its hard limit stays below PERSIST_LEASE_SECONDS (check
        # E016), so a worker killed mid-download never holds results longer than the lease.
        limits = refresh_limits(get_setting("REFRESH_TIME_LIMIT_SECONDS"))
        options.setdefault("time_limit", limits.hard)
        options.setdefault("soft_time_limit", limits.soft)
    if queue:
        options.setdefault("queue", queue)
    task = current_app.tasks.get(task_name)
    if task is not None:
        return task.apply_async(args=[request_id], **options)
    return current_app.send_task(task_name, args=[request_id], **options)


def send_on_commit(signal, request: TryOnRequest, **extra) -> None:
    """Tell the shop's receivers once committed. A receiver that raises is logged, never
    allowed to undo or stop the pipeline's work (a reaper run, a stored result)."""

    def send():
        for receiver, outcome in signal.send_robust(sender=TryOnRequest, request=request, **extra):
            if isinstance(outcome, Exception):
                log.error(
                    "a %s receiver (%s) failed for try-on %s",
                    _signal_name(signal),
                    getattr(receiver, "__qualname__", receiver),
                    request.pk,
                    exc_info=outcome,
                )

    transaction.on_commit(send)


def _signal_name(signal) -> str:
    names = {tryon_failed: "tryon_failed", tryon_submitted: "tryon_submitted"}
    return names.get(signal, "tryon_succeeded")
